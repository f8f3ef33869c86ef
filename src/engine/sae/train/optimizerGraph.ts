// In-graph optimizer pieces shared by every trainer's step graph: global gradient-norm
// clipping (torch.nn.utils.clip_grad_norm_) and Adam (torch.optim.Adam, no weight decay).

import { DataType } from '../../onnx/onnxProto';
import type { GraphBuilder, Value } from '../../onnx/graphBuilder';

export interface AdamHyper {
	beta1: number;
	beta2: number;
	eps: number;
}

/** SAELens's defaults: Adam(0.9, 0.999), eps 1e-8, gradients clipped to norm 1. */
export const SAELENS_ADAM: AdamHyper = { beta1: 0.9, beta2: 0.999, eps: 1e-8 };
export const SAELENS_MAX_GRAD_NORM = 1.0;

/** Names of a parameter's optimizer-state inputs and outputs. */
export const stateNames = (param: string) => ({
	m: `adam_m.${param}`,
	v: `adam_v.${param}`,
	newParam: `new.${param}`,
	newM: `new.adam_m.${param}`,
	newV: `new.adam_v.${param}`,
});

/** Sum of squares of every gradient, as a scalar. */
function sumSquares(b: GraphBuilder, g: Value): Value {
	return b.op('ReduceSum', [b.mul(g, g)], { keepdims: { kind: 'int', value: 0 } });
}

/**
 * Scales gradients so their global L2 norm is at most `maxNorm`, as clip_grad_norm_ does:
 * coefficient = min(1, maxNorm / (norm + 1e-6)). Returns the clipped gradients and the norm.
 */
export function clipGradients(b: GraphBuilder, grads: Value[], maxNorm: number): { clipped: Value[]; norm: Value } {
	let total = sumSquares(b, grads[0]!);
	for (const g of grads.slice(1)) total = b.add(total, sumSquares(b, g));
	const norm = b.sqrt(total);
	const coefficient = b.op('Min', [b.constFloat([1]), b.div(b.constFloat([maxNorm]), b.add(norm, b.constFloat([1e-6])))]);
	return { clipped: grads.map((g) => b.mul(g, coefficient)), norm };
}

/**
 * One Adam step for `param` given its gradient: emits the new moments as outputs and returns
 * the updated parameter (the caller outputs it as `new.<param>`, after any renormalization).
 * `step` is the 1-based step number and `lr` the learning rate, both float scalar inputs.
 */
export function adamUpdate(b: GraphBuilder, param: string, grad: Value, dims: readonly number[], step: Value, lr: Value, hyper: AdamHyper): Value {
	const names = stateNames(param);
	const m = b.input(names.m, DataType.FLOAT, dims);
	const v = b.input(names.v, DataType.FLOAT, dims);
	const newM = b.add(b.mul(m, b.constFloat([hyper.beta1])), b.mul(grad, b.constFloat([1 - hyper.beta1])));
	const newV = b.add(b.mul(v, b.constFloat([hyper.beta2])), b.mul(b.mul(grad, grad), b.constFloat([1 - hyper.beta2])));
	// torch: p -= lr / (1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + ε)
	const bias1 = b.sub(b.constFloat([1]), b.op('Pow', [b.constFloat([hyper.beta1]), step]));
	const bias2 = b.sub(b.constFloat([1]), b.op('Pow', [b.constFloat([hyper.beta2]), step]));
	const denom = b.add(b.div(b.sqrt(newV), b.sqrt(bias2)), b.constFloat([hyper.eps]));
	const newParam = b.sub(param, b.mul(b.div(lr, bias1), b.div(newM, denom)));
	b.output(newM, DataType.FLOAT, dims, names.newM);
	b.output(newV, DataType.FLOAT, dims, names.newV);
	return newParam;
}
