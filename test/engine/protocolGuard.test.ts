// The engine protocol against a broken or hostile host (issue 15): every request's parameters
// checked by its schema and answered InvalidParams naming the field; a body that is not JSON
// answered ParseError; a broken frame closing the connection with the reason logged and the
// engine restarted by the extension's EngineProcess; a model load while a generation runs
// ending that generation cleanly; a 4.5 MB text refused before it is tokenized; a label
// request without notes refused without touching the stored labels.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { ErrorCodes, ParameterStructures, RequestType, RequestType0, ResponseError } from 'vscode-jsonrpc/node';
import { EngineProcess } from '../../src/extension/engineProcess';
import * as engineProtocol from '../../src/protocol/engineProtocol';
import { EvaluateSaeRequest, GenerateRequest, GenerateTokenNotification, InspectRequest, LoadModelRequest, LoadSaeRequest, RunRequest, TrainSaeRequest } from '../../src/protocol/engineProtocol';
import * as featureProtocol from '../../src/protocol/featureProtocol';
import { AnalyzeFeaturesRequest, SearchFeaturesRequest, SetFeatureLabelRequest } from '../../src/protocol/featureProtocol';
import * as hubProtocol from '../../src/protocol/hubProtocol';
import { USER_ERROR } from '../../src/protocol/errors';
import { REQUEST_PARAMS } from '../../src/protocol/requestParams';
import * as steerProtocol from '../../src/protocol/steerProtocol';
import { SteeredGenerateRequest } from '../../src/protocol/steerProtocol';
import { fixtureModel, testDataDir } from '../helpers';

const ENGINE = path.join(__dirname, '..', '..', 'dist', 'engine.js');
const SAE = path.join(__dirname, '..', 'fixtures', 'sae', 'topk-v6');

/** Rejects unless the promise fails with JSON-RPC error `code` and a message matching `message`. */
async function rejectsWith(p: Promise<unknown>, code: number, message: RegExp): Promise<void> {
	await assert.rejects(p, (err: unknown) => {
		assert.ok(err instanceof ResponseError, `expected a ResponseError, got ${String(err)}`);
		assert.equal(err.code, code, err.message);
		assert.match(err.message, message);
		return true;
	});
}

describe('engine protocol guard', () => {
	const logs: string[] = [];
	const crashes: string[] = [];
	const data = testDataDir();
	const engine = new EngineProcess({
		enginePath: ENGINE,
		nodePath: process.execPath,
		initialize: () => ({ executionProvider: 'cpu', threads: 1, userDataDir: data }),
		log: (level, message) => logs.push(`${level}: ${message}`),
		onState: () => {},
		onCrash: (reason) => crashes.push(reason),
	});
	after(() => engine.stop());

	it('has a parameter schema for every request of the protocol', () => {
		const requests = [engineProtocol, featureProtocol, hubProtocol, steerProtocol]
			.flatMap((m): unknown[] => Object.values(m))
			.filter((v): v is { method: string } => v instanceof RequestType || v instanceof RequestType0);
		assert.ok(requests.length >= 20, `found ${requests.length} requests`);
		for (const r of requests) assert.ok(REQUEST_PARAMS.has(r.method), `${r.method} has no schema`);
	});

	it('refuses out-of-range numbers, wrong types and unknown or missing fields, naming the field', async () => {
		await engine.request(LoadModelRequest, { model: fixtureModel('gpt2-tiny') });
		await engine.request(LoadSaeRequest, { path: SAE });
		const bad = ErrorCodes.InvalidParams;
		await rejectsWith(engine.request(GenerateRequest, { requestId: 'g', ids: [1], maxNewTokens: -1 }), bad, /model\/generate: "maxNewTokens" must be an integer from 1 to \d+ \(got -1\)/);
		await rejectsWith(engine.request(GenerateRequest, { requestId: 'g', ids: [1], maxNewTokens: 4, temperature: -5 }), bad, /"temperature" must be a finite number ≥ 0 \(got -5\)/);
		await rejectsWith(engine.request(GenerateRequest, { requestId: 'g', ids: [1], maxNewTokens: 4, topP: 0 }), bad, /"topP" must be a number greater than 0 and at most 1/);
		await rejectsWith(engine.request(InspectRequest, { requestId: 'i', text: 'x', topFeatures: 1e9 }), bad, /sae\/inspect: "topFeatures" must be an integer from 1 to 1024 \(got 1000000000\)/);
		await rejectsWith(engine.request(EvaluateSaeRequest, { corpus: 'demo', tokens: -1 }), bad, /sae\/evaluate: "tokens" must be an integer ≥ 1 \(got -1\)/);
		await rejectsWith(engine.request(AnalyzeFeaturesRequest, { requestId: 'a', corpus: 'demo', tokens: -1 }), bad, /features\/analyze: "tokens"/);
		await rejectsWith(
			engine.request(TrainSaeRequest, {
				requestId: 't',
				hookName: 'blocks.0.hook_resid_post',
				architecture: 'topk',
				dSae: 64,
				k: 4,
				tokens: 1000,
				corpus: 'demo',
				out: '/tmp/x',
				resume: 'yes' as never,
			}),
			bad,
			/"resume" must be true or false \(got "yes"\)/,
		);
		await rejectsWith(engine.request(RunRequest, { text: 'x', hooks: 'blocks.0.hook_resid_post' as never }), bad, /model\/run: "hooks" must be a list of hook names/);
		await rejectsWith(engine.request(RunRequest, { ids: [1, -1], hooks: [] }), bad, /"ids\[1\]" must be an integer from 0/);
		await rejectsWith(engine.request(RunRequest, { text: 'x', ids: [1], hooks: [] }), bad, /must give exactly one of "text" and "ids"/);
		await rejectsWith(engine.request(RunRequest, { text: 'x', hooks: [], extra: 1 } as never), bad, /unexpected field "extra"/);
		await rejectsWith(engine.request(InspectRequest, { text: 'x', topFeatures: 5 } as never), bad, /sae\/inspect: missing field "requestId"/);
		await rejectsWith(
			engine.request(SteeredGenerateRequest, {
				requestId: 's',
				prompt: 'x',
				maxNewTokens: 2,
				temperature: 0,
				topP: 1,
				seed: 1,
				steer: { features: [{ featureIndex: 1, mode: 'boost' as never, strength: 1 }], vectors: [], positions: 'all' },
			}),
			bad,
			/"steer\.features\[0\]\.mode" must be one of "add", "clamp", "cap" \(got "boost"\)/,
		);
		// By-position parameters: one object is fine, more is refused (the second would have been taken for the cancellation token).
		const running = await engine.ensureStarted();
		await rejectsWith(running.connection.sendRequest<unknown>('model/run', { text: 'x', hooks: [] }, 5), bad, /expected one parameter object, got 2/);
		const run = await running.connection.sendRequest<{ tokens: unknown[] }>('model/run', ParameterStructures.byPosition, { ids: [1, 2], hooks: [] });
		assert.equal(run.tokens.length, 2);
		// The engine kept working through all of it.
		assert.equal((await engine.request(RunRequest, { ids: [1, 2, 3], hooks: [] })).tokens.length, 3);
		assert.ok(!logs.some((l) => /is not a function|is not iterable|Cannot read properties/.test(l)), logs.join('\n'));
	});

	it('refuses a label without notes and keeps the stored labels readable', async () => {
		const saved = await engine.request(SetFeatureLabelRequest, { featureIndex: 3, label: 'colons', notes: 'after def' });
		assert.equal(saved.label, 'colons');
		const labelsFile = fs
			.readdirSync(path.join(data, 'saes'))
			.map((d) => path.join(data, 'saes', d, 'labels.json'))
			.find((f) => fs.existsSync(f))!;
		const before = fs.readFileSync(labelsFile, 'utf8');
		await rejectsWith(engine.request(SetFeatureLabelRequest, { featureIndex: 4, label: 'x' } as never), ErrorCodes.InvalidParams, /features\/setLabel: missing field "notes"/);
		await rejectsWith(engine.request(SetFeatureLabelRequest, { featureIndex: 4, label: 7, notes: '' } as never), ErrorCodes.InvalidParams, /"label" must be a string \(got 7\)/);
		assert.equal(fs.readFileSync(labelsFile, 'utf8'), before);
		const hits = await engine.request(SearchFeaturesRequest, { query: 'colon', limit: 5 });
		assert.equal(hits[0]!.featureIndex, 3);
		// A labels file an older engine left corrupt (a label that is not a string) no longer breaks search: the
		// readable labels are used, and saving is refused, naming the file and the field, until it is fixed.
		const corrupt = JSON.stringify({ formatVersion: 1, features: { 3: { label: 'colons', notes: '' }, 4: { label: { trim: 1 }, notes: '' } } });
		fs.writeFileSync(labelsFile, corrupt);
		await engine.request(LoadSaeRequest, { path: SAE });
		assert.equal((await engine.request(SearchFeaturesRequest, { query: 'colon', limit: 5 }))[0]!.featureIndex, 3);
		await rejectsWith(engine.request(SetFeatureLabelRequest, { featureIndex: 5, label: 'y', notes: '' }), USER_ERROR, /labels\.json: "features\.4\.label" must be a string/);
		assert.equal(fs.readFileSync(labelsFile, 'utf8'), corrupt);
	});

	it('refuses a 4.5 MB text at once, before tokenizing it', async () => {
		const text = 'def f(x):\n    return x\n'.repeat(200_000);
		assert.ok(text.length > 4_500_000);
		// "at least N tokens" is the bound from the text's bytes, given only when the text was not tokenized (that took 16.7 s before).
		await rejectsWith(
			engine.request(RunRequest, { text, hooks: [] }),
			USER_ERROR,
			new RegExp(`the text is at least \\d+ tokens \\(${text.length} characters\\), more than the 64 tokens the model's context holds`),
		);
		await rejectsWith(engine.request(GenerateRequest, { requestId: 'long', prompt: text, maxNewTokens: 2 }), USER_ERROR, /the text is at least \d+ tokens .* more than the 64 tokens/);
	});

	it('answers a body that is not JSON with ParseError and goes on', async () => {
		const running = await engine.ensureStarted();
		const pid = engine.pid;
		running.child.stdin!.write('Content-Length: 9\r\n\r\n{"bad": }');
		assert.equal((await engine.request(RunRequest, { ids: [1], hooks: [] })).tokens.length, 1);
		assert.equal(engine.pid, pid);
		assert.ok(
			logs.some((l) => l.includes('a message was not JSON')),
			logs.join('\n'),
		);
	});

	it('closes the connection on a broken frame, logs why, and the extension restarts the engine', async () => {
		const running = await engine.ensureStarted();
		const pid = engine.pid;
		const exited = new Promise<number | null>((resolve) => running.child.once('exit', (code) => resolve(code)));
		running.child.stdin!.write('Content-Length: abc\r\n\r\n{}');
		assert.equal(await exited, 3);
		assert.ok(
			logs.some((l) => l.startsWith('error: ') && l.includes("the host's message stream is broken (Content-Length value must be a number. Got abc); closing the connection")),
			logs.join('\n'),
		);
		assert.equal(crashes.length, 1);
		// The next request starts a new engine.
		await engine.request(LoadModelRequest, { model: fixtureModel('gpt2-tiny') });
		assert.notEqual(engine.pid, pid);
		assert.equal((await engine.request(RunRequest, { ids: [1, 2], hooks: [] })).tokens.length, 2);
	});

	it('ends a generation cleanly when another model is loaded meanwhile, and the new model works', async () => {
		await engine.request(LoadModelRequest, { model: 'demo' });
		const running = await engine.ensureStarted();
		let first!: () => void;
		const started = new Promise<void>((resolve) => {
			first = resolve;
		});
		const sub = running.connection.onNotification(GenerateTokenNotification, (t) => {
			if (t.requestId === 'long') first();
		});
		const generation = engine.request(GenerateRequest, { requestId: 'long', prompt: 'def ', maxNewTokens: 250, temperature: 0 });
		// Settled here so that its rejection, which comes while the load is awaited, counts as handled.
		const generationEnd = generation.then(
			() => undefined,
			(err: unknown) => err,
		);
		const steering = engine.request(SteeredGenerateRequest, {
			requestId: 'steer',
			prompt: 'def ',
			maxNewTokens: 250,
			temperature: 0,
			topP: 1,
			seed: 1,
			steer: { features: [], vectors: [], positions: 'all' },
		});
		await started;
		const loaded = await engine.request(LoadModelRequest, { model: fixtureModel('gpt2-tiny') });
		sub.dispose();
		assert.equal(loaded.modelType, 'gpt2');
		await rejectsWith(
			generationEnd.then((err) => {
				throw err;
			}),
			-32800,
			/^generation cancelled: gpt2-tiny is loading in place of demo$/,
		);
		const steered = await steering;
		assert.equal(steered.cancelled, true);
		assert.ok(!logs.some((l) => /already disposed/i.test(l)), logs.join('\n'));
		assert.equal((await engine.request(GenerateRequest, { requestId: 'after', ids: [1, 2], maxNewTokens: 3, temperature: 0 })).ids.length, 5);
	});
});
