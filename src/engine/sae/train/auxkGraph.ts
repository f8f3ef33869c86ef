// AuxK (OpenAI's TopK paper, as SAELens computes it), shared by the TopK and BatchTopK step
// graphs: the k_aux strongest dead latents reconstruct the detached residual x − x̂. Only the
// dead columns are touched, so its cost follows the number of dead latents.

import { attr } from '../../onnx/graphBuilder';
import type { GraphBuilder, Value } from '../../onnx/graphBuilder';

const { int } = attr;

export interface AuxkInputs {
	/** Encoder pre-activations [B, n]. */
	pre: Value;
	wDec: Value;
	bDec: Value;
	/** x̂ − x [B, d]. */
	err: Value;
	deadIndices: Value;
	kAux: Value;
	auxScale: Value;
	/** B as a float scalar. */
	batch: Value;
}

export interface Auxk {
	/** The scaled AuxK loss. */
	loss: Value;
	/** ∂loss/∂aux_recon [B, d]; it also reaches b_dec. */
	gAuxRecon: Value;
	/** ∂loss/∂pre at the dead columns [B, nd] (zero where a dead latent was not chosen). */
	gDeadPre: Value;
	/** ∂loss/∂W_dec for the dead rows [nd, d]. */
	gDeadRows: Value;
}

export function auxk(b: GraphBuilder, i: AuxkInputs): Auxk {
	const deadPre = b.gather(i.pre, i.deadIndices, 1); // [B, nd]
	const [values, local] = b.node('TopK', [deadPre, i.kAux], { axis: int(-1), largest: int(1), sorted: int(0) }, 2) as [Value, Value];
	const zeros = b.op('ConstantOfShape', [b.shape(deadPre)]);
	const acts = b.op('ScatterElements', [zeros, local, values], { axis: int(1) }); // [B, nd]
	const chosen = b.op('ScatterElements', [zeros, local, b.op('Expand', [b.constFloat([1]), b.shape(values)])], { axis: int(1) });
	const deadRows = b.gather(i.wDec, i.deadIndices); // [nd, d]
	const auxRecon = b.add(b.matMul(acts, deadRows), i.bDec); // [B, d]
	const auxErr = b.add(auxRecon, i.err); // aux_recon − (x − x̂)
	const loss = b.mul(i.auxScale, b.div(b.op('ReduceSum', [b.mul(auxErr, auxErr)], { keepdims: int(0) }), i.batch));
	const gAuxRecon = b.div(b.mul(b.mul(auxErr, b.constFloat([2])), i.auxScale), i.batch);
	return {
		loss,
		gAuxRecon,
		gDeadPre: b.mul(b.matMul(gAuxRecon, b.transpose(deadRows, [1, 0])), chosen),
		gDeadRows: b.matMul(b.transpose(acts, [1, 0]), gAuxRecon),
	};
}

/** Adds row updates [m, d] into an [n, d] zero matrix at their indices (duplicates accumulate). */
export function scatterRows(b: GraphBuilder, n: number, d: number, indices: Value, updates: Value): Value {
	const zeros = b.op('ConstantOfShape', [b.constInt64([n, d])]);
	return b.op('ScatterND', [zeros, b.reshape(indices, [-1, 1]), updates], { reduction: { kind: 'string', value: 'add' } });
}

/** Adds values into an [n] zero vector at their indices (duplicates accumulate). */
export function scatterVector(b: GraphBuilder, n: number, indices: Value, values: Value): Value {
	const zeros = b.op('ConstantOfShape', [b.constInt64([n])]);
	return b.op('ScatterND', [zeros, b.reshape(indices, [-1, 1]), b.reshape(values, [-1])], { reduction: { kind: 'string', value: 'add' } });
}

/** L2 norm of each row of [n, d], kept as [n, 1]. */
export function rowNorms(b: GraphBuilder, m: Value): Value {
	return b.sqrt(b.op('ReduceSum', [b.mul(m, m), b.constInt64([1])], { keepdims: int(1) }));
}
