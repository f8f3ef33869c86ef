// SAE file formats: SAELens folders (v6 and pre-6 configs), Gemma Scope params.npz (stored,
// deflate, ZIP64), bit-exact round trips through saveSae, and one clear error per broken file.
// The fixtures are written by tools/fixtures/makeSaeFixtures.py (numpy, not our writer), which
// also records each tensor's SHA-256, sum and first values in expected.json.

import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { encodeSafetensors, readSafetensorsHeader, readTensor } from '../../src/engine/io/safetensors';
import { listNpz, readNpz } from '../../src/engine/sae/npz';
import { inferGemmaScope } from '../../src/engine/sae/gemmaScopeFormat';
import { loadSae, saeLensConfig, saveSae } from '../../src/engine/sae/saeFormat';
import { SaeFormatError } from '../../src/engine/sae/saeTypes';
import type { Sae, SaeTensor } from '../../src/engine/sae/saeTypes';
import { npy, zip } from '../fuzz/zipWriter';

/** A plain stored zip of the members (the test's own writer, so it needs no zip library). */
function storedZip(members: Record<string, Buffer>): Buffer {
	return zip(Object.fromEntries(Object.entries(members).map(([name, data]) => [name, { data }])));
}

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'sae');
const fixture = (...parts: string[]): string => path.join(FIXTURES, ...parts);
const GEMMA_STORED = fixture('gemma-scope-2b-pt-res', 'layer_3', 'width_16k', 'average_l0_7', 'params.npz');
const GEMMA_DEFLATE = fixture('gemma-scope-2b-pt-mlp', 'layer_1', 'width_16k', 'average_l0_5', 'params.npz');
const GEMMA_ZIP64 = fixture('gemma-scope-9b-it-att', 'layer_2', 'width_16k', 'canonical', 'params.npz');

interface ExpectedTensor {
	dtype: string;
	shape: number[];
	sha256: string;
	sum: number;
	first: number[];
}
interface ExpectedFixture {
	tensors: Record<string, ExpectedTensor>;
	sparsity?: ExpectedTensor;
	path?: string;
}
const expected = JSON.parse(fs.readFileSync(fixture('expected.json'), 'utf8')) as Record<string, ExpectedFixture>;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-sae-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const V6_KEYS = ['apply_b_dec_to_input', 'architecture', 'd_in', 'd_sae', 'device', 'dtype', 'metadata', 'normalize_activations', 'reshape_activations'];
const TOPK_KEYS = [...V6_KEYS, 'k', 'rescale_acts_by_decoder_norm'].sort();

function sha256(b: Uint8Array): string {
	return crypto.createHash('sha256').update(b).digest('hex');
}

function values(t: { dtype: string; data: Buffer }): number[] {
	const out: number[] = [];
	const f = Buffer.alloc(4);
	const step = t.dtype === 'F32' ? 4 : 2;
	for (let i = 0; i < t.data.length; i += step) {
		if (t.dtype === 'F32') out.push(t.data.readFloatLE(i));
		else if (t.dtype === 'BF16') {
			f.writeUInt32LE((t.data.readUInt16LE(i) << 16) >>> 0);
			out.push(f.readFloatLE(0));
		} else {
			const h = t.data.readUInt16LE(i);
			const e = (h >> 10) & 0x1f;
			const m = h & 0x3ff;
			const v = e === 0 ? m * 2 ** -24 : (1 + m / 1024) * 2 ** (e - 15);
			out.push(h & 0x8000 ? -v : v);
		}
	}
	return out;
}

/** The tensor has exactly the bytes python wrote, and the values python summed. */
function assertTensor(name: string, got: SaeTensor | undefined, want: ExpectedTensor | undefined): void {
	assert.ok(got, `tensor ${name} missing`);
	assert.ok(want, `no expectation for ${name}`);
	assert.equal(got.dtype, want.dtype, `${name} dtype`);
	assert.deepEqual(got.shape, want.shape, `${name} shape`);
	assert.equal(sha256(got.data), want.sha256, `${name} bytes`);
	const v = values(got);
	assert.deepEqual(v.slice(0, 4), want.first, `${name} first values`);
	const sum = v.reduce((a, x) => a + x, 0);
	assert.ok(Math.abs(sum - want.sum) < 1e-9 * Math.max(1, Math.abs(want.sum)) + 1e-9, `${name} sum ${sum} vs ${want.sum}`);
}

function assertFixtureWeights(sae: Sae, name: string): void {
	const want = expected[name]!;
	const names = Object.keys(want.tensors)
		.filter((n) => n !== 'scaling_factor')
		.sort();
	assert.deepEqual(Object.keys(sae.weights).sort(), names);
	for (const n of names) assertTensor(n, sae.weights[n], want.tensors[n]);
}

/** A copy of a fixture folder with one thing changed. */
function brokenCopy(name: string, change: (dir: string) => void): string {
	const dir = fs.mkdtempSync(path.join(tmp, `${name}-`));
	for (const f of fs.readdirSync(fixture(name))) fs.copyFileSync(fixture(name, f), path.join(dir, f));
	change(dir);
	return dir;
}

function editConfig(dir: string, edit: (cfg: Record<string, unknown>) => void): void {
	const file = path.join(dir, 'cfg.json');
	const cfg = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
	edit(cfg);
	fs.writeFileSync(file, JSON.stringify(cfg));
}

/** Rewrites sae_weights.safetensors with `edit` applied to its tensors. */
function editWeights(dir: string, edit: (t: Record<string, SaeTensor>) => void): void {
	const file = path.join(dir, 'sae_weights.safetensors');
	const tensors: Record<string, SaeTensor> = {};
	for (const e of readSafetensorsHeader(file).tensors) tensors[e.name] = readTensor(e);
	edit(tensors);
	fs.writeFileSync(file, encodeSafetensors(tensors));
}

/** load must fail with SaeFormatError whose message matches. */
function assertLoadError(p: string, message: RegExp): void {
	assert.throws(
		() => loadSae(p),
		(e: unknown) => {
			assert.ok(e instanceof SaeFormatError, `expected SaeFormatError, got ${String(e)}`);
			assert.match(e.message, message);
			assert.ok(!e.message.includes('\n'), 'one line');
			return true;
		},
	);
}

function roundTrip(sae: Sae, name: string): { dir: string; again: Sae } {
	const dir = path.join(tmp, `roundtrip-${name}`);
	saveSae(dir, sae);
	return { dir, again: loadSae(dir) };
}

describe('SAELens 6 folders', () => {
	it('loads the TopK fixture with its config, weights and sparsity', () => {
		const sae = loadSae(fixture('topk-v6'));
		assert.equal(sae.source, fixture('topk-v6'));
		assert.deepEqual(
			{ ...sae.cfg, metadata: undefined },
			{
				d_in: 32,
				d_sae: 64,
				dtype: 'float32',
				architecture: 'topk',
				apply_b_dec_to_input: true,
				normalize_activations: 'none',
				reshape_activations: 'none',
				k: 4,
				rescale_acts_by_decoder_norm: true,
				metadata: undefined,
			},
		);
		assert.equal(sae.cfg.metadata.hook_name, 'blocks.1.hook_resid_post');
		assert.equal(sae.cfg.metadata.model_name, 'gpt2-tiny');
		assert.equal(sae.cfg.metadata.sae_lens_version, '6.5.1');
		assert.deepEqual(sae.cfg.metadata.model_from_pretrained_kwargs, { center_writing_weights: false });
		assert.deepEqual(sae.cfg.metadata.seqpos_slice, [null]);
		assertFixtureWeights(sae, 'topk-v6');
		const sparsity = expected['topk-v6']!.sparsity!;
		assert.ok(sae.logSparsity instanceof Float32Array);
		assert.equal(sha256(new Uint8Array(sae.logSparsity.buffer, sae.logSparsity.byteOffset, sae.logSparsity.byteLength)), sparsity.sha256);
		assert.equal(sae.rawConfig.architecture, 'topk');
	});

	it('loads JumpReLU float16 and Gated bfloat16 folders as stored, without casting', () => {
		const jump = loadSae(fixture('jumprelu-f16'));
		assert.equal(jump.cfg.architecture, 'jumprelu');
		assert.equal(jump.cfg.dtype, 'float16');
		assert.equal(jump.cfg.apply_b_dec_to_input, false);
		assert.equal(jump.cfg.metadata.hook_name, 'blocks.0.hook_mlp_out');
		assert.equal(jump.logSparsity, undefined);
		assertFixtureWeights(jump, 'jumprelu-f16');

		const gated = loadSae(fixture('gated-bf16'));
		assert.equal(gated.cfg.architecture, 'gated');
		assert.equal(gated.cfg.dtype, 'bfloat16');
		assertFixtureWeights(gated, 'gated-bf16');
	});

	it('accepts the path of cfg.json or sae_weights.safetensors for the folder', () => {
		assert.equal(loadSae(fixture('topk-v6', 'cfg.json')).cfg.k, 4);
		assert.equal(loadSae(fixture('topk-v6', 'sae_weights.safetensors')).cfg.k, 4);
	});

	it('a BatchTopK config with a threshold tensor is a JumpReLU SAE', () => {
		const dir = brokenCopy('jumprelu-f16', (d) =>
			editConfig(d, (c) => {
				c.architecture = 'batchtopk';
				c.k = 4.5;
			}),
		);
		const sae = loadSae(dir);
		assert.equal(sae.cfg.architecture, 'jumprelu');
		assert.equal(sae.cfg.k, undefined);
		assert.equal(saeLensConfig(sae).architecture, 'jumprelu');
		assert.equal('k' in saeLensConfig(sae), false);
	});
});

describe('pre-6 SAELens configs', () => {
	it('standard: renames hook_point, defaults architecture, moves LLM keys into metadata, drops an all-ones scaling_factor', () => {
		const sae = loadSae(fixture('standard-pre6'));
		assert.equal(sae.cfg.architecture, 'standard');
		assert.equal(sae.cfg.apply_b_dec_to_input, true);
		assert.equal(sae.cfg.normalize_activations, 'none');
		assert.equal(sae.cfg.reshape_activations, 'none');
		assert.equal(sae.cfg.k, undefined);
		assert.deepEqual(sae.cfg.metadata, {
			hook_name: 'blocks.0.hook_resid_pre',
			hook_head_index: null,
			model_name: 'gpt2-tiny',
			model_class_name: 'HookedTransformer',
			dataset_path: 'NeelNanda/pile-10k',
			context_size: 128,
			prepend_bos: true,
			sae_lens_training_version: '3.0.0',
			neuronpedia_id: null,
			// No version in the file: SAELens's metadata takes its running (6.x) one.
			sae_lens_version: '6.0.0',
		});
		assertFixtureWeights(sae, 'standard-pre6');
		assert.equal('scaling_factor' in sae.weights, false);
		// rawConfig is the file as read.
		assert.equal(sae.rawConfig.hook_point, 'blocks.0.hook_resid_pre');
		assert.equal(sae.rawConfig.normalize_activations, false);
	});

	it('topk: activation_fn_str topk + activation_fn_kwargs.k, hook_z reshape, boolean normalize_activations', () => {
		const sae = loadSae(fixture('topk-pre6'));
		assert.equal(sae.cfg.architecture, 'topk');
		assert.equal(sae.cfg.k, 8);
		assert.equal(sae.cfg.rescale_acts_by_decoder_norm, false);
		assert.equal(sae.cfg.reshape_activations, 'hook_z');
		assert.equal(sae.cfg.normalize_activations, 'expected_average_only_in');
		assert.equal(sae.cfg.metadata.hook_name, 'blocks.0.attn.hook_z');
		assert.equal(sae.cfg.metadata.context_size, 64);
		assertFixtureWeights(sae, 'topk-pre6');
	});

	it('a cfg without any version but with v6 shape still loads (treated as pre-6, a no-op)', () => {
		const dir = brokenCopy('topk-v6', (d) =>
			editConfig(d, (c) => {
				delete (c.metadata as Record<string, unknown>).sae_lens_version;
			}),
		);
		const sae = loadSae(dir);
		assert.equal(sae.cfg.metadata.hook_name, 'blocks.1.hook_resid_post');
		assert.equal(sae.cfg.k, 4);
		assert.equal((saeLensConfig(sae).metadata as Record<string, unknown>).sae_lens_version, '6.0.0');
	});
});

describe('Gemma Scope params.npz', () => {
	it('np.savez (stored, ZIP64 extras): jumprelu, shapes from the arrays, hook from the folder layout', () => {
		const sae = loadSae(GEMMA_STORED);
		assert.equal(sae.source, GEMMA_STORED);
		assert.equal(sae.cfg.architecture, 'jumprelu');
		assert.equal(sae.cfg.d_in, 16);
		assert.equal(sae.cfg.d_sae, 32);
		assert.equal(sae.cfg.dtype, 'float32');
		assert.equal(sae.cfg.apply_b_dec_to_input, false);
		assert.equal(sae.cfg.metadata.hook_name, 'blocks.3.hook_resid_post');
		assert.equal(sae.cfg.metadata.model_name, 'gemma-2-2b');
		assertFixtureWeights(sae, 'gemma-stored');
		assert.ok(listNpz(GEMMA_STORED).every((m) => m.method === 0));
	});

	it('np.savez_compressed (deflate) with lowercase w_ keys, given the folder', () => {
		const sae = loadSae(path.dirname(GEMMA_DEFLATE));
		assert.equal(sae.cfg.metadata.hook_name, 'blocks.1.hook_mlp_out');
		assertFixtureWeights(sae, 'gemma-deflate');
		assert.ok(listNpz(GEMMA_DEFLATE).every((m) => m.method === 8));
		assert.deepEqual(Object.keys(readNpz(GEMMA_DEFLATE)).sort(), ['b_dec', 'b_enc', 'threshold', 'w_dec', 'w_enc']);
	});

	it('a full ZIP64 archive (0xFFFFFFFF in local and central headers, ZIP64 end record): attention hook_z', () => {
		const sae = loadSae(GEMMA_ZIP64);
		assert.equal(sae.cfg.metadata.hook_name, 'blocks.2.attn.hook_z');
		assert.equal(sae.cfg.reshape_activations, 'hook_z');
		assert.equal(sae.cfg.metadata.model_name, 'gemma-2-9b-it');
		assertFixtureWeights(sae, 'gemma-zip64');
		assert.ok(listNpz(GEMMA_ZIP64).every((m) => m.localHeaderOffset >= 0 && m.compressedSize === m.uncompressedSize));
	});

	it('outside the Gemma Scope layout the hook is empty unless given', () => {
		const file = path.join(tmp, 'params.npz');
		fs.copyFileSync(GEMMA_STORED, file);
		const sae = loadSae(file);
		assert.equal(sae.cfg.metadata.hook_name, '');
		assert.equal(sae.cfg.metadata.model_name, undefined);
		assert.equal(loadSae(file, { hookName: 'blocks.5.hook_resid_post' }).cfg.metadata.hook_name, 'blocks.5.hook_resid_post');
		assert.equal(loadSae(tmp, { hookName: 'blocks.5.hook_resid_post' }).cfg.metadata.hook_name, 'blocks.5.hook_resid_post');
	});

	it('infers hooks from Hugging Face cache paths too', () => {
		assert.deepEqual(inferGemmaScope('/c/models--google--gemma-scope-27b-pt-res/snapshots/abc123/layer_20/width_131k/average_l0_9/params.npz'), {
			hookName: 'blocks.20.hook_resid_post',
			modelName: 'gemma-2-27b',
			embedding: false,
		});
		assert.equal(inferGemmaScope('/x/my-sae/layer_2/width_16k/params.npz'), undefined);
		// The embedding SAEs read hook_embed, as SAELens's gemma_2 loader says.
		assert.deepEqual(inferGemmaScope('/x/gemma-scope-2b-pt-res/embedding/width_4k/average_l0_6/params.npz'), { hookName: 'hook_embed', modelName: 'gemma-2-2b', embedding: true });
	});
});

describe('npy headers', () => {
	it('reads .npy versions 1, 2 and 3, scalars, float64/float16/uint8, and swaps big-endian data', () => {
		const f32 = Buffer.alloc(8);
		f32.writeFloatLE(1.5, 0);
		f32.writeFloatLE(-2, 4);
		const be = Buffer.alloc(8);
		be.writeFloatBE(1.5, 0);
		be.writeFloatBE(-2, 4);
		const f64 = Buffer.alloc(8);
		f64.writeDoubleLE(0.25, 0);
		const file = path.join(tmp, 'versions.npz');
		fs.writeFileSync(
			file,
			storedZip({
				'v1.npy': npy([2], f32, '<f4', 1),
				'v2.npy': npy([1, 2], f32, '<f4', 2),
				'v3.npy': npy([2, 1], f32, '<f4', 3),
				'big.npy': npy([2], be, '>f4', 1),
				'scalar.npy': npy([], f64, '<f8', 1),
				'half.npy': npy([2], Buffer.from([0x00, 0x3c, 0x00, 0xc0]), '<f2', 1),
				'bytes.npy': npy([3], Buffer.from([1, 2, 3]), '|u1', 1),
				'notes.txt': Buffer.from('not an array'),
			}),
		);
		const a = readNpz(file);
		assert.deepEqual(Object.keys(a).sort(), ['big', 'bytes', 'half', 'scalar', 'v1', 'v2', 'v3']);
		for (const k of ['v1', 'v2', 'v3', 'big']) {
			assert.equal(a[k]!.dtype, 'F32');
			assert.ok(a[k]!.data.equals(f32), k);
		}
		assert.deepEqual([a.v1!.shape, a.v2!.shape, a.v3!.shape], [[2], [1, 2], [2, 1]]);
		assert.deepEqual([a.scalar!.dtype, a.scalar!.shape, a.scalar!.data.readDoubleLE(0)], ['F64', [], 0.25]);
		assert.deepEqual([a.half!.dtype, a.bytes!.dtype, [...a.bytes!.data]], ['F16', 'U8', [1, 2, 3]]);
	});

	it('a float64 Gemma-style npz is cast to float32, as SAELens does', () => {
		const src = readNpz(GEMMA_STORED);
		const members: Record<string, Buffer> = {};
		for (const [k, arr] of Object.entries(src)) {
			const d = Buffer.alloc(arr.data.length * 2);
			for (let i = 0; i < arr.data.length / 4; i++) d.writeDoubleLE(arr.data.readFloatLE(i * 4), i * 8);
			members[`${k}.npy`] = npy(arr.shape, d, '<f8');
		}
		const file = path.join(tmp, 'f64.npz');
		fs.writeFileSync(file, storedZip(members));
		const sae = loadSae(file);
		assertFixtureWeights(sae, 'gemma-stored');
	});
});

describe('saveSae round trips', () => {
	const cases: [string, string][] = [
		['topk-v6', fixture('topk-v6')],
		['standard-pre6', fixture('standard-pre6')],
		['topk-pre6', fixture('topk-pre6')],
		['jumprelu-f16', fixture('jumprelu-f16')],
		['gated-bf16', fixture('gated-bf16')],
		['gemma-stored', GEMMA_STORED],
		['gemma-deflate', GEMMA_DEFLATE],
		['gemma-zip64', GEMMA_ZIP64],
	];
	for (const [name, source] of cases) {
		it(`${name}: load → save → load keeps every weight byte and the config`, () => {
			const sae = loadSae(source);
			const { dir, again } = roundTrip(sae, name);
			assert.deepEqual(again.cfg, sae.cfg);
			assert.deepEqual(Object.keys(again.weights).sort(), Object.keys(sae.weights).sort());
			for (const [n, t] of Object.entries(sae.weights)) {
				assert.equal(again.weights[n]!.dtype, t.dtype);
				assert.deepEqual(again.weights[n]!.shape, t.shape);
				assert.ok(again.weights[n]!.data.equals(t.data), `${n} bytes`);
			}
			assertFixtureWeights(again, name);
			// Exactly the SAELens tensor names in the file, and exactly the SAELens cfg keys.
			const stored = readSafetensorsHeader(path.join(dir, 'sae_weights.safetensors'))
				.tensors.map((t) => t.name)
				.sort();
			assert.deepEqual(stored, Object.keys(sae.weights).sort());
			const written = JSON.parse(fs.readFileSync(path.join(dir, 'cfg.json'), 'utf8')) as Record<string, unknown>;
			// A config converted from pre-6 keeps its original version in metadata and is marked v6 at the top level.
			const original = String(sae.cfg.metadata.sae_lens_version);
			const marked = Number(original.split('.')[0]) < 6;
			assert.deepEqual(
				Object.keys(written)
					.filter((k) => k !== 'sae_lens_version')
					.sort(),
				sae.cfg.architecture === 'topk' ? TOPK_KEYS : V6_KEYS,
			);
			assert.equal(written.sae_lens_version, marked ? '6.0.0' : undefined);
			assert.equal((written.metadata as Record<string, unknown>).hook_name, sae.cfg.metadata.hook_name);
			assert.equal((written.metadata as Record<string, unknown>).sae_lens_version, original);
			// Saving again from the reloaded SAE writes the same cfg.json.
			assert.deepEqual(saeLensConfig(again), written);
			assert.deepEqual(
				fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')),
				[],
				'no temp files left',
			);
		});
	}

	it('the v6 cfg.json comes back exactly as SAELens wrote it', () => {
		const { dir } = roundTrip(loadSae(fixture('topk-v6')), 'topk-v6-cfg');
		const original = JSON.parse(fs.readFileSync(fixture('topk-v6', 'cfg.json'), 'utf8')) as unknown;
		assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'cfg.json'), 'utf8')), original);
	});

	it('sparsity round trips bit-exactly, and a stale sparsity file is removed when there is none', () => {
		const sae = loadSae(fixture('topk-v6'));
		const dir = path.join(tmp, 'sparsity');
		saveSae(dir, sae);
		const again = loadSae(dir);
		assert.ok(again.logSparsity);
		assert.deepEqual(Array.from(again.logSparsity), Array.from(sae.logSparsity!));
		const entry = readSafetensorsHeader(path.join(dir, 'sparsity.safetensors')).tensors;
		assert.deepEqual(
			entry.map((t) => [t.name, t.dtype, t.shape]),
			[['sparsity', 'F32', [64]]],
		);
		assert.equal(sha256(readTensor(entry[0]!).data), expected['topk-v6']!.sparsity!.sha256);

		saveSae(dir, { ...sae, logSparsity: undefined });
		assert.equal(fs.existsSync(path.join(dir, 'sparsity.safetensors')), false);
		assert.equal(loadSae(dir).logSparsity, undefined);
	});

	it('keeps unknown keys of a v6 config and its metadata, drops pre-6 leftovers', () => {
		const dir = brokenCopy('topk-v6', (d) =>
			editConfig(d, (c) => {
				c.use_sparse_activations = false;
				(c.metadata as Record<string, unknown>).neuronpedia_id = 'gpt2-tiny/1-res';
			}),
		);
		const written = saeLensConfig(loadSae(dir));
		assert.equal(written.use_sparse_activations, false);
		assert.equal((written.metadata as Record<string, unknown>).neuronpedia_id, 'gpt2-tiny/1-res');
		const pre6 = saeLensConfig(loadSae(fixture('standard-pre6')));
		for (const key of ['hook_point', 'hook_point_layer', 'lp_norm', 'expansion_factor', 'activation_fn_str', 'finetuning_scaling_factor']) assert.equal(key in pre6, false, key);
	});

	it('the hookName option fills an empty hook but never overrides the cfg.json one', () => {
		assert.equal(loadSae(fixture('topk-v6'), { hookName: 'blocks.9.hook_resid_pre' }).cfg.metadata.hook_name, 'blocks.1.hook_resid_post');
		const dir = brokenCopy('topk-v6', (d) =>
			editConfig(d, (c) => {
				delete (c.metadata as Record<string, unknown>).hook_name;
			}),
		);
		assert.equal(loadSae(dir).cfg.metadata.hook_name, '');
		assert.equal(loadSae(dir, { hookName: 'blocks.9.hook_resid_pre' }).cfg.metadata.hook_name, 'blocks.9.hook_resid_pre');
	});

	it('refuses to save an SAE whose tensors do not match its config', () => {
		const sae = loadSae(fixture('topk-v6'));
		const bad: Sae = { ...sae, weights: { ...sae.weights, W_dec: { ...sae.weights.W_dec!, shape: [32, 64] } } };
		assert.throws(() => saveSae(path.join(tmp, 'bad-save'), bad), /W_dec has shape \[32, 64\], expected \[d_sae, d_in\] = \[64, 32\]/);
		assert.equal(fs.existsSync(path.join(tmp, 'bad-save')), false);
	});
});

describe('errors', () => {
	it('a path that does not exist', () => {
		assertLoadError(path.join(tmp, 'nope'), /nope: no such file or folder/);
	});

	it('a folder without cfg.json (or params.npz)', () => {
		const dir = brokenCopy('topk-v6', (d) => fs.rmSync(path.join(d, 'cfg.json')));
		assertLoadError(dir, /no cfg\.json \(expected a SAELens folder/);
	});

	it('cfg.json that is not JSON', () => {
		const dir = brokenCopy('topk-v6', (d) => fs.writeFileSync(path.join(d, 'cfg.json'), '{ "d_in": '));
		assertLoadError(dir, /cfg\.json: not valid JSON/);
	});

	it('cfg.json missing d_sae', () => {
		const dir = brokenCopy('topk-v6', (d) =>
			editConfig(d, (c) => {
				delete c.d_sae;
			}),
		);
		assertLoadError(dir, /cfg\.json: missing key "d_sae"/);
	});

	it('missing sae_weights.safetensors', () => {
		const dir = brokenCopy('topk-v6', (d) => fs.rmSync(path.join(d, 'sae_weights.safetensors')));
		assertLoadError(dir, /sae_weights\.safetensors: missing/);
	});

	it('W_enc with the wrong shape', () => {
		const dir = brokenCopy('topk-v6', (d) =>
			editConfig(d, (c) => {
				c.d_in = 16;
				c.d_sae = 128;
			}),
		);
		assertLoadError(dir, /sae_weights\.safetensors: W_enc has shape \[32, 64\], expected \[d_in, d_sae\] = \[16, 128\]/);
	});

	it('jumprelu without a threshold tensor', () => {
		const dir = brokenCopy('jumprelu-f16', (d) =>
			editWeights(d, (t) => {
				delete t.threshold;
			}),
		);
		assertLoadError(dir, /sae_weights\.safetensors: missing tensor "threshold" \(required for jumprelu SAEs/);
	});

	it('batchtopk without a threshold tensor', () => {
		const dir = brokenCopy('topk-v6', (d) =>
			editConfig(d, (c) => {
				c.architecture = 'batchtopk';
			}),
		);
		assertLoadError(dir, /architecture "batchtopk" is only supported when saved for inference with a "threshold" tensor/);
	});

	it('a truncated weights file', () => {
		const dir = brokenCopy('topk-v6', (d) => {
			const f = path.join(d, 'sae_weights.safetensors');
			fs.truncateSync(f, fs.statSync(f).size - 100);
		});
		assertLoadError(dir, /sae_weights\.safetensors: truncated/);
	});

	it('a weights file that is not safetensors', () => {
		const dir = brokenCopy('topk-v6', (d) => fs.writeFileSync(path.join(d, 'sae_weights.safetensors'), 'hello'));
		assertLoadError(dir, /sae_weights\.safetensors: not a safetensors file/);
	});

	it('a transcoder without the transcoder keys (test/sae/transcoderFormats.test.ts loads real ones)', () => {
		const dir = brokenCopy('topk-v6', (d) =>
			editConfig(d, (c) => {
				c.architecture = 'transcoder';
			}),
		);
		assertLoadError(dir, /cfg\.json: a transcoder needs "hook_name_out"/);
	});

	it('an unknown architecture', () => {
		const dir = brokenCopy('topk-v6', (d) =>
			editConfig(d, (c) => {
				c.architecture = 'matching_pursuit';
			}),
		);
		assertLoadError(dir, /unsupported architecture "matching_pursuit" \(supported: standard, topk, jumprelu, gated/);
	});

	it('topk without k, and k larger than d_sae', () => {
		const noK = brokenCopy('topk-v6', (d) =>
			editConfig(d, (c) => {
				delete c.k;
			}),
		);
		assertLoadError(noK, /architecture "topk" needs "k"/);
		const bigK = brokenCopy('topk-v6', (d) =>
			editConfig(d, (c) => {
				c.k = 65;
			}),
		);
		assertLoadError(bigK, /"k" must be a positive integer no larger than d_sae \(64\), got 65/);
		const pre6 = brokenCopy('topk-pre6', (d) =>
			editConfig(d, (c) => {
				delete c.activation_fn_kwargs;
			}),
		);
		assertLoadError(pre6, /architecture "topk" needs "k"/);
	});

	it('a legacy scaling_factor that is not all ones', () => {
		const dir = brokenCopy('standard-pre6', (d) =>
			editWeights(d, (t) => {
				const data = Buffer.from(t.scaling_factor!.data);
				data.writeFloatLE(2, 0);
				t.scaling_factor = { ...t.scaling_factor!, data };
			}),
		);
		assertLoadError(dir, /legacy "scaling_factor" tensor that is not all ones/);
	});

	it('a weight tensor in float64', () => {
		const dir = brokenCopy('standard-pre6', (d) =>
			editWeights(d, (t) => {
				const n = t.b_dec!.data.length / 4;
				const data = Buffer.alloc(n * 8);
				for (let i = 0; i < n; i++) data.writeDoubleLE(t.b_dec!.data.readFloatLE(i * 4), i * 8);
				t.b_dec = { dtype: 'F64', shape: [n], data };
			}),
		);
		assertLoadError(dir, /b_dec has dtype F64, expected F32, F16 or BF16/);
	});

	it('an unsupported activation function in a pre-6 config', () => {
		const dir = brokenCopy('standard-pre6', (d) =>
			editConfig(d, (c) => {
				c.activation_fn_str = 'tanh-relu';
			}),
		);
		assertLoadError(dir, /activation_fn "tanh-relu" is not supported/);
	});

	it('an npz with a Fortran-order array', () => {
		assertLoadError(fixture('bad', 'fortran-order.npz'), /W_enc\.npy: array is stored in Fortran order/);
	});

	it('an npz that is not a zip', () => {
		const file = path.join(tmp, 'garbage.npz');
		fs.writeFileSync(file, Buffer.alloc(4096, 7));
		assertLoadError(file, /garbage\.npz: not a zip archive/);
	});

	it('a truncated npz', () => {
		const file = path.join(tmp, 'truncated.npz');
		fs.writeFileSync(file, fs.readFileSync(GEMMA_STORED).subarray(0, 3000));
		assertLoadError(file, /truncated\.npz: not a zip archive/);
	});

	it('a corrupted npz member (CRC)', () => {
		const file = path.join(tmp, 'corrupt.npz');
		const bytes = Buffer.from(fs.readFileSync(GEMMA_STORED));
		bytes[500] = bytes[500]! ^ 0xff; // inside W_enc's payload
		fs.writeFileSync(file, bytes);
		assertLoadError(file, /corrupt\.npz: W_enc\.npy: corrupt member \(CRC mismatch\)/);
	});

	it('an npz without threshold', () => {
		const dir = path.join(tmp, 'no-threshold');
		fs.mkdirSync(dir);
		// The stored fixture's arrays, rebuilt into an archive without threshold.
		const arrays = readNpz(GEMMA_STORED);
		delete arrays.threshold;
		fs.writeFileSync(path.join(dir, 'params.npz'), storedZip(Object.fromEntries(Object.entries(arrays).map(([k, a]) => [`${k}.npy`, npy(a.shape, a.data)]))));
		assertLoadError(dir, /params\.npz: missing array "threshold"/);
	});
});
