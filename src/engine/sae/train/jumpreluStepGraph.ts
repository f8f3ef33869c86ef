// One JumpReLU SAE training step as a single onnxruntime graph (SAELens "step" mode, after
// DeepMind's Gemma Scope recipe): f = pre · 1[pre > θ], an L0 penalty Σ 1[pre > θ], and
// straight-through gradients for the threshold with a rectangle kernel of width `bandwidth`.
// The threshold is trained as log θ, as SAELens does, and saved as θ.
//
// Shapes: B tokens per batch, d = d_in, n = d_sae.

import { DataType } from '../../onnx/onnxProto';
import { GraphBuilder, attr } from '../../onnx/graphBuilder';
import type { Value } from '../../onnx/graphBuilder';
import { STEP_INPUTS, biasGrad, optimize, reconstructionLoss, saeParamUpdates, stepInputs, stepMetrics, withSkip } from './stepGraphCommon';
import type { StepGraphOptions } from './stepGraphCommon';

export interface JumpreluStepOptions extends StepGraphOptions {
	/** Width of the rectangle kernel of the threshold's pseudo-derivative (SAELens jumprelu_bandwidth). */
	bandwidth: number;
}

export const JUMPRELU_PARAMS = ['W_enc', 'b_enc', 'W_dec', 'b_dec', 'log_threshold'] as const;

const { int } = attr;

export function buildJumpreluStepGraph(o: JumpreluStepOptions): Buffer {
	const b = new GraphBuilder('jumprelu_train_step');
	const { dSae: n } = o;
	const inputs = stepInputs(b, o);
	const { target, xc, wEnc, bEnc, wDec, bDec, batch } = inputs;
	const logThreshold = b.input('log_threshold', DataType.FLOAT, [n]);
	const l0Coefficient = b.input(STEP_INPUTS.l0Coefficient, DataType.FLOAT, []);
	const colSum = (v: Value) => b.op('ReduceSum', [v, b.constInt64([0])], { keepdims: int(0) });

	// --- forward -------------------------------------------------------------------------
	const threshold = b.op('Exp', [logThreshold]); // [n]
	const pre = b.linear(xc, wEnc, bEnc); // [B, n]
	const open = b.cast(b.op('Greater', [pre, threshold]), DataType.FLOAT); // 1[pre > θ]
	const acts = b.mul(pre, open);
	const recon = withSkip(b, inputs, b.linear(acts, wDec, bDec)); // [B, d_out]
	const err = b.sub(recon, target);
	const { mse, gRecon } = reconstructionLoss(b, err, batch);
	const l0Sum = b.op('ReduceSum', [open], { keepdims: int(0) });
	const l0Loss = b.mul(l0Coefficient, b.div(l0Sum, batch));
	const loss = b.add(mse, l0Loss);

	// --- backward ------------------------------------------------------------------------
	const gActs = b.matMul(gRecon, b.transpose(wDec, [1, 0])); // [B, n]
	const gPre = b.mul(gActs, open); // no straight-through estimate on pre
	// Rectangle kernel K((pre − θ)/ε) = 1[|pre − θ| < ε/2].
	const eps = o.bandwidth;
	const kernel = b.cast(b.op('Less', [b.op('Abs', [b.sub(pre, threshold)]), b.constFloat([eps / 2])]), DataType.FLOAT); // [B, n]
	// ∂/∂θ: JumpReLU gives −(θ/ε)·K·∂acts, the L0 step gives −(1/ε)·K·(coefficient/B).
	const gThresholdFromActs = b.mul(b.div(threshold, b.constFloat([-eps])), colSum(b.mul(kernel, gActs)));
	const gThresholdFromL0 = b.mul(b.div(l0Coefficient, b.mul(batch, b.constFloat([-eps]))), colSum(kernel));
	const gLogThreshold = b.mul(b.add(gThresholdFromActs, gThresholdFromL0), threshold); // chain rule through θ = exp(log θ)
	const gWDec = b.matMul(b.transpose(acts, [1, 0]), gRecon);
	const gWEnc = b.matMul(b.transpose(xc, [1, 0]), gPre);
	const gBEnc = colSum(gPre);
	const gBDec = biasGrad(b, inputs, gRecon, gBEnc);

	// --- optimizer -----------------------------------------------------------------------
	const norm = optimize(
		b,
		inputs,
		[
			...saeParamUpdates(b, inputs, n, { gWEnc, gBEnc, gWDec, gBDec, gRecon }),
			// SAELens saves θ itself; emitting it here keeps exp() in onnxruntime.
			{
				name: 'log_threshold',
				grad: gLogThreshold,
				dims: [n],
				also: (u) => {
					b.output(b.op('Exp', [u]), DataType.FLOAT, [n], 'new.threshold');
				},
			},
		],
		o,
	);
	stepMetrics(b, { x: target, err, loss, mse, sparsityLoss: l0Loss, gradNorm: norm, batch, n, fireCounts: colSum(open), l0Sum });
	return b.build({ trainer: 'jumprelu' });
}
