// The transcoder set evaluation against the same numbers computed by hand from the model's own
// forwards: per-layer explained variance and L0 of the MLP outputs in the clean model, and the
// CE losses with every MLP replaced (BOS kept) and every MLP zeroed.

import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LanguageModel } from '../../src/engine/models/languageModel';
import { TokenLoss } from '../../src/engine/models/tokenLoss';
import { evaluateSae } from '../../src/engine/sae/evaluate';
import { evaluateTranscoderSet } from '../../src/engine/sae/evaluateTranscoders';
import { SaeRunner } from '../../src/engine/sae/saeRunner';
import { transcoderReplacement, zeroAblation } from '../../src/engine/sae/transcoderSplice';
import { inMemoryTranscoder } from '../saeFixtures';

const CPU = { executionProvider: 'cpu' as const, threads: 1 };
const WINDOWS = [
	[0, 528, 519, 768, 587, 265, 12, 551, 490, 285, 199, 260],
	[0, 600, 535, 199, 600, 221, 541, 283, 321, 912, 8, 199],
];

async function* windows(): AsyncIterable<number[]> {
	yield* WINDOWS;
}

describe('transcoder set evaluation', () => {
	let model: LanguageModel;
	let runners: SaeRunner[];
	before(() => {
		model = LanguageModel.load('demo', CPU);
		runners = [0, 1, 2, 3].map((l) =>
			SaeRunner.forModel(inMemoryTranscoder('jumprelu', { input: `blocks.${l}.ln2.hook_normalized`, output: `blocks.${l}.hook_mlp_out`, dModel: 192, dSae: 64, seed: 7 * l }), model, CPU),
		);
	});
	after(async () => {
		for (const r of runners) await r.dispose();
		await model.dispose();
	});

	it('per-layer EV and L0 and the CE losses match a computation by hand', async () => {
		const m = await evaluateTranscoderSet(model, runners, windows(), { tokens: 1000, contextSize: 12, batchContexts: 2 });
		assert.equal(m.tokens, 2 * 11);
		// By hand: the clean model's hooks without BOS.
		const hooks = runners.flatMap((r) => [r.hookName, r.outputHookName]);
		const clean = await model.forward({ ids: WINDOWS, hooks, logits: 'all' });
		for (const [i, r] of runners.entries()) {
			const rows = (h: string): Float32Array => {
				const d = clean.hooks[h]!.data as Float32Array;
				return Float32Array.from([...d.subarray(192, 12 * 192), ...d.subarray(13 * 192)]);
			};
			const y = rows(r.outputHookName);
			const { recons, acts } = await r.run(rows(r.hookName), 22, { acts: true, topFeatures: 0, recons: true, error: false });
			let sqErr = 0;
			let total = 0;
			const mean = new Float64Array(192);
			y.forEach((v, j) => {
				mean[j % 192]! += v / 22;
			});
			y.forEach((v, j) => {
				sqErr += (v - recons![j]!) ** 2;
				total += (v - mean[j % 192]!) ** 2;
			});
			const l0 = acts!.filter((a) => a > 0).length / 22;
			assert.ok(Math.abs(m.layers[i]!.explained_variance - (1 - sqErr / total)) < 1e-4, `layer ${i} EV`);
			assert.ok(Math.abs(m.layers[i]!.l0 - l0) < 1e-9, `layer ${i} L0`);
			assert.equal(m.layers[i]!.hook_name_out, `blocks.${i}.hook_mlp_out`);
		}
		const losses = await TokenLoss.create();
		const mean = async (extensions: Parameters<typeof model.forward>[0]['extensions']) => {
			const out = await model.forward({ ids: WINDOWS, logits: 'all', extensions });
			const { nll } = await losses.run(out.logits!, clean.logits!, WINDOWS);
			return nll.reduce((a, b) => a + b, 0) / nll.length;
		};
		const replaced = await mean(runners.map((r) => transcoderReplacement(r, { keepFirstPosition: true })));
		const ablated = await mean(runners.map((r) => zeroAblation(r.outputHookName, { keepFirstPosition: true })));
		const cleanCe = await mean([]);
		await losses.dispose();
		assert.ok(Math.abs(m.ce_loss_with_transcoders - replaced) < 1e-5);
		assert.ok(Math.abs(m.ce_loss_with_ablation - ablated) < 1e-5);
		assert.ok(Math.abs(m.ce_loss_without_transcoders - cleanCe) < 1e-5);
		assert.ok(Math.abs(m.ce_loss_score - (ablated - replaced) / (ablated - cleanCe)) < 1e-5);
	});

	it('one transcoder through the SAE evaluation (as after training) gives the set evaluation of that one layer', async () => {
		const r = runners[2]!;
		const one = await evaluateSae(model, r, windows(), { tokens: 1000, contextSize: 12, batchContexts: 2 });
		const set = await evaluateTranscoderSet(model, [r], windows(), { tokens: 1000, contextSize: 12, batchContexts: 2 });
		assert.equal(one.tokens, set.tokens);
		assert.ok(Math.abs(one.explained_variance - set.layers[0]!.explained_variance) < 1e-6);
		assert.ok(Math.abs(one.l0 - set.layers[0]!.l0) < 1e-9);
		assert.ok(Math.abs(one.ce_loss_with_sae - set.ce_loss_with_transcoders) < 1e-5, `${one.ce_loss_with_sae} vs ${set.ce_loss_with_transcoders}`);
		assert.ok(Math.abs(one.ce_loss_with_ablation - set.ce_loss_with_ablation) < 1e-5);
		assert.ok(Math.abs(one.ce_loss_score - set.ce_loss_score) < 1e-4);
	});
});
