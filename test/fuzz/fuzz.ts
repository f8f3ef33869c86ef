// `npm run fuzz`: mutated files through every parser and malformed requests to a real engine,
// seeded (a failure is reproduced by its seed and case number) and bounded in time. Options:
//   --seed N (default 1), --inputs N (10000), --requests N (1000), --seconds N (1800 in all),
//   --hang-ms N (10000: a case or request unanswered this long is a hang).
// Prints what each part met and exits non-zero when any case aborted, hung, gave an error of
// an unexpected kind or naming no file or field, loaded non-finite values without a word, or
// when the peak RSS passed 1 GB. The engine must be built (npm run build) first.

import { parseArgs } from 'node:util';
import { fuzzEngine } from './engineFuzz';
import type { EngineStats } from './engineFuzz';
import { fuzzParsers } from './parserFuzz';
import type { ParserStats } from './parserFuzz';

export interface FuzzOptions {
	seed: number;
	inputs: number;
	requests: number;
	seconds: number;
	hangMs: number;
	log?: (line: string) => void;
}

export interface FuzzReport {
	parsers: ParserStats;
	engine: EngineStats;
	seconds: number;
	peakRssBytes: number;
	/** Every failed check, empty when the run passed. */
	problems: string[];
}

/** The peak RSS a run may reach, in any of its processes. */
export const RSS_LIMIT_BYTES = 1e9;

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
	const log = options.log ?? (() => {});
	const t0 = performance.now();
	// The parsers get most of the time; the engine's requests are quicker.
	const parsers = await fuzzParsers({
		seed: options.seed,
		inputs: options.inputs,
		seconds: options.seconds * 0.7,
		hangMs: options.hangMs,
		onProgress: (s) => {
			if (s.inputs % 1000 === 0) log(`parsers: ${s.inputs} inputs, ${s.errors} refused, ${s.failures.length} failures`);
		},
	});
	log(`parsers: ${parsers.inputs} inputs in ${Math.round((performance.now() - t0) / 1000)} s`);
	const remaining = Math.max(10, options.seconds - (performance.now() - t0) / 1000);
	const engine = await fuzzEngine({ seed: options.seed, requests: options.requests, seconds: remaining, hangMs: options.hangMs });
	const peakRssBytes = Math.max(parsers.peakRssBytes, engine.peakRssBytes, process.resourceUsage().maxRSS * 1024);
	const problems = [...parsers.failures, ...engine.failures];
	if (peakRssBytes >= RSS_LIMIT_BYTES) problems.push(`peak RSS ${(peakRssBytes / 1e6).toFixed(0)} MB is over ${RSS_LIMIT_BYTES / 1e6} MB`);
	if (parsers.inputs < options.inputs) problems.push(`only ${parsers.inputs} of ${options.inputs} parser inputs ran in the time given`);
	if (engine.requests < options.requests) problems.push(`only ${engine.requests} of ${options.requests} engine requests ran in the time given`);
	return { parsers, engine, seconds: (performance.now() - t0) / 1000, peakRssBytes, problems };
}

/** The report as a few lines (the numbers CONTRIBUTING.md quotes). */
export function summary(r: FuzzReport, seed: number): string {
	const p = r.parsers;
	const e = r.engine;
	return [
		`seed ${seed}, ${r.seconds.toFixed(0)} s, peak RSS ${(r.peakRssBytes / 1e6).toFixed(0)} MB`,
		`parsers: ${p.inputs} mutated inputs over ${Object.keys(p.byTarget).length} targets: ${p.ok} loaded, ${p.errors} refused; ` +
			`${p.aborts} aborts, ${p.hangs} hangs (slowest ${(p.slowestMs / 1000).toFixed(1)} s), ${p.unexpectedErrors} unexpected errors, ${p.unnamedErrors} naming no file or field; ` +
			`${p.plantedNonFinite} with planted NaN/Inf, ${p.nonFiniteReported} reported as such, ${p.silentNonFinite} non-finite loads unreported`,
		`engine: ${e.requests} malformed requests: ${e.invalidParams} InvalidParams, ${e.userErrors} user errors, ${e.ok} answered, ${e.methodNotFound} unknown methods, ` +
			`${e.cancelled} cancelled, ${e.brokenFrames} broken frames (connection closed, engine restarted); ${e.aborts} aborts, ${e.hangs} hangs (slowest ${(e.slowestMs / 1000).toFixed(1)} s), ${e.badAnswers} bad answers`,
		r.problems.length === 0 ? 'no problems' : `${r.problems.length} problems:\n  ${r.problems.join('\n  ')}`,
	].join('\n');
}

async function main(): Promise<void> {
	const { values } = parseArgs({
		options: {
			seed: { type: 'string', default: '1' },
			inputs: { type: 'string', default: '10000' },
			requests: { type: 'string', default: '1000' },
			seconds: { type: 'string', default: '1800' },
			'hang-ms': { type: 'string', default: '10000' },
			json: { type: 'boolean', default: false },
		},
	});
	const seed = Number(values.seed);
	const report = await runFuzz({
		seed,
		inputs: Number(values.inputs),
		requests: Number(values.requests),
		seconds: Number(values.seconds),
		hangMs: Number(values['hang-ms']),
		log: (line) => process.stderr.write(`${line}\n`),
	});
	process.stdout.write(`${values.json ? JSON.stringify(report, null, 1) : summary(report, seed)}\n`);
	process.exitCode = report.problems.length === 0 ? 0 : 1;
}

if (require.main === module) void main();
