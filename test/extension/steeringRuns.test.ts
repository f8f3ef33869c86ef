// The sidebar's runs against the real engine process with the demo model and SAE: tokens stream
// into both columns and add up to the answer, the baseline is the same whatever the steering,
// steering the demo SAE's comment feature (#1132) changes the completion, Cancel ends a run with
// what it had, a sweep streams one completion per strength, and two requests' tokens never mix
// (EngineProcess.requestWithProgress routes them by request id). Needs dist/engine.js (node esbuild.mjs).

import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { EngineProcess } from '../../src/extension/engineProcess';
import { SteeringRuns } from '../../src/extension/steering/steeringRuns';
import { ContrastVectors } from '../../src/extension/steering/contrastVectors';
import type { RunListener } from '../../src/extension/steering/steeringRuns';
import { Changes, testEngine } from '../helpers';
import { demoSaeDir } from '../../src/engine/models/modelPaths';
import { LoadModelRequest, LoadSaeRequest } from '../../src/protocol/engineProtocol';
import { ContrastVectorRequest } from '../../src/protocol/steerProtocol';
import type { RunView, SteeringSetup, StreamedToken } from '../../src/protocol/steeringViewMessages';

const PROMPT = 'import os\n\n\ndef read_lines(path):\n';
const SAMPLING = { maxNewTokens: 24, temperature: 0.5, topP: 1, seed: 16 };
const COMMENT_FEATURE = 1132;
const steer = (strength: number): SteeringSetup => ({ entries: [{ featureIndex: COMMENT_FEATURE, label: '', mode: 'add', strength, enabled: true }], positions: 'all' });

/** What the view would be told, with a way to wait for it. */
class Recorder implements RunListener {
	readonly events: string[] = [];
	readonly streamed = new Map<string, StreamedToken[]>();
	readonly changes = new Changes();
	started(run: RunView): void {
		this.events.push(`started ${run.kind}`);
		this.changes.changed();
	}
	tokens(runId: string, which: 'baseline' | 'steered', sweepIndex: number | undefined, tokens: StreamedToken[]): void {
		const key = `${runId}/${which}/${sweepIndex ?? ''}`;
		this.streamed.set(key, [...(this.streamed.get(key) ?? []), ...tokens]);
		this.changes.changed();
	}
	ended(run: RunView): void {
		this.events.push(`ended ${run.kind}${run.error ? ` error ${run.error}` : ''}`);
		this.changes.changed();
	}
}

type CompareRun = Extract<RunView, { kind: 'compare' }>;
type SweepRun = Extract<RunView, { kind: 'sweep' }>;

function asCompare(run: RunView | undefined): CompareRun {
	assert.equal(run?.kind, 'compare');
	return run;
}

function asSweep(run: RunView | undefined): SweepRun {
	assert.equal(run?.kind, 'sweep');
	return run;
}

const text = (tokens: readonly StreamedToken[]) => tokens.map((t) => t.text).join('');

describe('steering runs through the engine process (demo model)', () => {
	const engine = testEngine();
	const recorder = new Recorder();
	const runs = new SteeringRuns(engine, recorder);
	/** Resolves once the running comparison has streamed `n` steered tokens. */
	const streamedSteered = (n: number) => recorder.changes.until(() => runs.running && runs.view?.kind === 'compare' && runs.view.steered.length >= n, 60_000, `${n} streamed steered tokens`);
	before(async () => {
		await engine.request(LoadModelRequest, { model: 'demo' });
		await engine.request(LoadSaeRequest, { path: demoSaeDir() });
	});
	after(() => engine.stop());

	it('streams baseline and steered tokens that add up to the answer; steering #1132 changes the completion, the baseline stays', async () => {
		const steered = asCompare(await runs.compare({ prompt: PROMPT, setup: steer(20), sampling: SAMPLING }));
		assert.equal(steered.error, undefined);
		assert.equal(steered.done?.cancelled, false);
		assert.ok(steered.baseline.length > 0 && steered.steered.length > 0, 'both columns filled');
		assert.deepEqual(recorder.streamed.get(`${steered.runId}/baseline/`), steered.baseline, 'the listener saw every baseline token');
		assert.deepEqual(recorder.streamed.get(`${steered.runId}/steered/`), steered.steered, 'the listener saw every steered token');
		assert.notEqual(text(steered.steered), text(steered.baseline), 'steering changed the completion');

		const plain = asCompare(await runs.compare({ prompt: PROMPT, setup: steer(0), sampling: SAMPLING }));
		assert.deepEqual(plain.baseline, steered.baseline, 'same seed, same baseline');
		assert.deepEqual(
			plain.steered.map((t) => t.id),
			plain.baseline.map((t) => t.id),
			'strength 0 is the baseline',
		);
		assert.deepEqual(runs.view, plain, 'the last run is kept for a view that comes back');
		// The last comparison's columns can be traced token by token, as they were generated.
		const traced = runs.traceable(plain.runId, 'steered');
		assert.equal(traced.prompt, PROMPT);
		assert.ok(traced.promptIds.length > 0);
		assert.deepEqual(
			traced.tokens.map((t) => t.id),
			plain.steered.map((t) => t.id),
		);
		assert.deepEqual(traced.steer?.features, [{ featureIndex: COMMENT_FEATURE, mode: 'add', strength: 0 }]);
		assert.equal(runs.traceable(plain.runId, 'baseline').steer, undefined, 'the baseline is unsteered');
		assert.throws(() => runs.traceable(steered.runId, 'steered'), /no longer the last one/);
		console.log(`# baseline: ${JSON.stringify(text(steered.baseline))}\n# #1132 add 20: ${JSON.stringify(text(steered.steered))}`);
	});

	it('a contrast vector from the sidebar is computed once by the engine and steers like a feature; strength 0 is the baseline', async () => {
		let computed = 0;
		const counting = {
			request: ((type, params, token) => {
				if (type === ContrastVectorRequest) computed++;
				return engine.request(type, params, token);
			}) as EngineProcess['request'],
		};
		const contrast = new ContrastVectors(counting, () => 'blocks.2.hook_resid_pre');
		const withContrast = new SteeringRuns(engine, recorder, (setup) => contrast.vectorsFor(setup));
		const setup = (strength: number): SteeringSetup => ({
			entries: [],
			positions: 'all',
			contrast: { positive: '# explain the code\n# in a comment', negative: 'x = f(y)\nreturn x', strength, enabled: true },
		});
		const pushed = asCompare(await withContrast.compare({ prompt: PROMPT, setup: setup(6), sampling: SAMPLING }));
		const zero = asCompare(await withContrast.compare({ prompt: PROMPT, setup: setup(0), sampling: SAMPLING }));
		assert.equal(pushed.error, undefined);
		assert.notEqual(text(pushed.steered), text(pushed.baseline), 'the contrast vector changed the completion');
		assert.deepEqual(
			zero.steered.map((t) => t.id),
			zero.baseline.map((t) => t.id),
			'strength 0 is the baseline',
		);
		assert.equal(computed, 1, 'the vector was computed once for both runs');
		const off = await contrast.vectorsFor({ ...setup(6), contrast: { ...setup(6).contrast!, enabled: false } });
		assert.deepEqual(off, []);
		await assert.rejects(new ContrastVectors(counting, () => undefined).vectorsFor(setup(1)), /load an SAE first/);
	});

	it('Cancel ends a run with the tokens it had, marked cancelled', async () => {
		const long = runs.compare({ prompt: PROMPT, setup: steer(20), sampling: { ...SAMPLING, maxNewTokens: 200 } });
		// Cancel once some tokens have arrived.
		await streamedSteered(2);
		assert.equal(runs.running, true);
		runs.cancel();
		const run = asCompare(await long);
		assert.equal(run.done?.cancelled, true);
		assert.ok(run.steered.length >= 2 && run.steered.length < 200, `${run.steered.length} tokens`);
		assert.equal(runs.running, false);
	});

	it('a new run replaces a running one: the old one is cancelled and ends quietly', async () => {
		const before = recorder.events.length;
		const first = runs.compare({ prompt: PROMPT, setup: steer(20), sampling: { ...SAMPLING, maxNewTokens: 200 } });
		await streamedSteered(1);
		const second = runs.compare({ prompt: PROMPT, setup: steer(10), sampling: SAMPLING });
		const [a, b] = (await Promise.all([first, second])).map(asCompare);
		assert.equal(a!.done?.cancelled, true);
		assert.equal(b!.done?.cancelled, false);
		// Both requests streamed at once; each column got its own request's tokens only.
		assert.deepEqual(recorder.streamed.get(`${b!.runId}/steered/`), b!.steered);
		assert.deepEqual(recorder.streamed.get(`${b!.runId}/baseline/`), b!.baseline);
		assert.deepEqual(recorder.events.slice(before), ['started compare', 'started compare', 'ended compare']);
		assert.equal(runs.view?.runId, b!.runId);
	});

	it('a sweep streams one completion per strength; strength 0 is the baseline', async () => {
		const baseline = asCompare(await runs.compare({ prompt: PROMPT, setup: steer(0), sampling: SAMPLING }));
		const sweep = asSweep(await runs.sweep({ prompt: PROMPT, setup: steer(20), sampling: SAMPLING, featureIndex: COMMENT_FEATURE, strengths: [0, 40] }));
		assert.equal(sweep.error, undefined);
		assert.equal(sweep.entries.length, 2);
		assert.deepEqual(recorder.streamed.get(`${sweep.runId}/steered/0`), sweep.entries[0]);
		assert.deepEqual(recorder.streamed.get(`${sweep.runId}/steered/1`), sweep.entries[1]);
		assert.deepEqual(
			sweep.entries[0]!.map((t) => t.id),
			baseline.baseline.map((t) => t.id),
		);
		assert.notDeepEqual(
			sweep.entries[1]!.map((t) => t.id),
			sweep.entries[0]!.map((t) => t.id),
		);
	});

	it('an engine error (feature beyond the SAE) ends the run with the message', async () => {
		const run = await runs.compare({ prompt: PROMPT, setup: { entries: [{ featureIndex: 999_999, label: '', mode: 'add', strength: 1, enabled: true }], positions: 'all' }, sampling: SAMPLING });
		assert.match(run.error ?? '', /feature 999999/);
		assert.match(recorder.events.at(-1) ?? '', /^ended compare error/);
	});
});
