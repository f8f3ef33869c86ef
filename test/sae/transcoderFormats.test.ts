// Transcoder formats against files written independently of our writers
// (tools/fixtures/makeTranscoderFixtures.py: numpy/torch, each project's documented layout) and
// the outputs each project's own maths gives: SAELens transcoder / skip_transcoder /
// jumprelu_transcoder, circuit-tracer sets (JumpReLU with W_skip, TopK, ReLU) and CLTs, Gemma
// Scope params.npz transcoders, Gemma Scope 2 affine skip transcoders. Then our writers (SAELens
// and circuit-tracer layouts) round-trip, and bad files fail naming the file and the field.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { createSession } from '../../src/engine/onnx/session';
import { SAE_INPUT, buildSaeGraph } from '../../src/engine/sae/saeGraph';
import { loadSae, saveSae } from '../../src/engine/sae/saeFormat';
import { loadCrossLayerTranscoder, loadTranscoderSet, saveTranscoderSet } from '../../src/engine/sae/circuitTracerFormat';
import { CLT_INPUT, buildCltGraph } from '../../src/engine/sae/cltGraph';
import type { Sae } from '../../src/engine/sae/saeTypes';
import { maxAbsDiff } from '../helpers';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'transcoders');
const CPU = { executionProvider: 'cpu' as const, threads: 1 };
const EXPECTED = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8')) as Record<string, { x: number[]; acts: number[]; recons: number[]; path?: string }>;
const ROWS = 5;

/** The transcoder's own graph on `x`: its features and its output. */
async function run(sae: Sae, x: number[]): Promise<{ acts: Float32Array; recons: Float32Array }> {
	const graph = buildSaeGraph(sae, { acts: true, topFeatures: 0, recons: true, error: false, centre: false });
	const { session } = await createSession(graph, CPU, () => {});
	try {
		const out = await session.run({ [SAE_INPUT]: new ort.Tensor('float32', Float32Array.from(x), [x.length / sae.cfg.d_in, sae.cfg.d_in]) });
		return { acts: out.acts!.data as Float32Array, recons: out.recons!.data as Float32Array };
	} finally {
		await session.release();
	}
}

async function assertMatches(sae: Sae, key: string): Promise<void> {
	const want = EXPECTED[key]!;
	const got = await run(sae, want.x);
	assert.ok(maxAbsDiff(got.acts, want.acts) < 1e-5, `${key}: features differ by ${maxAbsDiff(got.acts, want.acts)}`);
	assert.ok(maxAbsDiff(got.recons, want.recons) < 1e-5, `${key}: outputs differ by ${maxAbsDiff(got.recons, want.recons)}`);
}

function tmp(): string {
	return fs.mkdtempSync(path.join(os.tmpdir(), 'fl-transcoders-'));
}

describe('transcoder formats, read', () => {
	it('SAELens transcoder, skip_transcoder and jumprelu_transcoder: hooks, widths and outputs', async () => {
		for (const [name, arch, skip] of [
			['saelens-transcoder', 'standard', false],
			['saelens-skip', 'standard', true],
			['saelens-jumprelu', 'jumprelu', false],
		] as const) {
			const sae = loadSae(path.join(FIXTURES, name));
			assert.equal(sae.cfg.architecture, arch);
			assert.deepEqual(sae.cfg.transcoder, { d_out: 6, hook_name_out: 'blocks.1.hook_mlp_out', skip });
			assert.equal(sae.cfg.metadata.hook_name, 'blocks.1.ln2.hook_normalized');
			assert.equal(sae.cfg.apply_b_dec_to_input, false);
			await assertMatches(sae, name);
		}
	});

	it('circuit-tracer set: config.yaml hooks per layer, W_enc transposed, JumpReLU threshold and W_skip', async () => {
		const set = loadTranscoderSet(path.join(FIXTURES, 'circuit-tracer-set'));
		assert.equal(set.layers.length, 2);
		for (const l of [0, 1]) {
			const sae = set.layers[l]!;
			assert.equal(sae.cfg.metadata.hook_name, `blocks.${l}.ln2.hook_normalized`);
			assert.equal(sae.cfg.transcoder?.hook_name_out, `blocks.${l}.hook_mlp_out`);
			assert.equal(sae.cfg.architecture, 'jumprelu');
			assert.equal(sae.cfg.transcoder?.skip, true);
			assert.equal(sae.cfg.metadata.model_name, 'tiny');
			await assertMatches(sae, `circuit-tracer-set/layer_${l}`);
		}
		// One layer's file loads as that layer's transcoder, with the set's hooks.
		const one = loadSae(path.join(FIXTURES, 'circuit-tracer-set', 'layer_1.safetensors'));
		assert.equal(one.cfg.metadata.hook_name, 'blocks.1.ln2.hook_normalized');
		await assertMatches(one, 'circuit-tracer-set/layer_1');
	});

	it('circuit-tracer TopK and ReLU sets from a transcoders list; mlp.hook_in / mlp.hook_out name the MLP', async () => {
		const topk = loadTranscoderSet(path.join(FIXTURES, 'circuit-tracer-topk'));
		assert.equal(topk.layers[0]!.cfg.architecture, 'topk');
		assert.equal(topk.layers[0]!.cfg.k, 3);
		assert.equal(topk.layers[0]!.cfg.metadata.hook_name, 'blocks.0.mlp.hook_in');
		assert.equal(topk.layers[0]!.cfg.transcoder?.hook_name_out, 'blocks.0.hook_mlp_out');
		await assertMatches(topk.layers[0]!, 'circuit-tracer-topk/layer_0');
		const relu = loadSae(path.join(FIXTURES, 'circuit-tracer-relu', 'tc_layer0.safetensors'));
		assert.equal(relu.cfg.architecture, 'standard');
		await assertMatches(relu, 'circuit-tracer-relu/layer_0');
	});

	it('Gemma Scope transcoders (params.npz, float64): hooks from the release folder', async () => {
		const sae = loadSae(path.join(FIXTURES, EXPECTED['gemma-scope-transcoder']!.path!));
		assert.equal(sae.cfg.metadata.hook_name, 'blocks.1.ln2.hook_normalized');
		assert.deepEqual(sae.cfg.transcoder, { d_out: 8, hook_name_out: 'blocks.1.hook_mlp_out', skip: false });
		assert.equal(sae.cfg.metadata.model_name, 'gemma-2-2b');
		await assertMatches(sae, 'gemma-scope-transcoder');
	});

	it('Gemma Scope 2 affine skip transcoders: the pre- and post-feed-forward norms, W_skip = affine_skip_connectionᵀ', async () => {
		const sae = loadSae(path.join(FIXTURES, EXPECTED['gemma-scope-2-transcoder']!.path!));
		assert.equal(sae.cfg.metadata.hook_name, 'blocks.1.mlp.hook_in');
		assert.deepEqual(sae.cfg.transcoder, { d_out: 6, hook_name_out: 'blocks.1.hook_mlp_out', skip: true });
		assert.deepEqual(sae.weights.W_skip!.shape, [6, 8]);
		await assertMatches(sae, 'gemma-scope-2-transcoder');
	});

	it('circuit-tracer cross-layer transcoder: every layer writes to itself and every later layer', async () => {
		const clt = loadCrossLayerTranscoder(path.join(FIXTURES, 'circuit-tracer-clt'));
		assert.equal(clt.nLayers, 3);
		assert.equal(clt.architecture, 'jumprelu');
		assert.deepEqual(clt.layers[1]!.W_dec.shape, [16, 2, 8]);
		const want = EXPECTED['circuit-tracer-clt']!;
		const { session } = await createSession(buildCltGraph(clt), CPU, () => {});
		const out = await session.run({ [CLT_INPUT]: new ort.Tensor('float32', Float32Array.from(want.x), [3, ROWS, 8]) });
		await session.release();
		assert.ok(maxAbsDiff(out.acts!.data as Float32Array, want.acts) < 1e-5);
		assert.ok(maxAbsDiff(out.recons!.data as Float32Array, want.recons) < 1e-5);
		// The folder is not one dictionary: loadSae says what it is.
		assert.throws(() => loadSae(path.join(FIXTURES, 'circuit-tracer-clt')), /circuit-tracer-clt: a circuit-tracer cross-layer transcoder/);
	});
});

describe('transcoder formats, written', () => {
	it('SAELens layout: cfg.json names the transcoder architecture and hook_name_out, and reads back the same', async () => {
		for (const name of ['saelens-skip', 'saelens-jumprelu']) {
			const sae = loadSae(path.join(FIXTURES, name));
			const dir = path.join(tmp(), name);
			saveSae(dir, sae);
			const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'cfg.json'), 'utf8')) as Record<string, unknown>;
			assert.equal(cfg.architecture, name === 'saelens-skip' ? 'skip_transcoder' : 'jumprelu_transcoder');
			assert.equal(cfg.d_out, 6);
			assert.equal(cfg.hook_name_out, 'blocks.1.hook_mlp_out');
			assert.equal(cfg.hook_layer_out, 1);
			await assertMatches(loadSae(dir), name);
		}
		// SAELens has no TopK transcoder: saving one says so instead of writing a wrong file.
		const topk = loadTranscoderSet(path.join(FIXTURES, 'circuit-tracer-topk')).layers[0]!;
		assert.throws(() => saveSae(path.join(tmp(), 'topk'), topk), /SAELens has no topk transcoder architecture/);
	});

	it("circuit-tracer layout: layer files and config.yaml read back the same, with our reader and the set's hooks", async () => {
		const set = loadTranscoderSet(path.join(FIXTURES, 'circuit-tracer-set'));
		const dir = path.join(tmp(), 'set');
		saveTranscoderSet(dir, set.layers, { inputHook: 'ln2.hook_normalized', outputHook: 'hook_mlp_out', modelName: 'tiny' });
		assert.deepEqual(fs.readdirSync(dir).sort(), ['config.yaml', 'layer_0.safetensors', 'layer_1.safetensors']);
		const back = loadTranscoderSet(dir);
		for (const l of [0, 1]) await assertMatches(back.layers[l]!, `circuit-tracer-set/layer_${l}`);
		// The bytes are the fixture's, tensor for tensor (W_enc back in torch Linear orientation).
		assert.deepEqual(fs.readFileSync(path.join(dir, 'layer_0.safetensors')), fs.readFileSync(path.join(FIXTURES, 'circuit-tracer-set', 'layer_0.safetensors')));
		const topk = loadTranscoderSet(path.join(FIXTURES, 'circuit-tracer-topk'));
		const topkDir = path.join(tmp(), 'topk');
		saveTranscoderSet(topkDir, topk.layers, { inputHook: 'mlp.hook_in', outputHook: 'hook_mlp_out' });
		assert.match(fs.readFileSync(path.join(topkDir, 'config.yaml'), 'utf8'), /activation: topk\nk: 3\n/);
		await assertMatches(loadTranscoderSet(topkDir).layers[0]!, 'circuit-tracer-topk/layer_0');
	});
});

describe('transcoder formats, bad files', () => {
	const copy = (name: string): string => {
		const dir = path.join(tmp(), name);
		fs.cpSync(path.join(FIXTURES, name), dir, { recursive: true });
		return dir;
	};

	it('SAELens: a transcoder without hook_name_out or d_out, W_skip in a plain transcoder, an unknown transcoder', () => {
		const edit = (name: string, change: (cfg: Record<string, unknown>) => void): string => {
			const dir = copy(name);
			const file = path.join(dir, 'cfg.json');
			const cfg = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
			change(cfg);
			fs.writeFileSync(file, JSON.stringify(cfg));
			return dir;
		};
		assert.throws(
			() =>
				loadSae(
					edit('saelens-transcoder', (c) => {
						delete c.hook_name_out;
					}),
				),
			/cfg\.json: a transcoder needs "hook_name_out"/,
		);
		assert.throws(
			() =>
				loadSae(
					edit('saelens-transcoder', (c) => {
						delete c.d_out;
					}),
				),
			/cfg\.json: missing key "d_out"/,
		);
		assert.throws(
			() =>
				loadSae(
					edit('saelens-transcoder', (c) => {
						c.d_out = 7;
					}),
				),
			/sae_weights\.safetensors: W_dec has shape \[16, 6\], expected \[d_sae, d_out\] = \[16, 7\]/,
		);
		assert.throws(
			() =>
				loadSae(
					edit('saelens-skip', (c) => {
						c.architecture = 'transcoder';
					}),
				),
			/sae_weights\.safetensors: has W_skip, but cfg\.json's architecture "transcoder" has no skip connection/,
		);
		assert.throws(
			() =>
				loadSae(
					edit('saelens-transcoder', (c) => {
						c.architecture = 'topk_transcoder';
					}),
				),
			/cfg\.json: unsupported transcoder architecture "topk_transcoder"/,
		);
		assert.throws(
			() =>
				loadSae(
					edit('saelens-transcoder', (c) => {
						c.normalize_activations = 'layer_norm';
					}),
				),
			/cfg\.json: normalize_activations "layer_norm" is not supported for transcoders/,
		);
	});

	it('circuit-tracer: model_kind, hooks, a missing tensor, a gap in the layers, a listed file that is not there', () => {
		const yaml = (dir: string, text: string) => fs.writeFileSync(path.join(dir, 'config.yaml'), text);
		let dir = copy('circuit-tracer-set');
		yaml(dir, 'model_kind: sae\nfeature_input_hook: ln2.hook_normalized\nfeature_output_hook: hook_mlp_out\n');
		assert.throws(() => loadTranscoderSet(dir), /config\.yaml: "model_kind" must be transcoder_set or cross_layer_transcoder, got "sae"/);
		yaml(dir, 'model_kind: transcoder_set\nfeature_output_hook: hook_mlp_out\n');
		assert.throws(() => loadTranscoderSet(dir), /config\.yaml: "feature_input_hook" must be a hook name/);
		yaml(dir, 'model_kind: transcoder_set\nfeature_input_hook: ln2.hook_normalized\nfeature_output_hook: hook_mlp_out\nactivation: topk\n');
		assert.throws(() => loadTranscoderSet(dir), /config\.yaml: "activation: topk" needs a positive integer "k"/);
		dir = copy('circuit-tracer-set');
		fs.renameSync(path.join(dir, 'layer_1.safetensors'), path.join(dir, 'layer_2.safetensors'));
		assert.throws(() => loadTranscoderSet(dir), /layer_2\.safetensors is there but layer_1\.safetensors is not/);
		dir = copy('circuit-tracer-topk');
		fs.rmSync(path.join(dir, 'tc_layer0.safetensors'));
		assert.throws(() => loadTranscoderSet(dir), /config\.yaml: transcoders\[0\] \(tc_layer0\.safetensors\) is not on this machine/);
		dir = copy('circuit-tracer-set');
		fs.copyFileSync(path.join(FIXTURES, 'circuit-tracer-clt', 'W_dec_0.safetensors'), path.join(dir, 'layer_0.safetensors'));
		assert.throws(() => loadTranscoderSet(dir), /layer_0\.safetensors: missing tensor "W_enc" \(a circuit-tracer transcoder has W_enc, W_dec, b_enc, b_dec; found: W_dec_0\)/);
		assert.throws(() => loadSae(path.join(FIXTURES, 'circuit-tracer-set')), /a circuit-tracer transcoder set; load one layer's transcoder/);
	});

	it('CLT: a missing decoder file, a decoder of the wrong shape', () => {
		let dir = copy('circuit-tracer-clt');
		fs.rmSync(path.join(dir, 'W_dec_2.safetensors'));
		assert.throws(() => loadCrossLayerTranscoder(dir), /W_dec_2\.safetensors: missing \(every W_enc_L\.safetensors needs its W_dec_L\.safetensors\)/);
		dir = copy('circuit-tracer-clt');
		fs.copyFileSync(path.join(dir, 'W_dec_0.safetensors'), path.join(dir, 'W_dec_1.safetensors'));
		assert.throws(() => loadCrossLayerTranscoder(dir), /W_dec_1\.safetensors: missing tensor "W_dec_1" \(found: W_dec_0\)/);
	});
});
