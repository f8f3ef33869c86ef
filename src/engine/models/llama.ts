// The Llama family (llama, mistral, qwen2): RMSNorm, rotary embeddings, grouped-query
// attention, SwiGLU MLP, optional q/k/v biases (Qwen2), tied or untied LM head.

import type { Value } from '../onnx/graphBuilder';
import { DataType } from '../onnx/onnxProto';
import type { Architecture } from './architecture';
import { ModelConfigError, intField, numberField, tokenIds } from './decoderConfig';
import type { DecoderConfig, RawConfig } from './decoderConfig';
import type { DecoderContext } from './decoderGraph';

export const llama: Architecture = {
	modelTypes: ['llama', 'mistral', 'qwen2'],
	keyPrefixes: ['model.'],
	unembedding: { finalNormGain: 'norm.weight', tiedEmbedding: 'embed_tokens.weight', normCentres: false },
	embedHooks: ['hook_embed'],
	extraMlpHooks: ['mlp.hook_pre_linear'],

	config(raw: RawConfig): DecoderConfig {
		const modelType = raw.model_type as string;
		const dModel = intField(raw, 'hidden_size');
		const nHeads = intField(raw, 'num_attention_heads');
		const nKvHeads = intField(raw, 'num_key_value_heads', nHeads);
		if (nHeads % nKvHeads !== 0) {
			throw new ModelConfigError(`config.json: num_attention_heads ${nHeads} is not a multiple of num_key_value_heads ${nKvHeads}`);
		}
		const act = (raw.hidden_act ?? 'silu') as string;
		if (act !== 'silu') throw new ModelConfigError(`config.json: hidden_act "${act}" is not supported (only silu)`);
		const scaling = raw.rope_scaling as { type?: string; rope_type?: string } | null | undefined;
		const scalingType = scaling ? (scaling.rope_type ?? scaling.type) : undefined;
		if (scalingType && scalingType !== 'default') {
			throw new ModelConfigError(`config.json: rope_scaling type "${scalingType}" is not supported yet`);
		}
		return {
			modelType,
			nLayers: intField(raw, 'num_hidden_layers'),
			dModel,
			nHeads,
			nKvHeads,
			dHead: typeof raw.head_dim === 'number' ? raw.head_dim : dModel / nHeads,
			dMlp: intField(raw, 'intermediate_size'),
			dVocab: intField(raw, 'vocab_size'),
			nCtx: intField(raw, 'max_position_embeddings', 2048),
			normEps: numberField(raw, 'rms_norm_eps', 1e-6),
			activation: act,
			ropeTheta: numberField(raw, 'rope_theta', 10000),
			// Llama and Mistral default to an untied head, Qwen2's small models tie it.
			tiedEmbeddings: raw.tie_word_embeddings === true,
			bosTokenId: tokenIds(raw.bos_token_id)[0],
			eosTokenIds: tokenIds(raw.eos_token_id),
		};
	},

	embed(ctx: DecoderContext): Value {
		const { cfg } = ctx;
		return ctx.hook('hook_embed', ctx.embeddingRows('embed_tokens.weight', [cfg.dVocab, cfg.dModel], ctx.tokenIds()));
	},

	block(ctx: DecoderContext, layer: number, residPre: Value): Value {
		const { b, cfg } = ctx;
		const d = cfg.dModel;
		const p = `layers.${layer}.`;
		const hook = (name: string, v: Value): Value => ctx.hook(`blocks.${layer}.${name}`, v);
		const norm = (name: string, x: Value): Value => b.rmsNorm(x, ctx.weight(`${p}${name}.weight`, [d]), cfg.normEps);
		const proj = (name: string, x: Value, outF: number, inF: number): Value =>
			ctx.linear(x, `${p}${name}.weight`, outF, inF, ctx.hasWeight(`${p}${name}.bias`) ? `${p}${name}.bias` : undefined);
		const qDim = cfg.nHeads * cfg.dHead;
		const kvDim = cfg.nKvHeads * cfg.dHead;

		const resid = hook('hook_resid_pre', residPre);
		const x1 = hook('ln1.hook_normalized', norm('input_layernorm', resid));
		const q = hook('attn.hook_q', ctx.splitHeads(proj('self_attn.q_proj', x1, qDim, d), cfg.nHeads));
		const k = hook('attn.hook_k', ctx.splitHeads(proj('self_attn.k_proj', x1, kvDim, d), cfg.nKvHeads));
		const v = hook('attn.hook_v', ctx.splitHeads(proj('self_attn.v_proj', x1, kvDim, d), cfg.nKvHeads));
		const z = ctx.attention(layer, rotary(ctx, q), rotary(ctx, k), v);
		const attnOut = hook('hook_attn_out', proj('self_attn.o_proj', ctx.mergeHeads(z), d, qDim));
		const mid = hook('hook_resid_mid', b.add(resid, attnOut));

		const x2 = hook('ln2.hook_normalized', norm('post_attention_layernorm', mid));
		const gate = hook('mlp.hook_pre', proj('mlp.gate_proj', x2, cfg.dMlp, d));
		const up = hook('mlp.hook_pre_linear', proj('mlp.up_proj', x2, cfg.dMlp, d));
		const post = hook('mlp.hook_post', b.mul(b.mul(gate, b.sigmoid(gate)), up));
		const mlpOut = hook('hook_mlp_out', proj('mlp.down_proj', post, d, cfg.dMlp));
		return hook('hook_resid_post', b.add(mid, mlpOut));
	},

	finalNorm(ctx: DecoderContext, resid: Value): Value {
		return ctx.b.rmsNorm(resid, ctx.weight('norm.weight', [ctx.cfg.dModel]), ctx.cfg.normEps);
	},

	capsFinalLogits: () => false,

	logits(ctx: DecoderContext, x: Value): { logits: Value } {
		const { cfg } = ctx;
		const tied = cfg.tiedEmbeddings && !ctx.hasWeight('lm_head.weight');
		return { logits: ctx.linear(x, tied ? 'embed_tokens.weight' : 'lm_head.weight', cfg.dVocab, cfg.dModel) };
	},
};

/**
 * Rotary embedding in the Hugging Face "rotate half" layout.
 * x: [batch, seq, n, d_head] → same shape.
 */
function rotary(ctx: DecoderContext, x: Value): Value {
	const { b, cfg } = ctx;
	const half = cfg.dHead / 2;
	const { cos, sin } = rotaryTables(ctx);
	const [x1, x2] = b.split(x, [half, half], -1) as [Value, Value];
	const rotated = b.concat([b.neg(x2), x1], -1);
	return b.add(b.mul(x, cos), b.mul(rotated, sin));
}

/** cos/sin of position × inverse frequency, [seq, 1, d_head], built once per graph for every block. */
function rotaryTables(ctx: DecoderContext): { cos: Value; sin: Value } {
	return ctx.shared('rotary', () => {
		const { b, cfg } = ctx;
		const D = cfg.dHead;
		const theta = cfg.ropeTheta ?? 10000;
		// Inverse frequencies as torch computes them in float32: 1 / θ^(2i/D).
		const invFreq = Array.from({ length: D / 2 }, (_, i) => Math.fround(1 / Math.fround(theta ** Math.fround((2 * i) / D))));
		return b.scope('/rotary', () => {
			const pos = b.unsqueeze(b.cast(ctx.positions, DataType.FLOAT), [1]); // [seq, 1] float
			const angles = b.mul(pos, b.constFloat(invFreq, [1, D / 2])); // [seq, D/2]
			const full = b.unsqueeze(b.concat([angles, angles], -1), [1]); // [seq, 1, D]
			return { cos: b.cos(full), sin: b.sin(full) };
		});
	});
}
