// What the backward passes of attribution need from a model family: the pieces of each block
// that stay linear in the replacement model (the norms' gains, the attention's value and output
// projections) laid out the same way for every family, as float32 graph values. The query and
// key projections, the MLP and the norms' biases are not here: with the attention patterns and the
// norm scales frozen, queries and keys no longer matter, the MLP is replaced by features and
// error nodes (constants of the backward pass), and biases only shift the nodes' inputs (the
// bias term of each node). One entry per supported family; others are refused by name.

import type { GraphBuilder, Value } from '../onnx/graphBuilder';
import { DataType } from '../onnx/onnxProto';
import { ModelConfigError } from '../models/decoderConfig';
import type { LanguageModel } from '../models/languageModel';

export interface LinearBlock {
	/** The gain of the norm before attention, [d_model]. */
	ln1Gain: Value;
	/** The gain of the norm before the MLP, [d_model] (declared when asked for: only transcoders reading after it need it). */
	ln2Gain: () => Value;
	/** x @ W_V for the normed residual x: [d_model, n_kv_heads * d_head]. */
	wV: Value;
	/** z @ W_O for the merged heads z: [n_heads * d_head, d_model]. */
	wO: Value;
	/** Gemma's norm of the attention output (post_attention_layernorm): its gain, [d_model]; its scale is frozen from z @ W_O. */
	attnOutGain?: Value;
}

export interface LinearModel {
	/** Whether the norms centre (LayerNorm) or not (RMSNorm). */
	norm: 'layer' | 'rms';
	blocks: LinearBlock[];
	/** The final norm's gain and bias, [d_model]. */
	finalGain: Value;
	finalBias?: Value;
}

/** Whether the family norms the attention output (Gemma): the backward graph then needs each block's z (hook_z) for that norm's frozen scale. */
export function normsAttentionOutput(modelType: string): boolean {
	return modelType === 'gemma2' || modelType === 'gemma3_text' || modelType === 'gemma3';
}

/** Families whose blocks attribution can linearize. */
export const ATTRIBUTION_FAMILIES = ['gpt2', 'gpt_neox', 'llama', 'mistral', 'qwen2', 'qwen3', 'gemma2', 'gemma3_text', 'gemma3'] as const;

/** Declares the linear pieces of `model` in `b` (as initializers read from the checkpoint). */
export function linearModel(b: GraphBuilder, model: LanguageModel): LinearModel {
	const { cfg } = model;
	const d = cfg.dModel;
	const weight = (name: string, shape: readonly number[]): Value => modelWeight(b, model, name, shape);
	switch (cfg.modelType) {
		case 'gpt2': {
			// Conv1D weights are stored [in, out]; c_attn's columns are q | k | v.
			const blocks = Array.from({ length: cfg.nLayers }, (_, l): LinearBlock => {
				const p = `h.${l}.`;
				const qkv = weight(`${p}attn.c_attn.weight`, [d, 3 * d]);
				return {
					ln1Gain: weight(`${p}ln_1.weight`, [d]),
					ln2Gain: () => weight(`${p}ln_2.weight`, [d]),
					wV: b.slice(qkv, b.constInt64([2 * d]), b.constInt64([3 * d]), [1]),
					wO: weight(`${p}attn.c_proj.weight`, [d, d]),
				};
			});
			return { norm: 'layer', blocks, ...finalNorm(b, model) };
		}
		case 'gpt_neox': {
			// The fused query_key_value rows are [head, (q, k, v), d_head]: the value rows of head h
			// start at (3h + 2)·d_head. Pythia runs attention and MLP in parallel from resid_pre
			// (cfg.parallelAttnMlp), which the backward graph handles.
			const D = cfg.dHead;
			const rows = Array.from({ length: cfg.nHeads * D }, (_, i) => (3 * Math.floor(i / D) + 2) * D + (i % D));
			const blocks = Array.from({ length: cfg.nLayers }, (_, l): LinearBlock => {
				const p = `layers.${l}.`;
				const qkv = weight(`${p}attention.query_key_value.weight`, [3 * d, d]);
				return {
					ln1Gain: weight(`${p}input_layernorm.weight`, [d]),
					ln2Gain: () => weight(`${p}post_attention_layernorm.weight`, [d]),
					wV: b.transpose(b.gather(qkv, b.constInt64(rows)), [1, 0]),
					wO: b.transpose(weight(`${p}attention.dense.weight`, [d, d]), [1, 0]),
				};
			});
			return { norm: 'layer', blocks, ...finalNorm(b, model) };
		}
		case 'llama':
		case 'mistral':
		case 'qwen2':
		case 'qwen3': {
			// torch Linear weights are stored [out, in]: x @ Wᵀ. Qwen 3's q/k norms act on queries and keys only.
			const kvDim = cfg.nKvHeads * cfg.dHead;
			const qDim = cfg.nHeads * cfg.dHead;
			const blocks = Array.from({ length: cfg.nLayers }, (_, l): LinearBlock => {
				const p = `layers.${l}.`;
				return {
					ln1Gain: weight(`${p}input_layernorm.weight`, [d]),
					ln2Gain: () => weight(`${p}post_attention_layernorm.weight`, [d]),
					wV: b.transpose(weight(`${p}self_attn.v_proj.weight`, [kvDim, d]), [1, 0]),
					wO: b.transpose(weight(`${p}self_attn.o_proj.weight`, [d, qDim]), [1, 0]),
				};
			});
			return { norm: 'rms', blocks, ...finalNorm(b, model) };
		}
		case 'gemma2':
		case 'gemma3_text':
		case 'gemma3': {
			// Gemma's RMSNorms multiply by 1 + w; the attention output is normed before it joins the
			// residual stream (sandwich norms), the MLP reads pre_feedforward_layernorm.
			const kvDim = cfg.nKvHeads * cfg.dHead;
			const qDim = cfg.nHeads * cfg.dHead;
			const gain = (name: string) => b.add(weight(name, [d]), b.constFloat([1]));
			const blocks = Array.from({ length: cfg.nLayers }, (_, l): LinearBlock => {
				const p = `layers.${l}.`;
				return {
					ln1Gain: gain(`${p}input_layernorm.weight`),
					ln2Gain: () => gain(`${p}pre_feedforward_layernorm.weight`),
					wV: b.transpose(weight(`${p}self_attn.v_proj.weight`, [kvDim, d]), [1, 0]),
					wO: b.transpose(weight(`${p}self_attn.o_proj.weight`, [d, qDim]), [1, 0]),
					attnOutGain: gain(`${p}post_attention_layernorm.weight`),
				};
			});
			return { norm: 'rms', blocks, ...finalNorm(b, model) };
		}
		default:
			throw new ModelConfigError(`attribution graphs support ${ATTRIBUTION_FAMILIES.join(', ')} models so far, not ${cfg.modelType}`);
	}
}

/** The final norm's gain (and bias), [d_model]. */
export function finalNorm(b: GraphBuilder, model: LanguageModel): { finalGain: Value; finalBias?: Value } {
	const d = model.cfg.dModel;
	switch (model.cfg.modelType) {
		case 'gpt2':
			return { finalGain: modelWeight(b, model, 'ln_f.weight', [d]), finalBias: modelWeight(b, model, 'ln_f.bias', [d]) };
		case 'gpt_neox':
			return { finalGain: modelWeight(b, model, 'final_layer_norm.weight', [d]), finalBias: modelWeight(b, model, 'final_layer_norm.bias', [d]) };
		case 'gemma2':
		case 'gemma3_text':
		case 'gemma3':
			return { finalGain: b.add(modelWeight(b, model, 'norm.weight', [d]), b.constFloat([1])) };
		default:
			return { finalGain: modelWeight(b, model, 'norm.weight', [d]) };
	}
}

/** The unembedding as rows, [d_vocab, d_model]: logit t = row t · the final-normed residual (no family here has an unembedding bias). */
export function unembedRows(b: GraphBuilder, model: LanguageModel): Value {
	const { cfg } = model;
	switch (cfg.modelType) {
		case 'gpt2': {
			const tied = cfg.tiedEmbeddings && !model.hasWeight('lm_head.weight');
			return modelWeight(b, model, tied ? 'wte.weight' : 'lm_head.weight', [cfg.dVocab, cfg.dModel]);
		}
		case 'gpt_neox':
			return modelWeight(b, model, cfg.tiedEmbeddings ? 'embed_in.weight' : 'embed_out.weight', [cfg.dVocab, cfg.dModel]);
		case 'llama':
		case 'mistral':
		case 'qwen2':
		case 'qwen3':
		case 'gemma2':
		case 'gemma3_text':
		case 'gemma3': {
			const tied = cfg.tiedEmbeddings && !model.hasWeight('lm_head.weight');
			return modelWeight(b, model, tied ? 'embed_tokens.weight' : 'lm_head.weight', [cfg.dVocab, cfg.dModel]);
		}
		default:
			throw new ModelConfigError(`attribution graphs support ${ATTRIBUTION_FAMILIES.join(', ')} models so far, not ${cfg.modelType}`);
	}
}

/** A checkpoint weight as a float32 initializer of `b` (attribution graphs are built once per prompt; the weights they read are the small linear pieces). */
function modelWeight(b: GraphBuilder, model: LanguageModel, name: string, shape: readonly number[]): Value {
	const data = model.readWeight(name, shape);
	return b.initializer(`w:${name}`, DataType.FLOAT, shape, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}
