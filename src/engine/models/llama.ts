// The Llama family (llama, mistral, qwen2): RMSNorm, rotary embeddings (Llama 3.1's "llama3"
// and "linear" scaling too), grouped-query attention, SwiGLU MLP, optional projection biases
// (Qwen2), sliding windows (Mistral; Qwen2 with use_sliding_window), tied or untied LM head.
// Its block is also Qwen 3's and Gemma's, which differ in the ways `LlamaBlockStyle` names.

import type { Value } from '../onnx/graphBuilder';
import { activation, checkActivation } from './activations';
import type { Architecture } from './architecture';
import { ModelConfigError, configDtype, defaultAttnScale, intField, layerTypes, numberField, optionalNumber, tokenIds } from './decoderConfig';
import type { DecoderConfig, RawConfig } from './decoderConfig';
import type { DecoderContext } from './decoderGraph';
import { applyRotary, readRope, ropeParameters } from './rotary';

/** How a family's blocks differ from Llama's. */
export interface LlamaBlockStyle {
	/** The RMSNorm gain is w (Llama, Qwen) or 1 + w (Gemma, whose checkpoints store the offset from 1). */
	readonly gainOffset: 0 | 1;
	/**
	 * Gemma's four norms per block: the attention and MLP outputs are normed before they join the
	 * residual stream (post_attention_layernorm, post_feedforward_layernorm) and the MLP reads
	 * pre_feedforward_layernorm. TransformerLens reads hook_attn_out and hook_mlp_out after these
	 * output norms (its ln1_post / ln2_post): what is added to the residual stream.
	 */
	readonly sandwichNorms: boolean;
	/** Per-head RMSNorm of queries and keys (over d_head, before rotary): Qwen 3, Gemma 3. */
	readonly qkNorm: boolean;
}

const LLAMA_STYLE: LlamaBlockStyle = { gainOffset: 0, sandwichNorms: false, qkNorm: false };

export const llama: Architecture = {
	modelTypes: ['llama', 'mistral', 'qwen2'],
	keyPrefixes: ['model.'],
	blockPrefix: 'layers.',
	unembedding: { finalNormGain: 'norm.weight', gainOffset: 0, normCentres: false },
	embedHooks: ['hook_embed'],
	extraMlpHooks: ['mlp.hook_pre_linear'],
	config: (raw) => llamaConfig(raw),
	embed: (ctx) => ctx.hook('hook_embed', tokenEmbedding(ctx)),
	block: (ctx, layer, residPre) => llamaBlock(ctx, layer, residPre, LLAMA_STYLE),
	finalNorm: (ctx, resid) => rmsNorm(ctx, 'norm.weight', resid, ctx.cfg.dModel, 0, 'ln_final.hook_normalized'),
	capsFinalLogits: () => false,
	logits: (ctx, x) => ({ logits: unembed(ctx, x) }),
};

/**
 * The config of a Llama-shaped model (llama, mistral, qwen2, qwen3): `defaults` are the Hugging
 * Face config class's values for keys a config.json may leave out.
 */
export function llamaConfig(raw: RawConfig, defaults: RawConfig = {}): DecoderConfig {
	const c: RawConfig = { ...defaults, ...raw };
	const modelType = c.model_type as string;
	const dModel = intField(c, 'hidden_size');
	const nHeads = intField(c, 'num_attention_heads');
	const nKvHeads = intField(c, 'num_key_value_heads', nHeads);
	if (nHeads % nKvHeads !== 0) {
		throw new ModelConfigError(`config.json: num_attention_heads ${nHeads} is not a multiple of num_key_value_heads ${nKvHeads}`);
	}
	const dHead = intField(c, 'head_dim', dModel / nHeads);
	const nLayers = intField(c, 'num_hidden_layers');
	const nCtx = intField(c, 'max_position_embeddings', 2048);
	const { params, where } = ropeParameters(c);
	const rope = readRope(params, where, c, numberField(c, 'rope_theta', 10000), dHead);
	return {
		modelType,
		nLayers,
		dModel,
		nHeads,
		nKvHeads,
		dHead,
		dMlp: intField(c, 'intermediate_size'),
		dVocab: intField(c, 'vocab_size'),
		nCtx,
		normEps: numberField(c, 'rms_norm_eps', 1e-6),
		activation: checkActivation(c.hidden_act ?? 'silu', 'hidden_act'),
		layers: llamaWindows(c, nLayers, nCtx).map((window) => ({ window, rope })),
		attnScale: defaultAttnScale(dHead),
		parallelAttnMlp: false,
		dtype: configDtype(c),
		// Llama and Mistral default to an untied head, Qwen2's small models tie it.
		tiedEmbeddings: c.tie_word_embeddings === true,
		bosTokenId: tokenIds(c.bos_token_id, 'bos_token_id')[0],
		eosTokenIds: tokenIds(c.eos_token_id),
	};
}

/**
 * Each layer's sliding window, as Hugging Face decides it: `layer_types` where given; else
 * Mistral slides on every layer when it has a sliding_window, Qwen2/3 only with
 * use_sliding_window and from max_window_layers on, Llama never.
 */
function llamaWindows(c: RawConfig, nLayers: number, nCtx: number): (number | undefined)[] {
	const qwen = c.model_type === 'qwen2' || c.model_type === 'qwen3';
	const size = qwen && c.use_sliding_window !== true ? undefined : optionalNumber(c, 'sliding_window');
	const types = layerTypes(c, nLayers, (layer) => {
		if (size === undefined) return 'full_attention';
		if (qwen) return layer >= maxWindowLayers(c) ? 'sliding_attention' : 'full_attention';
		return c.model_type === 'mistral' ? 'sliding_attention' : 'full_attention';
	});
	// A window as long as the context hides nothing.
	return types.map((t) => (t === 'sliding_attention' && size !== undefined && size < nCtx ? size : undefined));
}

/** Qwen's max_window_layers: the layers below it attend fully (0 = every layer slides). */
function maxWindowLayers(c: RawConfig): number {
	const v = c.max_window_layers ?? 28;
	if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
		throw new ModelConfigError(`config.json: "max_window_layers" must be a non-negative integer (got ${JSON.stringify(v)})`);
	}
	return v;
}

/** Token embeddings, [batch, seq, d_model]. */
export function tokenEmbedding(ctx: DecoderContext): Value {
	const { cfg } = ctx;
	return ctx.embeddingRows('embed_tokens.weight', [cfg.dVocab, cfg.dModel], ctx.tokenIds());
}

/**
 * RMSNorm over the last axis with gain w, or 1 + w for Gemma (`gainOffset` 1; the sum is built
 * at the graph's top level, where onnxruntime folds it into a constant), with the TransformerLens
 * hook `hookName` before the gain. x: [..., width] → same shape.
 */
export function rmsNorm(ctx: DecoderContext, weightName: string, x: Value, width: number, gainOffset: 0 | 1, hookName?: string): Value {
	return ctx.norm(x, { kind: 'rms', gain: weightName, width, gainOffset, hookName });
}

/** Logits through lm_head, or the input embedding when tied: [batch, seq, d_model] → [batch, seq, d_vocab]. */
export function unembed(ctx: DecoderContext, x: Value): Value {
	const { cfg } = ctx;
	const tied = cfg.tiedEmbeddings && !ctx.hasWeight('lm_head.weight');
	return ctx.linear(x, tied ? 'embed_tokens.weight' : 'lm_head.weight', cfg.dVocab, cfg.dModel);
}

/** One Llama-style block, resid_pre → resid_post, both [batch, seq, d_model]. */
export function llamaBlock(ctx: DecoderContext, layer: number, residPre: Value, style: LlamaBlockStyle): Value {
	const { b, cfg } = ctx;
	const d = cfg.dModel;
	const p = `layers.${layer}.`;
	const hook = (name: string, v: Value): Value => ctx.hook(`blocks.${layer}.${name}`, v);
	const norm = (name: string, x: Value, width = d, hookName?: string): Value =>
		rmsNorm(ctx, `${p}${name}.weight`, x, width, style.gainOffset, hookName && `blocks.${layer}.${hookName}`);
	// Biases where the checkpoint has them: Qwen2's q/k/v, Llama's attention_bias / mlp_bias.
	const proj = (name: string, x: Value, outF: number, inF: number): Value =>
		ctx.linear(x, `${p}${name}.weight`, outF, inF, ctx.hasWeight(`${p}${name}.bias`) ? `${p}${name}.bias` : undefined);
	const qDim = cfg.nHeads * cfg.dHead;
	const kvDim = cfg.nKvHeads * cfg.dHead;
	const rope = cfg.layers[layer]!.rope!;

	const resid = hook('hook_resid_pre', residPre);
	const x1 = norm('input_layernorm', resid, d, 'ln1.hook_normalized');
	// hook_q / hook_k are the projections, before q/k norms and rotary (TransformerLens).
	let q = hook('attn.hook_q', ctx.splitHeads(proj('self_attn.q_proj', x1, qDim, d), cfg.nHeads)); // [batch, seq, H, D]
	let k = hook('attn.hook_k', ctx.splitHeads(proj('self_attn.k_proj', x1, kvDim, d), cfg.nKvHeads)); // [batch, seq, KV, D]
	const v = hook('attn.hook_v', ctx.splitHeads(proj('self_attn.v_proj', x1, kvDim, d), cfg.nKvHeads));
	if (style.qkNorm) {
		q = norm('self_attn.q_norm', q, cfg.dHead);
		k = norm('self_attn.k_norm', k, cfg.dHead);
	}
	const z = ctx.attention(layer, applyRotary(ctx, q, rope), applyRotary(ctx, k, rope), v);
	let attnOut = proj('self_attn.o_proj', ctx.mergeHeads(z), d, qDim);
	if (style.sandwichNorms) attnOut = norm('post_attention_layernorm', attnOut);
	attnOut = hook('hook_attn_out', attnOut);
	const mid = hook('hook_resid_mid', b.add(resid, attnOut));

	const x2 = hook('mlp.hook_in', norm(style.sandwichNorms ? 'pre_feedforward_layernorm' : 'post_attention_layernorm', mid, d, 'ln2.hook_normalized'));
	const gate = hook('mlp.hook_pre', proj('mlp.gate_proj', x2, cfg.dMlp, d));
	const up = hook('mlp.hook_pre_linear', proj('mlp.up_proj', x2, cfg.dMlp, d));
	const post = hook('mlp.hook_post', b.mul(activation(b, cfg.activation, gate), up));
	let mlpOut = proj('mlp.down_proj', post, d, cfg.dMlp);
	if (style.sandwichNorms) mlpOut = norm('post_feedforward_layernorm', mlpOut);
	mlpOut = hook('hook_mlp_out', mlpOut);
	return hook('hook_resid_post', b.add(mid, mlpOut));
}
