// Parity with SAELens, against values computed by tools/fixtures/makeParityFixtures.py with torch
// re-implementing SAELens's own lines (test/fixtures/sae-parity): layer_norm normalization, TopK
// rescale_acts_by_decoder_norm, the Gemma Scope embedding SAEs, Gemma Scope 2 and Llama Scope
// loading, the TransformerLens-centring rule, pre-6 config conversion, and the metadata of the
// SAEs we train.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { LanguageModel } from '../../src/engine/models/languageModel';
import { createSession } from '../../src/engine/onnx/session';
import { SAE_INPUT, buildSaeGraph } from '../../src/engine/sae/saeGraph';
import { loadSae, saeLensConfig, saveSae } from '../../src/engine/sae/saeFormat';
import { usesCentredView } from '../../src/engine/sae/saeRunner';
import type { Sae, SaeMetadata } from '../../src/engine/sae/saeTypes';
import { runTraining } from '../../src/engine/sae/train/trainingRun';
import { modelTrainingSource, trainConfigFor } from '../../src/engine/sae/train/trainingJob';
import { TRAINING_VERSION } from '../../src/engine/version';
import { fixtureModel, maxAbsDiff } from '../helpers';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'sae-parity');
const CPU = { executionProvider: 'cpu' as const, threads: 1 };

interface Expected {
	x: number[];
	acts: number[];
	recons: number[];
	hook_name?: string;
	model_name?: string;
	[key: string]: unknown;
}

function expected(...parts: string[]): Expected {
	return JSON.parse(fs.readFileSync(path.join(FIXTURES, ...parts, 'expected.json'), 'utf8')) as Expected;
}

/** The SAE's own graph (no model, no centring) on the fixture's rows. */
async function runSae(sae: Sae, x: number[]): Promise<{ acts: Float32Array; recons: Float32Array }> {
	const rows = x.length / sae.cfg.d_in;
	const { session } = await createSession(buildSaeGraph(sae, { acts: true, topFeatures: 0, recons: true, error: false, centre: false }), CPU, () => {});
	const out = await session.run({ [SAE_INPUT]: new ort.Tensor('float32', Float32Array.from(x), [rows, sae.cfg.d_in]) });
	const result = { acts: out.acts!.data as Float32Array, recons: out.recons!.data as Float32Array };
	await session.release();
	return result;
}

async function assertMatches(sae: Sae, want: Expected, tolerance = 1e-4): Promise<void> {
	const got = await runSae(sae, want.x);
	assert.ok(maxAbsDiff(got.acts, want.acts) < tolerance, `acts differ by ${maxAbsDiff(got.acts, want.acts)}`);
	assert.ok(maxAbsDiff(got.recons, want.recons) < tolerance, `recons differ by ${maxAbsDiff(got.recons, want.recons)}`);
}

describe('SAELens parity', () => {
	it('normalize_activations layer_norm: divides by (unbiased std + 1e-5), multiplies back by the std', async () => {
		const want = expected('layer-norm');
		// The old √(biased variance + 1e-5) formula was this far off on these rows; the test tolerance is far below it.
		assert.ok((want.biased_formula_max_abs_diff as number) > 0.05);
		await assertMatches(loadSae(path.join(FIXTURES, 'layer-norm')), want);
	});

	it('TopK rescale_acts_by_decoder_norm: encode keeps the rescaled activations, only decode divides', async () => {
		const want = expected('topk-rescale');
		assert.ok((want.divided_in_encode_max_abs_diff as number) > 1, 'dividing in encode would be far off');
		await assertMatches(loadSae(path.join(FIXTURES, 'topk-rescale')), want);
	});

	it('Gemma Scope embedding SAEs read hook_embed, with W_enc / √d_in and W_dec · √d_in', async () => {
		const dir = path.join(FIXTURES, 'gemma-scope-2b-pt-res', 'embedding', 'width_4k', 'average_l0_6');
		const want = expected('gemma-scope-2b-pt-res', 'embedding', 'width_4k', 'average_l0_6');
		const sae = loadSae(dir);
		assert.equal(sae.cfg.metadata.hook_name, want.hook_name);
		assert.equal(sae.cfg.metadata.model_name, want.model_name);
		await assertMatches(sae, want);
	});

	it('Gemma Scope 2 params.safetensors: lower-case names, JumpReLU, the hook from config.json', async () => {
		const rel = ['gemma-scope-2-1b-pt', 'resid_post', 'layer_1_width_16k_l0_small'];
		const want = expected(...rel);
		const sae = loadSae(path.join(FIXTURES, ...rel));
		assert.equal(sae.cfg.architecture, 'jumprelu');
		assert.equal(sae.cfg.apply_b_dec_to_input, false);
		assert.equal(sae.cfg.metadata.hook_name, want.hook_name);
		assert.equal(sae.cfg.metadata.model_name, want.model_name);
		assert.equal(sae.cfg.metadata.hf_hook_name, 'model.layers.1.output');
		await assertMatches(sae, want);
		// The same file without its config.json takes the hook from the folder, as SAELens infers it.
		const bare = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-gs2-'));
		const copy = path.join(bare, ...rel);
		fs.mkdirSync(copy, { recursive: true });
		fs.copyFileSync(path.join(FIXTURES, ...rel, 'params.safetensors'), path.join(copy, 'params.safetensors'));
		const inferred = loadSae(path.join(copy, 'params.safetensors'));
		assert.equal(inferred.cfg.metadata.hook_name, want.hook_name);
		assert.equal(inferred.cfg.metadata.model_name, 'google/gemma-3-1b-pt');
		// A skip transcoder (affine skip connection) loads as one, reading the MLP's input and writing its output.
		const skip = loadSae(path.join(FIXTURES, 'gemma-scope-2-1b-pt', 'transcoder_all', 'layer_1_width_16k_l0_small_affine'));
		assert.equal(skip.cfg.metadata.hook_name, 'blocks.1.mlp.hook_in');
		assert.deepEqual(skip.cfg.transcoder, { d_out: skip.cfg.d_in, hook_name_out: 'blocks.1.hook_mlp_out', skip: true });
	});

	it('Llama Scope: transposed weights, input scaled by √d_in / dataset_average_activation_norm.in (folded), threshold scaled too', async () => {
		const want = expected('Llama3_1-8B-Base-L1R-8x');
		const sae = loadSae(path.join(FIXTURES, 'Llama3_1-8B-Base-L1R-8x'));
		assert.equal(sae.cfg.metadata.hook_name, want.hook_name);
		assert.ok(Math.abs((sae.cfg.metadata.norm_scaling_factor as number) - (want.norm_scaling_factor as number)) < 1e-12);
		await assertMatches(sae, want);
	});

	it('TransformerLens centring follows what SAELens ran (from_pretrained before 3.19.2, from_pretrained_no_processing since)', () => {
		const { cases } = expected('centring') as unknown as { cases: { metadata: SaeMetadata; model_type: string; centred: boolean }[] };
		assert.ok(cases.length > 30);
		for (const c of cases) {
			const sae = {
				source: 'x',
				cfg: { d_in: 1, d_sae: 1, dtype: 'float32', architecture: 'standard', apply_b_dec_to_input: true, normalize_activations: 'none', reshape_activations: 'none', metadata: c.metadata },
				weights: {},
				rawConfig: {},
			} as Sae;
			assert.equal(usesCentredView(sae, c.model_type), c.centred, JSON.stringify(c));
		}
	});

	it('pre-6 configs: prepend_bos defaults to true and the original sae_lens_version stays, also after a save', () => {
		const dir = path.join(FIXTURES, 'pre6-no-bos-key');
		const want = (expected('pre6-no-bos-key') as unknown as { converted: { metadata: Record<string, unknown>; architecture: string; normalize_activations: string; reshape_activations: string } })
			.converted;
		const sae = loadSae(dir);
		assert.deepEqual(sae.cfg.metadata, want.metadata);
		assert.equal(sae.cfg.architecture, want.architecture);
		assert.equal(sae.cfg.normalize_activations, want.normalize_activations);
		assert.equal(sae.cfg.reshape_activations, want.reshape_activations);
		const out = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-pre6-'));
		saveSae(out, sae);
		const written = JSON.parse(fs.readFileSync(path.join(out, 'cfg.json'), 'utf8')) as Record<string, unknown>;
		// SAELens's handle_config_defaulting reads the top-level version first: the file is v6, its metadata keeps 2.1.3.
		assert.equal(written.sae_lens_version, '6.0.0');
		assert.equal((written.metadata as Record<string, unknown>).sae_lens_version, '2.1.3');
		assert.deepEqual(loadSae(out).cfg.metadata, want.metadata);
		assert.deepEqual(saeLensConfig(loadSae(out)), written);
	});
});

describe('SAEs we train', () => {
	const model = LanguageModel.load(fixtureModel('gpt2-tiny'), CPU);
	after(() => model.dispose());

	it('write sae_lens_training_version (ours) and the SAELens 6 metadata fields', async () => {
		const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-trained-'));
		const corpus = path.join(tmp, 'corpus.txt');
		fs.writeFileSync(corpus, 'def f(x):\n    return x + 1\n'.repeat(200));
		const { source, metadata } = await modelTrainingSource(model, { hookName: 'blocks.1.hook_resid_post', corpus, contextSize: 32, bufferRows: 1024 });
		const config = trainConfigFor({ architecture: 'topk', dSae: 64, k: 4, tokens: 512, batchSize: 256 }, source.dIn);
		const result = await runTraining(source, { out: path.join(tmp, 'run'), config, metadata, settings: CPU, resume: false });
		const written = JSON.parse(fs.readFileSync(path.join(result.saeDir, 'cfg.json'), 'utf8')) as { metadata: Record<string, unknown> };
		const { keys } = expected('training-metadata') as unknown as { keys: string[] };
		for (const k of keys) assert.ok(k in written.metadata, `metadata.${k}`);
		assert.equal(written.metadata.sae_lens_training_version, TRAINING_VERSION);
		assert.deepEqual(written.metadata.seqpos_slice, [null]);
		assert.equal(written.metadata.sequence_separator_token, 'eos');
		assert.equal(written.metadata.disable_concat_sequences, false);
		source.close?.();
	});
});
