// GPT-NeoX (model_type "gpt_neox"; Pythia): LayerNorm, one fused query_key_value projection laid
// out per head as [q | k | v], rotary on the leading rotary_pct of each head, attention and MLP
// in parallel from resid_pre (use_parallel_residual, Pythia's setting) or one after the other,
// GELU MLP, biases throughout, an untied embed_out.

import type { Value } from '../onnx/graphBuilder';
import { activation, checkActivation } from './activations';
import type { Architecture } from './architecture';
import { ModelConfigError, configDtype, defaultAttnScale, intField, numberField, tokenIds } from './decoderConfig';
import type { DecoderConfig, RawConfig } from './decoderConfig';
import type { DecoderContext } from './decoderGraph';
import { applyRotary, readRope, ropeParameters } from './rotary';

/** GPTNeoXConfig's values for keys a config.json may leave out. */
const GPT_NEOX_DEFAULTS: RawConfig = {
	hidden_act: 'gelu', layer_norm_eps: 1e-5, tie_word_embeddings: false, use_parallel_residual: true,
	max_position_embeddings: 2048, rotary_emb_base: 10000, rotary_pct: 0.25,
};

export const gptNeox: Architecture = {
	modelTypes: ['gpt_neox'],
	keyPrefixes: ['gpt_neox.'],
	blockPrefix: 'layers.',
	unembedding: { finalNormGain: 'final_layer_norm.weight', gainOffset: 0, normCentres: true },
	embedHooks: ['hook_embed'],
	extraMlpHooks: [],

	config(raw: RawConfig): DecoderConfig {
		const c: RawConfig = { ...GPT_NEOX_DEFAULTS, ...raw };
		const dModel = intField(c, 'hidden_size');
		const nHeads = intField(c, 'num_attention_heads');
		if (dModel % nHeads !== 0) throw new ModelConfigError(`config.json: hidden_size ${dModel} is not divisible by num_attention_heads ${nHeads}`);
		const dHead = dModel / nHeads;
		const nLayers = intField(c, 'num_hidden_layers');
		// rotary_pct and rotary_emb_base before transformers 5; partial_rotary_factor and rope_theta in rope_parameters after.
		const { params, where } = ropeParameters(c);
		const fraction = numberField(params, 'partial_rotary_factor', numberField(c, 'rotary_pct', 0.25));
		const dims = Math.floor(dHead * fraction);
		if (dims <= 0 || dims % 2 !== 0) {
			throw new ModelConfigError(`config.json: a rotary fraction of ${fraction} (rotary_pct / partial_rotary_factor) rotates ${dims} of each head's ${dHead} dims; it must be a positive even number`);
		}
		const rope = readRope(params, where, c, numberField(c, 'rotary_emb_base', 10000), dims);
		return {
			modelType: 'gpt_neox',
			nLayers,
			dModel,
			nHeads,
			nKvHeads: nHeads,
			dHead,
			dMlp: intField(c, 'intermediate_size'),
			dVocab: intField(c, 'vocab_size'),
			nCtx: intField(c, 'max_position_embeddings'),
			normEps: numberField(c, 'layer_norm_eps', 1e-5),
			activation: checkActivation(c.hidden_act, 'hidden_act'),
			layers: Array.from({ length: nLayers }, () => ({ rope })),
			attnScale: defaultAttnScale(dHead),
			parallelAttnMlp: c.use_parallel_residual !== false,
			dtype: configDtype(c),
			tiedEmbeddings: c.tie_word_embeddings === true,
			bosTokenId: tokenIds(c.bos_token_id, 'bos_token_id')[0],
			eosTokenIds: tokenIds(c.eos_token_id),
		};
	},

	embed(ctx: DecoderContext): Value {
		const { cfg } = ctx;
		return ctx.hook('hook_embed', ctx.embeddingRows('embed_in.weight', [cfg.dVocab, cfg.dModel], ctx.tokenIds()));
	},

	block(ctx: DecoderContext, layer: number, residPre: Value): Value {
		const { b, cfg } = ctx;
		const d = cfg.dModel;
		const D = cfg.dHead;
		const p = `layers.${layer}.`;
		const hook = (name: string, v: Value): Value => ctx.hook(`blocks.${layer}.${name}`, v);
		const ln = (name: string, x: Value, hookName: string): Value =>
			ctx.norm(x, { kind: 'layer', gain: `${p}${name}.weight`, bias: `${p}${name}.bias`, width: d, hookName: `blocks.${layer}.${hookName}` });
		const proj = (name: string, x: Value, outF: number, inF: number): Value =>
			ctx.linear(x, `${p}${name}.weight`, outF, inF, ctx.hasWeight(`${p}${name}.bias`) ? `${p}${name}.bias` : undefined);
		const mlp = (x: Value): Value => {
			const pre = hook('mlp.hook_pre', proj('mlp.dense_h_to_4h', hook('mlp.hook_in', x), cfg.dMlp, d));
			const post = hook('mlp.hook_post', activation(b, cfg.activation, pre));
			return hook('hook_mlp_out', proj('mlp.dense_4h_to_h', post, d, cfg.dMlp));
		};
		const rope = cfg.layers[layer]!.rope!;

		const resid = hook('hook_resid_pre', residPre);
		const x1 = ln('input_layernorm', resid, 'ln1.hook_normalized');
		// The fused rows are laid out [head, (q, k, v), d_head]: [batch, seq, 3·d] → [batch, seq, H, 3·D] → three [batch, seq, H, D].
		const qkv = b.reshape(proj('attention.query_key_value', x1, 3 * d, d), [0, 0, cfg.nHeads, 3 * D]);
		const [q, k, v] = b.split(qkv, [D, D, D], -1) as [Value, Value, Value];
		const z = ctx.attention(
			layer,
			applyRotary(ctx, hook('attn.hook_q', q), rope),
			applyRotary(ctx, hook('attn.hook_k', k), rope),
			hook('attn.hook_v', v),
		);
		const attnOut = hook('hook_attn_out', proj('attention.dense', ctx.mergeHeads(z), d, d));
		if (cfg.parallelAttnMlp) {
			// The MLP reads resid_pre through its own norm; summed in Hugging Face's order.
			const mlpOut = mlp(ln('post_attention_layernorm', resid, 'ln2.hook_normalized'));
			return hook('hook_resid_post', b.add(b.add(mlpOut, attnOut), resid));
		}
		const mid = hook('hook_resid_mid', b.add(attnOut, resid));
		const mlpOut = mlp(ln('post_attention_layernorm', mid, 'ln2.hook_normalized'));
		return hook('hook_resid_post', b.add(mlpOut, mid));
	},

	finalNorm(ctx: DecoderContext, resid: Value): Value {
		const d = ctx.cfg.dModel;
		return ctx.norm(resid, { kind: 'layer', gain: 'final_layer_norm.weight', bias: 'final_layer_norm.bias', width: d, hookName: 'ln_final.hook_normalized' });
	},

	capsFinalLogits: () => false,

	logits(ctx: DecoderContext, x: Value): { logits: Value } {
		const { cfg } = ctx;
		return { logits: ctx.linear(x, cfg.tiedEmbeddings ? 'embed_in.weight' : 'embed_out.weight', cfg.dVocab, cfg.dModel) };
	},
};
