// Weights by reference: shards read in place (external data), in a Hugging Face cache layout
// too; hostile shard files and indexes refused with the file and field named; a model too
// large for memory refused with the numbers; loading with progress and cancel, nothing
// half-loaded; the trunk and its variants giving the same values however a run is split.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { encodeSafetensors, readSafetensorsHeader, SafetensorsError } from '../../src/engine/io/safetensors';
import { UnsafePathError } from '../../src/engine/io/safePaths';
import { ModelConfigError } from '../../src/engine/models/decoderConfig';
import { LanguageModel, ModelLoadCancelled } from '../../src/engine/models/languageModel';
import type { PrepareProgress } from '../../src/engine/models/languageModel';
import { buildTrunkGraph } from '../../src/engine/models/decoderGraph';
import { architectureFor } from '../../src/engine/models/architectures';
import { ModelWeights } from '../../src/engine/models/weights';
import { fixtureModel, maxAbsDiff } from '../helpers';

const CPU = { executionProvider: 'cpu', threads: 1 } as const;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-weights-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const IDS = [5, 61, 200, 17, 33, 256, 101, 7, 299, 42];

function copyOf(name: string, change: (dir: string) => void = () => {}): string {
	const dir = fs.mkdtempSync(path.join(tmp, `${name}-`));
	for (const f of fs.readdirSync(fixtureModel(name))) fs.copyFileSync(path.join(fixtureModel(name), f), path.join(dir, f));
	change(dir);
	return dir;
}

/** A safetensors file whose header is `header` (as given, however wrong) followed by `dataBytes` zero bytes. */
function writeRawSafetensors(file: string, header: unknown, dataBytes: number, headerLength?: number): void {
	const json = Buffer.from(JSON.stringify(header));
	const len = Buffer.alloc(8);
	len.writeBigUInt64LE(BigInt(headerLength ?? json.length));
	fs.writeFileSync(file, Buffer.concat([len, json, Buffer.alloc(dataBytes)]));
}

describe('safetensors headers are checked before any weight is used', () => {
	const cases: [string, unknown, number, RegExp, number?][] = [
		['a null header', null, 0, /expected a JSON object of tensors/],
		['a negative start offset', { w: { dtype: 'F32', shape: [2], data_offsets: [-8, 0] } }, 8, /data_offsets \[-8,0\]; expected \[begin, end\] with 0 ≤ begin ≤ end/],
		['fractional offsets', { w: { dtype: 'F32', shape: [2], data_offsets: [0, 7.5] } }, 8, /data_offsets \[0,7\.5\]/],
		['offsets that disagree with the shape', { w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8, /byte range 0\.\.8 does not match shape \[3\] of F32/],
		['a negative dimension', { w: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, 8, /dimensions must be non-negative integers/],
		['a gap between tensors', { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, 12, /4 bytes before tensor "b" belong to no tensor/],
		['overlapping tensors', { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8, /overlaps the tensor before it/],
		['trailing bytes no tensor describes', { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 12, /describes 4 bytes of tensor data but the file holds 12/],
	];
	for (const [what, header, dataBytes, message] of cases) {
		it(`refuses ${what}, naming the file`, () => {
			const file = path.join(tmp, `${what.replace(/\W+/g, '-')}.safetensors`);
			writeRawSafetensors(file, header, dataBytes);
			assert.throws(
				() => readSafetensorsHeader(file),
				(e: Error) => e instanceof SafetensorsError && e.message.startsWith(file) && message.test(e.message),
			);
		});
	}

	it('refuses a header length one byte short (which would read every weight shifted)', () => {
		const file = path.join(tmp, 'short-header.safetensors');
		const good = encodeSafetensors({ w: { dtype: 'F32', shape: [2], data: new Uint8Array(8) } });
		const len = good.readBigUInt64LE(0);
		good.writeBigUInt64LE(len - 1n, 0);
		fs.writeFileSync(file, good);
		assert.throws(() => readSafetensorsHeader(file), SafetensorsError);
	});
});

describe('shard indexes and paths', () => {
	it('refuses a shard name that leaves the model folder', () => {
		const dir = copyOf('llama-tiny-bf16', (d) => {
			const index = path.join(d, 'model.safetensors.index.json');
			const parsed = JSON.parse(fs.readFileSync(index, 'utf8')) as { weight_map: Record<string, string> };
			const first = Object.keys(parsed.weight_map)[0]!;
			parsed.weight_map[first] = '../../outside/model.safetensors';
			fs.writeFileSync(index, JSON.stringify(parsed));
		});
		assert.throws(
			() => LanguageModel.load(dir, CPU),
			(e: Error) => e instanceof UnsafePathError && /model\.safetensors\.index\.json: "\.\.\/\.\.\/outside\/model\.safetensors" points outside/.test(e.message),
		);
	});

	it('refuses a shard that is a link to a file outside the model folder', () => {
		const outside = copyOf('gpt2-tiny');
		const dir = fs.mkdtempSync(path.join(tmp, 'linked-'));
		fs.copyFileSync(path.join(outside, 'config.json'), path.join(dir, 'config.json'));
		fs.symlinkSync(path.join(outside, 'model.safetensors'), path.join(dir, 'model.safetensors'));
		fs.writeFileSync(
			path.join(dir, 'model.safetensors.index.json'),
			JSON.stringify({ weight_map: Object.fromEntries(readSafetensorsHeader(path.join(outside, 'model.safetensors')).tensors.map((t) => [t.name, 'model.safetensors'])) }),
		);
		assert.throws(
			() => LanguageModel.load(dir, CPU),
			(e: Error) => e instanceof UnsafePathError && /is a link to .*, outside/.test(e.message),
		);
	});

	it('refuses an index that places a tensor in a shard that does not hold it', () => {
		const dir = copyOf('llama-tiny-bf16', (d) => {
			const index = path.join(d, 'model.safetensors.index.json');
			const parsed = JSON.parse(fs.readFileSync(index, 'utf8')) as { weight_map: Record<string, string> };
			const [name, shard] = Object.entries(parsed.weight_map)[0]!;
			parsed.weight_map[name] = shard.includes('00001') ? 'model-00002-of-00002.safetensors' : 'model-00001-of-00002.safetensors';
			fs.writeFileSync(index, JSON.stringify(parsed));
		});
		assert.throws(
			() => LanguageModel.load(dir, CPU),
			(e: Error) => e instanceof ModelConfigError && /places ".*" in model-0000\d-of-00002\.safetensors, but it is in model-0000\d-of-00002\.safetensors/.test(e.message),
		);
	});

	it('refuses an index whose weight_map is not an object of shard names', () => {
		const dir = copyOf('llama-tiny-bf16', (d) => fs.writeFileSync(path.join(d, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { 'model.norm.weight': 7 } })));
		assert.throws(() => LanguageModel.load(dir, CPU), /weight_map\["model\.norm\.weight"\] must be a shard file name \(got 7\)/);
	});

	it('loads a Hugging Face cache snapshot whose files link into ../../blobs, with the same logits', async () => {
		const repo = path.join(tmp, 'hub', 'models--org--llama-tiny-bf16');
		const snapshot = path.join(repo, 'snapshots', '0123456789abcdef0123456789abcdef01234567');
		fs.mkdirSync(path.join(repo, 'blobs'), { recursive: true });
		fs.mkdirSync(snapshot, { recursive: true });
		for (const f of fs.readdirSync(fixtureModel('llama-tiny-bf16'))) {
			const blob = path.join(repo, 'blobs', `blob-${f.length}-${f.replace(/\W/g, '')}`);
			fs.copyFileSync(path.join(fixtureModel('llama-tiny-bf16'), f), blob);
			fs.symlinkSync(path.relative(snapshot, blob), path.join(snapshot, f));
		}
		const cached = LanguageModel.load(snapshot, CPU);
		const direct = LanguageModel.load(fixtureModel('llama-tiny-bf16'), CPU);
		after(() => Promise.all([cached.dispose(), direct.dispose()]));
		const a = await cached.forward({ ids: [IDS], logits: 'all' });
		const b = await direct.forward({ ids: [IDS], logits: 'all' });
		assert.equal(maxAbsDiff(a.logits!.data as Float32Array, b.logits!.data as Float32Array), 0);
	});
});

describe('the trunk refers to the shards', () => {
	it('is the same graph whatever the weights hold: no weight byte is in it, every weight an external initializer', () => {
		const arch = architectureFor('llama')!;
		const trunkOf = (dir: string) => {
			const raw = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
			const weights = ModelWeights.open(dir, arch.keyPrefixes);
			const cfg = arch.config(raw);
			const model = LanguageModel.load(dir, CPU);
			return { trunk: buildTrunkGraph(arch, cfg, weights, new Map(model.hookPoints.map((h) => [h.name, h]))), weights };
		};
		// The same headers over other weight values: every shard's data region overwritten.
		const other = copyOf('llama-tiny-bf16', (d) => {
			for (const f of fs.readdirSync(d).filter((n) => n.endsWith('.safetensors'))) {
				const file = path.join(d, f);
				const { tensors } = readSafetensorsHeader(file);
				const bytes = fs.readFileSync(file);
				const start = Math.min(...tensors.map((t) => t.begin));
				for (let i = start; i < bytes.length; i++) bytes[i] = (i * 7919) & 0xff;
				fs.writeFileSync(file, bytes);
			}
		});
		const a = trunkOf(fixtureModel('llama-tiny-bf16'));
		const b = trunkOf(other);
		assert.ok(a.trunk.bytes.equals(b.trunk.bytes), 'the graph depends on the headers only');
		assert.deepEqual(new Set([...a.trunk.materialized, ...a.trunk.rowInputs.map((r) => r.weight)]), new Set(a.weights.names()), 'every checkpoint weight is referenced');
		assert.deepEqual(
			a.trunk.rowInputs.map((r) => r.weight),
			['embed_tokens.weight'],
			'the untied embedding is read row by row, never held whole',
		);
		assert.ok(!a.trunk.materialized.includes('embed_tokens.weight'));
	});
});

describe('loading: memory check, progress, cancel', () => {
	it('refuses a model whose weights will not fit in memory, with the numbers', () => {
		assert.throws(
			() => LanguageModel.load(fixtureModel('gpt2-tiny'), CPU, () => {}, { memoryAvailable: 1000 }),
			(e: Error) => e instanceof ModelConfigError && /weights take \d+ kB as float32 \(0\.\d+B parameters\), but only 1 kB of memory is available/.test(e.message),
		);
	});

	it('reads the weights with progress in bytes, then packs them', async () => {
		const model = LanguageModel.load(fixtureModel('llama-tiny-bf16'), CPU);
		after(() => model.dispose());
		const events: PrepareProgress[] = [];
		assert.equal(model.ready, false);
		await model.prepare({ onProgress: (p) => events.push({ ...p }) });
		assert.equal(model.ready, true);
		const reading = events.filter((e) => e.phase === 'reading');
		assert.ok(reading.length >= 2);
		for (let i = 1; i < reading.length; i++) assert.ok(reading[i]!.bytesDone >= reading[i - 1]!.bytesDone);
		const total = reading[0]!.bytesTotal;
		assert.ok(total > 0);
		assert.equal(reading.at(-1)!.bytesDone, total);
		assert.equal(events.at(-1)!.phase, 'packing');
		assert.equal(model.cachedGraphCount(), 1);
	});

	it('a cancelled load releases everything, and a later load works', async () => {
		// A checkpoint large enough to take several read chunks.
		const model = LanguageModel.load(fixtureModel('llama-tiny-bf16'), CPU);
		after(() => model.dispose());
		const abort = new AbortController();
		await assert.rejects(model.prepare({ signal: abort.signal, onProgress: () => abort.abort() }), ModelLoadCancelled);
		assert.equal(model.ready, false);
		assert.equal(model.cachedGraphCount(), 0);
		await model.prepare();
		const out = await model.forward({ ids: [IDS], logits: 'last' });
		assert.equal(out.logits!.dims[2], model.cfg.dVocab);
	});
});

describe('one trunk run or many, with variants: the same values', () => {
	for (const name of ['gpt2-tiny', 'llama-tiny-bf16']) {
		it(`${name}: logits for the last position only, or none; boundary and inner hooks mixed; variants evicted under a small budget`, async () => {
			const model = LanguageModel.load(fixtureModel(name), CPU, () => {}, { variantBudget: 1 });
			after(() => model.dispose());
			const L = model.cfg.nLayers;
			const inner = ['blocks.0.hook_mlp_out', `blocks.${L - 1}.attn.hook_z`];
			const boundary = ['blocks.0.hook_resid_post', `blocks.${L - 1}.hook_resid_pre`, `blocks.${L - 1}.hook_resid_post`];
			const hooks = [...inner, ...boundary, 'ln_final.hook_normalized'];
			const all = await model.forward({ ids: [IDS], hooks, logits: 'all' });
			const V = model.cfg.dVocab;
			const last = await model.forward({ ids: [IDS], logits: 'last' });
			assert.deepEqual(last.logits!.dims, [1, 1, V]);
			assert.ok(maxAbsDiff(last.logits!.data as Float32Array, (all.logits!.data as Float32Array).subarray((IDS.length - 1) * V)) < 1e-5);
			const none = await model.forward({ ids: [IDS], hooks: ['blocks.0.hook_resid_post'], logits: 'none' });
			assert.equal(none.logits, undefined);
			for (const h of hooks) {
				const alone = await model.forward({ ids: [IDS], hooks: [h], logits: 'none' });
				assert.ok(maxAbsDiff(alone.hooks[h]!.data as Float32Array, all.hooks[h]!.data as Float32Array) < 1e-5, h);
			}
			// hook_resid_pre of a block is hook_resid_post of the one before.
			assert.equal(
				maxAbsDiff(
					all.hooks[`blocks.${L - 1}.hook_resid_pre`]!.data as Float32Array,
					(await model.forward({ ids: [IDS], hooks: [`blocks.${L - 2}.hook_resid_post`], logits: 'none' })).hooks[`blocks.${L - 2}.hook_resid_post`]!.data as Float32Array,
				),
				0,
			);
			// A budget of one byte keeps only the variant in use: the trunk and at most one variant stay open.
			assert.ok(model.cachedGraphCount() <= 2, `${model.cachedGraphCount()} sessions`);
		});
	}
});
