// The engine process as the extension drives it: typed requests over stdio, streaming,
// cancellation, a killed engine noticed once and restarted on the next request.

import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { demoSaeDir } from '../../src/engine/models/modelPaths';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import { EngineProcess } from '../../src/extension/engineProcess';
import type { EngineState } from '../../src/extension/engineProcess';
import * as fs from 'node:fs';
import * as os from 'node:os';
import {
	GenerateRequest,
	GenerateTokenNotification,
	InspectProgressNotification,
	InspectRequest,
	LoadModelProgressNotification,
	LoadModelRequest,
	LoadSaeRequest,
	RunRequest,
	EvaluateSaeRequest,
	TrainProgressNotification,
	TrainSaeRequest,
} from '../../src/protocol/engineProtocol';
import { Changes, fixtureModel, testDataDir } from '../helpers';

const ENGINE = path.join(__dirname, '..', '..', 'dist', 'engine.js');

describe('engine process', () => {
	const states: EngineState['kind'][] = [];
	const crashes: string[] = [];
	const logs: string[] = [];
	const engine = new EngineProcess({
		enginePath: ENGINE,
		nodePath: process.execPath,
		initialize: () => ({ executionProvider: 'cpu', threads: 1, userDataDir: testDataDir() }),
		log: (level, message) => logs.push(`${level}: ${message}`),
		onState: (s) => {
			states.push(s.kind);
			onBusy?.(s);
		},
		onCrash: (reason) => {
			crashes.push(reason);
			changes.changed();
		},
	});
	// Tests wait on the engine's events (a crash, a state), never on a fixed sleep.
	const changes = new Changes();
	let onBusy: ((s: EngineState) => void) | undefined;
	after(() => engine.stop());

	it('starts on the first request, loads a model and runs it', async () => {
		assert.equal(engine.current.kind, 'stopped');
		const info = await engine.request(LoadModelRequest, { model: fixtureModel('gpt2-tiny') });
		assert.equal(info.modelType, 'gpt2');
		assert.ok(info.hookPoints.some((h) => h.name === 'blocks.1.hook_resid_post'));
		const run = await engine.request(RunRequest, { text: 'def self', hooks: ['blocks.0.hook_resid_post'] });
		assert.deepEqual(
			run.tokens.map((t) => t.text),
			['def', ' s', 'e', 'lf'],
		);
		assert.deepEqual(run.hooks['blocks.0.hook_resid_post']!.shape, [4, 32]);
		assert.equal(run.nextTokens.length, 10);
		assert.deepEqual(states.slice(0, 2), ['starting', 'ready']);
		assert.ok(states.includes('busy'));
		assert.ok(logs.some((l) => l.includes('loaded gpt2-tiny')));
		assert.equal(logs.filter((l) => l.includes('execution provider:')).length, 1, 'the provider is named once, when the engine starts');
		assert.ok(logs.some((l) => l.startsWith('info: ') && l.endsWith('execution provider: CPU (setting "cpu")')));
	});

	it('reports bad input as a clear error and keeps working', async () => {
		await assert.rejects(engine.request(RunRequest, { text: 'x', hooks: ['blocks.7.hook_resid_post'] }), /unknown hook "blocks\.7\.hook_resid_post"/);
		await assert.rejects(engine.request(LoadModelRequest, { model: '/nonexistent' }), /no such folder/);
		const run = await engine.request(RunRequest, { ids: [1, 2, 3], hooks: [] });
		assert.equal(run.tokens.length, 3);
	});

	it('streams generated tokens and can be cancelled', async () => {
		const running = await engine.ensureStarted();
		const streamed: number[] = [];
		const sub = running.connection.onNotification(GenerateTokenNotification, (t) => {
			if (t.requestId === 'g1') streamed.push(t.id);
		});
		const done = await engine.request(GenerateRequest, { requestId: 'g1', ids: [5, 6, 7], maxNewTokens: 8, temperature: 0 });
		assert.deepEqual(done.ids.slice(3), streamed);
		assert.equal(streamed.length, 8);

		// Cancelled at its first token, with the rest of the context (61 tokens) still to generate.
		const cancel = new CancellationTokenSource();
		let streamed2 = 0;
		const sub2 = running.connection.onNotification(GenerateTokenNotification, (t) => {
			if (t.requestId !== 'g2') return;
			streamed2++;
			cancel.cancel();
		});
		await assert.rejects(engine.request(GenerateRequest, { requestId: 'g2', ids: [5, 6, 7], maxNewTokens: 61, temperature: 0 }, cancel.token), /cancelled/);
		assert.ok(streamed2 >= 1 && streamed2 < 61, `${streamed2} tokens streamed before the cancel landed`);
		sub.dispose();
		sub2.dispose();
	});

	it('loads an SAE, inspects text with exact offsets and progress, and cancels a long inspection', async () => {
		await engine.request(LoadModelRequest, { model: fixtureModel('gpt2-tiny') });
		await assert.rejects(engine.request(LoadSaeRequest, { path: '/nonexistent/sae' }), /nonexistent/);
		const info = await engine.request(LoadSaeRequest, { path: path.join(__dirname, '..', 'fixtures', 'sae', 'topk-v6') });
		assert.equal(info.hookName, 'blocks.1.hook_resid_post');
		const running = await engine.ensureStarted();
		const progress: number[] = [];
		const sub = running.connection.onNotification(InspectProgressNotification, (p) => {
			if (p.requestId === 'i1') progress.push(p.done);
		});
		const text = 'def f(self):\n    return self.value  # 😀 done\n'.repeat(6);
		const result = await engine.request(InspectRequest, { text, topFeatures: 3, requestId: 'i1' });
		assert.equal(result.tokens.at(-1)!.end, text.length);
		assert.ok(result.tokens.every((t) => text.slice(t.start, t.end) === t.text && t.features.length <= 3));
		assert.ok(progress.length >= 2 && progress.at(-1) === result.tokens.length, `progress ${progress}`);
		// Every feature that fired has a label entry (empty: this SAE has no analysis or user labels).
		assert.ok(result.tokens.every((t) => t.features.every(([i]) => result.labels[i] === '')));
		const cancel = new CancellationTokenSource();
		const sub2 = running.connection.onNotification(InspectProgressNotification, (p) => {
			if (p.requestId === 'i2') cancel.cancel();
		});
		await assert.rejects(engine.request(InspectRequest, { text: text.repeat(20), topFeatures: 3, requestId: 'i2' }, cancel.token), /cancelled/);
		sub.dispose();
		sub2.dispose();
	});

	it("inspection results carry the labels from the SAE's stored analysis", async () => {
		await engine.request(LoadModelRequest, { model: 'demo' });
		await engine.request(LoadSaeRequest, { path: demoSaeDir() });
		const result = await engine.request(InspectRequest, { text: 'import os\n    # read the file\n', topFeatures: 3, requestId: 'i3' });
		const fired = new Set(result.tokens.flatMap((t) => t.features.map(([i]) => i)));
		assert.deepEqual(new Set(Object.keys(result.labels).map(Number)), fired);
		const labelled = [...fired].filter((i) => result.labels[i]!.length > 0);
		assert.ok(labelled.length > fired.size / 2, `${labelled.length} of ${fired.size} features have automatic labels`);
	});

	it('trains an SAE with streamed metrics, cancels it, resumes it, and loads the result', async () => {
		await engine.request(LoadModelRequest, { model: fixtureModel('gpt2-tiny') });
		const out = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-engine-train-'));
		const running = await engine.ensureStarted();
		const steps: number[] = [];
		const cancel = new CancellationTokenSource();
		const sub = running.connection.onNotification(TrainProgressNotification, (p) => {
			steps.push(p.metrics.step);
			if (p.requestId === 't1' && p.metrics.step >= 3) cancel.cancel();
		});
		const params = {
			hookName: 'blocks.1.hook_resid_post',
			architecture: 'topk' as const,
			dSae: 64,
			k: 4,
			tokens: 4096 * 40,
			corpus: path.join(__dirname, '..', '..', 'src', 'engine', '*.ts'),
			out,
			resume: false,
		};
		const first = await engine.request(TrainSaeRequest, { ...params, requestId: 't1' }, cancel.token);
		assert.equal(first.cancelled, true);
		// Progress goes out at most every 200 ms, so the run must outlast a few of those for the cancel to land mid-run.
		assert.ok(first.steps >= 3 && first.steps < 40, `stopped at step ${first.steps}`);
		const second = await engine.request(TrainSaeRequest, { ...params, requestId: 't2', resume: true });
		assert.equal(second.cancelled, false);
		assert.equal(second.steps, 40);
		assert.equal(second.final!.totalSteps, 40);
		assert.ok(steps.length >= 2);
		const info = await engine.request(LoadSaeRequest, { path: out });
		assert.equal(info.dSae, 64);
		const evaluation = await engine.request(EvaluateSaeRequest, { corpus: params.corpus, tokens: 2000 });
		assert.ok(evaluation.tokens >= 2000 && evaluation.l0 <= 4 && evaluation.explainedVariance < 1 && Number.isFinite(evaluation.ceLossScore));
		sub.dispose();
		fs.rmSync(out, { recursive: true, force: true });
	});

	it('loads a model with its progress routed to the request; a cancelled load keeps the current model', async () => {
		const events: { phase: string; bytesDone: number; bytesTotal: number }[] = [];
		const info = await engine.requestWithProgress(LoadModelRequest, { model: fixtureModel('llama-tiny-bf16') }, LoadModelProgressNotification, (p) => events.push(p));
		assert.equal(info.modelType, 'llama');
		assert.ok(info.weightBytes > 0);
		assert.ok(events.length >= 2, `${events.length} progress notifications`);
		assert.equal(events.at(-1)!.phase, 'packing');
		assert.ok(events.every((e) => e.bytesTotal === events[0]!.bytesTotal && e.bytesDone <= e.bytesTotal));
		// Cancelled at once: the new model fits beside the current one, which stays until a load succeeds.
		const running = await engine.ensureStarted();
		const cancel = new CancellationTokenSource();
		const load = running.connection.sendRequest(LoadModelRequest, { model: fixtureModel('gpt2-tiny') }, cancel.token);
		cancel.cancel();
		await assert.rejects(load, /cancelled/);
		// Still the Llama model: only it has mlp.hook_pre_linear.
		const run = await engine.request(RunRequest, { ids: [1, 2, 3], hooks: ['blocks.1.mlp.hook_pre_linear'] });
		assert.deepEqual(run.hooks['blocks.1.mlp.hook_pre_linear']!.shape, [3, 48]);
	});

	it('a request cancelled before the engine got to it is cancelled, not run', async () => {
		// Written together, the three messages reach the engine together: it queues the request and
		// learns of its cancellation before dispatching it, so the handler starts with a cancelled token.
		const running = await engine.ensureStarted();
		const load = running.connection.sendRequest(LoadModelRequest, { model: fixtureModel('llama-tiny') });
		const cancel = new CancellationTokenSource();
		const generated = running.connection.sendRequest(GenerateRequest, { requestId: 'g4', ids: [1, 2], maxNewTokens: 60, temperature: 0 }, cancel.token);
		cancel.cancel();
		await load;
		await assert.rejects(generated, /cancelled/);
		// A token already cancelled when the request would be sent: vscode-jsonrpc would send no cancellation, so nothing is sent.
		await assert.rejects(engine.request(GenerateRequest, { requestId: 'g5', ids: [1, 2], maxNewTokens: 60, temperature: 0 }, cancel.token), /cancelled before it was sent/);
	});

	it('a cancel while the engine fills its first activation buffer stops it there, before any step', async () => {
		await engine.request(LoadModelRequest, { model: fixtureModel('gpt2-tiny') });
		const out = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-engine-train-'));
		const running = await engine.ensureStarted();
		const steps: number[] = [];
		const sub = running.connection.onNotification(TrainProgressNotification, (p) => {
			if (p.requestId === 't3') steps.push(p.metrics.step);
		});
		const cancel = new CancellationTokenSource();
		// Cancelled once the engine reports it has started training: the fill of 65,536 rows takes far longer.
		onBusy = (s) => {
			if (s.kind === 'busy' && s.what === 'training an SAE') cancel.cancel();
		};
		const params = {
			requestId: 't3',
			hookName: 'blocks.1.hook_resid_post',
			architecture: 'topk' as const,
			dSae: 64,
			k: 4,
			tokens: 4096 * 4,
			corpus: path.join(__dirname, '..', '..', 'src', 'engine', '*.ts'),
			out,
			resume: false,
		};
		const pending = engine.request(TrainSaeRequest, params, cancel.token);
		// Without a cancellable fill, the buffer of 65,536 rows would be filled first and the run would return as "cancelled at step 0".
		await assert.rejects(pending, /training cancelled/);
		assert.deepEqual(steps, []);
		assert.equal(fs.existsSync(path.join(out, 'run.json')), false);
		assert.equal(cancel.token.isCancellationRequested, true);
		onBusy = undefined;
		sub.dispose();
		fs.rmSync(out, { recursive: true, force: true });
	});

	it('notices a killed engine once and restarts on the next request', async () => {
		const pid = engine.pid!;
		process.kill(pid, 'SIGKILL');
		await changes.until(() => crashes.length === 1, 10_000, 'the crash to be reported');
		assert.equal(engine.current.kind, 'crashed');
		assert.equal(crashes.length, 1);
		assert.match(crashes[0]!, /SIGKILL/);
		const info = await engine.request(LoadModelRequest, { model: fixtureModel('llama-tiny') });
		assert.equal(info.modelType, 'llama');
		assert.notEqual(engine.pid, pid);
		assert.equal(crashes.length, 1);
	});

	it('a request in flight when the engine dies is rejected, not left waiting', async () => {
		// Killed at its first token, with the rest of the context (125 tokens) still to generate.
		const running = await engine.ensureStarted();
		let killed = false;
		const sub = running.connection.onNotification(GenerateTokenNotification, (t) => {
			if (t.requestId !== 'g3' || killed) return;
			killed = true;
			process.kill(engine.pid!, 'SIGKILL');
		});
		const pending = engine.request(GenerateRequest, { requestId: 'g3', ids: [1, 2], maxNewTokens: 126, temperature: 0 });
		await assert.rejects(pending, /engine stopped while working|disposed|closed/);
		assert.equal(killed, true);
		await changes.until(() => crashes.length === 2, 10_000, 'the second crash to be reported');
		sub.dispose();
	});

	it('an engine that dies in the middle of a message leaves no timer behind (the host could never exit)', async () => {
		// A stand-in engine that writes a header and part of a body, then exits: what a kill
		// between the JSON-RPC writer's header and body writes looks like to the host.
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-partial-'));
		const script = path.join(dir, 'engine.js');
		fs.writeFileSync(script, `process.stdout.write(${JSON.stringify('Content-Length: 100\r\n\r\n{"jsonrpc"')}, () => process.exit(3));\n`);
		const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
		const before = timers();
		const partialCrashes: string[] = [];
		const partial = new EngineProcess({
			enginePath: script,
			nodePath: process.execPath,
			initialize: () => ({ executionProvider: 'cpu', threads: 1, userDataDir: testDataDir() }),
			log: () => {},
			onState: () => {},
			onCrash: (reason) => {
				partialCrashes.push(reason);
				changes.changed();
			},
		});
		await assert.rejects(partial.ensureStarted(), /disposed|closed/);
		await changes.until(() => partialCrashes.length > 0, 10_000, "the partial engine's exit to be reported");
		assert.deepEqual(partialCrashes, ['exit code 3']);
		assert.equal(timers(), before, `timers before ${before}, after ${timers()}: ${process.getActiveResourcesInfo().join(', ')}`);
		fs.rmSync(dir, { recursive: true, force: true });
	});

	it('an engine whose output is not the protocol (a broken frame) is stopped with the reason logged, and reported as a crash', async () => {
		// A stand-in engine that writes a frame with a broken header and then stays up: what a
		// native library printing to stdout would look like. Its stream cannot be read any more.
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-garbled-'));
		const script = path.join(dir, 'engine.js');
		fs.writeFileSync(script, `process.stdout.write(${JSON.stringify('Content-Length: abc\r\n\r\n{}')});\nsetInterval(() => {}, 1000);\n`);
		const logs: string[] = [];
		const garbledCrashes: string[] = [];
		const garbled = new EngineProcess({
			enginePath: script,
			nodePath: process.execPath,
			initialize: () => ({ executionProvider: 'cpu', threads: 1, userDataDir: testDataDir() }),
			log: (level, message) => logs.push(`${level}: ${message}`),
			onState: () => {},
			onCrash: (reason) => {
				garbledCrashes.push(reason);
				changes.changed();
			},
		});
		await assert.rejects(garbled.ensureStarted(), /disposed|closed|stopped/);
		await changes.until(() => garbledCrashes.length > 0, 10_000, 'the garbled engine to be stopped');
		assert.deepEqual(garbledCrashes, ['killed by SIGKILL']);
		assert.ok(
			logs.some((l) => l === "error: the engine's messages could not be read (Content-Length value must be a number. Got abc); stopping it"),
			logs.join('\n'),
		);
		fs.rmSync(dir, { recursive: true, force: true });
	});
});
