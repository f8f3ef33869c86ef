// Names and metric outputs shared by every trainer's step graph, so the training loop drives
// them all the same way.

import { DataType } from '../../onnx/onnxProto';
import type { GraphBuilder, Value } from '../../onnx/graphBuilder';
import { SAELENS_ADAM, SAELENS_MAX_GRAD_NORM, adamUpdate, clipGradients } from './optimizerGraph';
import type { AdamHyper } from './optimizerGraph';

/** The parameters every architecture trains here, by SAELens name. */
export const SAE_PARAMS = ['W_enc', 'b_enc', 'W_dec', 'b_dec'] as const;

/** Step inputs besides parameters and Adam moments. */
export const STEP_INPUTS = {
	x: 'x', // [B, d] activations
	step: 'step', // float scalar, 1-based Adam step
	lr: 'lr', // float scalar
	// TopK only
	deadIndices: 'dead_indices', // int64 [nd ≥ 1]: latents that have not fired for the dead window (any one, with aux_scale 0, when none are)
	kAux: 'k_aux', // int64 [1]: auxiliary latents per token, 1 ≤ k_aux ≤ nd
	auxScale: 'aux_scale', // float scalar: aux coefficient × min(dead / k_aux_heuristic, 1); 0 disables AuxK
	// standard only
	l1Coefficient: 'l1_coefficient', // float scalar, already scaled by the L1 warm-up
	// jumprelu only
	l0Coefficient: 'l0_coefficient', // float scalar, already scaled by the L0 warm-up
} as const;

export interface MetricValues {
	x: Value;
	/** recon − x, [B, d]. */
	err: Value;
	loss: Value;
	mse: Value;
	/** The architecture's extra loss: AuxK (topk) or L1 (standard). */
	sparsityLoss: Value;
	gradNorm: Value;
	/** B as a float scalar. */
	batch: Value;
	n: number;
	/** Tokens each latent fired on in the batch, [n]. */
	fireCounts: Value;
	/** Active latents summed over the batch. */
	l0Sum: Value;
}

/** Emits the scalar metrics and per-latent fire counts the training loop logs. */
export function stepMetrics(b: GraphBuilder, m: MetricValues): void {
	const keep0 = { keepdims: { kind: 'int' as const, value: 0 } };
	const centred = b.sub(m.x, b.op('ReduceMean', [m.x], { axes: { kind: 'ints', value: [0] }, keepdims: { kind: 'int', value: 1 } }));
	const totalVariance = b.op('ReduceSum', [b.mul(centred, centred)], keep0);
	const explained = b.sub(b.constFloat([1]), b.div(b.op('ReduceSum', [b.mul(m.err, m.err)], keep0), totalVariance));
	b.output(m.loss, DataType.FLOAT, [], 'loss');
	b.output(m.mse, DataType.FLOAT, [], 'mse');
	b.output(m.sparsityLoss, DataType.FLOAT, [], 'sparsity_loss');
	b.output(b.div(m.l0Sum, m.batch), DataType.FLOAT, [], 'l0');
	b.output(explained, DataType.FLOAT, [], 'explained_variance');
	b.output(m.gradNorm, DataType.FLOAT, [], 'grad_norm');
	b.output(m.fireCounts, DataType.FLOAT, [m.n], 'fire_counts');
}

/**
 * A transcoder's step: the batch rows are [x_in | y_out] (d_in + d_out wide), the encoder reads
 * x_in as it is (no b_dec subtraction), the decoder (W_dec [n, d_out], b_dec [d_out], and
 * x_in · W_skipᵀ with a skip term) is fitted to y_out.
 */
export interface TranscoderShape {
	dOut: number;
	skip: boolean;
}

/** Options every step graph takes. */
export interface StepGraphOptions {
	dIn: number;
	dSae: number;
	transcoder?: TranscoderShape;
	adam?: AdamHyper;
	maxGradNorm?: number;
	/** Also output the gradients (for checks against autograd). */
	outputGradients?: boolean;
}

export interface StepInputs {
	/** The encoder's input [B, d_in] (a transcoder's x_in). */
	x: Value;
	/** What the decoder reconstructs [B, d_out]: x itself, or a transcoder's y_out. */
	target: Value;
	/** What the encoder multiplies: x − b_dec, or a transcoder's x_in as it is. */
	xc: Value;
	dIn: number;
	dOut: number;
	/** A skip transcoder's W_skip [d_out, d_in]. */
	wSkip?: Value;
	wEnc: Value;
	bEnc: Value;
	wDec: Value;
	bDec: Value;
	step: Value;
	lr: Value;
	/** B as a float scalar. */
	batch: Value;
}

/** The inputs every step graph has: the batch, the SAE parameters, the Adam step and the learning rate. */
export function stepInputs(b: GraphBuilder, o: StepGraphOptions): StepInputs {
	const { dIn: d, dSae: n, transcoder } = o;
	const dOut = transcoder?.dOut ?? d;
	const rows = b.input(STEP_INPUTS.x, DataType.FLOAT, ['B', d + (transcoder ? dOut : 0)]);
	const [x, target] = transcoder ? (b.split(rows, [d, dOut], 1) as [Value, Value]) : [rows, rows];
	const bDec = b.input('b_dec', DataType.FLOAT, [dOut]);
	return {
		x,
		target,
		xc: transcoder ? x : b.sub(x, bDec),
		dIn: d,
		dOut,
		...(transcoder?.skip ? { wSkip: b.input('W_skip', DataType.FLOAT, [dOut, d]) } : {}),
		wEnc: b.input('W_enc', DataType.FLOAT, [d, n]),
		bEnc: b.input('b_enc', DataType.FLOAT, [n]),
		wDec: b.input('W_dec', DataType.FLOAT, [n, dOut]),
		bDec,
		step: b.input(STEP_INPUTS.step, DataType.FLOAT, []),
		lr: b.input(STEP_INPUTS.lr, DataType.FLOAT, []),
		batch: b.cast(b.gather(b.shape(x), b.constInt64([0], [])), DataType.FLOAT),
	};
}

/** The reconstruction from the decoded features [B, d_out]: plus a skip transcoder's x · W_skipᵀ. */
export function withSkip(b: GraphBuilder, i: StepInputs, decoded: Value): Value {
	return i.wSkip ? b.add(decoded, b.matMul(i.x, b.transpose(i.wSkip, [1, 0]))) : decoded;
}

/**
 * ∂loss/∂b_dec from the reconstruction gradient [B, d_out] (with AuxK's, when it has one): an
 * SAE's b_dec also shifts the encoder's input (decoderBiasGrad); a transcoder's does not.
 */
export function biasGrad(b: GraphBuilder, i: StepInputs, gReconTotal: Value, gBEnc: Value): Value {
	if (i.xc === i.x) return b.op('ReduceSum', [gReconTotal, b.constInt64([0])], { keepdims: { kind: 'int', value: 0 } });
	return decoderBiasGrad(b, gReconTotal, i.wEnc, gBEnc);
}

/** AuxK's inputs (TopK and BatchTopK). */
export function auxkInputs(b: GraphBuilder): { deadIndices: Value; kAux: Value; auxScale: Value } {
	return {
		deadIndices: b.input(STEP_INPUTS.deadIndices, DataType.INT64, ['nd']),
		kAux: b.input(STEP_INPUTS.kAux, DataType.INT64, [1]),
		auxScale: b.input(STEP_INPUTS.auxScale, DataType.FLOAT, []),
	};
}

export interface ParamUpdate {
	name: string;
	grad: Value;
	dims: number[];
	/** Applied to the Adam-updated value before it is output (e.g. unit-norm decoder rows). */
	after?: (updated: Value) => Value;
	/** Extra outputs derived from the updated value (e.g. θ from log θ). */
	also?: (updated: Value) => void;
}

/**
 * Clips all gradients together, applies Adam to each parameter and outputs `new.<param>`
 * (and `grad.<param>` when asked). Returns the pre-clipping gradient norm.
 */
export function optimize(b: GraphBuilder, i: StepInputs, params: readonly ParamUpdate[], o: StepGraphOptions): Value {
	const { clipped, norm } = clipGradients(
		b,
		params.map((p) => p.grad),
		o.maxGradNorm ?? SAELENS_MAX_GRAD_NORM,
	);
	params.forEach((p, j) => {
		let updated = adamUpdate(b, p.name, clipped[j]!, p.dims, i.step, i.lr, o.adam ?? SAELENS_ADAM);
		if (p.after) updated = p.after(updated);
		b.output(updated, DataType.FLOAT, p.dims, `new.${p.name}`);
		p.also?.(updated);
		if (o.outputGradients) b.output(p.grad, DataType.FLOAT, p.dims, `grad.${p.name}`);
	});
	return norm;
}

/**
 * ∂loss/∂b_dec. x − b_dec feeds the encoder, so besides the reconstruction gradients it gets
 * −Σ_b ∂pre[b]·W_encᵀ = −W_enc·∂b_enc: one matrix-vector product, no [B, d] intermediate.
 */
export function decoderBiasGrad(b: GraphBuilder, gReconTotal: Value, wEnc: Value, gBEnc: Value): Value {
	const fromRecon = b.op('ReduceSum', [gReconTotal, b.constInt64([0])], { keepdims: { kind: 'int', value: 0 } }); // [d]
	return b.sub(fromRecon, b.matMul(wEnc, gBEnc)); // [d, n] × [n] → [d]
}

/** SAELens's MSE (summed over d_in, mean over tokens) of err = x̂ − x, and its gradient 2·err/B. */
export function reconstructionLoss(b: GraphBuilder, err: Value, batch: Value): { mse: Value; gRecon: Value } {
	return {
		mse: b.div(b.op('ReduceSum', [b.mul(err, err)], { keepdims: { kind: 'int', value: 0 } }), batch),
		gRecon: b.div(b.mul(err, b.constFloat([2])), batch), // [B, d]
	};
}

export interface SaeGrads {
	gWEnc: Value;
	gBEnc: Value;
	gWDec: Value;
	gBDec: Value;
}

/**
 * The SAE parameters' updates (and a skip transcoder's W_skip, whose gradient is gReconᵀ · x);
 * `decoderAfter` post-processes W_dec (unit-norm rows).
 */
export function saeParamUpdates(b: GraphBuilder, i: StepInputs, n: number, g: SaeGrads & { gRecon: Value }, decoderAfter?: (w: Value) => Value): ParamUpdate[] {
	const { dIn: d, dOut } = i;
	const updates: ParamUpdate[] = [
		{ name: 'W_enc', grad: g.gWEnc, dims: [d, n] },
		{ name: 'b_enc', grad: g.gBEnc, dims: [n] },
		{ name: 'W_dec', grad: g.gWDec, dims: [n, dOut], after: decoderAfter },
		{ name: 'b_dec', grad: g.gBDec, dims: [dOut] },
	];
	// Gemm with transA reads the [B, d_out] gradient in place.
	if (i.wSkip) updates.push({ name: 'W_skip', grad: b.op('Gemm', [g.gRecon, i.x], { transA: { kind: 'int', value: 1 } }), dims: [dOut, d] });
	return updates;
}
