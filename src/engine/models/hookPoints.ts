// TransformerLens hook-point names and what each holds, so SAEs trained by SAELens find
// their `hook_name` here.

import { ModelConfigError } from './decoderConfig';
import type { DecoderConfig } from './decoderConfig';

export interface HookPoint {
	name: string;
	/** Block index, or -1 before the first block and nLayers after the last. */
	layer: number;
	/** Batch-free shape with `pos` for the sequence axis (and `kpos` for attended positions). */
	shape: (number | 'pos' | 'kpos')[];
	/** True where the activation lives in the residual stream (width d_model). */
	residual: boolean;
}

/**
 * Per-block hooks shared by every architecture, in forward order. A block whose attention and
 * MLP both read resid_pre (parallel_attn_mlp) has no hook_resid_mid, as in TransformerLens.
 */
function blockHooks(cfg: DecoderConfig, layer: number, extraMlp: readonly string[]): HookPoint[] {
	const p = `blocks.${layer}.`;
	const d = cfg.dModel;
	const h = (name: string, shape: HookPoint['shape'], residual = false): HookPoint => ({ name: p + name, layer, shape, residual });
	return [
		h('hook_resid_pre', ['pos', d], true),
		h('ln1.hook_normalized', ['pos', d]),
		h('attn.hook_q', ['pos', cfg.nHeads, cfg.dHead]),
		h('attn.hook_k', ['pos', cfg.nKvHeads, cfg.dHead]),
		h('attn.hook_v', ['pos', cfg.nKvHeads, cfg.dHead]),
		h('attn.hook_pattern', [cfg.nHeads, 'pos', 'kpos']),
		h('attn.hook_z', ['pos', cfg.nHeads, cfg.dHead]),
		h('hook_attn_out', ['pos', d]),
		...(cfg.parallelAttnMlp ? [] : [h('hook_resid_mid', ['pos', d], true)]),
		h('ln2.hook_normalized', ['pos', d]),
		// The MLP's input (after the norm's gain and bias), what transcoders trained on Hugging
		// Face modules read (circuit-tracer's mlp.hook_in; Gemma Scope 2's pre_feedforward_layernorm.output).
		h('mlp.hook_in', ['pos', d]),
		h('mlp.hook_pre', ['pos', cfg.dMlp]),
		...extraMlp.map((n) => h(n, ['pos', cfg.dMlp])),
		h('mlp.hook_post', ['pos', cfg.dMlp]),
		h('hook_mlp_out', ['pos', d]),
		h('hook_resid_post', ['pos', d], true),
	];
}

export function listHookPoints(cfg: DecoderConfig, embedHooks: readonly string[], extraMlp: readonly string[]): HookPoint[] {
	const hooks: HookPoint[] = embedHooks.map((name) => ({ name, layer: -1, shape: ['pos', cfg.dModel], residual: false }));
	for (let l = 0; l < cfg.nLayers; l++) hooks.push(...blockHooks(cfg, l, extraMlp));
	hooks.push({ name: 'ln_final.hook_normalized', layer: cfg.nLayers, shape: ['pos', cfg.dModel], residual: false });
	return hooks;
}

/**
 * The number of values per token at a hook (hook_z's [heads, d_head] flattened, as SAELens
 * reshapes it); `label` names the hook in the error for hooks that are not per-token.
 */
export function perTokenWidth(point: HookPoint, label: string): number {
	const rest = point.shape.slice(1);
	if (rest.some((d) => typeof d !== 'number')) throw new ModelConfigError(`${label} is not a per-token activation an SAE can read`);
	return rest.reduce<number>((a, d) => a * (d as number), 1);
}
