// Behaviour on the demo model and SAE: steering a comment feature makes completions comment.
//
// Feature 1132 of the demo SAE (blocks.2.hook_resid_pre) was found by running the SAE over the
// held-out corpus (models/pycode/corpus), labelling tokens with Python's tokenize module
// (comment / string / code), and keeping features with high precision for one kind; among
// those, adding each decoder direction to the residual stream and measuring the model's
// next-token probability of that kind singled out #1132, which fires on " #" comment markers
// (activation ≈ 7–10 there, e.g. `feature-lens inspect demo --text "x = 1  # note"`) and whose
// direction raises the probability of comments more than any other comment-precise feature.

import * as assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { LanguageModel } from '../../src/engine/models/languageModel';
import { demoSaeDir } from '../../src/engine/models/modelPaths';
import { inspectText } from '../../src/engine/sae/inspect';
import { loadSae } from '../../src/engine/sae/saeFormat';
import { SaeRunner } from '../../src/engine/sae/saeRunner';
import { steeredGenerate } from '../../src/engine/steer/steeredGenerate';
import type { SteerMode } from '../../src/protocol/steerModes';
import { CPU, spec, steeredForward } from './steerFixtures';

const COMMENT_FEATURE = 1132;
const PROMPTS = ['import os\n\ndef main(argv):\n    ', 'class Parser:\n    def __init__(self, text):\n        self.text = text\n\n    def parse(self):\n        '];
const SEEDS = 8;
const TOKENS = 32;

/** Per character of Python source: inside a comment (true) or not, skipping '#' inside string literals. */
function commentMask(text: string): boolean[] {
	const mask = new Array<boolean>(text.length).fill(false);
	for (let i = 0; i < text.length;) {
		const c = text[i]!;
		if (c === '#') {
			while (i < text.length && text[i] !== '\n') mask[i++] = true;
		} else if (c === '"' || c === "'") {
			const delim = text.startsWith(c.repeat(3), i) ? c.repeat(3) : c;
			i += delim.length;
			while (i < text.length && !text.startsWith(delim, i) && !(delim.length === 1 && text[i] === '\n')) i += text[i] === '\\' ? 2 : 1;
			i += delim.length;
		} else {
			i++;
		}
	}
	return mask;
}

/** The fraction of a completion's tokens that lie in a comment (judged by each token's first non-space character). */
function commentRate(prompt: string, pieces: string[]): number {
	const text = prompt + pieces.join('');
	const mask = commentMask(text);
	let at = prompt.length;
	let inComment = 0;
	for (const piece of pieces) {
		const first = at + piece.length - piece.trimStart().length;
		if (first < text.length && mask[first]) inComment++;
		at += piece.length;
	}
	return pieces.length ? inComment / pieces.length : 0;
}

describe('steering the demo model', () => {
	const model = LanguageModel.load('demo', CPU);
	const runner = SaeRunner.forModel(loadSae(demoSaeDir()), model, CPU);
	after(async () => {
		await runner.dispose();
		await model.dispose();
	});

	it(`feature ${COMMENT_FEATURE} fires on comment markers`, async () => {
		const text = 'def area(r):\n    # the area of a circle\n    return 3.14159 * r * r  # approximately\n';
		const tokens = await inspectText(model, runner, text, { topFeatures: 8 });
		const act = (t: (typeof tokens)[number]) => t.features.find(([f]) => f === COMMENT_FEATURE)?.[1] ?? 0;
		const markers = tokens.filter((t) => t.text.trim() === '#');
		assert.equal(markers.length, 2);
		for (const t of markers) assert.ok(act(t) > 3, `" #" at ${t.start}: ${act(t)}`);
		const code = tokens.filter((t) => !commentMask(text)[t.start + t.text.length - t.text.trimStart().length]);
		assert.ok(
			code.every((t) => act(t) < 1),
			'silent on code',
		);
	});

	for (const [mode, strength] of [
		['clamp', 20],
		['add', 20],
	] as [SteerMode, number][]) {
		it(`${mode} ${strength} on feature ${COMMENT_FEATURE} raises the share of comment tokens in completions (${SEEDS} seeds × ${TOKENS} tokens × ${PROMPTS.length} prompts)`, async () => {
			let baseline = 0;
			let steered = 0;
			let runs = 0;
			let example = '';
			for (const prompt of PROMPTS) {
				for (let seed = 0; seed < SEEDS; seed++) {
					const pieces: Record<'baseline' | 'steered', string[]> = { baseline: [], steered: [] };
					const result = await steeredGenerate(
						model,
						runner,
						{
							prompt: { text: prompt },
							steer: spec([{ featureIndex: COMMENT_FEATURE, mode, strength }]),
							maxNewTokens: TOKENS,
							temperature: 0.5,
							topP: 1,
							seed,
						},
						{ onToken: (t) => pieces[t.which].push(t.text) },
					);
					baseline += commentRate(prompt, pieces.baseline);
					steered += commentRate(prompt, pieces.steered);
					runs++;
					if (seed === 0 && !example) example = result.steered.text;
				}
			}
			baseline /= runs;
			steered /= runs;
			console.log(
				`# ${mode} ${strength} on #${COMMENT_FEATURE}: comment tokens ${(100 * baseline).toFixed(1)}% → ${(100 * steered).toFixed(1)}% ` +
					`(+${(100 * (steered - baseline)).toFixed(1)} points); e.g. ${JSON.stringify(example.slice(0, 100))}`,
			);
			assert.ok(steered - baseline > 0.2, `comment share ${baseline.toFixed(3)} → ${steered.toFixed(3)}`);
		});
	}

	it(`clamping feature ${COMMENT_FEATURE} on the demo SAE: the re-read is the encoder's linear response to the clamp`, async () => {
		// The clamp sets the SAE's latent to v with the error term kept (x + (v − f(x))·d). A trained
		// SAE's encoder does not invert its decoder, so re-encoding x' reads
		// pre(x) + (v − f(x))·(w_enc·d), not v, wherever the feature stays in the top k.
		const ids = (await model.tokenizer!.encode(PROMPTS[1]!)).map((t) => t.id);
		const v = 20;
		const { d_in: dIn, d_sae: dSae } = runner.sae.cfg;
		const x = (await model.forward({ ids: [ids], hooks: [runner.hookName], logits: 'none' })).hooks[runner.hookName]!.data as Float32Array;
		const out = await steeredForward(model, runner, spec([{ featureIndex: COMMENT_FEATURE, mode: 'clamp', strength: v }]), ids, [runner.hookName]);
		const encode = async (a: Float32Array) => (await runner.run(a, ids.length, { acts: true, topFeatures: 0, recons: false, error: false })).acts!;
		const before = await encode(x);
		const after = await encode(out.hooks[runner.hookName]!.data as Float32Array);
		const w = runner.sae.weights;
		const at = (name: string, i: number) => w[name]!.data.readFloatLE(4 * i);
		const gain = Array.from({ length: dIn }, (_, j) => at('W_enc', j * dSae + COMMENT_FEATURE) * at('W_dec', COMMENT_FEATURE * dIn + j)).reduce((a, b) => a + b, 0);
		const reads: number[] = [];
		let checked = 0;
		for (let t = 0; t < ids.length; t++) {
			let pre = at('b_enc', COMMENT_FEATURE);
			for (let j = 0; j < dIn; j++) pre += (x[t * dIn + j]! - at('b_dec', j)) * at('W_enc', j * dSae + COMMENT_FEATURE);
			const predicted = pre + (v - before[t * dSae + COMMENT_FEATURE]!) * gain;
			const read = after[t * dSae + COMMENT_FEATURE]!;
			reads.push(read);
			if (read > 0) {
				checked++;
				assert.ok(Math.abs(read - predicted) < 1e-3 * v, `position ${t}: re-read ${read}, predicted ${predicted}`);
			}
		}
		console.log(`# clamp ${v} on #${COMMENT_FEATURE} (w_enc·w_dec = ${gain.toFixed(3)}): the demo SAE re-reads ${reads.map((r) => r.toFixed(1)).join(' ')}`);
		assert.ok(checked > ids.length / 2, `the feature is read at ${checked} of ${ids.length} positions`);
	});
});
