// Logits, hook activations and greedy generations against the PyTorch reference
// (fixtures recorded by tools/fixtures/makeTinyCheckpoints.ts), for every architecture family:
// on 12 tokens (three times the sliding windows of the Gemma fixtures), greedy generation with
// the KV cache from that prompt and from one shorter than the window, and the same checkpoint
// under its config.json in the other transformers style (rope_parameters vs rope_theta/rope_scaling).

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { LanguageModel } from '../../src/engine/models/languageModel';
import { generate } from '../../src/engine/models/generate';
import { fixtureModel, maxAbsDiff } from '../helpers';

interface Golden {
	ids: number[];
	golden: { logits_last: number[]; hooks: Record<string, { shape: number[]; values: number[] }> };
	generate: { ids: number[] };
	/** Greedy generation from a prompt shorter than the sliding window (the families' fixtures). */
	generateShort?: { ids: number[] };
	/** The same checkpoint's config.json in the other transformers style (the families' fixtures). */
	otherConfig?: Record<string, unknown>;
}

const TOLERANCE = 1e-4;
const NAMES = [
	'gpt2-tiny',
	'gpt2-tiny-f16',
	'llama-tiny',
	'llama-tiny-bf16',
	'qwen2-tiny',
	'mistral-tiny',
	'llama3-tiny',
	'qwen3-tiny',
	'gemma2-tiny',
	'gemma3-tiny',
	'gemma3-mm-tiny',
	'pythia-tiny',
	'pythia-seq-tiny',
];

async function greedy(model: LanguageModel, prompt: readonly number[], n: number): Promise<number[]> {
	const ids = [...prompt];
	for await (const step of generate(model, prompt, { maxNewTokens: n, temperature: 0, stopAtEos: false })) ids.push(step.id);
	return ids;
}

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
			assert.deepEqual(await greedy(model, golden.ids, 32), golden.generate.ids);
		});

		const short = golden.generateShort;
		if (short) {
			it('greedy generation from a prompt shorter than the window, crossing it with the KV cache, is identical', async () => {
				const prompt = short.ids.slice(0, short.ids.length - 32);
				assert.deepEqual(await greedy(model, prompt, 32), short.ids);
			});
		}

		const otherConfig = golden.otherConfig;
		if (otherConfig) {
			it('loads the same checkpoint from its config.json in the other transformers style, with the same logits', async () => {
				const dir = fs.mkdtempSync(path.join(os.tmpdir(), `fl-${name}-`));
				fs.cpSync(fixtureModel(name), dir, { recursive: true });
				fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(otherConfig));
				const other = LanguageModel.load(dir, { executionProvider: 'cpu', threads: 1 });
				try {
					assert.deepEqual({ ...other.cfg }, { ...model.cfg });
					const out = await other.forward({ ids: [golden.ids], logits: 'last' });
					const diff = maxAbsDiff(out.logits!.data as Float32Array, golden.golden.logits_last);
					assert.ok(diff < TOLERANCE, `max |Δlogit| = ${diff}`);
				} finally {
					await other.dispose();
					fs.rmSync(dir, { recursive: true, force: true });
				}
			});
		}
	});
}
