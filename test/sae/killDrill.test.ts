// The kill drill: `feature-lens train` killed with SIGKILL at random steps, five times, and
// resumed each time, ends where an uninterrupted run of the same seed ends: the same number of
// steps, each step once in metrics.jsonl, at most one checkpoint interval of work lost per kill,
// and an SAE whose reconstruction is within 1% of the uninterrupted one's.

import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { readSafetensorsHeader } from '../../src/engine/io/safetensors';
import { LanguageModel } from '../../src/engine/models/languageModel';
import { loadSae } from '../../src/engine/sae/saeFormat';
import { SaeRunner } from '../../src/engine/sae/saeRunner';
import { ModelActivationStore } from '../../src/engine/sae/train/activationStore';
import { corpusDocuments } from '../../src/engine/sae/train/corpus';
import { seededRandom } from '../../src/engine/models/sampling';
import { fixtureModel } from '../helpers';

const CLI = path.join(__dirname, '..', '..', 'dist', 'cli.js');
const CORPUS = path.join(__dirname, '..', '..', 'src', 'engine');
const HOOK = 'blocks.1.hook_resid_post';
const STEPS = 60;
const INTERVAL = STEPS / 10; // the default: a checkpoint every tenth of the run
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-kill-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function trainArgs(out: string, ...extra: string[]): string[] {
	return [
		CLI,
		'train',
		fixtureModel('gpt2-tiny'),
		'--hook',
		HOOK,
		'--corpus',
		`${CORPUS}/*.ts`,
		'--arch',
		'topk',
		'--d-sae',
		'128',
		'--k',
		'8',
		'--batch',
		'256',
		'--tokens',
		String(256 * STEPS),
		'--lr',
		'3e-3',
		'--seed',
		'5',
		'--buffer-rows',
		'4096',
		'--context-size',
		'32',
		'--out',
		out,
		'--ep',
		'cpu',
		'--threads',
		'1',
		'--json',
		...extra,
	];
}

function loggedSteps(out: string): number[] {
	const file = path.join(out, 'metrics.jsonl');
	if (!fs.existsSync(file)) return [];
	return fs
		.readFileSync(file, 'utf8')
		.split('\n')
		.flatMap((l) => {
			try {
				return [(JSON.parse(l) as { step: number }).step];
			} catch {
				return []; // a line cut by the kill
			}
		});
}

/** Runs `feature-lens train` to the end, or sends it `signal` (SIGKILL) once it has logged step `killAt`. */
function train(args: string[], out: string, killAt?: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
	return new Promise((resolve) => {
		const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
		let stderr = '';
		p.stderr.setEncoding('utf8');
		p.stderr.on('data', (d: string) => {
			stderr += d;
		});
		let sent = false;
		const timer =
			killAt === undefined
				? undefined
				: setInterval(() => {
						if (!sent && Math.max(0, ...loggedSteps(out)) >= killAt) sent = p.kill(signal);
					}, 2);
		p.on('exit', (code, signal) => {
			if (timer) clearInterval(timer);
			resolve({ code, signal, stderr });
		});
	});
}

describe('kill drill', () => {
	it('five SIGKILLs at random steps, each resumed, end as an uninterrupted run of the same seed', async () => {
		const straight = path.join(tmp, 'straight');
		const plain = await train(trainArgs(straight), straight);
		assert.equal(plain.code, 0, plain.stderr);

		const drilled = path.join(tmp, 'drilled');
		const random = seededRandom(2024);
		// Increasing targets spread over the run, so every kill lands after the previous resume.
		const targets = [0.12, 0.3, 0.48, 0.66, 0.84].map((f) => Math.round(STEPS * f + 3 * random()));
		let resume: string[] = [];
		for (const target of targets) {
			const r = await train(trainArgs(drilled, ...resume), drilled, target);
			assert.equal(r.signal, 'SIGKILL', `killed at step ${target}: ${r.stderr}`);
			const lastLogged = Math.max(...loggedSteps(drilled));
			const checkpointStep = Number(readSafetensorsHeader(path.join(drilled, 'checkpoint.safetensors')).metadata.step);
			assert.ok(lastLogged - checkpointStep <= INTERVAL, `killed at step ${lastLogged}, checkpoint at ${checkpointStep}: more than one interval (${INTERVAL}) lost`);
			resume = ['--resume'];
		}
		const last = await train(trainArgs(drilled, '--resume'), drilled);
		assert.equal(last.code, 0, last.stderr);
		assert.deepEqual(
			loggedSteps(drilled),
			Array.from({ length: STEPS }, (_, i) => i + 1),
			'each step once, in order',
		);
		assert.deepEqual(
			loggedSteps(straight),
			Array.from({ length: STEPS }, (_, i) => i + 1),
		);

		// Both SAEs on the same held-out activations: reconstruction error within 1%.
		const model = LanguageModel.load(fixtureModel('gpt2-tiny'), { executionProvider: 'cpu', threads: 1 });
		const store = await ModelActivationStore.create(model, corpusDocuments(`${CORPUS}/*.ts`), { hookName: HOOK, contextSize: 32, prependBos: true, bufferRows: 2048, batchContexts: 8, seed: 99 });
		const rows = 1024;
		const x = new Float32Array(rows * 32);
		await store.next(rows, x);
		store.close();
		const explained = async (dir: string) => {
			const runner = SaeRunner.forModel(loadSae(dir), model, { executionProvider: 'cpu', threads: 1 });
			const { stats } = await runner.run(x, rows, { acts: false, topFeatures: 0, recons: false, error: false, stats: true });
			await runner.dispose();
			const sq = stats!.sqError.reduce((a, v) => a + v, 0);
			const mean = Array.from(stats!.sumX, (v) => v / rows);
			let total = 0;
			for (let r = 0; r < rows; r++) for (let j = 0; j < 32; j++) total += (x[r * 32 + j]! - mean[j]!) ** 2;
			return 1 - sq / total;
		};
		const a = await explained(straight);
		const b = await explained(drilled);
		await model.dispose();
		assert.ok(a > 0.5, `the uninterrupted SAE explains ${a}`);
		assert.ok(Math.abs(a - b) / a < 0.01, `explained variance ${b} after five kills vs ${a} uninterrupted`);
	});

	it('SIGTERM, as Ctrl-C, stops with a checkpoint of the step reached, and --resume finishes with each step once', async () => {
		const out = path.join(tmp, 'sigterm');
		const stopped = await train(trainArgs(out), out, 20, 'SIGTERM');
		assert.equal(stopped.code, 130, stopped.stderr);
		const lastLogged = Math.max(...loggedSteps(out));
		assert.ok(lastLogged >= 20 && lastLogged < STEPS, `stopped at step ${lastLogged}`);
		assert.equal(Number(readSafetensorsHeader(path.join(out, 'checkpoint.safetensors')).metadata.step), lastLogged, 'the checkpoint is of the last step logged: nothing lost');
		const resumed = await train(trainArgs(out, '--resume'), out);
		assert.equal(resumed.code, 0, resumed.stderr);
		assert.deepEqual(
			loggedSteps(out),
			Array.from({ length: STEPS }, (_, i) => i + 1),
		);
	});
});
