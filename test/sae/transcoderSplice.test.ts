// Transcoders in the demo model's graph: spliced in place of an MLP, the block continues with
// exactly the transcoder's output computed directly from the MLP's input (its own graph, no
// model); spliced at every layer, each layer's output is its transcoder's output on that layer's
// input in the replaced model; the alongside view's error is the MLP output minus the
// reconstruction. A transcoder whose hooks the model lacks is refused naming the file.

import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LanguageModel } from '../../src/engine/models/languageModel';
import { SaeRunner } from '../../src/engine/sae/saeRunner';
import { transcoderReplacement, zeroAblation } from '../../src/engine/sae/transcoderSplice';
import { compileSteering } from '../../src/engine/steer/steering';
import { f32, inMemoryTranscoder } from '../saeFixtures';
import { maxAbsDiff } from '../helpers';

const CPU = { executionProvider: 'cpu' as const, threads: 1 };
const IDS = [0, 528, 519, 768, 587, 265, 12, 551, 490, 285, 199, 260];
const D = 192;

describe('transcoders spliced into the demo model', () => {
	let model: LanguageModel;
	before(async () => {
		model = LanguageModel.load('demo', CPU);
		await model.prepare();
	});
	after(async () => model.dispose());

	const runnerFor = (layer: number, architecture: 'topk' | 'jumprelu' | 'standard', input = 'ln2.hook_normalized', skip = false) =>
		SaeRunner.forModel(inMemoryTranscoder(architecture, { input: `blocks.${layer}.${input}`, output: `blocks.${layer}.hook_mlp_out`, dModel: D, dSae: 96, k: 12, skip, seed: 10 * layer }), model, CPU);

	it('a replaced MLP is the transcoder output computed directly from the MLP input, and the block continues with it', async () => {
		for (const [architecture, input, skip] of [
			['topk', 'ln2.hook_normalized', false],
			['jumprelu', 'mlp.hook_in', true],
			['standard', 'ln2.hook_normalized', true],
		] as const) {
			const runner = runnerFor(1, architecture, input, skip);
			const hooks = [runner.hookName, 'blocks.1.hook_mlp_out', 'blocks.1.hook_resid_mid', 'blocks.1.hook_resid_post'];
			const clean = await model.forward({ ids: [IDS], hooks, logits: 'all' });
			const spliced = await model.forward({ ids: [IDS], hooks, logits: 'all', extensions: [transcoderReplacement(runner)] });
			const xIn = clean.hooks[runner.hookName]!.data as Float32Array;
			// Upstream of the splice nothing changes.
			assert.ok(maxAbsDiff(spliced.hooks[runner.hookName]!.data as Float32Array, xIn) < 1e-6);
			const direct = await runner.run(xIn, IDS.length, { acts: false, topFeatures: 0, recons: true, error: false });
			const out = spliced.hooks['blocks.1.hook_mlp_out']!.data as Float32Array;
			const diff = maxAbsDiff(out, direct.recons!);
			assert.ok(diff < 1e-5, `${architecture}: spliced MLP output differs from the transcoder's by ${diff}`);
			const mid = spliced.hooks['blocks.1.hook_resid_mid']!.data as Float32Array;
			const post = spliced.hooks['blocks.1.hook_resid_post']!.data as Float32Array;
			assert.ok(
				maxAbsDiff(
					post,
					mid.map((m, i) => m + out[i]!),
				) < 1e-5,
			);
			// The logits move (a random transcoder is no MLP).
			assert.ok(maxAbsDiff(spliced.logits!.data as Float32Array, clean.logits!.data as Float32Array) > 1e-2);
			// Alongside: the MLP kept, its error term is output − reconstruction.
			const along = await runner.run(xIn, IDS.length, { acts: false, topFeatures: 0, recons: false, error: true }, clean.hooks['blocks.1.hook_mlp_out']!.data as Float32Array);
			const mlpOut = clean.hooks['blocks.1.hook_mlp_out']!.data as Float32Array;
			assert.ok(
				maxAbsDiff(
					along.error!,
					mlpOut.map((v, i) => v - direct.recons![i]!),
				) < 1e-5,
			);
			await runner.dispose();
		}
	});

	it('every MLP replaced at once: each layer runs its transcoder on its input in the replaced model; zero ablation zeroes every MLP', async () => {
		const runners = [0, 1, 2, 3].map((l) => runnerFor(l, 'topk'));
		const hooks = runners.flatMap((r) => [r.hookName, r.outputHookName]);
		const spliced = await model.forward({ ids: [IDS], hooks, logits: 'none', extensions: runners.map((r) => transcoderReplacement(r)) });
		for (const r of runners) {
			const direct = await r.run(spliced.hooks[r.hookName]!.data as Float32Array, IDS.length, { acts: false, topFeatures: 0, recons: true, error: false });
			assert.ok(maxAbsDiff(spliced.hooks[r.outputHookName]!.data as Float32Array, direct.recons!) < 1e-5, r.outputHookName);
		}
		const ablated = await model.forward({ ids: [IDS], hooks: ['blocks.2.hook_mlp_out'], logits: 'none', extensions: [0, 1, 2, 3].map((l) => zeroAblation(`blocks.${l}.hook_mlp_out`)) });
		assert.ok((ablated.hooks['blocks.2.hook_mlp_out']!.data as Float32Array).every((v) => v === 0));
		for (const r of runners) await r.dispose();
	});

	it('steering a transcoder feature: add writes its decoder row at the output hook; clamp sets the feature read from the input hook', async () => {
		const runner = runnerFor(2, 'jumprelu', 'ln2.hook_normalized', true);
		const wDec = f32(runner.sae, 'W_dec');
		const hooks = [runner.hookName, runner.outputHookName];
		const clean = await model.forward({ ids: [IDS], hooks, logits: 'none' });
		const xIn = clean.hooks[runner.hookName]!.data as Float32Array;
		const mlpOut = clean.hooks[runner.outputHookName]!.data as Float32Array;
		const acts = (await runner.run(xIn, IDS.length, { acts: true, topFeatures: 0, recons: false, error: false })).acts!;
		const j = Array.from({ length: 96 }, (_, i) => i).sort((a, b) => acts[b]! - acts[a]!)[0]!; // a feature that fires on token 0's row
		for (const [mode, strength] of [
			['add', 3],
			['clamp', 5],
		] as const) {
			const steering = compileSteering(model, runner, { features: [{ featureIndex: j, mode, strength }], vectors: [], positions: 'all' });
			const steered = await model.forward({ ids: [IDS], hooks: [runner.outputHookName], logits: 'none', ...steering.callInputs({ prompt: true, seq: IDS.length }) });
			const got = steered.hooks[runner.outputHookName]!.data as Float32Array;
			const want = mlpOut.map((v, i) => {
				const t = Math.floor(i / D);
				const coefficient = mode === 'add' ? strength : strength - acts[t * 96 + j]!;
				return v + coefficient * wDec[j * D + (i % D)]!;
			});
			assert.ok(maxAbsDiff(got, want) < 1e-4, `${mode}: ${maxAbsDiff(got, want)}`);
		}
		await runner.dispose();
	});

	it('refuses a transcoder whose output hook the model lacks, or whose hooks are in different layers', () => {
		const wrong = inMemoryTranscoder('topk', { input: 'blocks.1.ln2.hook_normalized', output: 'blocks.9.hook_mlp_out', dModel: D, dSae: 16 });
		assert.throws(() => SaeRunner.forModel(wrong, model, CPU), /in-memory topk transcoder: the transcoder writes hook "blocks\.9\.hook_mlp_out", which this gpt2 model with 4 layers does not have/);
		const across = inMemoryTranscoder('topk', { input: 'blocks.1.ln2.hook_normalized', output: 'blocks.2.hook_mlp_out', dModel: D, dSae: 16 });
		assert.throws(() => SaeRunner.forModel(across, model, CPU), /in different layers; only per-layer transcoders run in the model/);
	});
});
