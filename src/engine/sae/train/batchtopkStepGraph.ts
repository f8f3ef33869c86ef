// One BatchTopK SAE training step as a single onnxruntime graph: the k·B largest ReLU
// activations across the whole batch are kept (so tokens get a variable number of latents,
// k on average), AuxK on dead latents, and a closed-form backward over those P = k·B
// (token, latent) pairs only. Unit-norm decoder rows. The smallest kept activation is emitted
// so the trainer can keep SAELens's running threshold, which becomes the JumpReLU threshold
// the SAE is saved with.
//
// Shapes: B tokens per batch, d = d_in, n = d_sae, P = k·B pairs.

import { DataType } from '../../onnx/onnxProto';
import { GraphBuilder, attr } from '../../onnx/graphBuilder';
import type { Value } from '../../onnx/graphBuilder';
import { auxk, rowNorms, scatterRows, scatterVector } from './auxkGraph';
import { auxkInputs, biasGrad, optimize, reconstructionLoss, saeParamUpdates, stepInputs, stepMetrics, withSkip } from './stepGraphCommon';
import type { StepGraphOptions } from './stepGraphCommon';

export interface BatchtopkStepOptions extends StepGraphOptions {
	/** Mean active latents per token. */
	k: number;
}

const { int } = attr;

export function buildBatchtopkStepGraph(o: BatchtopkStepOptions): Buffer {
	const b = new GraphBuilder('batchtopk_train_step');
	const { dIn: d, dSae: n, k } = o;
	const inputs = stepInputs(b, o);
	const { x, target, xc, wEnc, bEnc, wDec, bDec, batch, dOut } = inputs;
	const { deadIndices, kAux, auxScale } = auxkInputs(b);
	const batchInt = b.gather(b.shape(x), b.constInt64([0]));

	// --- forward -------------------------------------------------------------------------
	const pre = b.linear(xc, wEnc, bEnc); // [B, n]
	const flat = b.reshape(b.op('Relu', [pre]), [-1]); // [B·n]
	const [values, flatIndex] = b.node('TopK', [flat, b.mul(batchInt, b.constInt64([k]))], { axis: int(-1), largest: int(1), sorted: int(0) }, 2) as [Value, Value]; // [P]
	const row = b.div(flatIndex, b.constInt64([n], [])); // token of each pair
	const col = b.op('Mod', [flatIndex, b.constInt64([n], [])]); // latent of each pair
	const decRows = b.gather(wDec, col); // [P, d]
	const zerosBd = b.op('ConstantOfShape', [b.shape(target)]); // [B, d_out]
	const scatterTokens = (updates: Value) => b.op('ScatterND', [zerosBd, b.unsqueeze(row, [1]), updates], { reduction: { kind: 'string', value: 'add' } }); // [P, d] → [B, d]
	const recon = withSkip(b, inputs, b.add(scatterTokens(b.mul(b.unsqueeze(values, [1]), decRows)), bDec)); // [B, d_out]
	const err = b.sub(recon, target);
	const { mse, gRecon } = reconstructionLoss(b, err, batch);
	const aux = auxk(b, { pre, wDec, bDec, err, deadIndices, kAux, auxScale, batch });
	const loss = b.add(mse, aux.loss);

	// --- backward over the P pairs --------------------------------------------------------
	const gAtPairs = b.gather(gRecon, row); // [P, d]
	const active = b.cast(b.op('Greater', [values, b.constFloat([0])]), DataType.FLOAT); // [P]
	const gValues = b.mul(b.op('ReduceSum', [b.mul(decRows, gAtPairs), b.constInt64([1])], { keepdims: int(0) }), active); // [P]
	const gWDec = b.add(scatterRows(b, n, dOut, col, b.mul(b.unsqueeze(values, [1]), gAtPairs)), scatterRows(b, n, dOut, deadIndices, aux.gDeadRows));
	const xAtPairs = b.gather(xc, row); // [P, d]
	const gWEncT = b.add(scatterRows(b, n, d, col, b.mul(b.unsqueeze(gValues, [1]), xAtPairs)), scatterRows(b, n, d, deadIndices, b.matMul(b.transpose(aux.gDeadPre, [1, 0]), xc)));
	const gWEnc = b.transpose(gWEncT, [1, 0]);
	const gBEnc = b.add(scatterVector(b, n, col, gValues), scatterVector(b, n, deadIndices, b.op('ReduceSum', [aux.gDeadPre, b.constInt64([0])], { keepdims: int(0) })));
	const gBDec = biasGrad(b, inputs, b.add(gRecon, aux.gAuxRecon), gBEnc);

	// --- optimizer -----------------------------------------------------------------------
	const norm = optimize(
		b,
		inputs,
		saeParamUpdates(b, inputs, n, { gWEnc, gBEnc, gWDec, gBDec, gRecon }, (w) => b.div(w, rowNorms(b, w))),
		o,
	);
	// The smallest positive kept activation, for the running JumpReLU threshold.
	const positiveOrInf = b.op('Where', [b.op('Greater', [values, b.constFloat([0])]), values, b.constFloat([Infinity])]);
	b.output(b.op('ReduceMin', [positiveOrInf], { keepdims: int(0) }), DataType.FLOAT, [], 'min_active');
	stepMetrics(b, {
		x: target,
		err,
		loss,
		mse,
		sparsityLoss: aux.loss,
		gradNorm: norm,
		batch,
		n,
		fireCounts: scatterVector(b, n, col, active),
		l0Sum: b.op('ReduceSum', [active], { keepdims: int(0) }),
	});
	return b.build({ trainer: 'batchtopk', k: String(k) });
}
