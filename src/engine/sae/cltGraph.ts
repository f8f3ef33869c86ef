// A cross-layer transcoder's computation as one onnxruntime graph, as circuit-tracer's
// CrossLayerTranscoder computes it: layer L's features from layer L's input,
// f_L = act(x_L · W_enc_L + b_enc_L), and layer L's output
// ŷ_L = b_dec_L + Σ_{S ≤ L} f_S · W_dec_S[:, L − S, :].
//
// Shapes: n layers, rows tokens, d = d_model, s = d_sae.

import { isStoredFloat } from '../io/halfFloats';
import { DataType, STORED_FLOAT_TYPE } from '../onnx/onnxProto';
import { GraphBuilder } from '../onnx/graphBuilder';
import type { Value } from '../onnx/graphBuilder';
import type { CrossLayerTranscoder } from './circuitTracerFormat';
import type { SaeTensor } from './saeTypes';

export const CLT_INPUT = 'clt_in';

/**
 * Graph: `clt_in` [n, rows, d] (each layer's input) → `acts` [n, rows, s] and `recons` [n, rows, d]
 * (each layer's output); with `topFeatures` k > 0 also the k strongest features of each row over
 * every layer, `top_values` and `top_indices` [rows, k], an index being layer · s + feature.
 */
export function buildCltGraph(clt: CrossLayerTranscoder, topFeatures = 0): Buffer {
	const { nLayers: n, dSae: s, dModel: d } = clt;
	const b = new GraphBuilder('clt');
	const weight = (name: string, t: SaeTensor): Value => {
		if (!isStoredFloat(t.dtype)) throw new Error(`internal: CLT weight ${name} has dtype ${t.dtype}`);
		const v = b.initializer(name, STORED_FLOAT_TYPE[t.dtype], t.shape, t.data);
		return STORED_FLOAT_TYPE[t.dtype] === DataType.FLOAT ? v : b.cast(v, DataType.FLOAT);
	};
	const x = b.input(CLT_INPUT, DataType.FLOAT, [n, 'rows', d]);
	const [...inputs] = b
		.split(
			x,
			Array.from({ length: n }, () => 1),
			0,
		)
		.map((v) => b.op('Squeeze', [v, b.constInt64([0])])); // n × [rows, d]
	const acts: Value[] = [];
	const rowActs: Value[] = []; // n × [rows, s]
	/** Per source layer S: its features' writes to layers S…n−1, [rows, n − S, d]. */
	const writes: Value[] = [];
	clt.layers.forEach((layer, l) => {
		const pre = b.linear(inputs[l]!, weight(`W_enc_${l}`, layer.W_enc), weight(`b_enc_${l}`, layer.b_enc)); // [rows, s]
		const f = layer.threshold ? b.mul(pre, b.cast(b.op('Greater', [pre, weight(`threshold_${l}`, layer.threshold)]), DataType.FLOAT)) : b.op('Relu', [pre]);
		acts.push(b.unsqueeze(f, [0]));
		rowActs.push(f);
		const wDec = b.reshape(weight(`W_dec_${l}`, layer.W_dec), [s, (n - l) * d]); // [s, (n − l)·d]
		writes.push(b.reshape(b.matMul(f, wDec), [0, n - l, d])); // [rows, n − l, d]
	});
	const outputs: Value[] = [];
	for (let target = 0; target < n; target++) {
		let y = weight(`b_dec_${target}`, clt.layers[target]!.b_dec); // [d]
		for (let src = 0; src <= target; src++) {
			const part = b.op('Squeeze', [b.gather(writes[src]!, b.constInt64([target - src], [1]), 1), b.constInt64([1])]); // [rows, d]
			y = b.add(part, y);
		}
		outputs.push(b.unsqueeze(y, [0]));
	}
	b.output(b.concat(acts, 0), DataType.FLOAT, [n, 'rows', s], 'acts');
	b.output(b.concat(outputs, 0), DataType.FLOAT, [n, 'rows', d], 'recons');
	if (topFeatures > 0) {
		const k = Math.min(topFeatures, n * s);
		const all = b.concat(rowActs, 1); // [rows, n · s]
		const [values, indices] = b.node('TopK', [all, b.constInt64([k])], { axis: { kind: 'int', value: -1 }, largest: { kind: 'int', value: 1 }, sorted: { kind: 'int', value: 1 } }, 2) as [
			Value,
			Value,
		];
		b.output(values, DataType.FLOAT, ['rows', k], 'top_values');
		b.output(indices, DataType.INT64, ['rows', k], 'top_indices');
	}
	return b.build({ kind: 'cross_layer_transcoder' });
}
