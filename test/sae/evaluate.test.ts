// SAE evaluation against hand-computed values: an SAE that reconstructs exactly, and CE
// losses recomputed directly from the model's logits.

import * as assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { LanguageModel } from '../../src/engine/models/languageModel';
import { evaluateSae } from '../../src/engine/sae/evaluate';
import { SaeRunner } from '../../src/engine/sae/saeRunner';
import type { Sae } from '../../src/engine/sae/saeTypes';
import { fixtureModel } from '../helpers';

const CPU = { executionProvider: 'cpu', threads: 1 } as const;
const HOOK = 'blocks.0.hook_resid_post';
const D = 32;

/** relu(x) − relu(−x) = x: a 2·d_in ReLU SAE whose reconstruction is exact. */
function identitySae(): Sae {
	const wEnc = new Float32Array(D * 2 * D);
	const wDec = new Float32Array(2 * D * D);
	for (let i = 0; i < D; i++) {
		wEnc[i * 2 * D + i] = 1;
		wEnc[i * 2 * D + D + i] = -1;
		wDec[i * D + i] = 1;
		wDec[(D + i) * D + i] = -1;
	}
	const t = (a: Float32Array, shape: number[]) => ({ dtype: 'F32' as const, shape, data: Buffer.from(a.buffer) });
	return {
		source: 'identity SAE',
		cfg: {
			d_in: D,
			d_sae: 2 * D,
			dtype: 'float32',
			architecture: 'standard',
			apply_b_dec_to_input: false,
			normalize_activations: 'none',
			reshape_activations: 'none',
			metadata: { hook_name: HOOK, model_from_pretrained_kwargs: { center_writing_weights: false } },
		},
		weights: { W_enc: t(wEnc, [D, 2 * D]), b_enc: t(new Float32Array(2 * D), [2 * D]), W_dec: t(wDec, [2 * D, D]), b_dec: t(new Float32Array(D), [D]) },
		rawConfig: {},
	};
}

/** A zero-decoder SAE: reconstruction is b_dec = 0, i.e. the same as zero-ablation. */
function zeroSae(): Sae {
	const sae = identitySae();
	sae.weights.W_dec = { dtype: 'F32', shape: [2 * D, D], data: Buffer.alloc(2 * D * D * 4) };
	return sae;
}

const WINDOWS = [
	[0, 5, 61, 200, 17, 33, 256, 101, 7],
	[0, 299, 42, 11, 150, 3, 9, 27, 81],
];
async function* windows(): AsyncIterable<number[]> {
	for (const w of WINDOWS) yield w;
}

describe('SAE evaluation', () => {
	const model = LanguageModel.load(fixtureModel('gpt2-tiny'), CPU);
	after(() => model.dispose());

	it('an exact SAE scores EV 1, MSE 0, CE score 1, KL 0, and L0 = d_in', async () => {
		const m = await evaluateSae(model, SaeRunner.forModel(identitySae(), model, CPU), windows(), { tokens: 1000, contextSize: 9, batchContexts: 2 });
		assert.equal(m.tokens, 16, 'BOS positions are excluded');
		assert.ok(Math.abs(m.explained_variance - 1) < 1e-5);
		assert.ok(m.mse < 1e-10);
		assert.ok(Math.abs(m.cossim - 1) < 1e-5);
		assert.ok(Math.abs(m.ce_loss_with_sae - m.ce_loss_without_sae) < 1e-4);
		assert.ok(Math.abs(m.ce_loss_score - 1) < 1e-3);
		assert.ok(m.kl_div_with_sae < 1e-5 && m.kl_div_score > 0.999);
		assert.equal(m.l0, D);
	});

	it('CE losses equal a direct computation from the logits; a zero decoder equals ablation', async () => {
		const m = await evaluateSae(model, SaeRunner.forModel(zeroSae(), model, CPU), windows(), { tokens: 1000, contextSize: 9, batchContexts: 1 });
		const out = await model.forward({ ids: WINDOWS, logits: 'all' });
		const logits = out.logits!.data as Float32Array;
		const V = model.cfg.dVocab;
		let nll = 0;
		let count = 0;
		WINDOWS.forEach((w, b) => {
			for (let t = 0; t < w.length - 1; t++) {
				const row = logits.subarray((b * w.length + t) * V, (b * w.length + t + 1) * V);
				const max = Math.max(...row);
				const logSum = Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0)) + max;
				nll += logSum - row[w[t + 1]!]!;
				count++;
			}
		});
		assert.ok(Math.abs(m.ce_loss_without_sae - nll / count) < 1e-4, `${m.ce_loss_without_sae} vs ${nll / count}`);
		assert.ok(Math.abs(m.ce_loss_with_sae - m.ce_loss_with_ablation) < 1e-4);
		assert.ok(Math.abs(m.ce_loss_score) < 1e-3);
	});
});
