// Every way a checkpoint or a request can be wrong gives one clear message naming the problem.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { ModelConfigError } from '../../src/engine/models/decoderConfig';
import { LanguageModel } from '../../src/engine/models/languageModel';
import { SafetensorsError } from '../../src/engine/io/safetensors';
import { parseIds } from '../../src/engine/models/textInput';
import { fixtureModel } from '../helpers';

const CPU = { executionProvider: 'cpu', threads: 1 } as const;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-errors-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A copy of a fixture checkpoint with one thing changed. */
function brokenCopy(name: string, change: (dir: string) => void): string {
	const dir = fs.mkdtempSync(path.join(tmp, `${name}-`));
	for (const f of fs.readdirSync(fixtureModel(name))) fs.copyFileSync(path.join(fixtureModel(name), f), path.join(dir, f));
	change(dir);
	return dir;
}

function editConfig(dir: string, edit: (cfg: Record<string, unknown>) => void): void {
	const file = path.join(dir, 'config.json');
	const cfg = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
	edit(cfg);
	fs.writeFileSync(file, JSON.stringify(cfg));
}

/** Loading and running the first graph is when weights are read, so errors may surface at either. */
async function loadAndRun(dir: string): Promise<void> {
	const model = LanguageModel.load(dir, CPU);
	try {
		await model.forward({ ids: [[1, 2, 3]], logits: 'last' });
	} finally {
		await model.dispose();
	}
}

describe('checkpoint errors', () => {
	it('a folder that does not exist', () => {
		assert.throws(
			() => LanguageModel.load(path.join(tmp, 'nope'), CPU),
			(e: Error) => e instanceof ModelConfigError && /no such folder/.test(e.message),
		);
	});

	it('a folder without config.json', () => {
		const dir = brokenCopy('gpt2-tiny', (d) => fs.rmSync(path.join(d, 'config.json')));
		assert.throws(() => LanguageModel.load(dir, CPU), /no config\.json/);
	});

	it('config.json that is not JSON', () => {
		const dir = brokenCopy('gpt2-tiny', (d) => fs.writeFileSync(path.join(d, 'config.json'), '{ "model_type": '));
		assert.throws(() => LanguageModel.load(dir, CPU), /not valid JSON/);
	});

	it('an unsupported model_type names the supported ones', () => {
		const dir = brokenCopy('gpt2-tiny', (d) =>
			editConfig(d, (c) => {
				c.model_type = 'bert';
			}),
		);
		assert.throws(() => LanguageModel.load(dir, CPU), /unsupported model_type "bert" \(supported: gpt2, llama, mistral, qwen2, qwen3, gemma2, gemma3_text, gemma3, gpt_neox\)/);
	});

	it('a missing config field', () => {
		const dir = brokenCopy('llama-tiny', (d) =>
			editConfig(d, (c) => {
				delete c.hidden_size;
			}),
		);
		assert.throws(() => LanguageModel.load(dir, CPU), /config\.json: "hidden_size" must be an integer from 1 to 131072 \(got nothing\)/);
	});

	it('weights whose shapes disagree with config.json', async () => {
		const dir = brokenCopy('gpt2-tiny', (d) =>
			editConfig(d, (c) => {
				c.n_inner = 96;
			}),
		);
		await assert.rejects(loadAndRun(dir), /mlp\.c_fc\.weight" has shape \[32,64\], but config\.json implies \[32,96\]/);
	});

	it('a missing weight', async () => {
		const dir = brokenCopy('gpt2-tiny', (d) =>
			editConfig(d, (c) => {
				c.tie_word_embeddings = false;
			}),
		);
		await assert.rejects(loadAndRun(dir), /missing weight "lm_head\.weight"/);
	});

	it("a layer count that is not the checkpoint's, more or fewer", () => {
		for (const n of [3, 1]) {
			const dir = brokenCopy('gpt2-tiny', (d) =>
				editConfig(d, (c) => {
					c.n_layer = n;
				}),
			);
			assert.throws(() => LanguageModel.load(dir, CPU), new RegExp(`config\\.json: the config gives ${n} layers, but .*model\\.safetensors holds blocks h\\.0 to h\\.1 \\(2 layers\\)`));
		}
	});

	it('a truncated safetensors file', () => {
		const dir = brokenCopy('gpt2-tiny', (d) => {
			const f = path.join(d, 'model.safetensors');
			fs.truncateSync(f, fs.statSync(f).size - 100);
		});
		assert.throws(
			() => LanguageModel.load(dir, CPU),
			(e: Error) => e instanceof SafetensorsError && /truncated/.test(e.message),
		);
	});

	it('a safetensors file with a garbage header', () => {
		const dir = brokenCopy('gpt2-tiny', (d) => fs.writeFileSync(path.join(d, 'model.safetensors'), Buffer.from('this is not a safetensors file at all')));
		assert.throws(() => LanguageModel.load(dir, CPU), /corrupt or truncated safetensors header/);
	});

	it('a shard index pointing at a missing shard', () => {
		const dir = brokenCopy('llama-tiny-bf16', (d) => fs.rmSync(path.join(d, 'model-00002-of-00002.safetensors')));
		assert.throws(() => LanguageModel.load(dir, CPU), /lists shard model-00002-of-00002\.safetensors, which is missing/);
	});

	it('an unsupported rope_scaling', () => {
		const dir = brokenCopy('llama-tiny', (d) =>
			editConfig(d, (c) => {
				c.rope_scaling = { rope_type: 'yarn', factor: 4 };
			}),
		);
		assert.throws(() => LanguageModel.load(dir, CPU), /"rope_scaling.rope_type" "yarn" is not supported/);
	});
});

describe('request errors', () => {
	const model = LanguageModel.load(fixtureModel('gpt2-tiny'), CPU);
	after(() => model.dispose());

	it('an unknown hook name suggests real ones', async () => {
		await assert.rejects(model.forward({ ids: [[1, 2]], hooks: ['blocks.9.hook_resid_post'] }), /unknown hook "blocks\.9\.hook_resid_post".*for example: blocks\.0\.hook_resid_post/);
	});

	it('a token id outside the vocabulary', async () => {
		await assert.rejects(model.forward({ ids: [[1, 300]] }), /token id 300 is outside the vocabulary \(0\.\.299\)/);
	});

	it('a sequence longer than the context', async () => {
		await assert.rejects(model.forward({ ids: [Array.from({ length: 65 }, () => 1)] }), /65 tokens is longer than the model's context of 64/);
	});

	it('empty input', async () => {
		await assert.rejects(model.forward({ ids: [[]] }), /empty input/);
	});

	it('ragged batches', async () => {
		await assert.rejects(model.forward({ ids: [[1, 2], [3]] }), /same length/);
	});

	it('an intervention of the wrong width', async () => {
		const hook = 'blocks.0.hook_resid_post';
		await assert.rejects(model.forward({ ids: [[1, 2]], interventions: { [hook]: { values: new Float32Array(16), dims: [1, 1, 16] } } }), /must have width 32 \(got 16\)/);
	});

	it('an intervention that does not broadcast', async () => {
		const hook = 'blocks.0.hook_resid_post';
		await assert.rejects(model.forward({ ids: [[1, 2]], interventions: { [hook]: { values: new Float32Array(96), dims: [1, 3, 32] } } }), /does not broadcast to \[1, 2, 32\]/);
	});

	it('malformed --ids', () => {
		assert.throws(() => parseIds('1,2,-3'), /"-3" is not a token id/);
		assert.throws(() => parseIds(' , '), /no token ids/);
		assert.deepEqual(parseIds('4, 5,6'), [4, 5, 6]);
	});
});
