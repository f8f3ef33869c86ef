// One TopK SAE training step as a single onnxruntime graph: sparse forward, AuxK loss on
// dead latents, closed-form backward that touches only the k active latents per token (and
// the dead latents, for AuxK), gradient clipping, Adam, and unit-norm decoder rows.
//
// Shapes: B tokens per batch, d = d_in, n = d_sae, k active latents, nd dead latents,
// ka ≤ nd auxiliary latents per token.

import { DataType } from '../../onnx/onnxProto';
import { GraphBuilder, attr } from '../../onnx/graphBuilder';
import type { Value } from '../../onnx/graphBuilder';
import { auxk, rowNorms, scatterRows, scatterVector } from './auxkGraph';
import { auxkInputs, biasGrad, optimize, reconstructionLoss, saeParamUpdates, stepInputs, stepMetrics, withSkip } from './stepGraphCommon';
import type { StepGraphOptions } from './stepGraphCommon';

export interface TopkStepOptions extends StepGraphOptions {
	k: number;
	/** Keep decoder rows at unit norm after every step (OpenAI / EleutherAI TopK recipe). */
	normalizeDecoder: boolean;
}

const { int } = attr;

export function buildTopkStepGraph(o: TopkStepOptions): Buffer {
	const b = new GraphBuilder('topk_train_step');
	const { dIn: d, dSae: n, k } = o;
	const inputs = stepInputs(b, o);
	const { target, xc, wEnc, bEnc, wDec, bDec, batch, dOut } = inputs;
	const { deadIndices, kAux, auxScale } = auxkInputs(b);

	// --- forward -------------------------------------------------------------------------
	const pre = b.linear(xc, wEnc, bEnc); // [B, n] (the one dense product)
	const [topValues, topIndices] = b.node('TopK', [pre, b.constInt64([k])], { axis: int(-1), largest: int(1), sorted: int(0) }, 2) as [Value, Value];
	const acts = b.op('Relu', [topValues]); // [B, k]
	const rows = b.gather(wDec, topIndices); // [B, k, d_out]: the decoder rows of the active latents
	const recon = withSkip(b, inputs, b.add(sparseDecode(b, acts, rows), bDec)); // [B, d_out]
	const err = b.sub(recon, target); // [B, d_out]
	const { mse, gRecon } = reconstructionLoss(b, err, batch);

	const aux = auxk(b, { pre, wDec, bDec, err, deadIndices, kAux, auxScale, batch });
	const loss = b.add(mse, aux.loss);

	// --- backward (closed form, sparse) ----------------------------------------------------
	// ∂/∂acts = rows · g; the ReLU passes it where the value was positive.
	const gActs = b.mul(rowDots(b, rows, gRecon), b.cast(b.op('Greater', [topValues, b.constFloat([0])]), DataType.FLOAT)); // [B, k]
	const { gAuxRecon: gAux, gDeadPre } = aux;

	// Decoder rows: each active (token, latent) pair adds act · g to its row; dead rows get auxActsᵀ · gAux.
	const gWDec = b.add(scatterRows(b, n, dOut, topIndices, outer(b, acts, gRecon, dOut)), scatterRows(b, n, dOut, deadIndices, aux.gDeadRows)); // [n, d_out]
	// Encoder: the pre-activation gradient is nonzero only at the chosen and the dead latents.
	const gWEncT = b.add(scatterRows(b, n, d, topIndices, outer(b, gActs, xc, d)), scatterRows(b, n, d, deadIndices, b.matMul(b.transpose(gDeadPre, [1, 0]), xc))); // [n, d] = (xcᵀ · ∂pre)ᵀ
	const gWEnc = b.transpose(gWEncT, [1, 0]);
	const gBEnc = b.add(scatterVector(b, n, topIndices, gActs), scatterVector(b, n, deadIndices, b.op('ReduceSum', [gDeadPre, b.constInt64([0])], { keepdims: int(0) }))); // [n]
	const gBDec = biasGrad(b, inputs, b.add(gRecon, gAux), gBEnc); // [d_out]

	// --- optimizer -----------------------------------------------------------------------
	const norm = optimize(b, inputs, saeParamUpdates(b, inputs, n, { gWEnc, gBEnc, gWDec, gBDec, gRecon }, o.normalizeDecoder ? (w) => b.div(w, rowNorms(b, w)) : undefined), o);

	const firing = b.cast(b.op('Greater', [acts, b.constFloat([0])]), DataType.FLOAT); // [B, k]
	stepMetrics(b, {
		x: target,
		err,
		loss,
		mse,
		sparsityLoss: aux.loss,
		gradNorm: norm,
		batch,
		n,
		fireCounts: scatterVector(b, n, topIndices, firing),
		l0Sum: b.op('ReduceSum', [firing], { keepdims: int(0) }),
	});
	return b.build({ trainer: 'topk', k: String(k) });
}

/** Σⱼ weights[b, j] · rows[b, j, :] → [B, d] (a decoder restricted to the chosen latents). */
function sparseDecode(b: GraphBuilder, weights: Value, rows: Value): Value {
	const product = b.matMul(b.unsqueeze(weights, [1]), rows); // [B, 1, k] × [B, k, d] → [B, 1, d]
	return b.op('Squeeze', [product, b.constInt64([1])]);
}

/** rows[b, j, :] · g[b, :] → [B, k]. */
function rowDots(b: GraphBuilder, rows: Value, g: Value): Value {
	return b.op('Squeeze', [b.matMul(rows, b.unsqueeze(g, [2])), b.constInt64([2])]); // [B, k, d] × [B, d, 1]
}

/** weights[b, j] · v[b, :] for every pair → [B·k, d], the per-pair row updates. */
function outer(b: GraphBuilder, weights: Value, v: Value, d: number): Value {
	const pairs = b.mul(b.unsqueeze(weights, [2]), b.unsqueeze(v, [1])); // [B, k, d]
	return b.reshape(pairs, [-1, d]);
}
