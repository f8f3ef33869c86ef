// Runs mutated files through every parser (targets.ts) in a child process (parserWorker.ts) and
// checks how each case ended: no abort, no case over the hang limit, errors only of the
// engine's own kinds and naming the file or the field, planted NaN/Inf reported, and nothing
// non-finite coming out of a case that loaded.

import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CaseReply, CaseRequest } from './parserWorker';
import { Rng, caseSeed } from './random';
import { targets, writeSeeds } from './targets';

/** The engine's own errors about bad input: any other class escaping a parser is a bug. */
const EXPECTED_ERRORS = new Set(['ModelConfigError', 'SafetensorsError', 'TokenizerError', 'TextTooLongError', 'SaeFormatError', 'NpzError', 'UnsafePathError', 'HubError', 'DiskError']);

export interface ParserStats {
	inputs: number;
	ok: number;
	errors: number;
	aborts: number;
	hangs: number;
	/** Errors of another class than the engine's own (a TypeError from deep inside). */
	unexpectedErrors: number;
	/** Errors naming neither the file nor a field. */
	unnamedErrors: number;
	/** Cases with NaN or Inf planted in tensor data, and how many of them were refused as non-finite. */
	plantedNonFinite: number;
	nonFiniteReported: number;
	/** Cases that loaded and gave non-finite output, or loaded planted NaNs without a word. */
	silentNonFinite: number;
	peakRssBytes: number;
	/** The slowest case, in ms. */
	slowestMs: number;
	/** Per target: cases, errors, and the first error's message (to see what the cases hit). */
	byTarget: Record<string, { inputs: number; errors: number; example?: string }>;
	failures: string[];
}

export interface ParserFuzzOptions {
	seed: number;
	inputs: number;
	/** Stop drawing new cases after this many seconds. */
	seconds: number;
	hangMs: number;
	onProgress?: (stats: ParserStats) => void;
}

export async function fuzzParsers(options: ParserFuzzOptions): Promise<ParserStats> {
	const root = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-fuzz-'));
	const seeds = path.join(root, 'seeds');
	writeSeeds(seeds);
	const all = targets(seeds);
	const stats: ParserStats = {
		inputs: 0,
		ok: 0,
		errors: 0,
		aborts: 0,
		hangs: 0,
		unexpectedErrors: 0,
		unnamedErrors: 0,
		plantedNonFinite: 0,
		nonFiniteReported: 0,
		silentNonFinite: 0,
		peakRssBytes: 0,
		slowestMs: 0,
		byTarget: {},
		failures: [],
	};
	const fail = (index: number, what: string, why: string) => {
		if (stats.failures.length < 100) stats.failures.push(`case ${index} (seed ${options.seed}) ${what}: ${why}`);
	};
	let worker: ChildProcess | undefined;
	const start = (): ChildProcess => fork(path.join(__dirname, 'parserWorker.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
	const deadline = Date.now() + options.seconds * 1000;
	try {
		for (let index = 0; index < options.inputs && Date.now() < deadline; index++) {
			const target = new Rng(caseSeed(options.seed ^ 0x5eed, index)).weighted(all.map((t) => t.weight));
			const name = all[target]!.name;
			worker ??= start();
			const w = worker;
			let stderr = '';
			w.stderr!.on('data', (d: Buffer) => {
				stderr = (stderr + d.toString()).slice(-2000);
			});
			const t0 = performance.now();
			const ended = await new Promise<{ reply?: CaseReply; exit?: string; hang?: boolean }>((resolve) => {
				const timer = setTimeout(() => resolve({ hang: true }), options.hangMs);
				const done = (r: { reply?: CaseReply; exit?: string; hang?: boolean }) => {
					clearTimeout(timer);
					w.off('message', onMessage);
					w.off('exit', onExit);
					resolve(r);
				};
				const onMessage = (reply: CaseReply) => done({ reply });
				const onExit = (code: number | null, signal: string | null) => done({ exit: signal ?? `exit code ${code}` });
				w.on('message', onMessage);
				w.on('exit', onExit);
				w.send({ index, seed: options.seed, target, root, seeds } satisfies CaseRequest);
			});
			w.stderr!.removeAllListeners('data');
			stats.slowestMs = Math.max(stats.slowestMs, performance.now() - t0);
			stats.inputs++;
			const per = (stats.byTarget[name] ??= { inputs: 0, errors: 0 });
			per.inputs++;
			if (!ended.reply) {
				if (ended.hang) {
					stats.hangs++;
					fail(index, name, `no answer in ${options.hangMs} ms`);
					w.kill('SIGKILL');
				} else {
					stats.aborts++;
					fail(index, name, `the parser process died (${ended.exit}): ${stderr.split('\n').filter(Boolean).slice(-3).join(' | ')}`);
				}
				worker = undefined;
				fs.rmSync(path.join(root, `case-${index}`), { recursive: true, force: true });
				continue;
			}
			const r = ended.reply;
			stats.peakRssBytes = Math.max(stats.peakRssBytes, r.maxRss);
			if (r.plantedNonFinite) stats.plantedNonFinite++;
			if (r.outcome === 'ok') {
				stats.ok++;
				if (r.nonFiniteOutput > 0 || r.plantedNonFinite) {
					stats.silentNonFinite++;
					fail(index, r.what, r.plantedNonFinite ? 'loaded planted NaN/Inf without reporting them' : `gave ${r.nonFiniteOutput} non-finite outputs without an error`);
				}
				continue;
			}
			stats.errors++;
			per.errors++;
			per.example ??= `${r.what}: ${r.message ?? ''}`.replaceAll(r.caseDir, '<case>').slice(0, 300);
			const message = r.message ?? '';
			if (r.plantedNonFinite && /non-finite/.test(message)) stats.nonFiniteReported++;
			if (!EXPECTED_ERRORS.has(r.errorClass ?? '')) {
				stats.unexpectedErrors++;
				fail(index, r.what, `${r.errorClass}: ${message}`);
			} else if (!message.includes(r.caseDir) && !message.includes(path.basename(r.file)) && !/"[^"]+"/.test(message)) {
				stats.unnamedErrors++;
				fail(index, r.what, `names neither the file nor a field: ${message}`);
			}
			options.onProgress?.(stats);
		}
	} finally {
		worker?.kill('SIGKILL');
		fs.rmSync(root, { recursive: true, force: true });
	}
	return stats;
}
