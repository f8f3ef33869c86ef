// Sampling checked against an independent computation: the distribution sampleToken draws from
// is worked out here the way Hugging Face's logits warpers do it (temperature, then top-k by
// threshold, then top-p on the ascending cumulative sum), and the frequencies of many seeded
// draws must fit it by a chi-square test. The draws use one fixed seed, so the test is
// deterministic; each case also shows that the same counts reject a slightly wrong filter.

import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sampleToken, seededRandom } from '../../src/engine/models/sampling';
import type { SamplingOptions } from '../../src/engine/models/sampling';

const LOGITS = [2.0, 1.5, 1.2, 0.3, 0.0, -0.5, -1.0, -3.0, 0.9, 1.35];
const DRAWS = 40_000;

/** The probabilities of each token after temperature, top-k and top-p, computed without sampling.ts. */
function expectedProbabilities(logits: number[], { temperature, topK, topP }: SamplingOptions): number[] {
	let scores = logits.map((l) => l / temperature);
	if (topK > 0 && topK < scores.length) {
		// Top-k by threshold: everything below the k-th largest score is removed.
		const kth = [...scores].sort((a, b) => b - a)[topK - 1]!;
		scores = scores.map((s) => (s < kth ? -Infinity : s));
	}
	const softmax = (xs: number[]): number[] => {
		const max = Math.max(...xs);
		const e = xs.map((x) => Math.exp(x - max));
		const z = e.reduce((a, b) => a + b, 0);
		return e.map((x) => x / z);
	};
	let probs = softmax(scores);
	if (topP < 1) {
		// Top-p as transformers' TopPLogitsWarper: sort ascending, drop the tokens whose cumulative
		// probability is at most 1 − p (never the most likely one).
		const ascending = probs.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0]);
		let cumulative = 0;
		const removed = new Set<number>();
		ascending.forEach(([p, i], rank) => {
			cumulative += p;
			if (cumulative <= 1 - topP && rank < ascending.length - 1) removed.add(i);
		});
		probs = softmax(scores.map((s, i) => (removed.has(i) ? -Infinity : s)));
	}
	return probs;
}

/** Counts of each token over DRAWS draws from one fixed seed. */
function drawCounts(options: SamplingOptions, seed: number): number[] {
	const random = seededRandom(seed);
	const counts = LOGITS.map(() => 0);
	for (let n = 0; n < DRAWS; n++) counts[sampleToken(LOGITS, options, random)]!++;
	return counts;
}

/**
 * Pearson's chi-square of the counts against `probs`, over the tokens `probs` allows; a count on a
 * token it forbids makes it infinite.
 */
function chiSquare(counts: number[], probs: number[]): { statistic: number; df: number } {
	let statistic = 0;
	let bins = 0;
	counts.forEach((c, i) => {
		const expected = probs[i]! * DRAWS;
		if (expected === 0) {
			if (c > 0) statistic = Infinity;
			return;
		}
		bins++;
		statistic += (c - expected) ** 2 / expected;
	});
	return { statistic, df: bins - 1 };
}

/** The chi-square value a correct sampler exceeds with probability about 1e-6 (Wilson–Hilferty). */
function criticalValue(df: number): number {
	if (df === 0) return 0;
	const z = 4.75;
	const a = 2 / (9 * df);
	return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

const CASES: { name: string; options: SamplingOptions; wrong: SamplingOptions }[] = [
	{ name: 'temperature 1', options: { temperature: 1, topK: 0, topP: 1 }, wrong: { temperature: 1.1, topK: 0, topP: 1 } },
	{ name: 'temperature 0.5 sharpens', options: { temperature: 0.5, topK: 0, topP: 1 }, wrong: { temperature: 0.55, topK: 0, topP: 1 } },
	{ name: 'temperature 2 flattens', options: { temperature: 2, topK: 0, topP: 1 }, wrong: { temperature: 2.2, topK: 0, topP: 1 } },
	{ name: 'top-k 3', options: { temperature: 1, topK: 3, topP: 1 }, wrong: { temperature: 1, topK: 4, topP: 1 } },
	{ name: 'top-p 0.8 at temperature 0.7', options: { temperature: 0.7, topK: 0, topP: 0.8 }, wrong: { temperature: 0.7, topK: 0, topP: 0.9 } },
	{ name: 'top-k 6 then top-p 0.9 at temperature 1.5', options: { temperature: 1.5, topK: 6, topP: 0.9 }, wrong: { temperature: 1.5, topK: 7, topP: 0.9 } },
];

describe('sampling against an independent computation', () => {
	for (const { name, options, wrong } of CASES) {
		it(`${name}: frequencies fit the filtered softmax`, () => {
			const probs = expectedProbabilities(LOGITS, options);
			const counts = drawCounts(options, 20261129);
			const fit = chiSquare(counts, probs);
			assert.ok(fit.df >= 2, `the case keeps ${fit.df + 1} tokens, too few to tell distributions apart`);
			assert.ok(
				fit.statistic < criticalValue(fit.df),
				`chi-square ${fit.statistic.toFixed(1)} ≥ ${criticalValue(fit.df).toFixed(1)} (df ${fit.df}); counts ${counts}, expected ${probs.map((p) => (p * DRAWS).toFixed(0))}`,
			);
			// The same counts reject a slightly different temperature or filter: the bound has power.
			const misfit = chiSquare(counts, expectedProbabilities(LOGITS, wrong));
			assert.ok(misfit.statistic > criticalValue(misfit.df), `the counts also fit ${JSON.stringify(wrong)} (chi-square ${misfit.statistic.toFixed(1)})`);
		});
	}

	it('the filters keep the tokens the independent computation keeps, no more', () => {
		const topK = expectedProbabilities(LOGITS, { temperature: 1, topK: 3, topP: 1 });
		assert.deepEqual(
			topK.flatMap((p, i) => (p > 0 ? [i] : [])),
			[0, 1, 9],
		);
		const topP = expectedProbabilities(LOGITS, { temperature: 0.7, topK: 0, topP: 0.8 });
		const kept = topP.flatMap((p, i) => (p > 0 ? [i] : []));
		const counts = drawCounts({ temperature: 0.7, topK: 0, topP: 0.8 }, 7);
		assert.deepEqual(
			counts.flatMap((c, i) => (c > 0 ? [i] : [])),
			kept,
		);
	});

	it('temperature 0 is the argmax whatever the filters', () => {
		const random = seededRandom(1);
		for (let n = 0; n < 100; n++) assert.equal(sampleToken(LOGITS, { temperature: 0, topK: 5, topP: 0.5 }, random), 0);
	});
});
