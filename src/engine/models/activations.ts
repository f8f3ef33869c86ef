// MLP nonlinearities by their Hugging Face names (ACT2FN), as ONNX ops in the order torch
// computes them.

import type { GraphBuilder, Value } from '../onnx/graphBuilder';
import { ModelConfigError } from './decoderConfig';

/** Hugging Face activation names and the function each computes. */
const ACTIVATIONS: Readonly<Record<string, 'gelu_tanh' | 'gelu' | 'relu' | 'silu'>> = {
	gelu_new: 'gelu_tanh',
	gelu_pytorch_tanh: 'gelu_tanh',
	gelu_fast: 'gelu_tanh',
	gelu_python_tanh: 'gelu_tanh',
	gelu: 'gelu',
	relu: 'relu',
	silu: 'silu',
	swish: 'silu',
};

/** Checks a config's activation name, naming the field it came from. */
export function checkActivation(name: unknown, field: string): string {
	if (typeof name !== 'string' || !(name in ACTIVATIONS)) {
		throw new ModelConfigError(`config.json: ${field} ${JSON.stringify(name)} is not supported (supported: ${Object.keys(ACTIVATIONS).join(', ')})`);
	}
	return name;
}

/** Whether `name` is GELU's tanh approximation, which onnxruntime's FastGelu computes fused. */
export function isTanhGelu(name: string): boolean {
	return ACTIVATIONS[name] === 'gelu_tanh';
}

/** The activation `name` (checked by checkActivation) applied elementwise to x. */
export function activation(b: GraphBuilder, name: string, x: Value): Value {
	switch (ACTIVATIONS[name]) {
		case 'relu':
			return b.op('Relu', [x]);
		case 'silu':
			return b.mul(x, b.sigmoid(x));
		case 'gelu': {
			// Exact GELU: 0.5·x·(1 + erf(x/√2)).
			const erf = b.op('Erf', [b.mul(x, b.constFloat([Math.SQRT1_2]))]);
			return b.mul(b.mul(x, b.constFloat([0.5])), b.add(erf, b.constFloat([1])));
		}
		case 'gelu_tanh': {
			// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
			const inner = b.mul(b.add(x, b.mul(b.mul(b.mul(x, x), x), b.constFloat([0.044715]))), b.constFloat([Math.sqrt(2 / Math.PI)]));
			return b.mul(b.mul(x, b.constFloat([0.5])), b.add(b.tanh(inner), b.constFloat([1])));
		}
		default:
			throw new Error(`internal: unchecked activation ${name}`);
	}
}
