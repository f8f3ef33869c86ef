// Gemma 3 text models (Gemma Scope 2's): "gemma3_text" checkpoints (gemma-3-1b, 270m) and the
// language model of "gemma3" multimodal checkpoints (4b and up: config under text_config, weights
// under language_model.model.* or model.language_model.*, vision tower ignored). Gemma 2's block
// and embedding plus per-head q/k RMSNorm (1 + w), local layers with their own rope base
// (rope_local_base_freq) and sliding window, global layers every sliding_window_pattern-th (5:1)
// with rope_scaling applied to them only, no attention-logit soft-capping, and a 262k vocabulary.

import type { Architecture } from './architecture';
import { ModelConfigError, configDtype, intField, layerTypes, numberField, optionalNumber } from './decoderConfig';
import type { DecoderConfig, RawConfig } from './decoderConfig';
import { gemma2, gemmaShape, slidingWindow } from './gemma2';
import { llamaBlock } from './llama';
import { isObject, readRope } from './rotary';
import type { Rope } from './rotary';

/** Gemma3TextConfig's values for keys a config.json may leave out (a multimodal text_config lists few). */
const GEMMA3_TEXT_DEFAULTS: RawConfig = {
	vocab_size: 262208, hidden_size: 2304, intermediate_size: 9216, num_hidden_layers: 26, num_attention_heads: 8,
	num_key_value_heads: 4, head_dim: 256, hidden_activation: 'gelu_pytorch_tanh', max_position_embeddings: 131072,
	rms_norm_eps: 1e-6, tie_word_embeddings: true, query_pre_attn_scalar: 256, sliding_window: 4096,
	sliding_window_pattern: 6, final_logit_softcapping: null, rope_theta: 1_000_000, rope_local_base_freq: 10_000,
	bos_token_id: 2, eos_token_id: 1,
};

export const gemma3: Architecture = {
	...gemma2,
	modelTypes: ['gemma3_text', 'gemma3'],
	// Text-only checkpoints: model.*; multimodal ones from the Hub: language_model.model.* (and
	// language_model.lm_head); saved by transformers ≥ 4.52: model.language_model.*.
	keyPrefixes: ['model.language_model.', 'language_model.model.', 'language_model.', 'model.'],
	config: (raw) => gemma3Config(raw),
	block: (ctx, layer, residPre) => llamaBlock(ctx, layer, residPre, { gainOffset: 1, sandwichNorms: true, qkNorm: true }),
};

function gemma3Config(raw: RawConfig): DecoderConfig {
	const multimodal = raw.model_type === 'gemma3';
	if (multimodal && !isObject(raw.text_config)) throw new ModelConfigError('config.json: a "gemma3" config needs its language model\'s "text_config"');
	const text = multimodal ? (raw.text_config as RawConfig) : raw;
	if (text.use_bidirectional_attention === true) throw new ModelConfigError('config.json: "use_bidirectional_attention" (an embedding model) is not supported');
	const c: RawConfig = { ...GEMMA3_TEXT_DEFAULTS, ...text };
	if (multimodal) {
		// Gemma3ForConditionalGeneration ties its LM head and names its special tokens at the top level.
		c.tie_word_embeddings = raw.tie_word_embeddings ?? true;
		for (const key of ['bos_token_id', 'eos_token_id']) if (raw[key] !== undefined) c[key] = raw[key];
	}
	const shape = gemmaShape(c);
	const rope = gemma3Ropes(c, shape.dHead);
	const window = slidingWindow(c, shape.nCtx);
	const pattern = intField(c, 'sliding_window_pattern', 6);
	const types = layerTypes(c, shape.nLayers, (layer) => ((layer + 1) % pattern !== 0 ? 'sliding_attention' : 'full_attention'));
	return {
		...shape,
		modelType: raw.model_type as string,
		layers: types.map((t) => (t === 'sliding_attention' ? { window, rope: rope.local } : { rope: rope.global })),
		// Gemma3Attention never soft-caps scores; Gemma3ForConditionalGeneration never caps logits.
		finalSoftcap: multimodal ? undefined : optionalNumber(c, 'final_logit_softcapping'),
		dtype: configDtype(raw, text),
	};
}

/**
 * Global and local ropes: transformers 5's rope_parameters per layer type, or rope_theta with
 * rope_scaling (global layers only; linear ×8 on 4B and up) and rope_local_base_freq.
 */
function gemma3Ropes(c: RawConfig, dHead: number): { global: Rope; local: Rope } {
	let perType: RawConfig = isObject(c.rope_parameters) ? c.rope_parameters : {};
	if (Object.keys(perType).length && !('full_attention' in perType) && !('sliding_attention' in perType)) perType = { full_attention: perType };
	const entry = (key: string): RawConfig => {
		const v = perType[key];
		if (v !== undefined && !isObject(v)) throw new ModelConfigError(`config.json: "rope_parameters.${key}" must be an object`);
		return v ?? { rope_type: 'default' };
	};
	if (c.rope_scaling !== undefined && c.rope_scaling !== null && !isObject(c.rope_scaling)) {
		throw new ModelConfigError(`config.json: "rope_scaling" must be an object or null (got ${JSON.stringify(c.rope_scaling)})`);
	}
	const full = { ...entry('full_attention'), ...(isObject(c.rope_scaling) ? c.rope_scaling : {}) };
	return {
		global: readRope(full, isObject(c.rope_scaling) ? 'rope_scaling' : 'rope_parameters.full_attention', c, numberField(c, 'rope_theta', 1_000_000), dHead),
		local: readRope(entry('sliding_attention'), 'rope_parameters.sliding_attention', c, numberField(c, 'rope_local_base_freq', 10_000), dHead),
	};
}
