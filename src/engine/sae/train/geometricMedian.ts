// The geometric median of activation rows (the point minimising the summed Euclidean distance),
// used to initialise b_dec as OpenAI's TopK recipe and pre-v6 SAELens do: unlike the mean it
// is not dragged by the few huge-norm tokens (BOS, attention sinks) every residual stream has.
// Weiszfeld's algorithm: each iteration is one onnxruntime run over the sample.

import * as ort from 'onnxruntime-node';
import { DataType } from '../../onnx/onnxProto';
import { GraphBuilder } from '../../onnx/graphBuilder';

export interface GeometricMedianOptions {
	maxIterations?: number;
	/** Stop when the summed distance improves by less than this fraction. */
	tolerance?: number;
}

export interface GeometricMedianResult {
	/** [d] */
	median: Float32Array;
	iterations: number;
	/** Σᵢ ‖xᵢ − median‖ */
	objective: number;
}

/** One Weiszfeld step: y' = Σ wᵢ xᵢ / Σ wᵢ with wᵢ = 1 / max(‖xᵢ − y‖, ε), plus Σ ‖xᵢ − y‖. */
function weiszfeldStepGraph(d: number): Buffer {
	const b = new GraphBuilder('weiszfeld_step');
	const x = b.input('points', DataType.FLOAT, ['S', d]);
	const y = b.input('y', DataType.FLOAT, [d]);
	const diff = b.sub(x, y); // [S, d]
	const dist = b.sqrt(b.op('ReduceSum', [b.mul(diff, diff), b.constInt64([1])], { keepdims: { kind: 'int', value: 1 } })); // [S, 1]
	// ε keeps a point that coincides with y from taking all the weight (and from dividing by 0).
	const w = b.div(b.constFloat([1]), b.op('Max', [dist, b.constFloat([1e-8])])); // [S, 1]
	const weighted = b.op('ReduceSum', [b.mul(x, w), b.constInt64([0])], { keepdims: { kind: 'int', value: 0 } }); // [d]
	b.output(b.div(weighted, b.op('ReduceSum', [w], { keepdims: { kind: 'int', value: 0 } })), DataType.FLOAT, [d], 'next');
	b.output(b.op('ReduceSum', [dist], { keepdims: { kind: 'int', value: 0 } }), DataType.FLOAT, [], 'objective');
	return b.build();
}

/** Geometric median of `points` ([S, d] row-major), starting from their mean. */
export async function geometricMedian(points: Float32Array, d: number, options: GeometricMedianOptions = {}): Promise<GeometricMedianResult> {
	const rows = points.length / d;
	if (!Number.isInteger(rows) || rows < 1) throw new Error(`geometric median needs at least one row of width ${d}, got ${points.length} values`);
	const maxIterations = options.maxIterations ?? 100;
	const tolerance = options.tolerance ?? 1e-6;
	const session = await ort.InferenceSession.create(weiszfeldStepGraph(d));
	try {
		const feed = new ort.Tensor('float32', points, [rows, d]);
		let y: Float32Array = new Float32Array(d);
		for (let i = 0; i < points.length; i++) y[i % d]! += points[i]! / rows;
		let previous = Infinity;
		for (let iteration = 1; iteration <= maxIterations; iteration++) {
			const out = await session.run({ points: feed, y: new ort.Tensor('float32', y, [d]) });
			const objective = (out.objective!.data as Float32Array)[0]!; // at y, before the step
			if (previous - objective <= tolerance * objective) return { median: y, iterations: iteration, objective };
			previous = objective;
			y = out.next!.data as Float32Array;
		}
		const final = await session.run({ points: feed, y: new ort.Tensor('float32', y, [d]) });
		return { median: y, iterations: maxIterations, objective: (final.objective!.data as Float32Array)[0]! };
	} finally {
		await session.release();
	}
}
