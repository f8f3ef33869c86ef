// The embedded demo model, loaded through the ordinary checkpoint path: its size and files,
// its tokenizer against the training tokenizer's recorded output, its logits and greedy
// generations against the PyTorch reference, and its quality against simple baselines.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { LanguageModel } from '../../src/engine/models/languageModel';
import { generate } from '../../src/engine/models/generate';
import { healPrompt } from '../../src/engine/models/tokenHealing';
import { demoModelDir } from '../../src/engine/models/modelPaths';
import { readSafetensorsHeader } from '../../src/engine/io/safetensors';
import { TokenLoss } from '../../src/engine/models/tokenLoss';
import { maxAbsDiff } from '../helpers';

interface DemoGolden {
	heldOut: { ids: number[]; golden: { logits_last: number[]; hooks: Record<string, { shape: number[]; values: number[] }> }; nll: { nll: number } }[];
	generations: { prompt: string; ids: number[]; generate: { ids: number[] } }[];
}

const DIR = demoModelDir();
const golden = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'golden', 'demo.json'), 'utf8')) as DemoGolden;

describe('the embedded demo model', () => {
	const model = LanguageModel.load('demo', { executionProvider: 'cpu', threads: 2 });
	after(() => model.dispose());

	it('is a GPT-2 checkpoint of the promised size', () => {
		const { cfg } = model;
		assert.equal(cfg.modelType, 'gpt2');
		assert.ok(cfg.nLayers >= 4 && cfg.dModel >= 192 && cfg.nCtx === 256);
		assert.ok(cfg.dVocab >= 3500 && cfg.dVocab <= 5000, `vocab ${cfg.dVocab}`);
		const params = readSafetensorsHeader(path.join(DIR, 'model.safetensors')).tensors.reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);
		assert.ok(params >= 2e6 && params <= 6e6, `${params} parameters`);
		const bytes = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].reduce((a, f) => a + fs.statSync(path.join(DIR, f)).size, 0);
		assert.ok(bytes <= 25 * 2 ** 20, `${bytes} bytes`);
	});

	it('is the same model by name whether loaded as "demo" or by its folder, so its SAE fits either way', () => {
		assert.equal(model.name, 'demo');
		assert.equal(LanguageModel.load(DIR).name, 'demo');
	});

	it('tokenizes exactly as the training tokenizer did (ids and offsets)', async () => {
		const check = JSON.parse(fs.readFileSync(path.join(DIR, 'tokenizer-check.json'), 'utf8')) as { items: { text: string; ids: number[]; offsets_utf16: [number, number][] }[] };
		assert.ok(check.items.length >= 10);
		for (const item of check.items) {
			const tokens = await model.tokenizer!.encode(item.text);
			assert.deepEqual(
				tokens.map((t) => t.id),
				item.ids,
				JSON.stringify(item.text),
			);
			assert.deepEqual(
				tokens.map((t) => [t.start, t.end]),
				item.offsets_utf16,
				JSON.stringify(item.text),
			);
		}
	});

	it('matches the PyTorch reference on held-out text: logits and every resid_post within 1e-4', async () => {
		for (const g of golden.heldOut) {
			const hooks = Object.keys(g.golden.hooks);
			const out = await model.forward({ ids: [g.ids], hooks, logits: 'last' });
			const d = maxAbsDiff(out.logits!.data as Float32Array, g.golden.logits_last);
			assert.ok(d < 1e-4, `logits max |Δ| ${d}`);
			for (const h of hooks) assert.ok(maxAbsDiff(out.hooks[h]!.data as Float32Array, g.golden.hooks[h]!.values) < 1e-4, h);
		}
	});

	it('greedy generations are identical to the reference and plausible Python', async () => {
		for (const g of golden.generations) {
			const ids = [...g.ids];
			for await (const t of generate(model, g.ids, { maxNewTokens: 32, temperature: 0, stopAtEos: false })) ids.push(t.id);
			assert.deepEqual(ids, g.generate.ids, g.prompt);
		}
		// Completions as the CLI and the extension make them: token-healed prompt, greedy.
		const completion = async (prompt: string) => {
			const healed = await healPrompt(model, prompt);
			const out: number[] = [];
			for await (const t of generate(model, healed.ids, { maxNewTokens: 40, temperature: 0, allowedFirst: healed.allowedFirst })) out.push(t.id);
			return healed.text + (await model.tokenizer!.decode(out));
		};
		const init = await completion('def __init__(self');
		const imports = await completion('import os\nimport ');
		console.log(`greedy: ${JSON.stringify(init)}\n        ${JSON.stringify(imports)}`);
		assert.match(init, /^def __init__\(self[^\n]*\):\n\s+\S/, 'closes the parameter list and starts an indented body');
		assert.match(imports, /^import os\nimport [a-z_][a-z_0-9.]*\n/, 'names a module');
	});

	it('held-out loss is far below the unigram baseline and the untrained model', async () => {
		const metrics = JSON.parse(fs.readFileSync(path.join(DIR, 'metrics.json'), 'utf8')) as Record<string, unknown>;
		const unigram = numberAt(metrics, ['unigram_baseline', 'nats_per_token']);
		const step0 = numberAt(metrics, ['step0_model', 'nats_per_token']);
		assert.ok(unigram !== undefined && step0 !== undefined, 'metrics.json records the baselines');
		const losses = await TokenLoss.create();
		let total = 0;
		let count = 0;
		for (const g of golden.heldOut) {
			const out = await model.forward({ ids: [g.ids], logits: 'all' });
			const { nll } = await losses.run(out.logits!, out.logits!, [g.ids]);
			total += nll.reduce((a, v) => a + v, 0);
			count += nll.length;
			assert.ok(Math.abs(nll.reduce((a, v) => a + v, 0) / nll.length - g.nll.nll) < 1e-4, "our loss equals the reference's");
		}
		await losses.dispose();
		const ours = total / count;
		console.log(`demo model held-out loss ${ours.toFixed(3)} nats/token; unigram ${unigram.toFixed(3)}, untrained ${step0.toFixed(3)}`);
		assert.ok(ours < unigram - 1, `${ours} vs unigram ${unigram}`);
		assert.ok(ours < step0 - 3, `${ours} vs untrained ${step0}`);
	});
});

function numberAt(o: Record<string, unknown>, keys: string[]): number | undefined {
	let v: unknown = o;
	for (const k of keys) v = (v as Record<string, unknown> | undefined)?.[k];
	return typeof v === 'number' ? v : undefined;
}
