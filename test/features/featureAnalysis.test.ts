// Corpus analysis on the tiny GPT-2 fixture with tiny SAEs, against brute force: the model and
// the SAE's dense activations over the same windows; the logit lens and neighbours against
// direct JS computations; storage, reuse and invalidation; labels and search; cancellation;
// clear errors for bad input.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { analyzeFeatures } from '../../src/engine/features/analyzeFeatures';
import type { FeatureAnalysis } from '../../src/engine/features/analyzeFeatures';
import { featureLensDir, loadAnalysis, saeKey } from '../../src/engine/features/analysisStore';
import { FeatureService } from '../../src/engine/features/featureService';
import { DiskError } from '../../src/engine/io/disk';
import { autoLabel, searchLabels, visibleToken } from '../../src/engine/features/labels';
import { LanguageModel } from '../../src/engine/models/languageModel';
import { seededRandom } from '../../src/engine/models/sampling';
import { readSafetensorsHeader, readTensor } from '../../src/engine/io/safetensors';
import { inspectText } from '../../src/engine/sae/inspect';
import { loadSae, saveSae } from '../../src/engine/sae/saeFormat';
import { SaeRunner } from '../../src/engine/sae/saeRunner';
import type { Sae } from '../../src/engine/sae/saeTypes';
import { corpusWindowsWithSources, namedCorpusDocuments } from '../../src/engine/sae/train/corpus';
import { fixtureModel } from '../helpers';

const CPU = { executionProvider: 'cpu', threads: 1 } as const;
const TOPK_SAE = path.join(__dirname, '..', 'fixtures', 'sae', 'topk-v6');
const CORPUS = path.join(__dirname, '..', '..', 'src', 'engine', 'models', '*.ts');
const BUDGET = 1500;

function f32(sae: Sae, name: string): Float32Array {
	const t = sae.weights[name]!;
	return new Float32Array(new Uint8Array(t.data).buffer);
}

/** A random ReLU SAE at blocks.0.hook_resid_post of the tiny model. */
function standardSae(dSae: number): Sae {
	const random = seededRandom(3);
	const d = 32;
	const t = (n: number, shape: number[], scale: number, shift = 0) => ({
		dtype: 'F32' as const,
		shape,
		data: Buffer.from(Float32Array.from({ length: n }, () => (random() - 0.5) * scale + shift).buffer),
	});
	return {
		source: 'random standard SAE',
		cfg: {
			d_in: d,
			d_sae: dSae,
			dtype: 'float32',
			architecture: 'standard',
			apply_b_dec_to_input: false,
			normalize_activations: 'none',
			reshape_activations: 'none',
			metadata: { hook_name: 'blocks.0.hook_resid_post', context_size: 64, prepend_bos: true, model_from_pretrained_kwargs: { center_writing_weights: false } },
		},
		weights: { W_enc: t(d * dSae, [d, dSae], 1), b_enc: t(dSae, [dSae], 0.5, -0.1), W_dec: t(dSae * d, [dSae, d], 1), b_dec: t(d, [d], 0) },
		rawConfig: {},
	};
}

/** Dense activations of every counted token over the analysis's windows, batched as the analysis batches them. */
async function bruteForce(model: LanguageModel, runner: SaeRunner, windows: number): Promise<{ acts: Float32Array[]; ids: number[][] }> {
	const all = [];
	for await (const w of corpusWindowsWithSources(model, namedCorpusDocuments(CORPUS), 64, true)) {
		all.push(w);
		if (all.length === windows) break;
	}
	const acts: Float32Array[] = [];
	for (let b = 0; b < all.length; b += 8) {
		const batch = all.slice(b, b + 8);
		const out = await model.forward({ ids: batch.map((w) => w.ids), hooks: [runner.hookName], logits: 'none' });
		const rows = batch.length * 64;
		const sae = await runner.run(out.hooks[runner.hookName]!.data as Float32Array, rows, { acts: true, topFeatures: 0, recons: false, error: false });
		for (let r = 0; r < rows; r++) acts.push(sae.acts!.slice(r * runner.sae.cfg.d_sae, (r + 1) * runner.sae.cfg.d_sae));
	}
	return { acts, ids: all.map((w) => w.ids) };
}

function compareWithBruteForce(a: FeatureAnalysis, brute: { acts: Float32Array[]; ids: number[][] }, dSae: number): void {
	const flatIds = brute.ids.flat();
	const counted = flatIds.map((id) => id !== 0);
	assert.equal(a.tokens, counted.filter(Boolean).length, 'BOS/EOS are not counted');
	for (let f = 0; f < dSae; f++) {
		const fired = brute.acts.map((row, r) => ({ v: row[f]!, r })).filter((x) => counted[x.r] && x.v > 0);
		assert.equal(a.fireCount[f], fired.length, `feature ${f} density`);
		if (fired.length === 0) continue;
		const max = Math.max(...fired.map((x) => x.v));
		const mean = fired.reduce((s, x) => s + x.v, 0) / fired.length;
		assert.ok(Math.abs(a.maxActivation[f]! - max) <= 1e-5 * max, `feature ${f} max ${a.maxActivation[f]} vs ${max}`);
		assert.ok(Math.abs(a.meanActivation[f]! - mean) <= 1e-4 * mean, `feature ${f} mean`);
		const N = a.options.topExamples;
		const want = fired
			.map((x) => x.v)
			.sort((x, y) => y - x)
			.slice(0, N);
		const got = Array.from(a.table.top.subarray(f * N, (f + 1) * N)).filter((e) => e >= 0);
		assert.equal(got.length, want.length);
		got.forEach((e, i) => {
			const t = a.table;
			const focusAct = (() => {
				for (let j = t.actStart[e]!; j < t.actStart[e + 1]!; j++) if (t.actOffset[j] === t.focus[e]) return t.actValue[j]!;
				return 0;
			})();
			assert.ok(Math.abs(focusAct - want[i]!) <= 1e-5 * want[i]!, `feature ${f} top ${i}`);
		});
		// Every stored window's activations are the dense ones at those tokens.
		const e = got[0]!;
		const row = fired.find((x) => Math.abs(x.v - want[0]!) <= 1e-5 * want[0]!)!.r;
		const t = a.table;
		const ids = Array.from(t.tokens.subarray(t.start[e], t.start[e]! + t.length[e]!));
		const firstRow = row - t.focus[e]!;
		assert.deepEqual(ids, flatIds.slice(firstRow, firstRow + ids.length));
		const dense = new Array<number>(ids.length).fill(0);
		for (let j = t.actStart[e]!; j < t.actStart[e + 1]!; j++) dense[t.actOffset[j]!] = t.actValue[j]!;
		dense.forEach((v, i) => assert.ok(Math.abs(v - brute.acts[firstRow + i]![f]!) <= 1e-5 * (1 + v), `feature ${f} window activation ${i}`));
	}
}

describe('feature analysis', () => {
	const model = LanguageModel.load(fixtureModel('gpt2-tiny'), CPU);
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-analysis-'));
	const saeDir = path.join(tmp, 'topk');
	/** The user-data folder (the extension's global storage). */
	const data = path.join(tmp, 'data');
	let runner: SaeRunner;
	before(() => {
		fs.cpSync(TOPK_SAE, saeDir, { recursive: true });
		runner = SaeRunner.forModel(loadSae(saeDir), model, CPU);
	});
	after(async () => {
		await runner.dispose();
		await model.dispose();
		fs.rmSync(tmp, { recursive: true, force: true });
	});

	it('TopK SAE: density, mean, max, top examples and their windows match brute force', async () => {
		const a = await analyzeFeatures(model, runner, namedCorpusDocuments(CORPUS), { tokens: BUDGET, topExamples: 6, perBand: 3 });
		assert.ok(a.tokens >= BUDGET && a.windows > 8, `${a.tokens} tokens in ${a.windows} windows`);
		assert.equal(a.contextSize, 64, 'the SAE context is clipped to the model context');
		assert.equal(a.featureCap, 4);
		compareWithBruteForce(a, await bruteForce(model, runner, a.windows), 64);
		// Examples name their source file and a position in it.
		assert.ok(a.table.doc.every((d) => a.sources[d]!.endsWith('.ts')));
		// Pass 2 replays pass 1's outputs from memory; with no room (or room for two batches) it recomputes the rest: same result.
		const batchBytes = 8 * 64 * (8 * 4 + 13);
		for (const cacheBytes of [0, 2 * batchBytes]) {
			const b = await analyzeFeatures(model, runner, namedCorpusDocuments(CORPUS), { tokens: BUDGET, topExamples: 6, perBand: 3, cacheBytes });
			assert.deepEqual(b.table, a.table, `cache ${cacheBytes}`);
			assert.deepEqual(b.histogram, a.histogram);
			assert.deepEqual(b.bandCount, a.bandCount);
		}
	});

	it('ReLU SAE: exact while the feature cap covers d_sae; saturated tokens counted when it does not', async () => {
		const std = SaeRunner.forModel(standardSae(48), model, CPU);
		try {
			const a = await analyzeFeatures(model, std, namedCorpusDocuments(CORPUS), { tokens: 800 });
			assert.equal(a.featureCap, 48);
			const brute = await bruteForce(model, std, a.windows);
			compareWithBruteForce(a, brute, 48);
			const capped = await analyzeFeatures(model, std, namedCorpusDocuments(CORPUS), { tokens: 800, featureCap: 8 });
			const counted = brute.ids.flat().map((id) => id !== 0);
			const saturated = brute.acts.filter((row, r) => counted[r] && row.filter((v) => v > 0).length >= 8).length;
			assert.equal(capped.saturatedTokens, saturated);
			assert.ok(saturated > 0);
		} finally {
			await std.dispose();
		}
	});

	it("stores the analysis in the user-data folder by the SAE's content hash, reuses it, and recomputes when the SAE or corpus changes", async () => {
		const service = new FeatureService(model, runner, CPU, data);
		const first = await service.analyze({ corpus: CORPUS, tokens: 600 });
		assert.equal(first.reused, false);
		assert.equal(first.dir, path.join(data, 'saes', saeKey(saeDir).sha256));
		assert.equal(fs.existsSync(featureLensDir(saeDir)!), false, 'nothing is written beside the SAE');
		for (const f of ['analysis.json', 'features.safetensors', 'examples.safetensors']) assert.ok(fs.existsSync(path.join(first.dir, f)), f);
		const again = await service.analyze({ corpus: CORPUS, tokens: 600 });
		assert.equal(again.reused, true);
		assert.equal(again.tokens, first.tokens);
		// A new service (a restarted engine) reuses it too.
		const fresh = new FeatureService(model, runner, CPU, data);
		assert.equal((await fresh.analyze({ corpus: CORPUS, tokens: 600 })).reused, true);
		assert.equal((await fresh.analyze({ corpus: CORPUS, tokens: 600, force: true })).reused, false);
		assert.equal((await fresh.analyze({ corpus: CORPUS, tokens: 700 })).reused, false, 'another budget');
		const stored = loadAnalysis(first.dir)!;
		assert.equal(stored.meta.requestedTokens, 700);
		assert.equal(stored.meta.corpusKey, CORPUS);
		const d = await fresh.dashboard(stored.table.top.findIndex((e) => e >= 0) / stored.meta.options.topExamples);
		assert.equal(d.analysed, true);
		assert.ok(d.topExamples.length > 0 && d.topExamples.every((e) => e.tokens.length === e.ids.length && e.activations[e.focusIndex] === e.focusActivation));
		assert.ok(d.histogram.counts.reduce((s, c) => s + c, 0) === Math.round(d.density * d.analysedTokens));
		assert.ok(Math.abs(d.quantiles.reduce((s, q) => s + q.contains, 0) - 1) < 1e-9);

		// Retrain (here: change one decoder weight) → the stored analysis no longer applies.
		const changed = loadSae(saeDir);
		const wDec = f32(changed, 'W_dec');
		wDec[0]! += 1;
		changed.weights.W_dec = { ...changed.weights.W_dec!, data: Buffer.from(wDec.buffer) };
		saveSae(saeDir, changed);
		const other = SaeRunner.forModel(loadSae(saeDir), model, CPU);
		try {
			const stale = new FeatureService(model, other, CPU, data);
			assert.equal(stale.analysis(), undefined);
			assert.equal((await stale.dashboard(0)).analysed, false);
			assert.equal((await stale.analyze({ corpus: CORPUS, tokens: 700 })).reused, false);
			assert.notEqual(stale.analysis()!.meta.sae.sha256, stored.meta.sae.sha256);
			await stale.dispose();
		} finally {
			await other.dispose();
		}
		await service.dispose();
		await fresh.dispose();
	});

	it("exports an analysis beside the SAE, which a new user (or machine) uses; labels follow the SAE's content wherever it is installed", async () => {
		const v1 = path.join(tmp, 'ext-0.1.0', 'sae');
		fs.cpSync(TOPK_SAE, v1, { recursive: true });
		const r1 = SaeRunner.forModel(loadSae(v1), model, CPU);
		const own = new FeatureService(model, r1, CPU, path.join(tmp, 'maker-data'));
		assert.throws(() => own.exportAnalysis(), /has no analysis to export/);
		const made = await own.analyze({ corpus: CORPUS, tokens: 500 });
		assert.equal(own.exportAnalysis(), featureLensDir(v1)!);
		assert.equal(loadAnalysis(featureLensDir(v1)!)!.meta.id, loadAnalysis(made.dir)!.meta.id);

		// Someone else's data folder: the exported analysis is used as it is, and labels go to their folder.
		const theirs = path.join(tmp, 'user-data');
		const user = new FeatureService(model, r1, CPU, theirs);
		const reused = await user.analyze({ corpus: CORPUS, tokens: 500 });
		assert.deepEqual([reused.reused, reused.dir], [true, featureLensDir(v1)!]);
		assert.equal((await user.dashboard(3)).analysed, true);
		user.setLabel(3, 'mine', 'kept across updates');
		assert.ok(fs.existsSync(path.join(theirs, 'saes', saeKey(v1).sha256, 'labels.json')));
		assert.equal(fs.existsSync(path.join(featureLensDir(v1)!, 'labels.json')), false);
		// Another analysis of theirs is theirs; asking for the exported one again brings it back.
		await user.analyze({ corpus: CORPUS, tokens: 400 });
		assert.equal(user.analysis()!.meta.requestedTokens, 400);
		assert.equal((await user.analyze({ corpus: CORPUS, tokens: 500 })).reused, true);
		assert.equal(user.analysis()!.meta.requestedTokens, 500);

		// An update installs the same SAE in a new folder: the label is still there.
		const v2 = path.join(tmp, 'ext-0.1.1', 'sae');
		fs.cpSync(v1, v2, { recursive: true });
		fs.rmSync(v1, { recursive: true });
		const r2 = SaeRunner.forModel(loadSae(v2), model, CPU);
		const updated = new FeatureService(model, r2, CPU, theirs);
		assert.deepEqual([(await updated.dashboard(3)).userLabel, (await updated.dashboard(3)).notes], ['mine', 'kept across updates']);

		// Labels that development builds wrote beside the SAE are read until the first change, which writes them to the data folder.
		fs.writeFileSync(path.join(featureLensDir(v2)!, 'labels.json'), JSON.stringify({ formatVersion: 1, features: { 7: { label: 'old', notes: '' } } }));
		const fresh = new FeatureService(model, r2, CPU, path.join(tmp, 'fresh-data'));
		assert.equal((await fresh.dashboard(7)).userLabel, 'old');
		fresh.setLabel(8, 'new', '');
		const written = JSON.parse(fs.readFileSync(path.join(fresh.dir, 'labels.json'), 'utf8')) as { features: Record<string, { label: string }> };
		assert.deepEqual(Object.keys(written.features), ['7', '8']);
		for (const s of [own, user, updated, fresh]) await s.dispose();
		await r1.dispose();
		await r2.dispose();
	});

	it('a data folder or export folder that cannot be written is refused before the corpus is analysed, naming the path and the cause', async () => {
		const blocker = path.join(tmp, 'a-file');
		fs.writeFileSync(blocker, '');
		let passes = 0;
		const service = new FeatureService(model, runner, CPU, path.join(blocker, 'data'));
		await assert.rejects(
			service.analyze({
				corpus: CORPUS,
				tokens: 600,
				onProgress: () => {
					passes++;
				},
			}),
			(e: Error) => e instanceof DiskError && /^cannot create the folder .*a-file\/data\/saes\/[0-9a-f]+: a part of the path is a file, not a folder \(ENOTDIR\)$/.test(e.message),
		);
		assert.equal(passes, 0);
		// The export folder beside the SAE is checked the same way (analyze --export checks it first).
		const dir = path.join(tmp, 'export-blocked');
		fs.cpSync(TOPK_SAE, dir, { recursive: true });
		fs.writeFileSync(path.join(dir, 'feature-lens'), 'not a folder');
		const r = SaeRunner.forModel(loadSae(dir), model, CPU);
		const exporter = new FeatureService(model, r, CPU, data);
		assert.throws(
			() => exporter.checkExportable(),
			(e: Error) => e instanceof DiskError && e.message.includes(path.join(dir, 'feature-lens')),
		);
		await exporter.dispose();
		await r.dispose();
		await service.dispose();
	});

	it('cancellation stops the analysis and writes nothing', async () => {
		const dir = path.join(tmp, 'cancel');
		fs.cpSync(TOPK_SAE, dir, { recursive: true });
		const r = SaeRunner.forModel(loadSae(dir), model, CPU);
		const abort = new AbortController();
		const cancelData = path.join(tmp, 'cancel-data');
		const service = new FeatureService(model, r, CPU, cancelData);
		const result = await service.analyze({
			corpus: CORPUS,
			tokens: 100_000,
			signal: abort.signal,
			onProgress: (done) => {
				if (done > 0) abort.abort();
			},
		});
		assert.equal(result.cancelled, true);
		assert.equal(fs.existsSync(path.join(service.dir, 'analysis.json')), false);
		assert.equal(fs.existsSync(featureLensDir(dir)!), false);
		await service.dispose();
		await r.dispose();
	});

	it('logit lens matches W_dec[i] · gain · W_U computed directly (centred as TransformerLens processes GPT-2)', async () => {
		const service = new FeatureService(model, runner, CPU, data);
		const sae = runner.sae;
		const tensors = readSafetensorsHeader(path.join(fixtureModel('gpt2-tiny'), 'model.safetensors')).tensors;
		const raw = (name: string) => new Float32Array(new Uint8Array(readTensor(tensors.find((t) => t.name === `transformer.${name}`)!).data).buffer);
		const wte = raw('wte.weight');
		const gain = raw('ln_f.weight');
		const wDec = f32(sae, 'W_dec');
		for (const i of [0, 17, 63]) {
			const dir = Array.from(wDec.subarray(i * 32, (i + 1) * 32));
			const mu = dir.reduce((s, v) => s + v, 0) / 32;
			const g = dir.map((v, j) => (v - mu) * gain[j]!);
			const logits = Array.from({ length: 300 }, (_, v) => g.reduce((s, x, j) => s + x * wte[v * 32 + j]!, 0));
			const m = logits.reduce((s, v) => s + v, 0) / 300;
			const want = logits.map((v) => v - m);
			const lens = (await service.views.logitLens(i))!;
			want.forEach((v, t) => assert.ok(Math.abs(lens.all[t]! - v) < 1e-4, `token ${t}`));
			const order = want.map((v, t) => [v, t] as const).sort((a, b) => b[0] - a[0]);
			assert.deepEqual(
				lens.positive.map((p) => p.id),
				order.slice(0, 10).map(([, t]) => t),
			);
			assert.deepEqual(
				lens.negative.map((p) => p.id),
				order
					.slice(-10)
					.reverse()
					.map(([, t]) => t),
			);
			const d = await service.dashboard(i);
			assert.equal(
				d.logitLens.histogram.counts.reduce((s, c) => s + c, 0),
				300,
			);
			assert.equal(d.logitLens.positive[0]!.id, order[0]![1]);
		}
		await service.dispose();
	});

	it('nearest features are the most cosine-similar decoder rows', async () => {
		const service = new FeatureService(model, runner, CPU, data);
		const wDec = f32(runner.sae, 'W_dec');
		const row = (i: number) => Array.from(wDec.subarray(i * 32, (i + 1) * 32));
		const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
		for (const i of [3, 40]) {
			const a = row(i);
			const cos = Array.from({ length: 64 }, (_, j) => ({ j, c: a.reduce((s, x, k) => s + x * row(j)[k]!, 0) / (norm(a) * norm(row(j))) }))
				.filter((x) => x.j !== i)
				.sort((x, y) => y.c - x.c)
				.slice(0, 10);
			const got = await service.views.nearest(i);
			assert.deepEqual(
				got.map((n) => n.featureIndex),
				cos.map((x) => x.j),
			);
			got.forEach((n, k) => assert.ok(Math.abs(n.cosine - cos[k]!.c) < 1e-5));
		}
		await service.dispose();
	});

	it('labels: automatic ones, user labels saved in the user-data folder, search by label, number and text', async () => {
		assert.equal(autoLabel([' return', 'return', ' yield', '\n', ' yield', 'x']), 'return | yield');
		assert.equal(autoLabel(['\n\n', 'a']), '↵↵');
		assert.equal(visibleToken('  '), '··');
		const service = new FeatureService(model, runner, CPU, data);
		await service.analyze({ corpus: CORPUS, tokens: 700 });
		const summary = service.setLabel(5, '  Docstring opener ', 'fires on """');
		assert.equal(summary.label, 'Docstring opener');
		const saved = JSON.parse(fs.readFileSync(path.join(service.dir, 'labels.json'), 'utf8')) as { features: Record<string, { label: string; notes: string }> };
		assert.deepEqual(saved.features['5'], { label: 'Docstring opener', notes: 'fires on """' });
		const reloaded = new FeatureService(model, runner, CPU, data);
		const d = await reloaded.dashboard(5);
		assert.equal(d.userLabel, 'Docstring opener');
		assert.equal(d.notes, 'fires on """');
		assert.deepEqual(
			(await reloaded.search({ query: 'docstring', limit: 5 })).map((h) => [h.featureIndex, h.score]),
			[[5, 0.75]],
		);
		assert.equal((await reloaded.search({ query: '#12', limit: 5 }))[0]!.featureIndex, 12);
		assert.deepEqual(
			(await reloaded.search({ query: '"""', limit: 5 })).map((h) => h.featureIndex),
			[5],
			'notes match too',
		);
		// Clearing both removes the entry.
		reloaded.setLabel(5, '', '');
		assert.equal((await reloaded.search({ query: 'docstring', limit: 5 })).length, 0);
		// By text: features ranked by their largest activation on it.
		const text = 'def f(x):\n    return x + 1\n';
		const hits = await reloaded.search({ text, limit: 5 });
		const best = new Map<number, number>();
		for (const t of await inspectText(model, runner, text, { topFeatures: 64 })) for (const [f, v] of t.features) best.set(f, Math.max(best.get(f) ?? 0, v));
		const want = [...best.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5);
		assert.deepEqual(
			hits.map((h) => h.featureIndex),
			want.map(([f]) => f),
		);
		hits.forEach((h, i) => assert.ok(Math.abs(h.score - want[i]![1]) < 1e-5));
		// "Test your own text": that feature on every token.
		const on = await reloaded.activationsOnText(want[0]![0], text);
		assert.ok(Math.abs(Math.max(...on.tokens.map((t) => t.activation)) - want[0]![1]) < 1e-5);
		assert.equal(on.tokens.map((t) => t.text).join(''), text);
		// Label search against a plain list.
		const labels = ['return', 'returns', 'a return value', ''];
		assert.deepEqual(
			searchLabels('RETURN', 4, (f) => ({ userLabel: '', autoLabel: labels[f]!, notes: '' }), 10),
			[
				{ featureIndex: 0, score: 1 },
				{ featureIndex: 1, score: 0.75 },
				{ featureIndex: 2, score: 0.5 },
			],
		);
		await service.dispose();
		await reloaded.dispose();
	});

	it('bad input gets clear errors', async () => {
		const service = new FeatureService(model, runner, CPU, data);
		await assert.rejects(service.dashboard(64), /feature 64 is out of range: this SAE has 64 features \(0–63\)/);
		await assert.rejects(service.dashboard(-1), /out of range/);
		assert.throws(() => service.setLabel(1.5, 'x', ''), /out of range/);
		await assert.rejects(service.analyze({ corpus: CORPUS, tokens: 0 }), /token budget must be a positive integer/);
		await assert.rejects(service.analyze({ corpus: path.join(tmp, 'nope'), tokens: 10 }), /no such file or folder/);
		await assert.rejects(service.search({ limit: 5 }), /needs a query/);
		await service.dispose();
	});
});
