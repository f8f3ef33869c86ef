// A short run of the fuzzing suite (npm run fuzz runs the full one): a few hundred mutated files
// through every parser and a hundred malformed requests to the built engine, none of which may
// abort, hang, leak an unexpected error, name no file or field, or load NaN silently.

import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runFuzz, summary } from './fuzz';

describe('fuzzing (short run)', () => {
	it('mutated files and malformed requests are all refused cleanly or handled', async () => {
		const report = await runFuzz({ seed: 15, inputs: 300, requests: 100, seconds: 240, hangMs: 10_000 });
		assert.deepEqual(report.problems, [], summary(report, 15));
		// The run reached what it is about: every parser target, planted NaNs, answers of every kind.
		assert.ok(Object.keys(report.parsers.byTarget).length >= 25, Object.keys(report.parsers.byTarget).join(', '));
		assert.ok(report.parsers.plantedNonFinite > 0 && report.parsers.nonFiniteReported === report.parsers.plantedNonFinite, summary(report, 15));
		assert.ok(report.engine.invalidParams > 0 && report.engine.userErrors > 0 && report.engine.ok > 0, summary(report, 15));
	});
});
