// One ReLU + L1 ("standard") SAE training step as a single onnxruntime graph: forward,
// closed-form backward, clipping and Adam. As in SAELens, the L1 penalty weights each
// feature by its decoder row norm, so no decoder renormalization is needed.
//
// Shapes: B tokens per batch, d = d_in, n = d_sae.

import { DataType } from '../../onnx/onnxProto';
import { GraphBuilder, attr } from '../../onnx/graphBuilder';
import { STEP_INPUTS, biasGrad, optimize, reconstructionLoss, saeParamUpdates, stepInputs, stepMetrics, withSkip } from './stepGraphCommon';
import type { StepGraphOptions } from './stepGraphCommon';

export type StandardStepOptions = StepGraphOptions;

const { int } = attr;

export function buildStandardStepGraph(o: StandardStepOptions): Buffer {
	const b = new GraphBuilder('standard_train_step');
	const { dSae: n } = o;
	const inputs = stepInputs(b, o);
	const { target, xc, wEnc, bEnc, wDec, bDec, batch } = inputs;
	const l1 = b.input(STEP_INPUTS.l1Coefficient, DataType.FLOAT, []); // after warm-up scaling

	// --- forward -------------------------------------------------------------------------
	const pre = b.linear(xc, wEnc, bEnc); // [B, n]
	const acts = b.op('Relu', [pre]);
	const recon = withSkip(b, inputs, b.linear(acts, wDec, bDec)); // [B, d_out]
	const err = b.sub(recon, target);
	const { mse, gRecon } = reconstructionLoss(b, err, batch);
	const decNorm = b.sqrt(b.op('ReduceSum', [b.mul(wDec, wDec), b.constInt64([1])], { keepdims: int(0) })); // [n]
	const actsPerFeature = b.op('ReduceSum', [acts, b.constInt64([0])], { keepdims: int(0) }); // [n]
	// Σ_b Σ_j acts[b, j]·‖W_dec[j]‖ taken per feature first: a [n] dot product instead of a [B, n] pass.
	const l1Loss = b.mul(l1, b.div(b.op('ReduceSum', [b.mul(actsPerFeature, decNorm)], { keepdims: int(0) }), batch));
	const loss = b.add(mse, l1Loss);

	// --- backward ------------------------------------------------------------------------
	const l1PerFeature = b.div(b.mul(l1, decNorm), batch); // ∂l1/∂acts, the same for every token [n]
	const gActs = b.add(b.matMul(gRecon, b.transpose(wDec, [1, 0])), l1PerFeature); // [B, n]
	// One 0/1 mask of the firing latents serves the ReLU gradient and the fire counts.
	const firing = b.cast(b.op('Greater', [acts, b.constFloat([0])]), DataType.FLOAT); // [B, n]
	const gPre = b.mul(gActs, firing);
	// ∂l1/∂W_dec[j] = l1/B · Σ_b acts[b, j] · W_dec[j] / ‖W_dec[j]‖.
	const l1DecGrad = b.mul(b.unsqueeze(b.div(b.mul(actsPerFeature, l1), b.mul(decNorm, batch)), [1]), wDec);
	// Gemm with transA reads the [B, n] activations in place; a Transpose node would copy them.
	const gWDec = b.op('Gemm', [acts, gRecon, l1DecGrad], { transA: int(1) }); // [n, d]
	const gWEnc = b.op('Gemm', [xc, gPre], { transA: int(1) }); // [d, n]
	const gBEnc = b.op('ReduceSum', [gPre, b.constInt64([0])], { keepdims: int(0) });
	const gBDec = biasGrad(b, inputs, gRecon, gBEnc);

	// --- optimizer -----------------------------------------------------------------------
	const norm = optimize(b, inputs, saeParamUpdates(b, inputs, n, { gWEnc, gBEnc, gWDec, gBDec, gRecon }), o);

	const fireCounts = b.op('ReduceSum', [firing, b.constInt64([0])], { keepdims: int(0) }); // [n]
	stepMetrics(b, { x: target, err, loss, mse, sparsityLoss: l1Loss, gradNorm: norm, batch, n, fireCounts, l0Sum: b.op('ReduceSum', [fireCounts], { keepdims: int(0) }) });
	return b.build({ trainer: 'standard' });
}
