// TransformerLens's `hook_normalized` is the normalized value before the norm's gain (and bias):
// RMSNorm hooks it there, and LayerNormPre — the processed weights SAEs and transcoders are
// trained on, the gain folded into the next layer — has no gain at all. Checked against the
// PyTorch reference's residual stream normalized independently here (float64).

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { LanguageModel } from '../../src/engine/models/languageModel';
import { fixtureModel } from '../helpers';

interface Golden {
	ids: number[];
	golden: { hooks: Record<string, { shape: number[]; values: number[] }> };
}

/** Row-wise (x − mean) / √(var + eps) for LayerNorm families, x / √(mean x² + eps) for RMSNorm ones. */
function normalize(values: readonly number[], width: number, centre: boolean, eps: number): number[] {
	const out: number[] = [];
	for (let r = 0; r < values.length / width; r++) {
		const row = values.slice(r * width, (r + 1) * width);
		const mean = centre ? row.reduce((a, v) => a + v, 0) / width : 0;
		const c = row.map((v) => v - mean);
		const scale = Math.sqrt(c.reduce((a, v) => a + v * v, 0) / width + eps);
		out.push(...c.map((v) => v / scale));
	}
	return out;
}

const CASES: { name: string; centre: boolean; ln2Reads: 'resid_mid' | 'resid_pre' }[] = [
	{ name: 'gpt2-tiny', centre: true, ln2Reads: 'resid_mid' },
	{ name: 'llama-tiny-bf16', centre: false, ln2Reads: 'resid_mid' },
	{ name: 'gemma2-tiny', centre: false, ln2Reads: 'resid_mid' },
	{ name: 'pythia-tiny', centre: true, ln2Reads: 'resid_pre' }, // parallel attention and MLP: both norms read resid_pre
];

describe("hook_normalized sits before the norm's gain, as in TransformerLens", () => {
	for (const { name, centre, ln2Reads } of CASES) {
		it(`${name}: ln1, ln2 and ln_final normalize the reference's residual stream`, async () => {
			const golden = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'golden', `${name}.json`), 'utf8')) as Golden;
			const model = LanguageModel.load(fixtureModel(name), { executionProvider: 'cpu', threads: 1 });
			after(() => model.dispose());
			const { dModel: d, nLayers: L, normEps: eps } = model.cfg;
			const hooks = ['blocks.0.ln1.hook_normalized', 'blocks.0.ln2.hook_normalized', 'ln_final.hook_normalized'];
			const out = await model.forward({ ids: [golden.ids], hooks, logits: 'last' });
			const ref = (h: string) => golden.golden.hooks[h]!.values;
			const expected: Record<string, number[]> = {
				'blocks.0.ln1.hook_normalized': normalize(ref('blocks.0.hook_resid_pre'), d, centre, eps),
				'blocks.0.ln2.hook_normalized': normalize(ref(`blocks.0.hook_${ln2Reads}`), d, centre, eps),
				'ln_final.hook_normalized': normalize(ref(`blocks.${L - 1}.hook_resid_post`), d, centre, eps),
			};
			for (const h of hooks) {
				const got = out.hooks[h]!.data as Float32Array;
				assert.equal(got.length, expected[h]!.length, h);
				let worst = 0;
				for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - expected[h]![i]!));
				assert.ok(worst < 1e-4, `${h}: max |Δ| = ${worst}`);
			}
		});
	}
});
