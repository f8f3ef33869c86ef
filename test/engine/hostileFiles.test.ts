// Crafted and corrupt files from issue 15, each refused before it is used, with an error naming
// the file, the field and what was expected: config.json ranges (n_layer 1e9, a negative norm
// epsilon), non-finite weights in a checkpoint or an SAE, a tokenizer.json that makes the
// tokenizers library panic, an npz that deflates to a gigabyte, an SAE whose feature-lens/ is a
// link out of its folder, a release registry with a malformed entry, and a labels file that an
// older bug left corrupt.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { featureLensDir } from '../../src/engine/features/analysisStore';
import { UserLabels } from '../../src/engine/features/labels';
import { readRegistry, shippedReleasesFile } from '../../src/engine/hub/saeReleases';
import { readSafetensorsHeader } from '../../src/engine/io/safetensors';
import { UnsafePathError } from '../../src/engine/io/safePaths';
import { ModelConfigError } from '../../src/engine/models/decoderConfig';
import { LanguageModel } from '../../src/engine/models/languageModel';
import { loadSae } from '../../src/engine/sae/saeFormat';
import { SaeFormatError } from '../../src/engine/sae/saeTypes';
import { Tokenizer } from '../../src/engine/tokenize/tokenizer';
import { TokenizerError } from '../../src/engine/tokenize/tokenizerFile';
import { probeTokenizer } from '../../src/engine/tokenize/tokenizerProbe';
import { fixtureModel } from '../helpers';
import { deflateBomb, npy, zip } from '../fuzz/zipWriter';

const CPU = { executionProvider: 'cpu', threads: 1 } as const;
const SAE = path.join(__dirname, '..', 'fixtures', 'sae', 'topk-v6');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-hostile-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function copyOf(source: string, change: (dir: string) => void): string {
	const dir = fs.mkdtempSync(path.join(tmp, `${path.basename(source)}-`));
	fs.cpSync(source, dir, { recursive: true });
	change(dir);
	return dir;
}

function editJson(file: string, edit: (json: Record<string, unknown>) => void): void {
	const json = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
	edit(json);
	fs.writeFileSync(file, JSON.stringify(json));
}

/** Overwrites value `index` of tensor `name` in a safetensors file with the bit pattern `bits` (a NaN or an Inf of its dtype). */
function poison(file: string, name: string, index: number, bits: number): void {
	const entry = readSafetensorsHeader(file).tensors.find((t) => t.name === name)!;
	const width = entry.dtype === 'F32' ? 4 : 2;
	const bytes = Buffer.alloc(width);
	if (width === 4) bytes.writeUInt32LE(bits);
	else bytes.writeUInt16LE(bits);
	const fd = fs.openSync(file, 'r+');
	fs.writeSync(fd, bytes, 0, width, entry.begin + index * width);
	fs.closeSync(fd);
}

async function loadAndRun(dir: string): Promise<void> {
	const model = LanguageModel.load(dir, CPU);
	try {
		await model.forward({ ids: [[1, 2, 3]], logits: 'last' });
	} finally {
		await model.dispose();
	}
}

describe('config.json ranges', () => {
	it('n_layer: 1000000000 is refused at once, before anything is allocated', () => {
		const dir = copyOf(fixtureModel('gpt2-tiny'), (d) =>
			editJson(path.join(d, 'config.json'), (c) => {
				c.n_layer = 1_000_000_000;
			}),
		);
		const rssBefore = process.memoryUsage().rss;
		assert.throws(
			() => LanguageModel.load(dir, CPU),
			(e: Error) => e instanceof ModelConfigError && e.message === `${path.join(dir, 'config.json')}: "n_layer" must be an integer from 1 to 1024 (got 1000000000)`,
		);
		assert.ok(process.memoryUsage().rss - rssBefore < 100e6);
	});

	it('a config.json that is JSON but not an object is refused naming the file', () => {
		for (const text of ['null', '[1]', '"gpt2"']) {
			const dir = copyOf(fixtureModel('gpt2-tiny'), (d) => fs.writeFileSync(path.join(d, 'config.json'), text));
			assert.throws(
				() => LanguageModel.load(dir, CPU),
				(e: Error) => e instanceof ModelConfigError && e.message === `${path.join(dir, 'config.json')}: not a model config (expected a JSON object)`,
			);
		}
	});

	it('a negative or zero norm epsilon, a rope base below 1 and a fractional width are refused, naming the field', () => {
		const cases: [string, string, (c: Record<string, unknown>) => void, RegExp][] = [
			[
				'gpt2-tiny',
				'layer_norm_epsilon -1',
				(c) => {
					c.layer_norm_epsilon = -1;
				},
				/"layer_norm_epsilon" must be a number greater than 0 and at most 1 \(got -1\)/,
			],
			[
				'llama-tiny',
				'rms_norm_eps 0',
				(c) => {
					c.rms_norm_eps = 0;
				},
				/"rms_norm_eps" must be a number greater than 0 and at most 1 \(got 0\)/,
			],
			[
				'llama-tiny',
				'rope_theta -5',
				(c) => {
					c.rope_theta = -5;
				},
				/"rope_theta" must be a rope base greater than 1 \(got -5\)/,
			],
			[
				'gpt2-tiny',
				'n_embd 32.5',
				(c) => {
					c.n_embd = 32.5;
				},
				/"n_embd" must be an integer from 1 to 131072 \(got 32\.5\)/,
			],
			[
				'gpt2-tiny',
				'vocab_size "300"',
				(c) => {
					c.vocab_size = '300';
				},
				/"vocab_size" must be an integer from 1 to 4194304 \(got "300"\)/,
			],
			[
				'gpt2-tiny',
				'eos_token_id 1e9',
				(c) => {
					c.eos_token_id = 1e9;
				},
				/"eos_token_id" must be a token id or a list of them \(got 1000000000\)/,
			],
		];
		for (const [model, what, edit, message] of cases) {
			const dir = copyOf(fixtureModel(model), (d) => editJson(path.join(d, 'config.json'), edit));
			assert.throws(
				() => LanguageModel.load(dir, CPU),
				(e: Error) => e instanceof ModelConfigError && e.message.startsWith(path.join(dir, 'config.json')) && message.test(e.message),
				what,
			);
		}
	});
});

describe('non-finite weights', () => {
	it('a NaN in an f32 checkpoint is reported with the weight, its file and the count', async () => {
		const dir = copyOf(fixtureModel('gpt2-tiny'), (d) => {
			poison(path.join(d, 'model.safetensors'), 'transformer.h.0.attn.c_attn.weight', 5, 0x7fc00000);
			poison(path.join(d, 'model.safetensors'), 'transformer.h.0.attn.c_attn.weight', 9, 0xff800000);
		});
		await assert.rejects(
			loadAndRun(dir),
			(e: Error) =>
				e instanceof ModelConfigError && e.message.includes(`${path.join(dir, 'model.safetensors')}: weight "transformer.h.0.attn.c_attn.weight" holds 2 non-finite values (NaN or ±Inf) of 3072`),
		);
	});

	it('a NaN in an embedding row the first run does not use (read row by row as tokens come) is reported at load too', async () => {
		// Position 40 of wpe: a three-token run reads rows 0..2 only.
		const dir = copyOf(fixtureModel('gpt2-tiny'), (d) => poison(path.join(d, 'model.safetensors'), 'transformer.wpe.weight', 40 * 32 + 7, 0x7fc00000));
		await assert.rejects(loadAndRun(dir), /weight "transformer\.wpe\.weight" holds 1 non-finite value \(NaN or ±Inf\) of 2048/);
	});

	it('an Inf in a bf16 shard is reported too', async () => {
		const shard = 'model-00002-of-00002.safetensors';
		const dir = copyOf(fixtureModel('llama-tiny-bf16'), (d) => poison(path.join(d, shard), 'model.layers.0.mlp.down_proj.weight', 0, 0x7f80));
		await assert.rejects(loadAndRun(dir), /model-00002-of-00002\.safetensors: weight "model\.layers\.0\.mlp\.down_proj\.weight" holds 1 non-finite value \(NaN or ±Inf\) of 1536/);
	});

	it('a NaN in an SAE is reported with the tensor and the count', () => {
		const dir = copyOf(SAE, (d) => poison(path.join(d, 'sae_weights.safetensors'), 'W_dec', 3, 0x7fc00001));
		assert.throws(
			() => loadSae(dir),
			(e: Error) => e instanceof SaeFormatError && /sae_weights\.safetensors: W_dec holds 1 non-finite value \(NaN or ±Inf\) of 2048/.test(e.message),
		);
	});
});

describe('tokenizer.json', () => {
	const crafted = path.join(tmp, 'prefix-1e12', 'tokenizer.json');
	fs.mkdirSync(path.dirname(crafted), { recursive: true });
	const json = JSON.parse(fs.readFileSync(path.join(fixtureModel('gpt2-tiny'), 'tokenizer.json'), 'utf8')) as { model: Record<string, unknown> };
	json.model.continuing_subword_prefix = '1e12';
	fs.writeFileSync(crafted, JSON.stringify(json));

	it('continuing_subword_prefix "1e12" is refused by name instead of aborting the process', () => {
		assert.throws(
			() => Tokenizer.fromFile(crafted),
			(e: Error) => e instanceof TokenizerError && e.message.startsWith(`${crafted}: "model.merges[0]" must be a pair whose second token starts with continuing_subword_prefix "1e12"`),
		);
	});

	it('what validation lets through is tried in a child process first, whose crash is reported, not shared', () => {
		// The same file straight to the probe: the library panics there (Rust abort), and this process lives on.
		assert.throws(
			() => probeTokenizer(crafted, []),
			(e: Error) => e instanceof TokenizerError && new RegExp(`^${crafted.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: the tokenizers library crashed on it \\(killed by SIGABRT`).test(e.message),
		);
	});
});

describe('npz archives', () => {
	const header = npy([4, 8], Buffer.alloc(0)); // a 4×8 float32 W_enc: 128 bytes of payload
	const small = (n: number) => npy([n], Buffer.alloc(4 * n));

	function gemmaScope(wEnc: Parameters<typeof zip>[0][string]): string {
		const dir = fs.mkdtempSync(path.join(tmp, 'npz-'));
		const file = path.join(dir, 'params.npz');
		fs.writeFileSync(
			file,
			zip({
				'W_enc.npy': wEnc,
				'W_dec.npy': { data: npy([8, 4], Buffer.alloc(128)), deflate: true },
				'b_enc.npy': { data: small(8), deflate: true },
				'b_dec.npy': { data: small(4), deflate: true },
				'threshold.npy': { data: small(8), deflate: true },
			}),
		);
		return file;
	}

	it('a member that deflates to a gigabyte is refused once past what its shape takes, without inflating it', () => {
		const bomb = deflateBomb(header, 1 << 30);
		assert.ok(bomb.length < 1.5e6);
		const file = gemmaScope({ data: Buffer.concat([header, Buffer.alloc(128)]), packed: bomb });
		const peak = process.resourceUsage().maxRSS * 1024;
		assert.throws(
			() => loadSae(file),
			(e: Error) => e instanceof SaeFormatError && e.message === `${file}: W_enc.npy: corrupt compressed data (inflates to more than the ${header.length + 128} bytes its shape [4, 8] of F32 takes)`,
		);
		// Nothing near the gigabyte was held (maxRSS is the process's peak, in KiB).
		assert.ok(process.resourceUsage().maxRSS * 1024 - peak < 200e6);
	});

	it('a member whose zip entry declares a gigabyte is refused before inflating', () => {
		const file = gemmaScope({ data: Buffer.concat([header, Buffer.alloc(128)]), packed: deflateBomb(header, 1 << 30), declaredSize: (1 << 30) + header.length });
		assert.throws(
			() => loadSae(file),
			(e: Error) =>
				e instanceof SaeFormatError && e.message === `${file}: W_enc.npy: the zip says it inflates to ${(1 << 30) + header.length} bytes, but its shape [4, 8] of F32 takes ${header.length + 128}`,
		);
	});

	it('an honest deflated archive still loads', () => {
		const sae = loadSae(gemmaScope({ data: Buffer.concat([header, Buffer.alloc(128)]), deflate: true }));
		assert.deepEqual([sae.cfg.d_in, sae.cfg.d_sae], [4, 8]);
	});
});

describe('paths and stored state', () => {
	it('an SAE whose feature-lens/ is a link out of its folder is refused, and nothing is written there', () => {
		const outside = fs.mkdtempSync(path.join(tmp, 'outside-'));
		const dir = copyOf(SAE, (d) => fs.symlinkSync(outside, path.join(d, 'feature-lens')));
		assert.throws(
			() => featureLensDir(dir),
			(e: Error) => e instanceof UnsafePathError && e.message === `${dir}: "feature-lens" is a link to ${fs.realpathSync(outside)}, outside ${fs.realpathSync(dir)}`,
		);
		assert.deepEqual(fs.readdirSync(outside), []);
		// A link that stays inside the folder is followed.
		const inside = copyOf(SAE, (d) => {
			fs.mkdirSync(path.join(d, 'shared'));
			fs.symlinkSync('shared', path.join(d, 'feature-lens'));
		});
		assert.equal(featureLensDir(inside), path.join(inside, 'feature-lens'));
	});

	it('a labels file with a malformed entry keeps its readable labels and refuses to be overwritten', () => {
		const dir = fs.mkdtempSync(path.join(tmp, 'labels-'));
		const file = path.join(dir, 'labels.json');
		const text = JSON.stringify({ formatVersion: 1, features: { 3: { label: 'colons', notes: '' }, 4: { label: 'x', notes: { bad: true } }, x: {} } });
		fs.writeFileSync(file, text);
		const labels = UserLabels.load(dir);
		assert.equal(labels.get(3).label, 'colons');
		assert.equal(labels.get(4).label, '');
		assert.match(labels.problem!, /labels\.json: "features\.4\.notes" must be a string \(got \{"bad":true\}\); fix or delete it; .*"features\.x" is not a feature number/);
		assert.throws(() => labels.set(5, 'new', ''), /cannot save the label: .*labels\.json: "features\.4\.notes" must be a string/);
		assert.equal(fs.readFileSync(file, 'utf8'), text);
		fs.writeFileSync(file, '{ "features": ');
		assert.match(UserLabels.load(dir).problem!, /labels\.json: not valid JSON/);
	});

	it('a release registry with a malformed entry is refused naming the field', () => {
		const file = path.join(tmp, 'sae-releases.json');
		const registry = JSON.parse(fs.readFileSync(shippedReleasesFile(), 'utf8')) as { releases: Record<string, { saes: Record<string, unknown>[] }> };
		const [name, release] = Object.entries(registry.releases)[0]!;
		release.saes[0]!.width = 'wide';
		fs.writeFileSync(file, JSON.stringify(registry));
		assert.throws(
			() => readRegistry(file),
			new RegExp(`sae-releases\\.json: not an SAE release registry: "releases\\.${name.replace(/[.]/g, '\\.')}\\.saes\\[0\\]\\.width" must be an integer ≥ 1 \\(got "wide"\\)`),
		);
	});
});
