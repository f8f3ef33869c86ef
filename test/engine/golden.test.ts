// Logits, hook activations and greedy generations against the PyTorch reference
// (fixtures recorded by tools/fixtures/makeTinyCheckpoints.ts).

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { LanguageModel } from '../../src/engine/models/languageModel';
import { generate } from '../../src/engine/models/generate';
import { fixtureModel, maxAbsDiff } from '../helpers';

interface Golden {
	ids: number[];
	golden: { logits_last: number[]; hooks: Record<string, { shape: number[]; values: number[] }> };
	generate: { ids: number[] };
}

const TOLERANCE = 1e-4;
const NAMES = ['gpt2-tiny', 'gpt2-tiny-f16', 'llama-tiny', 'llama-tiny-bf16', 'qwen2-tiny'];

for (const name of NAMES) {
	describe(`${name} matches the PyTorch reference`, () => {
		const golden = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'golden', `${name}.json`), 'utf8')) as Golden;
		const model = LanguageModel.load(fixtureModel(name), { executionProvider: 'cpu', threads: 1 });
		after(() => model.dispose());

		it('last-position logits within 1e-4', async () => {
			const out = await model.forward({ ids: [golden.ids], logits: 'last' });
			assert.deepEqual(out.logits!.dims, [1, 1, golden.golden.logits_last.length]);
			const diff = maxAbsDiff(out.logits!.data as Float32Array, golden.golden.logits_last);
			assert.ok(diff < TOLERANCE, `max |Δlogit| = ${diff}`);
		});

		it('every reference hook within 1e-4, in one run with all-position logits', async () => {
			const hooks = Object.keys(golden.golden.hooks);
			const out = await model.forward({ ids: [golden.ids], hooks, logits: 'all' });
			assert.deepEqual(out.logits!.dims, [1, golden.ids.length, model.cfg.dVocab]);
			for (const hook of hooks) {
				const ref = golden.golden.hooks[hook]!;
				const got = out.hooks[hook]!;
				assert.deepEqual(got.dims, [1, ...ref.shape], hook);
				const diff = maxAbsDiff(got.data as Float32Array, ref.values);
				assert.ok(diff < TOLERANCE, `${hook}: max |Δ| = ${diff}`);
			}
		});

		it('a hooks-only graph stops early and returns the same activations', async () => {
			const hook = 'blocks.0.hook_resid_post';
			const out = await model.forward({ ids: [golden.ids], hooks: [hook], logits: 'none' });
			assert.equal(out.logits, undefined);
			const diff = maxAbsDiff(out.hooks[hook]!.data as Float32Array, golden.golden.hooks[hook]!.values);
			assert.ok(diff < TOLERANCE, `max |Δ| = ${diff}`);
		});

		it('greedy generation of 32 tokens is identical', async () => {
			const ids: number[] = [...golden.ids];
			for await (const step of generate(model, golden.ids, { maxNewTokens: 32, temperature: 0, stopAtEos: false })) ids.push(step.id);
			assert.deepEqual(ids, golden.generate.ids);
		});
	});
}
