// Training runs end to end: model activations from a corpus, run folders, cancel and resume,
// cached activations, and the CLI's train/inspect contract.

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { encodeSafetensors, readSafetensorsHeader } from '../../src/engine/io/safetensors';
import { LanguageModel } from '../../src/engine/models/languageModel';
import { loadSae } from '../../src/engine/sae/saeFormat';
import { SaeRunner } from '../../src/engine/sae/saeRunner';
import { ModelActivationStore } from '../../src/engine/sae/train/activationStore';
import { corpusDocuments, corpusWindows } from '../../src/engine/sae/train/corpus';
import { TRAIN_DEFAULTS } from '../../src/engine/sae/train/saeTrainer';
import type { TrainConfig } from '../../src/engine/sae/train/saeTrainer';
import { RunFolderError, runBytes, runTraining } from '../../src/engine/sae/train/trainingRun';
import { DiskError, checkWritable, diskError } from '../../src/engine/io/disk';
import { toF16 } from '../../tools/fixtures/random';
import { fixtureModel } from '../helpers';

const CPU = { executionProvider: 'cpu', threads: 1 } as const;
const CLI = path.join(__dirname, '..', '..', 'dist', 'cli.js');
const CORPUS = path.join(__dirname, '..', '..', 'src', 'engine');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-train-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const HOOK = 'blocks.1.hook_resid_post';
const config: TrainConfig = { ...TRAIN_DEFAULTS, architecture: 'topk', dIn: 32, dSae: 128, k: 8, batchSize: 256, totalTokens: 256 * 30, lr: 3e-3, warmupSteps: 3, decaySteps: 6, deadWindow: 10 };

async function store(model: LanguageModel): Promise<ModelActivationStore> {
	return ModelActivationStore.create(model, corpusDocuments(`${CORPUS}/*.ts`), { hookName: HOOK, contextSize: 32, prependBos: true, bufferRows: 2048, batchContexts: 8, seed: 1 });
}

describe('training runs', () => {
	const model = LanguageModel.load(fixtureModel('gpt2-tiny'), CPU);
	after(() => model.dispose());

	it('the activation store serves exactly the hook activations of BOS-prefixed corpus windows, shuffled', async () => {
		const s = await store(model);
		assert.equal(s.dIn, 32);
		// Rebuild the first buffer's windows directly: documents joined by EOS (0), 31 tokens + BOS each.
		const stream: number[] = [];
		for (const doc of corpusDocuments(`${CORPUS}/*.ts`)()) {
			stream.push(...(await model.tokenizer!.encode(doc)).map((t) => t.id), 0);
			if (stream.length > (2048 / 31) * 31 + 62) break;
		}
		const key = (row: Float32Array) => Array.from(row.subarray(0, 6), (v) => v.toFixed(3)).join();
		const expected = new Set<string>();
		const windows = Math.ceil(2048 / 31);
		for (let w = 0; w < windows; w++) {
			const ids = [0, ...stream.slice(w * 31, (w + 1) * 31)];
			const act = (await model.forward({ ids: [ids], hooks: [HOOK], logits: 'none' })).hooks[HOOK]!.data as Float32Array;
			for (let t = 1; t < 32; t++) expected.add(key(act.subarray(t * 32, (t + 1) * 32)));
		}
		const served = new Float32Array(1024 * 32);
		await s.next(1024, served);
		let found = 0;
		for (let r = 0; r < 1024; r++) if (expected.has(key(served.subarray(r * 32, (r + 1) * 32)))) found++;
		assert.equal(found, 1024, 'every served row is a corpus token activation at the hook');
		// Served in shuffled order: consecutive rows are not consecutive positions of one window.
		const firstWindow = new Set<string>();
		const act0 = (await model.forward({ ids: [[0, ...stream.slice(0, 31)]], hooks: [HOOK], logits: 'none' })).hooks[HOOK]!.data as Float32Array;
		for (let t = 1; t < 32; t++) firstWindow.add(key(act0.subarray(t * 32, (t + 1) * 32)));
		let inFirst = 0;
		for (let r = 0; r < 31; r++) if (firstWindow.has(key(served.subarray(r * 32, (r + 1) * 32)))) inFirst++;
		assert.ok(inFirst < 10, `the first 31 served rows are mixed (${inFirst} from window 0)`);
	});

	it('with excludeSpecialTokens, EOS positions between documents are left out', async () => {
		const docs = () => ['def a(): pass', 'def b(): pass', 'x = 1'];
		const options = { hookName: HOOK, contextSize: 8, prependBos: true, bufferRows: 64, batchContexts: 4, seed: 1 };
		const all = await ModelActivationStore.create(model, docs, options);
		const without = await ModelActivationStore.create(model, docs, { ...options, excludeSpecialTokens: true });
		await all.next(1, new Float32Array(32));
		await without.next(1, new Float32Array(32));
		// Both filled their 64 rows (and began the next half in the background); only the filtered one skipped the EOS (id 0) separators.
		assert.equal(all.skippedSpecial, 0);
		assert.ok(without.skippedSpecial >= 3, `skipped ${without.skippedSpecial}`);
	});

	it('a store that seeks to a saved position serves the activations of the windows after it', async () => {
		const options = { hookName: HOOK, contextSize: 32, prependBos: true, bufferRows: 62, batchContexts: 1, seed: 1 };
		const docs = corpusDocuments(`${CORPUS}/*.ts`);
		const reader = await ModelActivationStore.create(model, docs, options);
		await reader.next(31, new Float32Array(31 * 32)); // fills its buffer from windows 0 and 1, then prefetches
		assert.ok(reader.position().contexts >= 2, `position ${reader.position().contexts} counts every window read`);
		reader.close();
		const key = (row: Float32Array) => Array.from(row.subarray(0, 6), (v) => v.toFixed(3)).join();
		// What a fresh store serves after seeking past those two windows...
		const resumed = await ModelActivationStore.create(model, docs, options);
		await resumed.seek({ contexts: 2 });
		const served = new Float32Array(31 * 32);
		await resumed.next(31, served); // half its buffer: served before any refill
		// ...comes from windows 2 and 3 (computed directly), never from the windows already read.
		const windows = corpusWindows(model, docs, 32, true);
		const before = new Set<string>();
		const after = new Set<string>();
		for (let w = 0; w < 4; w++) {
			const ids = (await windows.next()).value as number[];
			const act = (await model.forward({ ids: [ids], hooks: [HOOK], logits: 'none' })).hooks[HOOK]!.data as Float32Array;
			for (let t = 1; t < 32; t++) (w < 2 ? before : after).add(key(act.subarray(t * 32, (t + 1) * 32)));
		}
		for (let r = 0; r < 31; r++) {
			const row = key(served.subarray(r * 32, (r + 1) * 32));
			assert.ok(after.has(row) && !before.has(row), `row ${r} comes from windows 2-3`);
		}
		await assert.rejects(resumed.seek({ contexts: 9 }), /before its first batch/);
		// Past the first refill, the prefetched half (window 4) is mixed in: 31 + 31 rows from windows 2-4, each row once.
		const more = new Float32Array(31 * 32);
		await resumed.next(31, more);
		const ids4 = (await windows.next()).value as number[];
		const act4 = (await model.forward({ ids: [ids4], hooks: [HOOK], logits: 'none' })).hooks[HOOK]!.data as Float32Array;
		for (let t = 1; t < 32; t++) after.add(key(act4.subarray(t * 32, (t + 1) * 32)));
		const all = [...Array.from({ length: 31 }, (_, r) => key(served.subarray(r * 32, (r + 1) * 32))), ...Array.from({ length: 31 }, (_, r) => key(more.subarray(r * 32, (r + 1) * 32)))];
		assert.equal(new Set(all).size, 62, 'no row served twice');
		assert.ok(
			all.every((k) => after.has(k)),
			'every row comes from windows 2-4',
		);
		resumed.close();
	});

	it('trains into a run folder whose SAE loads in SAELens format and runs on the model', async () => {
		const out = path.join(tmp, 'run');
		const steps: number[] = [];
		const result = await runTraining(await store(model), {
			out,
			config,
			settings: CPU,
			resume: false,
			checkpointSeconds: 3600,
			checkpointSteps: 1000,
			metadata: { hook_name: HOOK, model_name: 'gpt2-tiny', model_class_name: 'FeatureLens' },
			onStep: (m) => steps.push(m.step),
		});
		assert.equal(result.steps, 30);
		assert.deepEqual(
			steps,
			Array.from({ length: 30 }, (_, i) => i + 1),
		);
		for (const f of ['cfg.json', 'sae_weights.safetensors', 'sparsity.safetensors', 'run.json', 'metrics.jsonl', 'checkpoint.safetensors']) {
			assert.ok(fs.existsSync(path.join(out, f)), f);
		}
		assert.equal(fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 30);
		const first = JSON.parse(fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').split('\n')[0]!) as { mse: number };
		assert.ok(result.final!.mse < first.mse, `mse fell from ${first.mse} to ${result.final!.mse}`);
		const sae = loadSae(out);
		assert.equal(sae.cfg.architecture, 'topk');
		assert.equal(sae.cfg.k, 8);
		assert.equal(sae.logSparsity!.length, 128);
		const runner = SaeRunner.forModel(sae, model, CPU);
		const x = new Float32Array(3 * 32).fill(0.5);
		const r = await runner.run(x, 3, { acts: true, topFeatures: 0, recons: false, error: false });
		assert.equal(r.acts!.filter((v) => v > 0).length <= 3 * 8, true);
		await runner.dispose();
	});

	it('a cancelled run keeps a checkpoint and no SAE; --resume finishes it from the saved step', async () => {
		const out = path.join(tmp, 'cancel');
		const abort = new AbortController();
		const first = await runTraining(await store(model), {
			out,
			config,
			settings: CPU,
			resume: false,
			checkpointSeconds: 3600,
			checkpointSteps: 1000,
			signal: abort.signal,
			metadata: { hook_name: HOOK },
			onStep: (m) => {
				if (m.step === 12) abort.abort();
			},
		});
		assert.equal(first.cancelled, true);
		assert.equal(first.steps, 12);
		assert.ok(fs.existsSync(path.join(out, 'checkpoint.safetensors')));
		assert.ok(!fs.existsSync(path.join(out, 'sae_weights.safetensors')), 'no SAE from a cancelled run');
		const resumedSteps: number[] = [];
		const second = await runTraining(await store(model), {
			out,
			config,
			settings: CPU,
			resume: true,
			checkpointSeconds: 3600,
			checkpointSteps: 1000,
			metadata: { hook_name: HOOK },
			onStep: (m) => resumedSteps.push(m.step),
		});
		assert.equal(second.cancelled, false);
		assert.equal(resumedSteps[0], 13);
		assert.match(fs.readFileSync(path.join(out, 'checkpoint.safetensors')).subarray(0, 4096).toString('latin1'), /"source_position":"\{\\"contexts\\":\d+\}"/);
		assert.equal(second.steps, 30);
		assert.equal(fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 30);
		assert.ok(fs.existsSync(path.join(out, 'sae_weights.safetensors')));
	});
});

describe('runs lose nothing and delete nothing unless asked', () => {
	const model = LanguageModel.load(fixtureModel('gpt2-tiny'), CPU);
	after(() => model.dispose());
	const run = async (out: string, extra: Partial<Parameters<typeof runTraining>[1]> = {}) =>
		runTraining(await store(model), {
			out,
			config,
			settings: CPU,
			resume: false,
			metadata: { hook_name: HOOK },
			...extra,
		});
	const steps = (out: string) =>
		fs
			.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8')
			.trim()
			.split('\n')
			.map((l) => (JSON.parse(l) as { step: number }).step);

	it('--resume without a checkpoint says so and deletes nothing', async () => {
		const out = path.join(tmp, 'no-checkpoint');
		fs.mkdirSync(out, { recursive: true });
		fs.writeFileSync(path.join(out, 'metrics.jsonl'), '{"step":1}\n');
		await assert.rejects(run(out, { resume: true }), (e: Error) => e instanceof RunFolderError && /no checkpoint\.safetensors to resume from/.test(e.message) && /--overwrite/.test(e.message));
		assert.equal(fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8'), '{"step":1}\n');
	});

	it('a new run in a folder holding one is refused unless asked to start over', async () => {
		const out = path.join(tmp, 'twice');
		await run(out, { checkpointSteps: 1000 });
		await assert.rejects(run(out), (e: Error) => e instanceof RunFolderError && /already holds a training run \(run\.json, checkpoint\.safetensors, metrics\.jsonl\)/.test(e.message));
		assert.equal(steps(out).length, 30);
		const again = await run(out, { overwrite: true });
		assert.equal(again.steps, 30);
		assert.deepEqual(
			steps(out),
			Array.from({ length: 30 }, (_, i) => i + 1),
		);
	});

	it('checkpoints every tenth of the run by default; a resume truncates the metrics to the checkpoint, so each step is logged once', async () => {
		const out = path.join(tmp, 'truncate');
		const abort = new AbortController();
		const checkpoints: number[] = [];
		const first = await run(out, {
			signal: abort.signal,
			onStep: (m) => {
				const file = path.join(out, 'checkpoint.safetensors');
				if (fs.existsSync(file)) {
					const step = Number(readSafetensorsHeader(file).metadata.step);
					if (checkpoints.at(-1) !== step) checkpoints.push(step);
				}
				if (m.step === 17) abort.abort();
			},
		});
		assert.equal(first.steps, 17);
		// 30 steps: a checkpoint every 3; the one at step 15 is the newest before the cancel's own.
		assert.deepEqual(checkpoints.slice(0, 5), [3, 6, 9, 12, 15]);
		// As a killed run leaves it: steps logged after its last checkpoint, and a line cut short.
		const file = path.join(out, 'checkpoint.safetensors');
		const killed = Buffer.from(fs.readFileSync(file));
		fs.appendFileSync(path.join(out, 'metrics.jsonl'), '{"step":18,"loss":1}\n{"step":19,"lo');
		const resumed = await run(out, { resume: true });
		assert.equal(resumed.steps, 30);
		assert.deepEqual(
			steps(out),
			Array.from({ length: 30 }, (_, i) => i + 1),
		);
		assert.ok(killed.length > 0);
	});

	it('refuses before any work when the disk has no room for the SAE and its checkpoints, naming the folder and the numbers', async () => {
		const out = path.join(tmp, 'full');
		await assert.rejects(run(out, { diskFree: () => 1000 }), (e: Error) => e instanceof DiskError && e.message.startsWith(out) && /needs about \d+ kB, and 1 kB is free/.test(e.message));
		assert.equal(fs.existsSync(path.join(out, 'run.json')), false);
		assert.ok(runBytes(config) > 7 * 4 * 2 * 32 * 128, 'the SAE, a checkpoint with two Adam moments, and a second checkpoint while it is replaced');
	});

	it('disk errors name the path and the cause', () => {
		const cases: [string, RegExp][] = [
			['ENOSPC', /no space left on the device \(ENOSPC\)/],
			['EROFS', /the filesystem is read-only \(EROFS\)/],
			['EACCES', /permission denied/],
		];
		for (const [code, message] of cases) {
			const err = Object.assign(new Error(`${code}: raw`), { code });
			const named = diskError(err, 'write', '/runs/x/checkpoint.safetensors');
			assert.ok(named instanceof DiskError && named.message.startsWith('cannot write /runs/x/checkpoint.safetensors: ') && message.test(named.message), named.message);
		}
		// A real one: a folder that cannot be made because a file is in the way.
		const blocker = path.join(tmp, 'a-file');
		fs.writeFileSync(blocker, 'x');
		assert.throws(
			() => runBytes(config) && checkWritable(path.join(blocker, 'out'), 0, 'a run'),
			(e: Error) => e instanceof DiskError && /cannot create the folder .*a-file\/out: a part of the path is a file, not a folder \(ENOTDIR\)/.test(e.message),
		);
	});
});

describe('feature-lens train / inspect', () => {
	const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args, '--ep', 'cpu', '--threads', '1'], { encoding: 'utf8' });

	it('trains on cached f16 activations and prints final metrics as JSON', () => {
		const file = path.join(tmp, 'acts.safetensors');
		const data = Float32Array.from({ length: 4096 * 16 }, (_, i) => Math.sin(i * 0.37) + Math.cos(i * 0.11));
		fs.writeFileSync(file, encodeSafetensors({ activations: { dtype: 'F16', shape: [4096, 16], data: new Uint8Array(toF16(data).buffer) } }));
		const r = cli(
			'train',
			'--activations',
			file,
			'--hook',
			'blocks.0.hook_resid_post',
			'--arch',
			'topk',
			'--d-sae',
			'64',
			'--k',
			'4',
			'--batch',
			'512',
			'--tokens',
			'10240',
			'--out',
			path.join(tmp, 'cached'),
			'--json',
		);
		assert.equal(r.status, 0, r.stderr);
		const summary = JSON.parse(r.stdout) as { steps: number; tokens: number; tokens_per_s: number; final: { l0: number; explained_variance: number } };
		assert.equal(summary.steps, 20);
		assert.ok(summary.tokens_per_s > 0);
		assert.ok(summary.final.l0 <= 4);
		assert.equal(loadSae(path.join(tmp, 'cached')).cfg.d_in, 16);
	});

	for (const arch of ['batchtopk', 'standard', 'jumprelu'] as const) {
		it(`trains a ${arch} SAE from the CLI that loads and runs`, () => {
			const file = path.join(tmp, 'acts.safetensors');
			const out = path.join(tmp, `cli-${arch}`);
			const flag = { batchtopk: ['--k', '4'], standard: ['--l1', '0.5'], jumprelu: ['--l0', '0.01'] }[arch];
			const r = cli(
				'train',
				'--activations',
				file,
				'--hook',
				'blocks.0.hook_resid_post',
				'--arch',
				arch,
				...flag,
				'--d-sae',
				'64',
				'--batch',
				'512',
				'--tokens',
				'5120',
				'--lr',
				'1e-3',
				'--out',
				out,
				'--json',
			);
			assert.equal(r.status, 0, r.stderr);
			const sae = loadSae(out);
			// BatchTopK is saved as JumpReLU with one running threshold for every latent, as SAELens does.
			assert.equal(sae.cfg.architecture, arch === 'batchtopk' ? 'jumprelu' : arch);
			if (arch !== 'standard') assert.deepEqual(sae.weights.threshold!.shape, [64]);
			if (arch === 'batchtopk') {
				const th = new Float32Array(sae.weights.threshold!.data.buffer.slice(sae.weights.threshold!.data.byteOffset, sae.weights.threshold!.data.byteOffset + 256));
				assert.ok(th[0]! > 0 && th.every((v) => v === th[0]), `one positive threshold (${th[0]})`);
			}
		});
	}

	it('inspect --json gives each token its top features', () => {
		const out = path.join(tmp, 'run');
		const r = cli('inspect', fixtureModel('gpt2-tiny'), '--sae', out, '--text', 'def f(self):', '--top', '3', '--json');
		assert.equal(r.status, 0, r.stderr);
		const res = JSON.parse(r.stdout) as { tokens: { text: string; start: number; end: number; features: [number, number][] }[] };
		assert.deepEqual(res.tokens.map((t) => t.text).join(''), 'def f(self):');
		assert.ok(res.tokens.every((t) => t.features.length <= 3 && t.features.every(([i, a]) => i >= 0 && i < 128 && a > 0)));
	});

	const errors: [string, string[], RegExp][] = [
		['an unknown architecture', ['train', '--activations', 'x', '--arch', 'gated', '--d-sae', '8', '--tokens', '8', '--out', 'o'], /--arch gated: choose topk, batchtopk, standard or jumprelu/],
		['--k with standard', ['train', '--activations', 'x', '--arch', 'standard', '--k', '4', '--d-sae', '8', '--tokens', '8', '--out', 'o'], /--k applies to topk/],
		['no --out', ['train', '--activations', 'x', '--d-sae', '8', '--tokens', '8'], /needs --out/],
		['missing activations file', ['train', '--activations', '/nonexistent.safetensors', '--d-sae', '8', '--tokens', '8', '--out', path.join(tmp, 'x')], /no such file|ENOENT|not found/i],
		['our SAE used with another model', ['inspect', fixtureModel('llama-tiny'), '--sae', path.join(tmp, 'run'), '--text', 'x'], /the SAE was trained on gpt2-tiny, not on llama-tiny/],
		['an SAE of another width', ['inspect', fixtureModel('gpt2-tiny'), '--sae', path.join(__dirname, '..', 'fixtures', 'sae', 'gated-bf16'), '--text', 'x'], /expects d_in|does not have/],
		['inspect without --sae', ['inspect', fixtureModel('gpt2-tiny'), '--text', 'x'], /needs --sae/],
	];
	for (const [label, args, message] of errors) {
		it(`error: ${label}`, () => {
			const r = cli(...args);
			assert.notEqual(r.status, 0);
			assert.match(r.stderr, message);
			assert.doesNotMatch(r.stderr, /\n\s+at /);
		});
	}
});
