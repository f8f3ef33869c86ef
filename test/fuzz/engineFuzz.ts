// Malformed requests to a real engine process (dist/engine.js), over raw JSON-RPC frames so that
// anything can be sent: each request's parameters mutated from a valid one (boundary numbers,
// wrong types, missing and unknown fields), unknown methods, parameters that are not an object,
// by-position parameters, bodies that are not JSON, and now and then a broken frame (which
// closes the connection; the engine is then started again, as the extension does). Each answer
// is checked: a result, or InvalidParams naming the field, or the engine's own user error, or a
// cancel; never an internal error, a leaked JavaScript message, silence past the hang limit, or
// an engine that dies any other way.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { StreamMessageReader } from 'vscode-jsonrpc/node';
import type { Message } from 'vscode-jsonrpc/node';
import { REQUEST_PARAMS } from '../../src/protocol/requestParams';
import { Rng, caseSeed } from './random';
import { INTERESTING, mutateJsonValue } from './mutators';

const ROOT = path.join(__dirname, '..', '..');
const ENGINE = path.join(ROOT, 'dist', 'engine.js');
const MODEL = path.join(ROOT, 'test', 'fixtures', 'models', 'gpt2-tiny');
const SAE = path.join(ROOT, 'test', 'fixtures', 'sae', 'topk-v6');
const TRANSCODERS = path.join(ROOT, 'models', 'pycode', 'transcoders');

/** Exit code of an engine that closed a connection whose framing broke (engineConnection.ts). */
const BROKEN_CONNECTION_EXIT = 3;
const INVALID_PARAMS = -32602;
const METHOD_NOT_FOUND = -32601;
const PARSE_ERROR = -32700;
const USER_ERROR = 1;
const CANCELLED = -32800;
/** What a plain message must not hold: JavaScript's words for a bug. */
const LEAK = /is not a function|is not iterable|Cannot read propert|Cannot set propert|undefined is not|of undefined|of null \(|\[object Object\]|Maximum call stack/;

export interface EngineStats {
	requests: number;
	ok: number;
	invalidParams: number;
	userErrors: number;
	cancelled: number;
	methodNotFound: number;
	parseErrors: number;
	/** Broken frames sent, each of which closed the connection (exit code 3) and restarted the engine. */
	brokenFrames: number;
	aborts: number;
	hangs: number;
	/** Internal errors, InvalidParams naming no field, and user errors leaking JavaScript's messages. */
	badAnswers: number;
	peakRssBytes: number;
	slowestMs: number;
	/** A few answers of each kind, to see what the requests reached. */
	examples: string[];
	failures: string[];
}

export interface EngineFuzzOptions {
	seed: number;
	requests: number;
	seconds: number;
	hangMs: number;
}

function templates(work: string): Record<string, unknown> {
	const sampling = { maxNewTokens: 3, temperature: 0, topP: 1, seed: 1 };
	const steer = {
		features: [
			{ featureIndex: 1, mode: 'add', strength: 2 },
			{ featureIndex: 2, mode: 'clamp', strength: 3, sae: SAE },
		],
		vectors: [],
		positions: 'all',
	};
	return {
		'model/load': { model: MODEL, requestId: 'load' },
		'model/run': { text: 'def f(x):', hooks: ['blocks.0.hook_resid_post'] },
		'model/generate': { requestId: 'gen', prompt: 'def ', maxNewTokens: 3, temperature: 0 },
		'sae/load': { path: SAE },
		'sae/inspect': { text: 'x = 1', topFeatures: 5, requestId: 'inspect' },
		'sae/train': {
			requestId: 'train',
			hookName: 'blocks.1.hook_resid_post',
			architecture: 'topk',
			dSae: 64,
			k: 4,
			tokens: 4096,
			corpus: 'demo',
			out: path.join(work, 'run'),
			resume: false,
			overwrite: true,
		},
		'sae/evaluate': { corpus: 'demo', tokens: 256 },
		'features/analyze': { requestId: 'analyze', corpus: 'demo', tokens: 256 },
		'features/dashboard': { featureIndex: 3 },
		'features/search': { query: 'x', limit: 5 },
		'features/setLabel': { featureIndex: 3, label: 'a label', notes: 'notes' },
		'features/activationsOnText': { featureIndex: 3, text: 'x = 1' },
		'steer/generate': { ...sampling, requestId: 'steer', prompt: 'def ', steer },
		'steer/sweep': { ...sampling, requestId: 'sweep', prompt: 'def ', feature: { featureIndex: 1, mode: 'add' }, strengths: [0, 2], steer: { features: [], vectors: [], positions: 'all' } },
		'steer/contrastVector': { hookName: 'blocks.1.hook_resid_post', positive: 'def f', negative: 'x = 1' },
		'hub/configure': { offline: true, cacheDir: path.join(work, 'hub') },
		'hub/listSaeReleases': { model: 'gpt2-small' },
		'hub/refreshSaeReleases': { from: path.join(work, 'none.yaml'), requestId: 'refresh' },
		'hub/fetch': { ref: 'hf:org/name', kind: 'model', requestId: 'fetch' },
		'engine/initialize': { executionProvider: 'cpu', threads: 1, userDataDir: path.join(work, 'data') },
		// The demo model's set: on the fuzzed model (the tiny GPT-2) a valid request is refused as a set for another model.
		'attribution/attribute': {
			requestId: 'attribute',
			prompt: 'def f(x):',
			transcoders: TRANSCODERS,
			maxLogits: 3,
			promptIds: [5, 6, 7],
			targetToken: 9,
			steer: { ...steer, positions: 'generated' },
			steerFrom: 2,
		},
		'attribution/prune': { graphId: 'graph', nodeThreshold: 0.8, edgeThreshold: 0.98 },
	};
}

interface Engine {
	child: ChildProcess;
	pending: Map<number, (m: { result?: unknown; error?: { code: number; message: string } }) => void>;
	exited: Promise<{ code: number | null; signal: string | null }>;
	peak: () => number;
}

function frame(body: string): string {
	return `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

export async function fuzzEngine(options: EngineFuzzOptions): Promise<EngineStats> {
	const work = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-fuzz-engine-'));
	const stats: EngineStats = {
		requests: 0,
		ok: 0,
		invalidParams: 0,
		userErrors: 0,
		cancelled: 0,
		methodNotFound: 0,
		parseErrors: 0,
		brokenFrames: 0,
		aborts: 0,
		hangs: 0,
		badAnswers: 0,
		peakRssBytes: 0,
		slowestMs: 0,
		examples: [],
		failures: [],
	};
	const seen = new Map<string, number>();
	const example = (kind: string, what: string, text: string) => {
		const n = seen.get(kind) ?? 0;
		if (n < 4) stats.examples.push(`${kind}: ${what}: ${text.replaceAll(work, '<work>').slice(0, 200)}`);
		seen.set(kind, n + 1);
	};
	const fail = (i: number, what: string, why: string) => {
		if (stats.failures.length < 100) stats.failures.push(`request ${i} (seed ${options.seed}) ${what}: ${why}`);
	};
	const all = templates(work);
	const methods = Object.keys(all);
	// Every request but engine/shutdown (which only unloads) has a template.
	const missing = [...REQUEST_PARAMS.keys()].filter((m) => !(m in all) && m !== 'engine/shutdown');
	if (missing.length > 0) throw new Error(`engineFuzz.ts has no template for ${missing.join(', ')}`);
	let nextId = 1;
	let engine: Engine | undefined;

	const send = (e: Engine, message: unknown) => e.child.stdin!.write(frame(JSON.stringify(message)));
	const request = (e: Engine, method: string, params: unknown, hangMs: number): Promise<{ result?: unknown; error?: { code: number; message: string } } | 'hang'> => {
		const id = nextId++;
		return new Promise((resolve) => {
			const cancel = setTimeout(() => send(e, { jsonrpc: '2.0', method: '$/cancelRequest', params: { id } }), hangMs / 2);
			const hang = setTimeout(() => {
				e.pending.delete(id);
				clearTimeout(cancel);
				resolve('hang');
			}, hangMs);
			e.pending.set(id, (m) => {
				clearTimeout(cancel);
				clearTimeout(hang);
				resolve(m);
			});
			send(e, params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params });
		});
	};
	const start = async (): Promise<Engine> => {
		const child = spawn(process.execPath, [ENGINE], {
			cwd: work,
			stdio: ['pipe', 'pipe', 'pipe'],
			env: { ...process.env, HF_HUB_OFFLINE: '1', HF_HOME: path.join(work, 'hf'), HF_TOKEN: '' },
		});
		child.stderr.resume();
		child.stdin.on('error', () => {});
		const pending = new Map<number, (m: { result?: unknown; error?: { code: number; message: string } }) => void>();
		const reader = new StreamMessageReader(child.stdout);
		reader.listen((m: Message) => {
			const r = m as { id?: number; result?: unknown; error?: { code: number; message: string } };
			if (typeof r.id === 'number' && pending.has(r.id)) {
				const done = pending.get(r.id)!;
				pending.delete(r.id);
				done(r);
			}
		});
		let peak = 0;
		const sample = () => {
			try {
				const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
				if (m) peak = Math.max(peak, Number(m[1]) * 1024);
			} catch {
				// Gone, or not Linux: the last sample stands.
			}
			return peak;
		};
		const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
			child.once('exit', (code, signal) => {
				sample();
				resolve({ code, signal });
			}),
		);
		const e: Engine = { child, pending, exited, peak: sample };
		await request(e, 'engine/initialize', all['engine/initialize'], 60_000);
		await request(e, 'model/load', { model: MODEL }, 60_000);
		await request(e, 'sae/load', { path: SAE }, 60_000);
		return e;
	};

	const deadline = Date.now() + options.seconds * 1000;
	try {
		for (let i = 0; i < options.requests && Date.now() < deadline; i++) {
			engine ??= await start();
			const e = engine;
			const rng = new Rng(caseSeed(options.seed ^ 0xe261, i));
			let method = rng.pick(methods);
			let params: unknown = all[method];
			let what: string;
			let expectExit = false;
			switch (rng.weighted([84, 3, 4, 3, 4, 2])) {
				case 0:
					params = mutateJsonValue(rng, params);
					what = `${method} with mutated parameters`;
					break;
				case 1:
					method = rng.pick(['model/nope', 'features/delete', '', 'initialize ', 'rpc.discover', '$/x']);
					what = `unknown method ${JSON.stringify(method)}`;
					break;
				case 2:
					params = rng.pick(INTERESTING);
					what = `${method} with parameters ${JSON.stringify(params).slice(0, 40)}`;
					break;
				case 3:
					params = [params, ...(rng.chance(0.5) ? [rng.pick(INTERESTING)] : [])];
					what = `${method} with parameters by position`;
					break;
				case 4: {
					const body = rng.pick(['{"jsonrpc": "2.0", "id": ', '{]', 'null', '\u0000\u0001', '{"jsonrpc":"2.0","method":5,"id":{}}', '[]', '"x"']);
					e.child.stdin!.write(frame(body));
					what = `a body that is not a request: ${JSON.stringify(body)}`;
					// Answered with ParseError (no id to match): checked by the next request being answered.
					method = 'model/run';
					params = { ids: [1, 2], hooks: [] };
					break;
				}
				default:
					e.child.stdin!.write(rng.pick(['Content-Length: abc\r\n\r\n{}', 'Content-Length: -5\r\n\r\n', 'Content-Type: x\r\n\r\n{}', 'Content-Length: 99999999999999999999\r\n\r\n']));
					what = 'a broken frame';
					expectExit = true;
			}
			stats.requests++;
			if (expectExit) {
				// A frame whose length is only absurd (99999999999999999999 bytes) leaves the engine waiting for them, as it
				// would for a slow host: after a moment the host closes the stream, which ends the engine too.
				const timer = new Promise<'hang'>((resolve) => setTimeout(() => resolve('hang'), Math.min(2000, options.hangMs)));
				const ended = await Promise.race([e.exited, timer]);
				stats.peakRssBytes = Math.max(stats.peakRssBytes, e.peak());
				engine = undefined;
				if (ended === 'hang') {
					e.child.stdin!.end();
					const closed = await Promise.race([e.exited, new Promise<'hang'>((resolve) => setTimeout(() => resolve('hang'), options.hangMs))]);
					if (closed === 'hang') {
						stats.hangs++;
						fail(i, what, 'the engine neither closed the connection nor exited');
						e.child.kill('SIGKILL');
					} else stats.brokenFrames++;
				} else if (ended.code === BROKEN_CONNECTION_EXIT) {
					stats.brokenFrames++;
				} else {
					stats.aborts++;
					fail(i, what, `the engine exited with ${ended.signal ?? `code ${ended.code}`}`);
				}
				continue;
			}
			const t0 = performance.now();
			const answer = await Promise.race([request(e, method, params, options.hangMs), e.exited.then((x) => ({ exit: x }))]);
			stats.slowestMs = Math.max(stats.slowestMs, performance.now() - t0);
			stats.peakRssBytes = Math.max(stats.peakRssBytes, e.peak());
			if ('exit' in (answer as object)) {
				stats.aborts++;
				const x = (answer as { exit: { code: number | null; signal: string | null } }).exit;
				fail(i, what, `the engine exited with ${x.signal ?? `code ${x.code}`}`);
				engine = undefined;
				continue;
			}
			if (answer === 'hang') {
				stats.hangs++;
				fail(i, what, `no answer in ${options.hangMs} ms`);
				e.child.kill('SIGKILL');
				engine = undefined;
				continue;
			}
			const { error } = answer as { error?: { code: number; message: string } };
			if (!error) {
				stats.ok++;
				example('ok', what, JSON.stringify((answer as { result?: unknown }).result ?? null));
				continue;
			}
			example(String(error.code), what, String(error.message));
			const message = String(error.message);
			if (error.code === INVALID_PARAMS && /"[^"]*"|the parameters|parameter object|parameters by position/.test(message)) stats.invalidParams++;
			else if (error.code === USER_ERROR && !LEAK.test(message)) stats.userErrors++;
			else if (error.code === CANCELLED) stats.cancelled++;
			else if (error.code === METHOD_NOT_FOUND) stats.methodNotFound++;
			else if (error.code === PARSE_ERROR) stats.parseErrors++;
			else {
				stats.badAnswers++;
				fail(i, what, `answered ${error.code}: ${message.slice(0, 300)}`);
			}
		}
	} finally {
		if (engine) {
			stats.peakRssBytes = Math.max(stats.peakRssBytes, engine.peak());
			engine.child.kill('SIGKILL');
		}
		fs.rmSync(work, { recursive: true, force: true });
	}
	return stats;
}
