// The child process that runs the parser cases, so that an abort (a native panic) or a hang is
// the child's, seen and counted by the driver (parserFuzz.ts), which then starts another. Each
// message names a case; the reply says how it ended and the process's peak RSS so far.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng, caseSeed } from './random';
import { targets } from './targets';

export interface CaseRequest {
	index: number;
	seed: number;
	target: number;
	/** Where the case folders are made. */
	root: string;
	/** Where writeSeeds put the seeds that are not fixtures. */
	seeds: string;
}

export interface CaseReply {
	index: number;
	what: string;
	plantedNonFinite: boolean;
	outcome: 'ok' | 'error';
	errorClass?: string;
	message?: string;
	nonFiniteOutput: number;
	caseDir: string;
	file: string;
	/** Peak resident memory of this process so far, in bytes. */
	maxRss: number;
}

let all: ReturnType<typeof targets> | undefined;

async function runCase(req: CaseRequest): Promise<CaseReply> {
	all ??= targets(req.seeds);
	const t = all[req.target]!;
	const caseDir = path.join(req.root, `case-${req.index}`);
	const omit = new Set((t.omit ?? []).map((f) => path.join(t.fixture, f)));
	fs.cpSync(t.fixture, caseDir, { recursive: true, filter: (src) => !omit.has(src) });
	const file = path.join(caseDir, t.file);
	const rng = new Rng(caseSeed(req.seed, req.index));
	const mutated = t.mutate(rng, file, fs.readFileSync(file));
	fs.writeFileSync(file, mutated.bytes);
	const base = { index: req.index, what: `${t.name}: ${mutated.what}`, plantedNonFinite: mutated.plantedNonFinite, caseDir, file };
	try {
		const result = await t.run(caseDir);
		return { ...base, outcome: 'ok', nonFiniteOutput: result.nonFiniteOutput, maxRss: process.resourceUsage().maxRSS * 1024 };
	} catch (err) {
		const e = err as Error;
		return {
			...base,
			outcome: 'error',
			errorClass: e?.constructor?.name ?? typeof err,
			message: String(e?.message ?? err).slice(0, 800),
			nonFiniteOutput: 0,
			maxRss: process.resourceUsage().maxRSS * 1024,
		};
	} finally {
		fs.rmSync(caseDir, { recursive: true, force: true });
	}
}

process.on('message', (req: CaseRequest) => {
	void runCase(req).then((reply) => process.send!(reply));
});
