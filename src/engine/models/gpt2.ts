// GPT-2 (model_type "gpt2"): learned positions, pre-LayerNorm blocks, Conv1D weights stored
// [in, out], fused c_attn projection, gelu_new MLP, tied or untied LM head.

import { MS_DOMAIN } from '../onnx/graphBuilder';
import type { Value } from '../onnx/graphBuilder';
import type { Architecture } from './architecture';
import { activation, checkActivation, isTanhGelu } from './activations';
import { ModelConfigError, configDtype, defaultAttnScale, intField, numberField, tokenIds } from './decoderConfig';
import type { DecoderConfig, RawConfig } from './decoderConfig';
import type { DecoderContext } from './decoderGraph';

export const gpt2: Architecture = {
	modelTypes: ['gpt2'],
	keyPrefixes: ['transformer.'],
	blockPrefix: 'h.',
	unembedding: { finalNormGain: 'ln_f.weight', gainOffset: 0, normCentres: true },
	embedHooks: ['hook_embed', 'hook_pos_embed'],
	extraMlpHooks: [],

	config(raw: RawConfig): DecoderConfig {
		const dModel = intField(raw, 'n_embd');
		const nHeads = intField(raw, 'n_head');
		const nLayers = intField(raw, 'n_layer');
		if (dModel % nHeads !== 0) throw new ModelConfigError(`config.json: n_embd ${dModel} is not divisible by n_head ${nHeads}`);
		const act = checkActivation(raw.activation_function ?? 'gelu_new', 'activation_function');
		if (raw.scale_attn_by_inverse_layer_idx === true) {
			throw new ModelConfigError('config.json: scale_attn_by_inverse_layer_idx is not supported');
		}
		return {
			modelType: 'gpt2',
			nLayers,
			dModel,
			nHeads,
			nKvHeads: nHeads,
			dHead: dModel / nHeads,
			dMlp: intField(raw, 'n_inner', 4 * dModel),
			dVocab: intField(raw, 'vocab_size'),
			nCtx: intField(raw, 'n_positions', intField(raw, 'n_ctx', 1024)),
			normEps: numberField(raw, 'layer_norm_epsilon', 1e-5),
			activation: act,
			layers: Array.from({ length: nLayers }, () => ({})),
			attnScale: defaultAttnScale(dModel / nHeads),
			parallelAttnMlp: false,
			dtype: configDtype(raw),
			tiedEmbeddings: raw.tie_word_embeddings !== false,
			bosTokenId: tokenIds(raw.bos_token_id, 'bos_token_id')[0],
			eosTokenIds: tokenIds(raw.eos_token_id),
		};
	},

	embed(ctx: DecoderContext): Value {
		const { b, cfg } = ctx;
		const tokens = ctx.hook('hook_embed', ctx.embeddingRows('wte.weight', [cfg.dVocab, cfg.dModel], ctx.tokenIds()));
		const positions = ctx.embeddingRows('wpe.weight', [cfg.nCtx, cfg.dModel], ctx.positions); // [seq, d_model]
		// TransformerLens shapes hook_pos_embed [batch, pos, d_model]; broadcast to match.
		const posEmbed = ctx.hook('hook_pos_embed', b.op('Expand', [positions, b.shape(tokens)]));
		return b.add(tokens, posEmbed);
	},

	block(ctx: DecoderContext, layer: number, residPre: Value): Value {
		const { b, cfg } = ctx;
		const d = cfg.dModel;
		const p = `h.${layer}.`;
		const hook = (name: string, v: Value): Value => ctx.hook(`blocks.${layer}.${name}`, v);
		const ln = (name: string, x: Value, hookName: string): Value =>
			ctx.norm(x, { kind: 'layer', gain: `${p}${name}.weight`, bias: `${p}${name}.bias`, width: d, hookName: `blocks.${layer}.${hookName}` });

		const resid = hook('hook_resid_pre', residPre);
		const x1 = ln('ln_1', resid, 'ln1.hook_normalized');
		const qkv = b.linear(x1, ctx.weight(`${p}attn.c_attn.weight`, [d, 3 * d]), ctx.weight(`${p}attn.c_attn.bias`, [3 * d]));
		const [q, k, v] = b.split(qkv, [d, d, d], -1) as [Value, Value, Value];
		const z = ctx.attention(
			layer,
			hook('attn.hook_q', ctx.splitHeads(q, cfg.nHeads)),
			hook('attn.hook_k', ctx.splitHeads(k, cfg.nHeads)),
			hook('attn.hook_v', ctx.splitHeads(v, cfg.nHeads)),
		);
		const attnOut = hook('hook_attn_out',
			b.linear(ctx.mergeHeads(z), ctx.weight(`${p}attn.c_proj.weight`, [d, d]), ctx.weight(`${p}attn.c_proj.bias`, [d])));
		const mid = hook('hook_resid_mid', b.add(resid, attnOut));

		const x2 = hook('mlp.hook_in', ln('ln_2', mid, 'ln2.hook_normalized'));
		const fcWeight = ctx.weight(`${p}mlp.c_fc.weight`, [d, cfg.dMlp]);
		const fcBias = ctx.weight(`${p}mlp.c_fc.bias`, [cfg.dMlp]);
		let post: Value;
		if (isTanhGelu(cfg.activation) && !ctx.wantsHook(`blocks.${layer}.mlp.hook_pre`)) {
			// onnxruntime's FastGelu fuses the bias add and the tanh-GELU into one pass.
			post = hook('mlp.hook_post', b.op('FastGelu', [b.matMul(x2, fcWeight), fcBias], {}, MS_DOMAIN));
		} else {
			post = hook('mlp.hook_post', activation(b, cfg.activation, hook('mlp.hook_pre', b.linear(x2, fcWeight, fcBias))));
		}
		const mlpOut = hook('hook_mlp_out',
			b.linear(post, ctx.weight(`${p}mlp.c_proj.weight`, [cfg.dMlp, d]), ctx.weight(`${p}mlp.c_proj.bias`, [d])));
		return hook('hook_resid_post', b.add(mid, mlpOut));
	},

	finalNorm(ctx: DecoderContext, resid: Value): Value {
		const d = ctx.cfg.dModel;
		return ctx.norm(resid, { kind: 'layer', gain: 'ln_f.weight', bias: 'ln_f.bias', width: d, hookName: 'ln_final.hook_normalized' });
	},

	capsFinalLogits: () => false,

	logits(ctx: DecoderContext, x: Value): { logits: Value } {
		const { cfg } = ctx;
		const tied = cfg.tiedEmbeddings && !ctx.hasWeight('lm_head.weight');
		return { logits: ctx.linear(x, tied ? 'wte.weight' : 'lm_head.weight', cfg.dVocab, cfg.dModel) };
	},
};
