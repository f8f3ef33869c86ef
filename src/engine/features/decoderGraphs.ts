// Per-feature views of the SAE's decoder, as onnxruntime graphs run per request:
//
// - Logit lens: the feature direction W_dec[i] through the unembedding. sae_vis computes
//   W_dec @ W_U on TransformerLens's processed model, where fold_ln has multiplied the final
//   norm's gain into W_U, centre_writing_weights has removed each direction's mean (what a
//   LayerNorm does to any input) and centre_unembed has removed each W_U row's mean over the
//   vocabulary. We reproduce that on the raw checkpoint: centre the direction (LayerNorm models
//   only), multiply by the gain, MatMul with W_U, subtract the mean logit. The norm's bias and
//   scale are ignored: the lens is a direction, not an activation.
// - Nearest features: cosine similarity of decoder rows, one [1, d_out] × [d_out, d_sae] product.
// A transcoder's decoder writes its output hook (hook_mlp_out, in the residual stream), so its
// logit lens is the direct effect of the feature's output on the logits.

import * as ort from 'onnxruntime-node';
import type { LanguageModel } from '../models/languageModel';
import { architectureFor } from '../models/architectures';
import { ModelConfigError } from '../models/decoderConfig';
import { DataType } from '../onnx/onnxProto';
import { GraphBuilder } from '../onnx/graphBuilder';
import type { Value } from '../onnx/graphBuilder';
import { createSession } from '../onnx/session';
import type { SessionSettings } from '../onnx/session';
import type { Sae } from '../sae/saeTypes';
import { saeWeights } from '../sae/saeGraph';
import { outputHookName, outputWidth } from '../sae/transcoder';

const FEATURE = 'feature';

/** Hooks whose values live in the residual stream, where W_dec rows can be read through the unembedding. */
const RESIDUAL_SPACE = /^(hook_embed|hook_pos_embed|blocks\.\d+\.(hook_resid_pre|hook_resid_mid|hook_resid_post|hook_attn_out|hook_mlp_out))$/;

/** The final norm's gain as float32 [d_model] (Gemma's 1 + w), and whether the norm centres, from the architecture. */
function finalNorm(model: LanguageModel): { gain: Float32Array; centres: boolean } {
	const arch = architectureFor(model.cfg.modelType);
	if (!arch) throw new ModelConfigError(`the logit lens does not know ${model.cfg.modelType}'s unembedding`);
	const { finalNormGain, gainOffset, normCentres } = arch.unembedding;
	const gain = model.readWeight(finalNormGain, [model.cfg.dModel]);
	return { gain: gainOffset === 0 ? gain : gain.map((w) => Math.fround(gainOffset + w)), centres: normCentres };
}

function decoderRows(b: GraphBuilder, sae: Sae): Value {
	return saeWeights(b, sae)('W_dec');
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
 * The logit lens's first half: feature indices [n] → directions in the unembedding's input
 * space [n, d_model] (W_dec rows, centred for LayerNorm models, times the final norm's gain).
 * The model's own unembedding stage takes them to the vocabulary (LanguageModel.unembedRows).
 */
export function buildLensDirectionGraph(model: LanguageModel, sae: Sae): Buffer {
	const { cfg } = model;
	const norm = finalNorm(model);
	const b = new GraphBuilder('logit_lens_directions');
	const feature = b.input(FEATURE, DataType.INT64, ['n']);
	let dir = b.gather(decoderRows(b, sae), feature); // [n, d_model]
	if (norm.centres) dir = b.sub(dir, rowMean(b, dir));
	const gain = norm.gain;
	dir = b.mul(dir, b.initializer('gain', DataType.FLOAT, [cfg.dModel], new Uint8Array(gain.buffer, gain.byteOffset, gain.byteLength))); // fold_ln
	b.output(dir, DataType.FLOAT, ['n', cfg.dModel], 'directions');
	return b.build({ hook_name: sae.cfg.metadata.hook_name });
}

/** The logit lens's second half: logit weights [n, d_vocab] → centred over the vocabulary (centre_unembed), and their top/bottom `count` tokens. */
export function buildLensTopGraph(dVocab: number, count: number): Buffer {
	const b = new GraphBuilder('logit_lens_top');
	const raw = b.input('raw_logits', DataType.FLOAT, ['n', dVocab]);
	const logits = b.sub(raw, rowMean(b, raw));
	b.output(logits, DataType.FLOAT, ['n', dVocab], 'logits');
	const k = b.constInt64([Math.min(count, dVocab)]);
	const topK = (largest: number, name: string) => {
		const [values, indices] = b.node('TopK', [logits, k], { axis: { kind: 'int', value: -1 }, largest: { kind: 'int', value: largest }, sorted: { kind: 'int', value: 1 } }, 2) as [Value, Value];
		b.output(values, DataType.FLOAT, ['n', 'k'], `${name}_values`);
		b.output(indices, DataType.INT64, ['n', 'k'], `${name}_indices`);
	};
	topK(1, 'positive');
	topK(0, 'negative');
	return b.build();
}

function rowMean(b: GraphBuilder, v: Value): Value {
	return b.op('ReduceMean', [v], { axes: { kind: 'ints', value: [-1] }, keepdims: { kind: 'int', value: 1 } });
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
	const [values, indices] = b.node(
		'TopK',
		[cosine, b.constInt64([Math.min(count, sae.cfg.d_sae)])],
		{ axis: { kind: 'int', value: -1 }, largest: { kind: 'int', value: 1 }, sorted: { kind: 'int', value: 1 } },
		2,
	) as [Value, Value];
	b.output(values, DataType.FLOAT, ['n', 'k'], 'cosine');
	b.output(indices, DataType.INT64, ['n', 'k'], 'neighbours');
	return b.build({ hook_name: sae.cfg.metadata.hook_name });
}

/** Both decoder views for one model and SAE, with their sessions built on first use. */
export class DecoderViews {
	private lensDirections?: Promise<ort.InferenceSession>;
	private lensTop?: Promise<ort.InferenceSession>;
	private neighbours?: Promise<ort.InferenceSession>;

	constructor(
		private readonly model: LanguageModel,
		private readonly sae: Sae,
		private readonly settings: SessionSettings,
		readonly lensCount = 10,
		readonly neighbourCount = 10,
		private readonly log: (m: string) => void = () => {},
	) {}

	/** Whether the SAE's decoder rows live in the residual stream (else there is no logit lens): a transcoder's where it writes, hook_mlp_out. */
	hasLogitLens(): boolean {
		return RESIDUAL_SPACE.test(outputHookName(this.sae.cfg)) && outputWidth(this.sae.cfg) === this.model.cfg.dModel;
	}

	async logitLens(featureIndex: number): Promise<LogitLensRow | undefined> {
		if (!this.hasLogitLens()) return undefined;
		this.lensDirections ??= this.create(() => buildLensDirectionGraph(this.model, this.sae));
		this.lensTop ??= this.create(() => buildLensTopGraph(this.model.cfg.dVocab, this.lensCount));
		const direction = (await (await this.lensDirections).run({ [FEATURE]: feature(featureIndex) })).directions!.data as Float32Array;
		const raw = await this.model.unembedRows(direction, 1);
		const out = await (await this.lensTop).run({ raw_logits: new ort.Tensor('float32', raw, [1, this.model.cfg.dVocab]) });
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
			.filter((n) => n.featureIndex !== featureIndex)
			.slice(0, this.neighbourCount);
	}

	async dispose(): Promise<void> {
		for (const s of [this.lensDirections, this.lensTop, this.neighbours]) {
			if (s) await (await s.catch(() => undefined))?.release();
		}
		this.lensDirections = undefined;
		this.lensTop = undefined;
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
