// Gated SAEs (Rajamanoharan et al. 2024, SAELens "gated"): a gate 1[W_encᵀ·x + b_gate > 0]
// times a magnitude ReLU((W_enc ⊙ exp(r_mag))ᵀ·x + b_mag), the two paths sharing W_enc.
// Inference only: the engine does not train them.

import { DataType } from '../../onnx/onnxProto';
import { B_DEC, W_DEC, W_ENC, featureColumns, featureEntries } from './saeArchitecture';
import type { SaeArchitectureSpec } from './saeArchitecture';

export const gated = {
	name: 'gated',
	tensors: [W_ENC, { name: 'b_gate', dims: ['d_sae'] }, { name: 'b_mag', dims: ['d_sae'] }, { name: 'r_mag', dims: ['d_sae'] }, W_DEC, B_DEC],
	encode: ({ b, weight }, saeIn) => {
		const wEnc = weight('W_enc');
		const gate = b.cast(b.op('Greater', [b.linear(saeIn, wEnc, weight('b_gate')), b.constFloat([0])]), DataType.FLOAT);
		const magnitude = b.op('Relu', [b.linear(saeIn, b.mul(wEnc, b.op('Exp', [weight('r_mag')])), weight('b_mag'))]);
		return b.mul(gate, magnitude);
	},
	encodeSelected: (g, saeIn, features) => {
		const { b } = g;
		const projected = b.matMul(saeIn, featureColumns(g, 'W_enc', features)); // [..., n]
		const gate = b.cast(b.op('Greater', [b.add(projected, featureEntries(g, 'b_gate', features)), b.constFloat([0])]), DataType.FLOAT);
		const magnitude = b.op('Relu', [b.add(b.mul(projected, b.op('Exp', [featureEntries(g, 'r_mag', features)])), featureEntries(g, 'b_mag', features))]);
		return b.mul(gate, magnitude);
	},
	decoderInput: (_g, acts) => acts,
} satisfies SaeArchitectureSpec;
