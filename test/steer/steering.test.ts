// Steering on the tiny GPT-2 fixture with seeded in-memory SAEs, each mode against a direct
// computation: add moves the hook by strength·W_dec[i]; clamp by (v − f_i(x))·W_dec[i] with
// f from the SAE's own (separately built) encode graph, so an SAE whose encoder inverts its
// decoder re-reads exactly v; cap lowers the projection to the cap; "generated" leaves the
// prompt alone; zero strength is the baseline bit for bit; strengths never build a session.

import * as assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { LanguageModel } from '../../src/engine/models/languageModel';
import { generate } from '../../src/engine/models/generate';
import { SaeRunner } from '../../src/engine/sae/saeRunner';
import type { Sae } from '../../src/engine/sae/saeTypes';
import { contrastVector } from '../../src/engine/steer/contrast';
import { compileSteering } from '../../src/engine/steer/steering';
import { releaseSteering } from '../../src/engine/steer/steerGraph';
import { steerSweep, steeredGenerate } from '../../src/engine/steer/steeredGenerate';
import { parseFeatureSteers } from '../../src/engine/steer/steerSpec';
import { fixtureModel, maxAbsDiff } from '../helpers';
import { f32, gaussianArray } from '../saeFixtures';
import { CPU, invertibleSae, makeSae, spec, steeredForward } from './steerFixtures';

const H = 'blocks.1.hook_resid_pre';
const D = 32;
const IDS = [0, 37, 112, 5, 250, 18, 64, 91, 133, 7, 201, 44];
const T = IDS.length;

const row = (a: Float32Array, t: number): Float32Array => a.subarray(t * D, (t + 1) * D);
const hookOf = (out: { hooks: Record<string, { data: unknown }> }, h = H): Float32Array => out.hooks[h]!.data as Float32Array;
const bitEqual = (a: Float32Array, b: Float32Array): boolean => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

describe('steering graph inputs', () => {
	const model = LanguageModel.load(fixtureModel('gpt2-tiny'), CPU);
	const runners: SaeRunner[] = [];
	const bind = (sae: Sae): SaeRunner => {
		const r = SaeRunner.forModel(sae, model, CPU);
		runners.push(r);
		return r;
	};
	after(async () => {
		for (const r of runners) await r.dispose();
		await model.dispose();
	});
	const baseline = () => model.forward({ ids: [IDS], hooks: [H], logits: 'all' });

	it('a zero-strength add reproduces the baseline bit for bit: logits, and tokens of a sampled completion', async () => {
		const runner = bind(makeSae('topk'));
		const zero = spec(
			[
				{ featureIndex: 3, mode: 'add', strength: 0 },
				{ featureIndex: 40, mode: 'add', strength: 0 },
			],
			'all',
			[{ hookName: 'blocks.0.hook_mlp_out', vector: Array.from(gaussianArray(D, 9)), strength: 0, label: 'zero' }],
		);
		const base = await baseline();
		const steered = await steeredForward(model, runner, zero, IDS, [H]);
		assert.ok(bitEqual(steered.logits!.data as Float32Array, base.logits!.data as Float32Array), 'prompt logits identical');
		const result = await steeredGenerate(model, runner, { prompt: { ids: IDS }, steer: zero, maxNewTokens: 24, temperature: 0.9, topP: 1, seed: 3 });
		assert.deepEqual(result.steered.ids, result.baseline!.ids);
		const plain: number[] = [];
		for await (const t of generate(model, IDS, { maxNewTokens: 24, temperature: 0.9, seed: 3 })) plain.push(t.id);
		assert.deepEqual(result.baseline!.ids, plain, 'the baseline is ordinary generation');
	});

	it('add moves the hook by exactly Σ strength·W_dec[i] at every position; a vector by strength·vector at its hook', async () => {
		const sae = makeSae('standard');
		const runner = bind(sae);
		const wDec = f32(sae, 'W_dec');
		const base = await model.forward({ ids: [IDS], hooks: [H, 'blocks.0.hook_mlp_out'], logits: 'none' });
		const vector = gaussianArray(D, 21);
		const out = await steeredForward(
			model,
			runner,
			spec(
				[
					{ featureIndex: 7, mode: 'add', strength: 4 },
					{ featureIndex: 60, mode: 'add', strength: -2.5 },
				],
				'all',
				[{ hookName: 'blocks.0.hook_mlp_out', vector: Array.from(vector), strength: 1.5, label: 'v' }],
			),
			IDS,
			[H, 'blocks.0.hook_mlp_out'],
		);
		// The residual at H also carries the vector added at blocks.0.hook_mlp_out (it writes to the residual stream).
		const want = Float32Array.from({ length: D }, (_, j) => 4 * wDec[7 * D + j]! - 2.5 * wDec[60 * D + j]! + 1.5 * vector[j]!);
		for (let t = 0; t < T; t++) {
			const moved = row(hookOf(out), t).map((v, j) => v - row(hookOf(base), t)[j]!);
			assert.ok(maxAbsDiff(moved, want) < 1e-5, `position ${t}: |Δ − want| ${maxAbsDiff(moved, want)}`);
			const movedV = row(hookOf(out, 'blocks.0.hook_mlp_out'), t).map((v, j) => v - row(hookOf(base, 'blocks.0.hook_mlp_out'), t)[j]!);
			assert.ok(
				maxAbsDiff(
					movedV,
					vector.map((v) => 1.5 * v),
				) < 1e-5,
			);
		}
	});

	const clampCases: [string, () => Sae][] = [
		['standard', () => makeSae('standard')],
		['jumprelu', () => makeSae('jumprelu')],
		['gated', () => makeSae('gated')],
		['topk (f_i = 0 when the feature is outside the top k)', () => makeSae('topk')],
		['topk with decoder-norm rescaling', () => makeSae('topk', { rescale_acts_by_decoder_norm: true })],
		['standard, TransformerLens-centred view', () => makeSae('standard', { metadata: { hook_name: H, model_name: 'gpt2-tiny', model_class_name: 'HookedTransformer' } })],
		['standard, constant_norm_rescale', () => makeSae('standard', { normalize_activations: 'constant_norm_rescale' })],
		['standard, layer_norm', () => makeSae('standard', { normalize_activations: 'layer_norm' })],
	];
	for (const [name, make] of clampCases) {
		it(`clamp (${name}) moves the hook by (v − f_i(x))·W_dec[i], f from the SAE's own encode`, async () => {
			const sae = make();
			const runner = bind(sae);
			const wDec = f32(sae, 'W_dec');
			const base = hookOf(await baseline());
			const acts = (await runner.run(base, T, { acts: true, topFeatures: 0, recons: false, error: false })).acts!;
			// One feature active at some positions and silent at others, and one more.
			const dSae = sae.cfg.d_sae;
			const fired = (i: number) => Array.from({ length: T }, (_, t) => acts[t * dSae + i]! > 0).filter(Boolean).length;
			const mixed = [...Array(dSae).keys()].find((i) => fired(i) > 0 && fired(i) < T);
			assert.ok(mixed !== undefined, 'the fixture has a feature that is active at some positions only');
			const other = (mixed + 1) % dSae;
			const values = new Map([
				[mixed, 3],
				[other, 1.25],
			]);
			const out = hookOf(await steeredForward(model, runner, spec([...values].map(([featureIndex, strength]) => ({ featureIndex, mode: 'clamp' as const, strength }))), IDS, [H]));
			for (let t = 0; t < T; t++) {
				const x = row(base, t);
				const view = runner.centre ? x.map((v) => v - x.reduce((a, b) => a + b, 0) / D) : x;
				const mean = view.reduce((a, b) => a + b, 0) / D;
				const unscale =
					sae.cfg.normalize_activations === 'constant_norm_rescale'
						? Math.hypot(...view) / Math.sqrt(D)
						: sae.cfg.normalize_activations === 'layer_norm'
							? Math.sqrt(view.reduce((a, v) => a + (v - mean) ** 2, 0) / (D - 1))
							: 1;
				// SAELens's TopK decode divides by the decoder row norm when rescale_acts_by_decoder_norm.
				const rowNorm = (i: number) => (sae.cfg.rescale_acts_by_decoder_norm ? Math.hypot(...wDec.subarray(i * D, (i + 1) * D)) : 1);
				const want = new Float32Array(D);
				for (const [i, v] of values) for (let j = 0; j < D; j++) want[j]! += ((v - acts[t * dSae + i]!) / rowNorm(i)) * unscale * wDec[i * D + j]!;
				const moved = row(out, t).map((v, j) => v - x[j]!);
				assert.ok(maxAbsDiff(moved, want) < 2e-5, `position ${t}: |Δ − want| ${maxAbsDiff(moved, want)}`);
			}
		});
	}

	for (const centred of [false, true]) {
		it(`clamping to v makes the SAE read v on the steered positions (encoder inverts decoder${centred ? ', centred view' : ''})`, async () => {
			const sae = invertibleSae(H, 8, centred);
			const runner = bind(sae);
			assert.equal(runner.centre, centred);
			const out = hookOf(
				await steeredForward(
					model,
					runner,
					spec([
						{ featureIndex: 2, mode: 'clamp', strength: 107.5 },
						{ featureIndex: 5, mode: 'clamp', strength: 93 },
					]),
					IDS,
					[H],
				),
			);
			const before = (await runner.run(hookOf(await baseline()), T, { acts: true, topFeatures: 0, recons: false, error: false })).acts!;
			const after = (await runner.run(out, T, { acts: true, topFeatures: 0, recons: false, error: false })).acts!;
			for (let t = 0; t < T; t++) {
				for (let i = 0; i < 8; i++) {
					const want = i === 2 ? 107.5 : i === 5 ? 93 : before[t * 8 + i]!;
					assert.ok(Math.abs(after[t * 8 + i]! - want) < 1e-4, `position ${t} feature ${i}: reads ${after[t * 8 + i]}, want ${want}`);
				}
			}
		});
	}

	it('features of SAEs at two layers steer together: each SAE reads its clamped values at its own hook', async () => {
		const H0 = 'blocks.0.hook_resid_post';
		const loaded = bind(invertibleSae(H, 8, false));
		const other = bind(invertibleSae(H0, 8, false));
		const others = new Map([['/saes/layer0', other]]);
		const both = spec([
			{ featureIndex: 5, mode: 'clamp', strength: 93 },
			{ featureIndex: 2, mode: 'clamp', strength: 107.5, sae: '/saes/layer0' },
			{ featureIndex: 3, mode: 'add', strength: 0.5, sae: '/saes/layer0' },
		]);
		const steering = compileSteering(model, loaded, both, others);
		const out = await model.forward({ ids: [IDS], hooks: [H0, H], logits: 'none', ...steering.callInputs({ prompt: true, seq: T }) });
		const read = async (r: SaeRunner, x: Float32Array) => (await r.run(x, T, { acts: true, topFeatures: 0, recons: false, error: false })).acts!;
		const at0 = await read(other, hookOf(out, H0));
		const at1 = await read(loaded, hookOf(out, H));
		for (let t = 0; t < T; t++) {
			// The add of feature 3 at H0 is orthogonal to feature 2's row (orthonormal decoder): it leaves that reading alone.
			assert.ok(Math.abs(at0[t * 8 + 2]! - 107.5) < 1e-4, `position ${t}: layer 0 feature 2 reads ${at0[t * 8 + 2]}`);
			assert.ok(Math.abs(at1[t * 8 + 5]! - 93) < 1e-4, `position ${t}: layer 1 feature 5 reads ${at1[t * 8 + 5]}`);
		}
		// Loaded or named by path, the same feature steers the same.
		const named = compileSteering(model, undefined, spec([{ featureIndex: 5, mode: 'clamp', strength: 93, sae: '/saes/l1' }]), new Map([['/saes/l1', loaded]]));
		const plain = await steeredForward(model, loaded, spec([{ featureIndex: 5, mode: 'clamp', strength: 93 }]), IDS, [H]);
		const viaPath = await model.forward({ ids: [IDS], hooks: [H], logits: 'all', ...named.callInputs({ prompt: true, seq: T }) });
		assert.ok(bitEqual(viaPath.logits!.data as Float32Array, plain.logits!.data as Float32Array));
		// Two SAEs clamping at one hook would share its subgraph's inputs: refused.
		const twin = bind(invertibleSae(H, 8, false));
		assert.throws(
			() =>
				compileSteering(
					model,
					loaded,
					spec([
						{ featureIndex: 1, mode: 'clamp', strength: 1 },
						{ featureIndex: 1, mode: 'clamp', strength: 1, sae: '/twin' },
					]),
					new Map([['/twin', twin]]),
				),
			/clamped or capped at blocks\.1\.hook_resid_pre; steer the features of one SAE per hook/,
		);
		assert.throws(() => compileSteering(model, loaded, spec([{ featureIndex: 1, mode: 'add', strength: 1, sae: '/nowhere' }])), /feature 1 of \/nowhere: that SAE is not loaded/);
		assert.throws(() => compileSteering(model, loaded, spec([{ featureIndex: 8, mode: 'add', strength: 1, sae: '/saes/layer0' }]), others), /feature 8 of \/saes\/layer0 is not in the SAE/);
	});

	for (const centred of [false, true]) {
		it(`cap lowers the projection on d̂ to the cap where it exceeds it and leaves other positions alone${centred ? ' (centred view)' : ''}`, async () => {
			const sae = makeSae('standard', centred ? { metadata: { hook_name: H, model_name: 'gpt2-tiny', model_class_name: 'HookedTransformer' } } : {});
			const runner = bind(sae);
			assert.equal(runner.centre, centred);
			const i = 11;
			const d = f32(sae, 'W_dec').subarray(i * D, (i + 1) * D);
			const norm = Math.hypot(...d);
			const base = hookOf(await baseline());
			// The SAE's view of the unsteered activation: TransformerLens's processed residual when centred.
			const view = (x: Float32Array) => (centred ? x.map((v) => v - x.reduce((a, b) => a + b, 0) / D) : x);
			const projection = (x: ArrayLike<number>) => Array.from(x).reduce((s, v, j) => s + v * d[j]!, 0) / norm;
			const before = Array.from({ length: T }, (_, t) => projection(view(row(base, t))));
			const sorted = [...before].sort((a, b) => a - b);
			const cap = (sorted[(T >> 1) - 1]! + sorted[T >> 1]!) / 2; // between two positions' projections
			const out = hookOf(await steeredForward(model, runner, spec([{ featureIndex: i, mode: 'cap', strength: cap }]), IDS, [H]));
			let capped = 0;
			for (let t = 0; t < T; t++) {
				const moved = row(out, t).map((v, j) => v - row(base, t)[j]!);
				// The view plus the change made: what TransformerLens's hook would hold after the cap (the
				// raw model gets the same change; the mean it adds is invisible behind every LayerNorm).
				const after = projection(view(row(base, t)).map((v, j) => v + moved[j]!));
				if (before[t]! > cap) {
					capped++;
					assert.ok(Math.abs(after - cap) < 1e-4, `position ${t}: projection ${after}, cap ${cap}`);
					assert.ok(
						maxAbsDiff(
							moved,
							d.map((v) => ((cap - before[t]!) * v) / norm),
						) < 1e-5,
						'only the component along d̂ changes',
					);
				} else {
					assert.ok(bitEqual(row(out, t), row(base, t)), `position ${t} is under the cap and untouched`);
				}
			}
			assert.ok(capped > 0 && capped < T);
		});
	}

	it('"generated" leaves the prompt positions untouched and steers generated ones (KV cache)', async () => {
		const sae = makeSae('topk');
		const runner = bind(sae);
		const wDec = f32(sae, 'W_dec');
		const s = spec(
			[
				{ featureIndex: 9, mode: 'add', strength: 3 },
				{ featureIndex: 10, mode: 'clamp', strength: 2 },
				{ featureIndex: 11, mode: 'cap', strength: 0 },
			],
			'generated',
		);
		const base = await model.forward({ ids: [IDS], hooks: [H], logits: 'all', past: model.emptyCache(1) });
		const prompt = await steeredForward(model, runner, s, IDS, [H], true, model.emptyCache(1));
		assert.ok(bitEqual(hookOf(prompt), hookOf(base)), 'prompt activations untouched');
		assert.ok(bitEqual(prompt.logits!.data as Float32Array, base.logits!.data as Float32Array), 'prompt logits untouched');
		// The next position: steered under "generated", like every position under "all".
		const next = [77];
		const baseNext = hookOf(await model.forward({ ids: [next], hooks: [H], logits: 'last', past: base.present }));
		const gen = hookOf(await steeredForward(model, runner, s, next, [H], false, prompt.present));
		assert.ok(maxAbsDiff(gen, baseNext) > 0.1, 'the generated position is steered');
		// Under "all" the prompt's own steering changes the attention context, so compare the
		// add part alone: with only an add, the generated position moves by exactly 3·W_dec[9].
		const addOnly = spec([{ featureIndex: 9, mode: 'add', strength: 3 }], 'generated');
		const genAdd = hookOf(await steeredForward(model, runner, addOnly, next, [H], false, (await steeredForward(model, runner, addOnly, IDS, [H], true, model.emptyCache(1))).present));
		assert.ok(
			maxAbsDiff(
				genAdd.map((v, j) => v - baseNext[j]!),
				wDec.subarray(9 * D, 10 * D).map((v) => 3 * v),
			) < 1e-5,
		);
		// In generation the first token comes from the unsteered prompt, so it matches the baseline's.
		const strong = spec(
			[
				{ featureIndex: 9, mode: 'add', strength: 40 },
				{ featureIndex: 10, mode: 'clamp', strength: 30 },
			],
			'generated',
		);
		const result = await steeredGenerate(model, runner, { prompt: { ids: IDS }, steer: strong, maxNewTokens: 12, temperature: 0.7, topP: 1, seed: 8 });
		assert.equal(result.steered.ids[0], result.baseline!.ids[0]);
		assert.notDeepEqual(result.steered.ids, result.baseline!.ids);
	});

	it('the same seed gives the same baseline every run; another seed another one', async () => {
		const runner = bind(makeSae('topk'));
		const s = spec([{ featureIndex: 1, mode: 'clamp', strength: 5 }]);
		const run = (seed: number) => steeredGenerate(model, runner, { prompt: { ids: IDS }, steer: s, maxNewTokens: 20, temperature: 1, topP: 0.95, seed });
		const a = await run(16);
		const b = await run(16);
		assert.deepEqual(a.baseline, b.baseline);
		assert.deepEqual(a.steered, b.steered);
		assert.notDeepEqual((await run(17)).baseline!.ids, a.baseline!.ids);
	});

	it('changing strengths (and positions) never builds a new session; a sweep reuses one too', async () => {
		const runner = bind(makeSae('topk'));
		const shapes = (x: number) => [
			spec([{ featureIndex: 1, mode: 'add', strength: x }]),
			spec([
				{ featureIndex: 1, mode: 'clamp', strength: x },
				{ featureIndex: 2, mode: 'cap', strength: -x },
			]),
			spec(
				[
					{ featureIndex: 5, mode: 'clamp', strength: x },
					{ featureIndex: 6, mode: 'clamp', strength: 2 * x },
					{ featureIndex: 7, mode: 'cap', strength: x },
					{ featureIndex: 8, mode: 'add', strength: x },
				],
				'generated',
			),
		];
		const options = { maxNewTokens: 4, temperature: 0.5, topP: 1, seed: 16 };
		for (const s of shapes(1)) await steeredGenerate(model, runner, { prompt: { ids: IDS }, steer: s, ...options });
		const built = model.cachedGraphCount();
		for (const x of [0, -3, 12.5]) {
			for (const s of shapes(x)) await steeredGenerate(model, runner, { prompt: { ids: IDS }, steer: { ...s, positions: x > 0 ? 'all' : 'generated' }, ...options });
		}
		await steerSweep(model, runner, { prompt: { ids: IDS }, feature: { featureIndex: 5, mode: 'clamp' }, strengths: [0, 4, 8, 16], steer: shapes(1)[2]!, ...options });
		assert.equal(model.cachedGraphCount(), built);
	});

	it("releasing an SAE's steering drops exactly the sessions that embed it", async () => {
		const a = bind(makeSae('topk'));
		const b = bind(makeSae('topk'));
		const options = { maxNewTokens: 2, temperature: 0, topP: 1, seed: 0, baseline: false };
		const clampCap = spec([
			{ featureIndex: 1, mode: 'clamp', strength: 1 },
			{ featureIndex: 2, mode: 'cap', strength: 1 },
		]);
		await steeredGenerate(model, a, { prompt: { ids: IDS }, steer: clampCap, ...options });
		await steeredGenerate(model, b, { prompt: { ids: IDS }, steer: clampCap, ...options });
		const before = model.cachedGraphCount();
		await releaseSteering(model, a);
		assert.equal(model.cachedGraphCount(), before - 1);
		await steeredGenerate(model, b, { prompt: { ids: IDS }, steer: clampCap, ...options });
		assert.equal(model.cachedGraphCount(), before - 1, 'the other SAE keeps its session');
	});

	it('a sweep gives one completion per strength, each as a single steered run would', async () => {
		const runner = bind(makeSae('standard'));
		const options = { maxNewTokens: 10, temperature: 0.6, topP: 1, seed: 4 };
		const tokens: string[] = [];
		const sweep = await steerSweep(
			model,
			runner,
			{ prompt: { ids: IDS }, feature: { featureIndex: 30, mode: 'add' }, strengths: [0, 20], steer: spec([]), ...options },
			{ onToken: (t) => tokens.push(`${t.sweepIndex}:${t.id}`) },
		);
		assert.deepEqual(
			sweep.map((s) => s.strength),
			[0, 20],
		);
		for (const entry of sweep) {
			const single = await steeredGenerate(model, runner, { prompt: { ids: IDS }, steer: spec([{ featureIndex: 30, mode: 'add', strength: entry.strength }]), baseline: false, ...options });
			assert.deepEqual(entry.completion, single.steered);
		}
		assert.deepEqual(
			tokens,
			sweep.flatMap((s, i) => s.completion.ids.map((id) => `${i}:${id}`)),
		);
		assert.notDeepEqual(sweep[0]!.completion.ids, sweep[1]!.completion.ids);
	});

	it('cancelling returns the tokens so far with cancelled: true', async () => {
		const runner = bind(makeSae('topk'));
		const abort = new AbortController();
		let seen = 0;
		const result = await steeredGenerate(
			model,
			runner,
			{ prompt: { ids: IDS }, steer: spec([{ featureIndex: 1, mode: 'add', strength: 2 }]), maxNewTokens: 40, temperature: 0, topP: 1, seed: 0 },
			{
				signal: abort.signal,
				onToken: () => {
					if (++seen === 6) abort.abort();
				},
			},
		);
		assert.equal(result.cancelled, true);
		assert.equal(result.baseline!.ids.length + result.steered.ids.length, 6);
	});

	it("the contrast vector is the difference of the two prompts' mean activations (BOS left out)", async () => {
		const hook = 'blocks.0.hook_resid_post';
		const positive = 'def self';
		const negative = 'x = 1  # a comment';
		const got = await contrastVector(model, hook, positive, negative, CPU);
		const mean = async (text: string) => {
			const ids = (await model.tokenizer!.encode(text)).map((t) => t.id);
			const acts = hookOf(await model.forward({ ids: [[0, ...ids]], hooks: [hook], logits: 'none' }), hook);
			return Array.from({ length: D }, (_, j) => {
				let s = 0;
				for (let t = 1; t <= ids.length; t++) s += acts[t * D + j]!;
				return s / ids.length;
			});
		};
		const [p, n] = [await mean(positive), await mean(negative)];
		const want = p.map((v, j) => v - n[j]!);
		assert.ok(maxAbsDiff(got.vector, want) < 1e-5, `|Δ| ${maxAbsDiff(got.vector, want)}`);
		assert.ok(Math.abs(got.norm - Math.hypot(...want)) < 1e-5);
	});

	it('refuses specs it cannot apply, saying what to change', () => {
		const runner = bind(makeSae('topk'));
		const bad = (s: Parameters<typeof compileSteering>[2], r: SaeRunner | undefined, pattern: RegExp) => assert.throws(() => compileSteering(model, r, s), pattern);
		bad(spec([{ featureIndex: 96, mode: 'add', strength: 1 }]), runner, /feature 96 is not in the SAE \(feature indices run 0\.\.95\)/);
		bad(spec([{ featureIndex: 1, mode: 'add', strength: 1 }]), undefined, /needs an SAE/);
		bad(
			spec([
				{ featureIndex: 1, mode: 'add', strength: 1 },
				{ featureIndex: 1, mode: 'clamp', strength: 1 },
			]),
			runner,
			/feature 1 is steered twice/,
		);
		bad(spec([{ featureIndex: 1, mode: 'scale' as never, strength: 1 }]), runner, /mode must be add, clamp or cap/);
		bad(spec([{ featureIndex: 1, mode: 'add', strength: NaN }]), runner, /finite/);
		bad(spec([], 'all', [{ hookName: H, vector: [1, 2], strength: 1, label: 'short' }]), runner, /"short" has 2 values, but blocks\.1\.hook_resid_pre has width 32/);
		bad(spec([], 'all', [{ hookName: 'blocks.0.attn.hook_z', vector: new Array<number>(32).fill(0), strength: 1, label: 'z' }]), runner, /not a \[pos, width\] hook/);
		bad(spec([], 'all', [{ hookName: 'blocks.9.hook_resid_pre', vector: [], strength: 1, label: 'far' }]), runner, /unknown hook "blocks\.9\.hook_resid_pre"/);
		bad({ features: [], vectors: [], positions: 'prompt' as never }, runner, /positions must be "all" or "generated"/);
		assert.deepEqual(parseFeatureSteers('12:clamp=40, 7:add=-1.5,3=2,9:cap=0'), [
			{ featureIndex: 12, mode: 'clamp', strength: 40 },
			{ featureIndex: 7, mode: 'add', strength: -1.5 },
			{ featureIndex: 3, mode: 'add', strength: 2 },
			{ featureIndex: 9, mode: 'cap', strength: 0 },
		]);
		assert.throws(() => parseFeatureSteers('12:boost=4'), /unknown mode "boost"/);
		assert.throws(() => parseFeatureSteers('twelve:add=4'), /not FEATURE:MODE=STRENGTH/);
		assert.throws(() => parseFeatureSteers('1:add=lots'), /"lots" is not a number/);
	});
});
