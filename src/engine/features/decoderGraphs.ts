// Per-feature views of the SAE's decoder, as onnxruntime graphs run per request:
//
// - Logit lens: the feature direction W_dec[i] through the unembedding. sae_vis computes
//   W_dec @ W_U on TransformerLens's processed model, where fold_ln has multiplied the final
//   norm's gain into W_U, centre_writing_weights has removed each direction's mean (what a
//   LayerNorm does to any input) and centre_unembed has removed each W_U row's mean over the
//   vocabulary. We reproduce that on the raw checkpoint: centre the direction (LayerNorm models
//   only), multiply by the gain, MatMul with W_U, subtract the mean logit. The norm's bias and
//   scale are ignored: the lens is a direction, not an activation.
// - Nearest features: cosine similarity of decoder rows, one [1, d_in] × [d_in, d_sae] product.

import * as ort from 'onnxruntime-node';
import type { LanguageModel } from '../models/languageModel';
import { architectureFor } from '../models/architectures';
import { ModelConfigError } from '../models/decoderConfig';
import type { BuiltGraph } from '../models/decoderGraph';
import { DataType } from '../onnx/onnxProto';
import { GraphBuilder, MS_DOMAIN, attr } from '../onnx/graphBuilder';
import type { Value } from '../onnx/graphBuilder';
import { createSession } from '../onnx/session';
import type { WeightedSession } from '../onnx/weightedSession';
import type { SessionSettings } from '../onnx/session';
import type { Sae } from '../sae/saeTypes';

const FEATURE = 'feature';

/** Hooks whose values live in the residual stream, where W_dec rows can be read through the unembedding. */
const RESIDUAL_SPACE = /^(hook_embed|hook_pos_embed|blocks\.\d+\.(hook_resid_pre|hook_resid_mid|hook_resid_post|hook_attn_out|hook_mlp_out))$/;

/** Checkpoint names of the final norm's gain and the output embedding ([d_vocab, d_model]), from the architecture. */
function unembedNames(model: LanguageModel): { gain: string; unembed: string; centres: boolean } {
	const arch = architectureFor(model.cfg.modelType);
	if (!arch) throw new ModelConfigError(`the logit lens does not know ${model.cfg.modelType}'s unembedding`);
	const { finalNormGain, tiedEmbedding, normCentres } = arch.unembedding;
	const unembed = !model.cfg.tiedEmbeddings || model.hasWeight('lm_head.weight') ? 'lm_head.weight' : tiedEmbedding;
	return { gain: finalNormGain, unembed, centres: normCentres };
}

function decoderRows(b: GraphBuilder, sae: Sae): Value {
	const t = sae.weights.W_dec!;
	const dataType = { F32: DataType.FLOAT, F16: DataType.FLOAT16, BF16: DataType.BFLOAT16 }[t.dtype as 'F32' | 'F16' | 'BF16'];
	const v = b.initializer('W_dec', dataType, t.shape, t.data);
	return dataType === DataType.FLOAT ? v : b.cast(v, DataType.FLOAT);
}

export interface LogitLensRow {
	/** Top `count` tokens by logit weight, largest first. */
	positive: { id: number; value: number }[];
	/** Bottom `count` tokens, most negative first. */
	negative: { id: number; value: number }[];
	/** The weight of every vocabulary token, [d_vocab]. */
	all: Float32Array;
}

/**
 * Builds the logit-lens graph: feature indices [n] → centred logit weights [n, d_vocab] and their
 * top/bottom tokens. The unembedding is the model's own weight, shared with its sessions.
 */
export function buildLogitLensGraph(model: LanguageModel, sae: Sae, count: number): BuiltGraph {
	const { cfg } = model;
	const names = unembedNames(model);
	const b = new GraphBuilder('logit_lens');
	const feature = b.input(FEATURE, DataType.INT64, ['n']);
	let dir = b.gather(decoderRows(b, sae), feature); // [n, d_model]
	const mean = (v: Value) => b.op('ReduceMean', [v], { axes: { kind: 'ints', value: [-1] }, keepdims: { kind: 'int', value: 1 } });
	if (names.centres) dir = b.sub(dir, mean(dir));
	dir = b.mul(dir, model.weightValue(b, names.gain, [cfg.dModel])); // fold_ln
	const wU = model.weightValue(b, names.unembed, [cfg.dVocab, cfg.dModel]); // [d_vocab, d_model]
	let logits = b.op('FusedMatMul', [dir, wU], { transB: attr.int(1) }, MS_DOMAIN); // [n, d_vocab]
	logits = b.sub(logits, mean(logits)); // centre_unembed
	b.output(logits, DataType.FLOAT, ['n', cfg.dVocab], 'logits');
	const k = b.constInt64([Math.min(count, cfg.dVocab)]);
	const topK = (largest: number, name: string) => {
		const [values, indices] = b.node('TopK', [logits, k], { axis: { kind: 'int', value: -1 }, largest: { kind: 'int', value: largest }, sorted: { kind: 'int', value: 1 } }, 2) as [Value, Value];
		b.output(values, DataType.FLOAT, ['n', 'k'], `${name}_values`);
		b.output(indices, DataType.INT64, ['n', 'k'], `${name}_indices`);
	};
	topK(1, 'positive');
	topK(0, 'negative');
	return { bytes: b.build({ hook_name: sae.cfg.metadata.hook_name }), weightInputs: [...b.weightInputNames()] };
}

/** Builds the neighbour graph: feature indices [n] → the `count` most cosine-similar decoder rows [n, count]. */
export function buildNeighbourGraph(sae: Sae, count: number): Buffer {
	const b = new GraphBuilder('decoder_neighbours');
	const feature = b.input(FEATURE, DataType.INT64, ['n']);
	const wDec = decoderRows(b, sae); // [d_sae, d_in]
	const norm = b.sqrt(b.op('ReduceSum', [b.mul(wDec, wDec), b.constInt64([1])], { keepdims: { kind: 'int', value: 1 } })); // [d_sae, 1]
	// Constant in the weights, so onnxruntime folds the normalization once at session creation.
	const unit = b.div(wDec, b.add(norm, b.constFloat([1e-12])));
	const cosine = b.matMul(b.gather(unit, feature), b.transpose(unit, [1, 0])); // [n, d_sae]
	const [values, indices] = b.node('TopK', [cosine, b.constInt64([Math.min(count, sae.cfg.d_sae)])], { axis: { kind: 'int', value: -1 }, largest: { kind: 'int', value: 1 }, sorted: { kind: 'int', value: 1 } }, 2) as [Value, Value];
	b.output(values, DataType.FLOAT, ['n', 'k'], 'cosine');
	b.output(indices, DataType.INT64, ['n', 'k'], 'neighbours');
	return b.build({ hook_name: sae.cfg.metadata.hook_name });
}

/** Both decoder views for one model and SAE, with their sessions built on first use. */
export class DecoderViews {
	private lens?: Promise<WeightedSession>;
	private neighbours?: Promise<ort.InferenceSession>;

	constructor(
		private readonly model: LanguageModel,
		private readonly sae: Sae,
		private readonly settings: SessionSettings,
		readonly lensCount = 10,
		readonly neighbourCount = 10,
		private readonly log: (m: string) => void = () => {},
	) {}

	/** Whether the SAE's decoder rows live in the residual stream (else there is no logit lens). */
	hasLogitLens(): boolean {
		return RESIDUAL_SPACE.test(this.sae.cfg.metadata.hook_name) && this.sae.cfg.d_in === this.model.cfg.dModel;
	}

	async logitLens(featureIndex: number): Promise<LogitLensRow | undefined> {
		if (!this.hasLogitLens()) return undefined;
		this.lens ??= this.model.createSession(buildLogitLensGraph(this.model, this.sae, this.lensCount));
		const out = await (await this.lens).run({ [FEATURE]: feature(featureIndex) });
		const pairs = (name: string) => {
			const values = out[`${name}_values`]!.data as Float32Array;
			const ids = out[`${name}_indices`]!.data as BigInt64Array;
			return Array.from(values, (value, i) => ({ id: Number(ids[i]), value }));
		};
		return { positive: pairs('positive'), negative: pairs('negative'), all: out.logits!.data as Float32Array };
	}

	/** The nearest other features by decoder cosine, most similar first. */
	async nearest(featureIndex: number): Promise<{ featureIndex: number; cosine: number }[]> {
		this.neighbours ??= this.create(() => buildNeighbourGraph(this.sae, this.neighbourCount + 1));
		const out = await (await this.neighbours).run({ [FEATURE]: feature(featureIndex) });
		const cos = out.cosine!.data as Float32Array;
		const idx = out.neighbours!.data as BigInt64Array;
		return Array.from(cos, (cosine, i) => ({ featureIndex: Number(idx[i]), cosine }))
			.filter((n) => n.featureIndex !== featureIndex).slice(0, this.neighbourCount);
	}

	async dispose(): Promise<void> {
		for (const s of [this.lens, this.neighbours]) {
			if (s) await (await s.catch(() => undefined))?.release();
		}
		this.lens = undefined;
		this.neighbours = undefined;
	}

	private create(build: () => Buffer): Promise<ort.InferenceSession> {
		const session = createSession(build(), this.settings, this.log).then((s) => s.session);
		return session;
	}
}

function feature(index: number): ort.Tensor {
	return new ort.Tensor('int64', BigInt64Array.from([BigInt(index)]), [1]);
}
