// KV-cache decoding, additive interventions and batch behaviour of the decoder graphs.

import * as assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { LanguageModel } from '../../src/engine/models/languageModel';
import { generate } from '../../src/engine/models/generate';
import { healPrompt } from '../../src/engine/models/tokenHealing';
import { fixtureModel, maxAbsDiff } from '../helpers';

const IDS = [5, 61, 200, 17, 33, 256, 101, 7, 299, 42];

for (const name of ['gpt2-tiny', 'llama-tiny', 'qwen2-tiny']) {
	describe(`${name}: KV cache and interventions`, () => {
		const model = LanguageModel.load(fixtureModel(name), { executionProvider: 'cpu', threads: 1 });
		after(() => model.dispose());
		const d = model.cfg.dModel;

		it('KV-cache decoding equals a full recompute at every step', async () => {
			const full = await model.forward({ ids: [IDS], logits: 'all' });
			const V = model.cfg.dVocab;
			// Prefill 4 tokens, then feed the rest one at a time through the cache.
			let step = await model.forward({ ids: [IDS.slice(0, 4)], logits: 'last', past: model.emptyCache(1) });
			const want = (pos: number) => (full.logits!.data as Float32Array).subarray(pos * V, (pos + 1) * V);
			assert.ok(maxAbsDiff(step.logits!.data as Float32Array, want(3)) < 1e-5);
			for (let pos = 4; pos < IDS.length; pos++) {
				step = await model.forward({ ids: [[IDS[pos]!]], logits: 'last', past: step.present! });
				assert.equal(step.present![0]!.dims[2], pos + 1);
				// One-row steps run onnxruntime's single-row product kernel, whose summation order differs
				// from the full pass's blocked one: equal to float32 rounding (logits here reach ±6).
				const diff = maxAbsDiff(step.logits!.data as Float32Array, want(pos));
				assert.ok(diff < 5e-5, `position ${pos}: max |Δ| = ${diff}`);
			}
		});

		it('an additive vector at hook_resid_post moves that hook by exactly the vector and changes the logits', async () => {
			const hook = 'blocks.0.hook_resid_post';
			const vector = Float32Array.from({ length: d }, (_, i) => Math.sin(i + 1));
			const clean = await model.forward({ ids: [IDS], hooks: [hook], logits: 'all' });
			const steered = await model.forward({ ids: [IDS], hooks: [hook], logits: 'all', interventions: { [hook]: { values: vector, dims: [1, 1, d] } } });
			const a = clean.hooks[hook]!.data as Float32Array;
			const b = steered.hooks[hook]!.data as Float32Array;
			let worst = 0;
			for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(b[i]! - a[i]! - vector[i % d]!));
			assert.ok(worst < 1e-5, `hook moved by the vector up to ${worst}`);
			assert.ok(maxAbsDiff(clean.logits!.data as Float32Array, steered.logits!.data as Float32Array) > 1e-2, 'logits changed');
		});

		it('a zero vector changes nothing', async () => {
			const hook = 'blocks.1.hook_resid_mid';
			const clean = await model.forward({ ids: [IDS], hooks: [hook], logits: 'all' });
			const zero = await model.forward({ ids: [IDS], hooks: [hook], logits: 'all', interventions: { [hook]: { values: new Float32Array(d), dims: [1, 1, d] } } });
			assert.equal(maxAbsDiff(clean.logits!.data as Float32Array, zero.logits!.data as Float32Array), 0);
			assert.equal(maxAbsDiff(clean.hooks[hook]!.data as Float32Array, zero.hooks[hook]!.data as Float32Array), 0);
		});

		it('a per-position intervention only moves the positions it targets, and downstream ones', async () => {
			const hook = 'blocks.0.hook_resid_pre';
			const values = new Float32Array(IDS.length * d);
			values.fill(0.5, 6 * d, 7 * d); // position 6 only
			const clean = await model.forward({ ids: [IDS], hooks: ['blocks.0.hook_resid_post'], logits: 'none' });
			const steered = await model.forward({ ids: [IDS], hooks: ['blocks.0.hook_resid_post'], logits: 'none', interventions: { [hook]: { values, dims: [1, IDS.length, d] } } });
			const a = clean.hooks['blocks.0.hook_resid_post']!.data as Float32Array;
			const b = steered.hooks['blocks.0.hook_resid_post']!.data as Float32Array;
			assert.equal(maxAbsDiff(a.subarray(0, 6 * d), b.subarray(0, 6 * d)), 0, 'earlier positions untouched (causal)');
			assert.ok(maxAbsDiff(a.subarray(6 * d), b.subarray(6 * d)) > 0.1, 'position 6 onwards moved');
		});

		it('a batch of two rows gives each row its single-row result', async () => {
			const other = [...IDS].reverse();
			const batch = await model.forward({ ids: [IDS, other], logits: 'all' });
			const one = await model.forward({ ids: [other], logits: 'all' });
			const n = IDS.length * model.cfg.dVocab;
			assert.ok(maxAbsDiff((batch.logits!.data as Float32Array).subarray(n), one.logits!.data as Float32Array) < 1e-5);
		});

		it('one trunk session holds the model; the residual stream needs no other, a hook inside a block one variant of that block', async () => {
			const model = LanguageModel.load(fixtureModel(name), { executionProvider: 'cpu', threads: 1 });
			after(() => model.dispose());
			await model.prepare();
			const plain = model.cachedGraphCount();
			assert.equal(plain, 1, 'the trunk');
			await model.forward({ ids: [IDS.slice(0, 3)], hooks: ['blocks.0.hook_resid_post', 'blocks.1.hook_resid_pre'], logits: 'all' });
			assert.equal(model.cachedGraphCount(), plain);
			await model.forward({ ids: [IDS], hooks: ['blocks.0.hook_mlp_out'], logits: 'none' });
			assert.equal(model.cachedGraphCount(), plain + 1);
			await model.forward({ ids: [IDS.slice(0, 5)], hooks: ['blocks.0.hook_mlp_out', 'blocks.0.hook_resid_post'], logits: 'last' });
			assert.equal(model.cachedGraphCount(), plain + 1);
		});
	});
}

describe('gpt2 MLP: fused and hookable paths agree', () => {
	const model = LanguageModel.load(fixtureModel('gpt2-tiny'), { executionProvider: 'cpu', threads: 1 });
	after(() => model.dispose());

	it('asking for mlp.hook_pre switches to the explicit gelu_new and changes nothing else', async () => {
		const post = 'blocks.1.mlp.hook_post';
		const fused = await model.forward({ ids: [IDS], hooks: [post], logits: 'all' });
		const explicit = await model.forward({ ids: [IDS], hooks: [post, 'blocks.1.mlp.hook_pre'], logits: 'all' });
		assert.ok(maxAbsDiff(fused.logits!.data as Float32Array, explicit.logits!.data as Float32Array) < 1e-5);
		assert.ok(maxAbsDiff(fused.hooks[post]!.data as Float32Array, explicit.hooks[post]!.data as Float32Array) < 1e-5);
		const pre = explicit.hooks['blocks.1.mlp.hook_pre']!.data as Float32Array;
		const geluNew = Array.from(pre, (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))));
		assert.ok(maxAbsDiff(explicit.hooks[post]!.data as Float32Array, geluNew) < 1e-5);
	});
});

describe('token healing', () => {
	const model = LanguageModel.load(fixtureModel('gpt2-tiny'), { executionProvider: 'cpu', threads: 1 });
	after(() => model.dispose());

	it('backs off a trailing partial token and constrains the first new token to extend it', async () => {
		const healed = await healPrompt(model, 'x = 1\nreturn t');
		const full = await model.tokenizer!.encode('x = 1\nreturn t');
		assert.deepEqual(
			healed.ids,
			full.slice(0, -1).map((t) => t.id),
		);
		assert.equal(healed.text, 'x = 1\nreturn');
		// ' t' can be completed as ' t' itself or as ' the' (a merge in the fixture vocabulary).
		const tokenOf = async (s: string) => (await model.tokenizer!.encode(s))[0]!.id;
		assert.ok(healed.allowedFirst!.has(await tokenOf(' t')) && healed.allowedFirst!.has(await tokenOf(' the')));
		assert.ok(!healed.allowedFirst!.has(await tokenOf(' a')));
		const first: number[] = [];
		for await (const t of generate(model, healed.ids, { maxNewTokens: 1, temperature: 0, allowedFirst: healed.allowedFirst })) first.push(t.id);
		assert.ok(healed.allowedFirst!.has(first[0]!));
	});

	it('leaves a prompt whose last token cannot be extended as it is', async () => {
		const healed = await healPrompt(model, 'x(');
		assert.equal(healed.allowedFirst, undefined);
		assert.equal(healed.text, 'x(');
	});
});

describe('sampling', () => {
	const model = LanguageModel.load(fixtureModel('gpt2-tiny'), { executionProvider: 'cpu', threads: 1 });
	after(() => model.dispose());
	const sample = async (seed: number, extra: object = {}) => {
		const ids: number[] = [];
		for await (const t of generate(model, IDS, { maxNewTokens: 16, temperature: 1, seed, stopAtEos: false, ...extra })) ids.push(t.id);
		return ids;
	};

	it('the same seed reproduces the same completion; another seed differs', async () => {
		assert.deepEqual(await sample(7), await sample(7));
		assert.notDeepEqual(await sample(7), await sample(8));
	});

	it('top-k 1 is greedy whatever the temperature', async () => {
		const greedy: number[] = [];
		for await (const t of generate(model, IDS, { maxNewTokens: 16, temperature: 0, stopAtEos: false })) greedy.push(t.id);
		assert.deepEqual(await sample(3, { topK: 1, temperature: 5 }), greedy);
	});

	it('stops at the context length', async () => {
		const ids: number[] = [];
		for await (const t of generate(model, IDS, { maxNewTokens: 1000, temperature: 0, stopAtEos: false })) ids.push(t.id);
		assert.equal(ids.length, model.cfg.nCtx - IDS.length);
	});

	it('stops right after an EOS token', async () => {
		const greedy: number[] = [];
		for await (const t of generate(model, IDS, { maxNewTokens: 16, temperature: 0, stopAtEos: false })) greedy.push(t.id);
		const eos = greedy.find((id, i) => greedy.indexOf(id) === i && i >= 1)!;
		const saved = model.cfg.eosTokenIds;
		model.cfg.eosTokenIds = [eos];
		try {
			const ids: number[] = [];
			for await (const t of generate(model, IDS, { maxNewTokens: 16, temperature: 0 })) ids.push(t.id);
			assert.deepEqual(ids, greedy.slice(0, greedy.indexOf(eos) + 1));
		} finally {
			model.cfg.eosTokenIds = saved;
		}
	});

	it('a cancelled generation stops', async () => {
		const abort = new AbortController();
		const ids: number[] = [];
		await assert.rejects(async () => {
			for await (const t of generate(model, IDS, { maxNewTokens: 30, temperature: 0, signal: abort.signal, stopAtEos: false })) {
				ids.push(t.id);
				if (ids.length === 3) abort.abort();
			}
		}, /cancelled/);
		assert.equal(ids.length, 3);
	});

	it('empty KV caches start from zero length', () => {
		const cache = model.emptyCache(1);
		assert.equal(cache.length, 2 * model.cfg.nLayers);
		assert.ok(cache.every((t: ort.Tensor) => t.dims[2] === 0));
	});
});
