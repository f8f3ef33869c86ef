// ONNX graphs that run an SAE on rows of hook activations: encode, top features per token,
// reconstruction and error term, with SAELens's input processing (b_dec subtraction,
// activation normalization) and, for SAEs trained on TransformerLens's processed weights,
// the centred residual-stream view. What differs between architectures (the encoder, the
// decoder's input) comes from their files in architectures/.

import { isStoredFloat } from '../io/halfFloats';
import { DataType, STORED_FLOAT_TYPE } from '../onnx/onnxProto';
import { GraphBuilder } from '../onnx/graphBuilder';
import type { Value } from '../onnx/graphBuilder';
import { saeArchitecture } from './architectures/saeArchitectures';
import type { SaeGraphContext } from './architectures/saeArchitecture';
import type { Sae, SaeTensor } from './saeTypes';
import { decodeOutput, outputWidth } from './transcoder';

/** What an SAE graph returns; sessions are cached by this. */
export interface SaeGraphRequest {
	/** Dense feature activations `acts` [rows, d_sae]. */
	acts: boolean;
	/** The `topFeatures` strongest features per row: `top_values`, `top_indices` [rows, topFeatures]. */
	topFeatures: number;
	/** `recons` [rows, d_out] in the activation's own space (normalization undone); d_out = d_in for an SAE. */
	recons: boolean;
	/** `error` = x − recons [rows, d_out]; for a transcoder the target is the output hook's activation, input `sae_target`. */
	error: boolean;
	/** Subtract each row's mean before the SAE (TransformerLens centre_writing_weights view). */
	centre: boolean;
	/**
	 * Evaluation statistics: per row `l0`, `sq_error` (‖x − x̂‖²), `cosine` (x·x̂ / ‖x‖‖x̂‖),
	 * `sq_norm` (‖x‖²); per feature `fire_counts` [d_sae] (rows where it fired); `sum_x` [d_out]
	 * (x: the target, which for a transcoder is `sae_target`).
	 */
	stats?: boolean;
}

export const SAE_INPUT = 'sae_in';
/** A transcoder's target, the output hook's activation [rows, d_out], for `error` and `stats`. */
export const SAE_TARGET = 'sae_target';

/** Whether the graph for `request` takes SAE_TARGET. */
export function needsTarget(sae: Sae, request: SaeGraphRequest): boolean {
	return sae.cfg.transcoder !== undefined && (request.error || request.stats === true);
}

/** The SAE's weights as graph values (f16/bf16 cast to float32), initializers named `prefix` + SAELens name. */
export function saeWeights(b: GraphBuilder, sae: Sae, prefix = ''): (name: string) => Value {
	const made = new Map<string, Value>();
	return (name: string): Value => {
		const cached = made.get(name);
		if (cached) return cached;
		const t: SaeTensor | undefined = sae.weights[name];
		if (!t) throw new Error(`internal: SAE weight ${name} missing after validation`);
		if (!isStoredFloat(t.dtype)) throw new Error(`internal: SAE weight ${name} has dtype ${t.dtype}`);
		const dataType = STORED_FLOAT_TYPE[t.dtype];
		const v = b.initializer(prefix + name, dataType, t.shape, t.data);
		const out = dataType === DataType.FLOAT ? v : b.cast(v, DataType.FLOAT);
		made.set(name, out);
		return out;
	};
}

/** How an activation becomes the SAE's input, and how its outputs map back. */
export interface SaeInputView {
	/** The activation in the SAE's view (centred for TransformerLens-processed SAEs), [..., d_in]. */
	xView: Value;
	/** What the encoder reads: normalized, minus b_dec when apply_b_dec_to_input, [..., d_in]. */
	saeIn: Value;
	/** Maps a reconstruction from the normalized space back to the view's space. */
	undo: (r: Value) => Value;
	/** [..., 1] factor taking a change made in normalized space to the view's space; absent without normalization. */
	unscale?: Value;
}

/**
 * SAELens's input processing, for activations of any rank with d_in last: the centred view,
 * normalize_activations and b_dec subtraction.
 */
export function saeInputView(b: GraphBuilder, sae: Sae, x: Value, centre: boolean, weight: (name: string) => Value): SaeInputView {
	const { cfg } = sae;
	const rowMean = (v: Value): Value => b.op('ReduceMean', [v], { axes: { kind: 'ints', value: [-1] }, keepdims: { kind: 'int', value: 1 } });
	const xView = centre ? b.sub(x, rowMean(x)) : x;

	// Normalization in (and its inverse on the way out), per SAELens normalize_activations.
	let xIn = xView;
	let undo = (r: Value): Value => r;
	let unscale: Value | undefined;
	if (cfg.normalize_activations === 'constant_norm_rescale') {
		const norm = b.sqrt(b.op('ReduceSum', [b.mul(xView, xView), b.constInt64([-1])], { keepdims: { kind: 'int', value: 1 } }));
		const scale = b.div(b.constFloat([Math.sqrt(cfg.d_in)]), norm); // [rows, 1]
		xIn = b.mul(xView, scale);
		undo = (r) => b.div(r, scale);
		unscale = b.div(b.constFloat([1]), scale);
	} else if (cfg.normalize_activations === 'layer_norm') {
		// As SAELens's run_time_activation_ln_in/out: torch's x.std() is the unbiased one (÷ (d_in − 1)),
		// the input is divided by std + 1e-5 and the output multiplied back by std alone.
		const mu = rowMean(xView);
		const centred = b.sub(xView, mu);
		const sumSq = b.op('ReduceSum', [b.mul(centred, centred), b.constInt64([-1])], { keepdims: { kind: 'int', value: 1 } });
		const std = b.sqrt(b.div(sumSq, b.constFloat([cfg.d_in - 1])));
		xIn = b.div(centred, b.add(std, b.constFloat([1e-5])));
		undo = (r) => b.add(b.mul(r, std), mu);
		unscale = std;
	}
	const saeIn = cfg.apply_b_dec_to_input ? b.sub(xIn, weight('b_dec')) : xIn;
	return { xView, saeIn, undo, unscale };
}

export function buildSaeGraph(sae: Sae, request: SaeGraphRequest): Buffer {
	const { cfg } = sae;
	const b = new GraphBuilder('sae');
	const weight = saeWeights(b, sae);
	const x = b.input(SAE_INPUT, DataType.FLOAT, ['rows', cfg.d_in]);
	const { xView, saeIn, undo } = saeInputView(b, sae, x, request.centre, weight);
	const architecture = saeArchitecture(cfg.architecture);
	const g: SaeGraphContext = { b, cfg, weight };
	const acts = architecture.encode(g, saeIn); // [rows, d_sae]
	if (request.acts) b.output(acts, DataType.FLOAT, ['rows', cfg.d_sae], 'acts');
	if (request.topFeatures > 0) {
		const [values, indices] = b.node(
			'TopK',
			[acts, b.constInt64([Math.min(request.topFeatures, cfg.d_sae)])],
			{ axis: { kind: 'int', value: -1 }, largest: { kind: 'int', value: 1 }, sorted: { kind: 'int', value: 1 } },
			2,
		) as [Value, Value];
		b.output(values, DataType.FLOAT, ['rows', 'top'], 'top_values');
		b.output(indices, DataType.INT64, ['rows', 'top'], 'top_indices');
	}
	const dOut = outputWidth(cfg);
	const recons = request.recons || request.error || request.stats ? undo(decodeOutput(g, acts, saeIn)) : undefined; // [rows, d_out]
	if (request.recons) b.output(recons!, DataType.FLOAT, ['rows', dOut], 'recons');
	if (recons && (request.error || request.stats)) {
		// What the reconstruction is measured against: the input itself, or a transcoder's output hook.
		const target = needsTarget(sae, request) ? b.input(SAE_TARGET, DataType.FLOAT, ['rows', dOut]) : xView;
		const error = b.sub(target, recons);
		if (request.error) b.output(error, DataType.FLOAT, ['rows', dOut], 'error');
		if (request.stats) {
			const keep = { keepdims: { kind: 'int' as const, value: 0 } };
			const rowSum = (v: Value) => b.op('ReduceSum', [v, b.constInt64([-1])], keep);
			const fired = b.cast(b.op('Greater', [acts, b.constFloat([0])]), DataType.FLOAT); // [rows, d_sae]
			const sqNorm = rowSum(b.mul(target, target));
			const dot = rowSum(b.mul(target, recons));
			const reconNorm = b.sqrt(rowSum(b.mul(recons, recons)));
			b.output(rowSum(fired), DataType.FLOAT, ['rows'], 'l0');
			b.output(rowSum(b.mul(error, error)), DataType.FLOAT, ['rows'], 'sq_error');
			b.output(b.div(dot, b.add(b.mul(b.sqrt(sqNorm), reconNorm), b.constFloat([1e-12]))), DataType.FLOAT, ['rows'], 'cosine');
			b.output(sqNorm, DataType.FLOAT, ['rows'], 'sq_norm');
			b.output(b.op('ReduceSum', [target, b.constInt64([0])], keep), DataType.FLOAT, [dOut], 'sum_x');
			b.output(b.op('ReduceSum', [fired, b.constInt64([0])], keep), DataType.FLOAT, [cfg.d_sae], 'fire_counts');
		}
	}
	return b.build({ architecture: cfg.architecture, hook_name: cfg.metadata.hook_name });
}
