// SAE encode/decode graphs against a direct computation of the SAELens formulas, per architecture.

import * as assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { LanguageModel } from '../../src/engine/models/languageModel';
import { inspectText } from '../../src/engine/sae/inspect';
import { SaeRunner, usesCentredView } from '../../src/engine/sae/saeRunner';
import type { Sae, SaeArchitecture, SaeConfig } from '../../src/engine/sae/saeTypes';
import { toF16 } from '../../tools/fixtures/random';
import { fixtureModel, maxAbsDiff } from '../helpers';
import { f32, gaussianArray, inMemorySae, tensor } from '../saeFixtures';

const CPU = { executionProvider: 'cpu', threads: 1 } as const;
const D_IN = 32;
const D_SAE = 96;

/** In-memory SAEs at hook_resid_post of gpt2-tiny, k 5. */
export function makeSae(architecture: SaeArchitecture, extra: Partial<SaeConfig> = {}, hookName = 'blocks.1.hook_resid_post'): Sae {
	return inMemorySae(architecture, { hookName, dSae: D_SAE, k: 5, encoderStd: 0.3 }, extra);
}

function referenceActs(sae: Sae, x: Float32Array, rows: number): Float32Array {
	const { cfg } = sae;
	const wEnc = f32(sae, 'W_enc');
	const bDec = f32(sae, 'b_dec');
	const out = new Float32Array(rows * cfg.d_sae);
	const affine = (xr: Float64Array, bias: Float32Array, rMag?: Float32Array): Float64Array => {
		const pre = new Float64Array(cfg.d_sae);
		for (let j = 0; j < cfg.d_sae; j++) {
			let s = bias[j]!;
			const scale = rMag ? Math.exp(rMag[j]!) : 1;
			for (let i = 0; i < cfg.d_in; i++) s += xr[i]! * wEnc[i * cfg.d_sae + j]! * scale;
			pre[j] = s;
		}
		return pre;
	};
	for (let r = 0; r < rows; r++) {
		const xr = Float64Array.from({ length: cfg.d_in }, (_, i) => x[r * cfg.d_in + i]! - (cfg.apply_b_dec_to_input ? bDec[i]! : 0));
		const o = out.subarray(r * cfg.d_sae, (r + 1) * cfg.d_sae);
		if (cfg.architecture === 'gated') {
			const gate = affine(xr, f32(sae, 'b_gate'));
			const mag = affine(xr, f32(sae, 'b_mag'), f32(sae, 'r_mag'));
			for (let j = 0; j < cfg.d_sae; j++) o[j] = gate[j]! > 0 ? Math.max(0, mag[j]!) : 0;
			continue;
		}
		const pre = affine(xr, f32(sae, 'b_enc'));
		if (cfg.architecture === 'standard') for (let j = 0; j < cfg.d_sae; j++) o[j] = Math.max(0, pre[j]!);
		if (cfg.architecture === 'jumprelu') {
			const th = f32(sae, 'threshold');
			for (let j = 0; j < cfg.d_sae; j++) o[j] = pre[j]! > th[j]! ? Math.max(0, pre[j]!) : 0;
		}
		if (cfg.architecture === 'topk') {
			const top = [...pre.keys()].sort((a, b) => pre[b]! - pre[a]!).slice(0, cfg.k);
			for (const j of top) o[j] = Math.max(0, pre[j]!);
		}
	}
	return out;
}

function referenceRecons(sae: Sae, acts: Float32Array, rows: number): Float32Array {
	const wDec = f32(sae, 'W_dec');
	const bDec = f32(sae, 'b_dec');
	const out = new Float32Array(rows * D_IN);
	for (let r = 0; r < rows; r++) {
		for (let i = 0; i < D_IN; i++) {
			let s = bDec[i]!;
			for (let j = 0; j < D_SAE; j++) s += acts[r * D_SAE + j]! * wDec[j * D_IN + i]!;
			out[r * D_IN + i] = s;
		}
	}
	return out;
}

const ROWS = 7;
const X = gaussianArray(ROWS * D_IN, 42, 1.2, 0.3);

describe('SAE graphs match the SAELens formulas', () => {
	const model = LanguageModel.load(fixtureModel('gpt2-tiny'), CPU);
	after(() => model.dispose());

	for (const arch of ['standard', 'topk', 'jumprelu', 'gated'] as const) {
		it(`${arch}: activations, top features, reconstruction and error term`, async () => {
			const sae = makeSae(arch);
			const runner = SaeRunner.forModel(sae, model, CPU);
			const out = await runner.run(X, ROWS, { acts: true, topFeatures: 4, recons: true, error: true });
			const want = referenceActs(sae, X, ROWS);
			assert.ok(maxAbsDiff(out.acts!, want) < 1e-4, `acts max |Δ| ${maxAbsDiff(out.acts!, want)}`);
			const active = want.filter((v) => v > 0).length / ROWS;
			assert.ok(active > 0 && active < D_SAE, `a sparse code (mean L0 ${active})`);
			if (arch === 'topk') assert.ok(active <= 5);
			for (let r = 0; r < ROWS; r++) {
				const row = want.subarray(r * D_SAE, (r + 1) * D_SAE);
				const best = [...row.keys()].sort((a, b) => row[b]! - row[a]!).slice(0, 4);
				assert.deepEqual(
					[...out.topIndices!.subarray(r * 4, r * 4 + 4)].filter((j) => row[j]! > 0),
					best.filter((j) => row[j]! > 0),
				);
			}
			const recons = referenceRecons(sae, out.acts!, ROWS);
			assert.ok(maxAbsDiff(out.recons!, recons) < 1e-4);
			assert.ok(
				maxAbsDiff(
					out.error!,
					X.map((v, i) => v - recons[i]!),
				) < 1e-4,
			);
			await runner.dispose();
		});
	}

	it('f16 weights give the f32 result of the same (rounded) weights', async () => {
		const sae = makeSae('standard');
		const rounded = makeSae('standard');
		for (const name of Object.keys(sae.weights)) {
			const half = toF16(f32(sae, name));
			sae.weights[name] = { dtype: 'F16', shape: sae.weights[name]!.shape, data: Buffer.from(half.buffer) };
			// Decode the halves to float32 for the reference SAE.
			const back = Float32Array.from(half, (h) => {
				const s = h & 0x8000 ? -1 : 1;
				const e = (h >> 10) & 0x1f;
				const m = h & 0x3ff;
				return e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15);
			});
			rounded.weights[name] = tensor(back, sae.weights[name].shape);
		}
		const a = await SaeRunner.forModel(sae, model, CPU).run(X, ROWS, { acts: true, topFeatures: 0, recons: false, error: false });
		assert.ok(maxAbsDiff(a.acts!, referenceActs(rounded, X, ROWS)) < 1e-4);
	});

	it('apply_b_dec_to_input false skips the subtraction', async () => {
		const sae = makeSae('standard', { apply_b_dec_to_input: false });
		const out = await SaeRunner.forModel(sae, model, CPU).run(X, ROWS, { acts: true, topFeatures: 0, recons: false, error: false });
		assert.ok(maxAbsDiff(out.acts!, referenceActs(sae, X, ROWS)) < 1e-4);
	});

	it('constant_norm_rescale encodes the rescaled input and undoes the scale on the way out', async () => {
		const sae = makeSae('standard', { normalize_activations: 'constant_norm_rescale' });
		const scaled = new Float32Array(X.length);
		const norms: number[] = [];
		for (let r = 0; r < ROWS; r++) {
			const row = X.subarray(r * D_IN, (r + 1) * D_IN);
			const norm = Math.hypot(...row);
			norms.push(norm);
			row.forEach((v, i) => {
				scaled[r * D_IN + i] = (v * Math.sqrt(D_IN)) / norm;
			});
		}
		const out = await SaeRunner.forModel(sae, model, CPU).run(X, ROWS, { acts: true, topFeatures: 0, recons: true, error: false });
		const acts = referenceActs(sae, scaled, ROWS);
		assert.ok(maxAbsDiff(out.acts!, acts) < 1e-4);
		const recons = referenceRecons(sae, acts, ROWS).map((v, i) => (v * norms[Math.floor(i / D_IN)]!) / Math.sqrt(D_IN));
		assert.ok(maxAbsDiff(out.recons!, recons) < 1e-4);
	});
});

describe('SAEs and models: hooks, widths and the TransformerLens view', () => {
	const model = LanguageModel.load(fixtureModel('gpt2-tiny'), CPU);
	after(() => model.dispose());

	it('refuses an SAE for a hook the model does not have', () => {
		assert.throws(() => SaeRunner.forModel(makeSae('topk', {}, 'blocks.7.hook_resid_post'), model, CPU), /reads hook "blocks\.7\.hook_resid_post", which this gpt2 model with 2 layers does not have/);
	});

	it('refuses an SAE of another width', () => {
		const sae = makeSae('topk', {}, 'blocks.1.mlp.hook_post');
		assert.throws(
			() => SaeRunner.forModel(sae, model, CPU),
			/expects d_in 32 at blocks\.1\.mlp\.hook_post, but this model's blocks\.1\.mlp\.hook_post has width 64 \(the SAE was trained on gpt2-tiny\)/,
		);
	});

	it('refuses one of our SAEs trained on another model', () => {
		const sae = makeSae('topk', { metadata: { hook_name: 'blocks.1.hook_resid_post', model_name: 'llama-tiny', model_class_name: 'FeatureLens' } });
		assert.throws(() => SaeRunner.forModel(sae, model, CPU), /trained on llama-tiny, not on gpt2-tiny/);
	});

	it('centres the residual stream exactly when the SAE says it saw TransformerLens-processed weights', async () => {
		const processed = makeSae('standard', { metadata: { hook_name: 'blocks.1.hook_resid_post', model_class_name: 'HookedTransformer' } });
		const raw = makeSae('standard');
		assert.equal(usesCentredView(processed, 'gpt2'), true);
		assert.equal(usesCentredView(raw, 'gpt2'), false);
		assert.equal(usesCentredView(processed, 'llama'), false, 'RMSNorm models are not centred');
		assert.equal(usesCentredView(makeSae('standard', { metadata: { hook_name: 'blocks.1.mlp.hook_post' } }), 'gpt2'), false, 'only residual-writing hooks');
		// Direct computation: x − mean(x) per row fed to the raw SAE equals the processed SAE on x.
		const centred = new Float32Array(X.length);
		for (let r = 0; r < ROWS; r++) {
			const row = X.subarray(r * D_IN, (r + 1) * D_IN);
			const mean = row.reduce((a, v) => a + v, 0) / D_IN;
			row.forEach((v, i) => {
				centred[r * D_IN + i] = v - mean;
			});
		}
		const got = await SaeRunner.forModel(processed, model, CPU).run(X, ROWS, { acts: true, topFeatures: 0, recons: false, error: true });
		assert.ok(maxAbsDiff(got.acts!, referenceActs(raw, centred, ROWS)) < 1e-4);
		const recons = referenceRecons(raw, referenceActs(raw, centred, ROWS), ROWS);
		assert.ok(
			maxAbsDiff(
				got.error!,
				centred.map((v, i) => v - recons[i]!),
			) < 1e-4,
			'the error term lives in the centred view too',
		);
	});

	it('inspects text: per-token features at exact offsets, windows agreeing with a single pass', async () => {
		const sae = makeSae('topk');
		const runner = SaeRunner.forModel(sae, model, CPU);
		const text = 'def f(self):\n    return self.x  # the end';
		const tokens = await inspectText(model, runner, text, { topFeatures: 3 });
		assert.ok(tokens.every((t) => text.slice(t.start, t.end) === t.text));
		assert.ok(tokens.every((t) => t.features.length <= 3 && t.features.every(([j, v], i, a) => j >= 0 && j < D_SAE && v > 0 && (i === 0 || a[i - 1]![1] >= v))));
		// Direct: the hook activations of the same tokens (after BOS) through the reference encoder.
		const ids = tokens.map((t) => t.id);
		const act = (await model.forward({ ids: [[0, ...ids]], hooks: [sae.cfg.metadata.hook_name], logits: 'none' })).hooks[sae.cfg.metadata.hook_name]!.data as Float32Array;
		const want = referenceActs(sae, act.subarray(D_IN), ids.length);
		tokens.forEach((t, r) => {
			for (const [j, v] of t.features) assert.ok(Math.abs(want[r * D_SAE + j]! - v) < 1e-4);
		});
		// A text longer than the 64-token context goes through in overlapping windows.
		const long = 'for i in range(10):\n    print(i)\n'.repeat(12);
		const windowed = await inspectText(model, runner, long, { topFeatures: 3, contextOverlap: 16 });
		assert.equal(windowed.at(-1)!.end, long.length);
		assert.ok(windowed.length > 64);
		await runner.dispose();
	});
});
