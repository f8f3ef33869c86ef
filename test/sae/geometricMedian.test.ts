// Geometric median (b_dec initialisation) against a brute-force Weiszfeld in float64 and
// against cases whose median is known exactly.

import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '../../src/engine/models/sampling';
import { geometricMedian } from '../../src/engine/sae/train/geometricMedian';
import { TRAIN_DEFAULTS, SaeTrainer } from '../../src/engine/sae/train/saeTrainer';

/** Σᵢ ‖xᵢ − y‖ in float64. */
function summedDistance(points: Float32Array, d: number, y: ArrayLike<number>): number {
	let total = 0;
	for (let r = 0; r < points.length / d; r++) {
		let sq = 0;
		for (let j = 0; j < d; j++) sq += (points[r * d + j]! - y[j]!) ** 2;
		total += Math.sqrt(sq);
	}
	return total;
}

/** Plain float64 Weiszfeld, many iterations: the reference minimiser. */
function bruteForceMedian(points: Float32Array, d: number): Float64Array {
	const rows = points.length / d;
	let y = new Float64Array(d);
	for (let i = 0; i < points.length; i++) y[i % d]! += points[i]! / rows;
	for (let it = 0; it < 2000; it++) {
		const next = new Float64Array(d);
		let wSum = 0;
		for (let r = 0; r < rows; r++) {
			let sq = 0;
			for (let j = 0; j < d; j++) sq += (points[r * d + j]! - y[j]!) ** 2;
			const w = 1 / Math.max(Math.sqrt(sq), 1e-12);
			wSum += w;
			for (let j = 0; j < d; j++) next[j]! += w * points[r * d + j]!;
		}
		y = next.map((v) => v / wSum);
	}
	return y;
}

describe('geometric median', () => {
	it('of three collinear points is the middle one, not the mean', async () => {
		const { median } = await geometricMedian(Float32Array.of(0, 0, 1, 0, 10, 0), 2, { maxIterations: 500, tolerance: 1e-9 });
		assert.ok(Math.abs(median[0]! - 1) < 1e-2 && Math.abs(median[1]!) < 1e-6, `median ${Array.from(median)}`);
	});

	it('matches a float64 Weiszfeld and ignores a far outlier that drags the mean', async () => {
		const d = 16;
		const rows = 400;
		const u = seededRandom(7);
		const points = Float32Array.from({ length: rows * d }, () => u() - 0.5);
		points.fill(1000, 0, d); // one huge-norm row, like a BOS token in a residual stream
		const { median, iterations } = await geometricMedian(points, d, { maxIterations: 300, tolerance: 1e-9 });
		const reference = bruteForceMedian(points, d);
		const ours = summedDistance(points, d, median);
		const best = summedDistance(points, d, reference);
		assert.ok((ours - best) / best < 1e-5, `objective ${ours} vs ${best} after ${iterations} iterations`);
		for (let j = 0; j < d; j++) assert.ok(Math.abs(median[j]! - reference[j]!) < 1e-2, `coordinate ${j}: ${median[j]} vs ${reference[j]}`);
		assert.ok(Math.abs(median[0]!) < 0.1, 'the outlier does not move the median');
		let mean0 = 0;
		for (let r = 0; r < rows; r++) mean0 += points[r * d]! / rows;
		assert.ok(mean0 > 2, `while the mean moves to ${mean0}`);
	});

	it('refuses an empty sample', async () => {
		await assert.rejects(geometricMedian(new Float32Array(0), 4), /at least one row/);
	});

	it('initialises b_dec as the trainer is told: geometric median (default), mean or zeros', async () => {
		const d = 8;
		const u = seededRandom(3);
		const sample = Float32Array.from({ length: 64 * d }, () => u() * 4);
		sample.fill(500, 0, d);
		const expected = (await geometricMedian(sample, d)).median;
		for (const bDecInit of ['geometric_median', 'mean', 'zeros'] as const) {
			const trainer = await SaeTrainer.create({ ...TRAIN_DEFAULTS, architecture: 'topk', dIn: d, dSae: 16, k: 2, totalTokens: 64, bDecInit }, { executionProvider: 'cpu', threads: 1 });
			await trainer.initialize(sample);
			const bDec = trainer.params.b_dec!;
			if (bDecInit === 'zeros') assert.ok(bDec.every((v) => v === 0));
			if (bDecInit === 'geometric_median') assert.deepEqual(Array.from(bDec), Array.from(expected));
			if (bDecInit === 'mean') assert.ok(Math.abs(bDec[0]! - (500 + 63 * 2) / 64) < 0.5, `mean ${bDec[0]}`);
			await trainer.dispose();
		}
	});
});
