// Qwen 3 (model_type "qwen3"): the Llama block with per-head RMSNorm of queries and keys before
// rotary, head_dim given by the config (128 on every size, not hidden_size / heads) and no q/k/v
// biases; Qwen3-0.6B to 4B tie the LM head.

import type { Architecture } from './architecture';
import { llama, llamaBlock, llamaConfig } from './llama';

/** Qwen3Config's values for keys a config.json may leave out. */
const QWEN3_DEFAULTS = { head_dim: 128, rms_norm_eps: 1e-6, max_window_layers: 28, rope_theta: 10000, hidden_act: 'silu' };

export const qwen3: Architecture = {
	...llama,
	modelTypes: ['qwen3'],
	config: (raw) => llamaConfig(raw, QWEN3_DEFAULTS),
	block: (ctx, layer, residPre) => llamaBlock(ctx, layer, residPre, { gainOffset: 0, sandwichNorms: false, qkNorm: true }),
};
