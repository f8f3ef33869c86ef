// The contract an architecture file fulfils. Adding a family is one new file that implements
// this interface and one line in the registry (architectures.ts).

import type { Value } from '../onnx/graphBuilder';
import type { DecoderConfig, RawConfig } from './decoderConfig';
import type { DecoderContext } from './decoderGraph';

export interface Architecture {
	/** config.json `model_type` values this file builds. */
	readonly modelTypes: readonly string[];
	/** Checkpoint key prefixes stripped before lookup (`transformer.`, `model.`). */
	readonly keyPrefixes: readonly string[];
	/** What block L's weights are named under, after the prefix (`h.` for `h.{L}.…`, `layers.`): the checkpoint's layer count is checked against the config's. */
	readonly blockPrefix: string;
	/** Hooks before block 0, beyond `hook_embed`. */
	readonly embedHooks: readonly string[];
	/** MLP hooks beyond hook_pre / hook_post (gated MLPs add hook_pre_linear). */
	readonly extraMlpHooks: readonly string[];
	/**
	 * What the logit lens folds into W_U as TransformerLens's fold_ln does (the unembedding itself
	 * is `logits`, uncapped): the checkpoint name (after prefix stripping) of the final norm's
	 * gain; the constant the stored gain is an offset from (Gemma's RMSNorm multiplies by 1 + w,
	 * so 1; else 0); and whether the final norm centres (LayerNorm) or not (RMSNorm), which also
	 * decides whether TransformerLens centres the writing weights.
	 */
	readonly unembedding: { readonly finalNormGain: string; readonly gainOffset: 0 | 1; readonly normCentres: boolean };
	config(raw: RawConfig): DecoderConfig;
	/** Token (+ position) embedding: the residual stream entering block 0, [batch, seq, d_model]. */
	embed(ctx: DecoderContext): Value;
	/** One transformer block: resid_pre → resid_post, both [batch, seq, d_model]. */
	block(ctx: DecoderContext, layer: number, residPre: Value): Value;
	/** Final norm of the residual stream, [batch, seq, d_model] → [batch, seq, d_model], with `ln_final.hook_normalized` before its gain (ctx.norm). */
	finalNorm(ctx: DecoderContext, resid: Value): Value;
	/**
	 * Logits from the final-normed residual stream, [batch, seq, d_model] → [batch, seq, d_vocab]
	 * (tied or untied unembedding); `uncapped` too for families that soft-cap the final logits.
	 */
	logits(ctx: DecoderContext, x: Value): { logits: Value; uncapped?: Value };
	/** Whether `logits` soft-caps (and so also returns the uncapped values). */
	capsFinalLogits(cfg: DecoderConfig): boolean;
}
