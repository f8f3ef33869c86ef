// Gemma 2 (model_type "gemma2"; Gemma Scope's model): the Llama block with Gemma's changes —
// embeddings × √d_model (rounded to the model's dtype first, as Hugging Face's
// Gemma2TextScaledWordEmbedding does), RMSNorm gains stored as offsets from 1, four norms per
// block (pre/post attention, pre/post feed-forward), GeGLU with tanh-GELU, head_dim from the
// config, scores scaled by query_pre_attn_scalar^−½, attention-logit and final-logit
// soft-capping, and a sliding window on every other layer (from layer 0) or as layer_types says.

import { roundToStored } from '../io/halfFloats';
import type { Value } from '../onnx/graphBuilder';
import { checkActivation } from './activations';
import type { Architecture } from './architecture';
import { ModelConfigError, configDtype, intField, layerTypes, numberField, optionalNumber, tokenIds } from './decoderConfig';
import type { DecoderConfig, RawConfig } from './decoderConfig';
import type { DecoderContext } from './decoderGraph';
import { llamaBlock, rmsNorm, tokenEmbedding, unembed } from './llama';
import { readRope, ropeParameters } from './rotary';

/** Gemma2Config's values for keys a config.json may leave out (those of gemma-2-2b). */
const GEMMA2_DEFAULTS: RawConfig = {
	vocab_size: 256000, hidden_size: 2304, intermediate_size: 9216, num_hidden_layers: 26, num_attention_heads: 8,
	num_key_value_heads: 4, head_dim: 256, hidden_activation: 'gelu_pytorch_tanh', max_position_embeddings: 8192,
	rms_norm_eps: 1e-6, tie_word_embeddings: true, query_pre_attn_scalar: 256, sliding_window: 4096,
	final_logit_softcapping: 30.0, attn_logit_softcapping: 50.0, rope_theta: 10000, bos_token_id: 2, eos_token_id: 1,
};

export const gemma2: Architecture = {
	modelTypes: ['gemma2'],
	keyPrefixes: ['model.'],
	blockPrefix: 'layers.',
	unembedding: { finalNormGain: 'norm.weight', gainOffset: 1, normCentres: false },
	embedHooks: ['hook_embed'],
	extraMlpHooks: ['mlp.hook_pre_linear'],

	config(raw: RawConfig): DecoderConfig {
		const c: RawConfig = { ...GEMMA2_DEFAULTS, ...raw };
		const shape = gemmaShape(c);
		const { params, where } = ropeParameters(c);
		const rope = readRope(params, where, c, numberField(c, 'rope_theta', 10000), shape.dHead);
		const window = slidingWindow(c, shape.nCtx);
		// Gemma2DecoderLayer: layers 0, 2, 4, … slide.
		const types = layerTypes(c, shape.nLayers, (layer) => (layer % 2 === 0 ? 'sliding_attention' : 'full_attention'));
		return {
			...shape,
			modelType: 'gemma2',
			layers: types.map((t) => (t === 'sliding_attention' ? { window, rope } : { rope })),
			attnSoftcap: optionalNumber(c, 'attn_logit_softcapping'),
			finalSoftcap: optionalNumber(c, 'final_logit_softcapping'),
			dtype: configDtype(c),
		};
	},

	embed: (ctx) => gemmaEmbed(ctx),
	block: (ctx, layer, residPre) => llamaBlock(ctx, layer, residPre, { gainOffset: 1, sandwichNorms: true, qkNorm: false }),
	finalNorm: (ctx, resid) => rmsNorm(ctx, 'norm.weight', resid, ctx.cfg.dModel, 1, 'ln_final.hook_normalized'),
	capsFinalLogits: (cfg) => cfg.finalSoftcap !== undefined,
	logits: (ctx, x) => gemmaLogits(ctx, x),
};

/**
 * What Gemma 2 and 3 configs share, from a config with the class defaults filled in: shapes,
 * norms, activation, attention scale, embeddings and special tokens.
 */
export function gemmaShape(c: RawConfig): Omit<DecoderConfig, 'modelType' | 'layers' | 'attnSoftcap' | 'finalSoftcap' | 'dtype'> {
	const nHeads = intField(c, 'num_attention_heads');
	const nKvHeads = intField(c, 'num_key_value_heads', nHeads);
	if (nHeads % nKvHeads !== 0) {
		throw new ModelConfigError(`config.json: num_attention_heads ${nHeads} is not a multiple of num_key_value_heads ${nKvHeads}`);
	}
	return {
		nLayers: intField(c, 'num_hidden_layers'),
		dModel: intField(c, 'hidden_size'),
		nHeads,
		nKvHeads,
		dHead: intField(c, 'head_dim'),
		dMlp: intField(c, 'intermediate_size'),
		dVocab: intField(c, 'vocab_size'),
		nCtx: intField(c, 'max_position_embeddings'),
		normEps: numberField(c, 'rms_norm_eps', 1e-6),
		// Gemma reads hidden_activation; the hidden_act its config.json may also carry is unused.
		activation: checkActivation(c.hidden_activation ?? 'gelu_pytorch_tanh', 'hidden_activation'),
		attnScale: numberField(c, 'query_pre_attn_scalar', 256) ** -0.5,
		parallelAttnMlp: false,
		tiedEmbeddings: c.tie_word_embeddings !== false,
		bosTokenId: tokenIds(c.bos_token_id, 'bos_token_id')[0],
		eosTokenIds: tokenIds(c.eos_token_id),
	};
}

/** config.json's sliding_window, or undefined when it is off or hides nothing (as long as the context). */
export function slidingWindow(c: RawConfig, nCtx: number): number | undefined {
	const size = optionalNumber(c, 'sliding_window');
	if (size !== undefined && !Number.isInteger(size)) throw new ModelConfigError(`config.json: "sliding_window" must be an integer (got ${size})`);
	return size !== undefined && size < nCtx ? size : undefined;
}

/**
 * Token embeddings × √d_model, the multiplier rounded to the model's dtype (config.json's, else
 * the embedding's stored one) as Hugging Face rounds it. hook_embed is the scaled embedding, as
 * TransformerLens folds the multiplier into W_E. → [batch, seq, d_model].
 */
export function gemmaEmbed(ctx: DecoderContext): Value {
	const { b, cfg } = ctx;
	const scale = roundToStored(Math.sqrt(cfg.dModel), cfg.dtype ?? ctx.storedDtype('embed_tokens.weight'));
	return ctx.hook('hook_embed', b.mul(tokenEmbedding(ctx), b.constFloat([scale])));
}

/** Tied unembedding, then cap·tanh(logits/cap) when the config soft-caps; the uncapped logits too. */
export function gemmaLogits(ctx: DecoderContext, x: Value): { logits: Value; uncapped?: Value } {
	const { b, cfg } = ctx;
	const raw = unembed(ctx, x); // [batch, seq, d_vocab]
	if (cfg.finalSoftcap === undefined) return { logits: raw };
	const cap = b.constFloat([cfg.finalSoftcap]);
	return { logits: b.mul(b.tanh(b.div(raw, cap)), cap), uncapped: raw };
}
