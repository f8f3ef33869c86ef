// Checkpoint weights: one or many *.safetensors files (with model.safetensors.index.json), keys
// normalized by stripping the prefixes real checkpoints use. Graphs never embed the weights:
// they declare each one by name (weightBinding), and either every session is fed the same
// float32 copy held here (`feed`, the CPU) or onnxruntime reads the bytes straight from the
// shards as external data (`external`, CUDA).

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { STORED_FLOAT_BYTES, widenToFloat32 } from '../io/halfFloats';
import type { StoredFloat } from '../io/halfFloats';
import { resolveInside } from '../io/safePaths';
import { readSafetensorsHeader, SafetensorsError } from '../io/safetensors';
import type { TensorEntry } from '../io/safetensors';
import { DataType } from '../onnx/onnxProto';
import type { GraphBuilder, Value } from '../onnx/graphBuilder';
import type { WeightBinding } from '../onnx/session';
import { ModelConfigError } from './decoderConfig';

const ONNX_TYPE: Readonly<Record<StoredFloat, DataType>> = { F32: DataType.FLOAT, F16: DataType.FLOAT16, BF16: DataType.BFLOAT16 };

/** Bytes read per step while loading: the engine answers other requests between steps. */
const CHUNK_BYTES = 16 << 20;

/** Progress of a weight load, in bytes read from the shards. */
export interface WeightLoadProgress {
	bytesDone: number;
	bytesTotal: number;
	tensorsDone: number;
	tensorsTotal: number;
}

export interface LoadWeightsOptions {
	onProgress?: (progress: WeightLoadProgress) => void;
	signal?: AbortSignal;
}

export class WeightLoadCancelled extends Error {
	constructor() {
		super('model loading cancelled');
	}
}

export class ModelWeights {
	/** float32 copies of loaded weights (`feed`), as onnxruntime tensors reused by every run. */
	private readonly loaded = new Map<string, ort.Tensor>();

	private constructor(
		private readonly entries: ReadonlyMap<string, TensorEntry>,
		readonly files: readonly string[],
		readonly binding: WeightBinding,
		/** `external`: the folder that every shard's real path lies in, and each shard's location relative to it. */
		readonly externalFolder: string,
		private readonly locations: ReadonlyMap<string, string>,
	) {}

	/** Indexes every tensor in the folder's safetensors files under its prefix-stripped name, reading headers only. */
	static open(dir: string, keyPrefixes: readonly string[], binding: WeightBinding): ModelWeights {
		const files = safetensorsFiles(dir);
		const entries = new Map<string, TensorEntry>();
		for (const file of files) {
			for (const entry of readSafetensorsHeader(file).tensors) {
				const name = stripPrefix(entry.name, keyPrefixes);
				const twin = entries.get(name);
				if (twin) throw new ModelConfigError(`${path.basename(file)}: weight "${entry.name}" is also in ${path.basename(twin.file)}`);
				entries.set(name, entry);
			}
		}
		checkIndex(dir, entries);
		// onnxruntime resolves external data against one folder and refuses locations that leave
		// it, after following symlinks: in a Hugging Face cache the shards link into ../../blobs.
		const reals = new Map(files.map((f) => [f, fs.realpathSync(f)]));
		const folder = commonFolder([...reals.values()]);
		const locations = new Map([...reals].map(([f, real]) => [f, path.relative(folder, real).split(path.sep).join('/')]));
		return new ModelWeights(entries, files, binding, folder, locations);
	}

	has(name: string): boolean {
		return this.entries.has(name);
	}

	names(): string[] {
		return [...this.entries.keys()];
	}

	/** A weight's index entry, checked against the shape the config implies and for a float dtype. */
	entry(name: string, shape: readonly number[]): TensorEntry & { dtype: StoredFloat } {
		const entry = this.entries.get(name);
		if (!entry) {
			throw new ModelConfigError(`checkpoint is missing weight "${name}" (looked in ${this.files.map((f) => path.basename(f)).join(', ')})`);
		}
		if (entry.shape.length !== shape.length || entry.shape.some((d, i) => d !== shape[i])) {
			throw new ModelConfigError(`${path.basename(entry.file)}: weight "${entry.name}" has shape [${entry.shape}], but config.json implies [${shape}]`);
		}
		if (!(entry.dtype in ONNX_TYPE)) {
			throw new ModelConfigError(`${path.basename(entry.file)}: weight "${entry.name}" has dtype ${entry.dtype}; only F32, F16 and BF16 are supported`);
		}
		return entry as TensorEntry & { dtype: StoredFloat };
	}

	/**
	 * Declares a weight in a graph under construction, as a float32 value: a graph input fed
	 * from this store (`feed`), or an external initializer in the shard, cast to float32 when
	 * stored as f16/bf16 (`external`).
	 */
	declare(b: GraphBuilder, name: string, shape: readonly number[]): Value {
		const entry = this.entry(name, shape);
		if (this.binding === 'feed') return b.weightInput(name, shape);
		const stored = b.externalInitializer(name, ONNX_TYPE[entry.dtype], shape, {
			location: this.locations.get(entry.file)!,
			offset: entry.begin,
			length: entry.end - entry.begin,
		});
		return entry.dtype === 'F32' ? stored : b.cast(stored, DataType.FLOAT);
	}

	/** Bytes the named weights take once widened to float32 (what `feed` holds in memory). */
	float32Bytes(names: Iterable<string>): number {
		let bytes = 0;
		for (const name of names) {
			const e = this.entries.get(name);
			if (e) bytes += ((e.end - e.begin) / STORED_FLOAT_BYTES[e.dtype as StoredFloat]) * 4;
		}
		return bytes;
	}

	/** Whether every named weight is ready to be fed (always, for `external`). */
	isLoaded(names: Iterable<string>): boolean {
		if (this.binding === 'external') return true;
		for (const name of names) if (!this.loaded.has(name)) return false;
		return true;
	}

	/**
	 * Reads the named weights into float32 memory, tensor by tensor and in chunks, widening f16 and
	 * bf16 as it goes, so the model is never held twice. Reads are asynchronous and the event loop
	 * runs between chunks: the engine stays responsive, and `signal` cancels (keeping nothing).
	 */
	async load(names: Iterable<string>, options: LoadWeightsOptions = {}): Promise<void> {
		if (this.binding === 'external') return;
		const todo = [...new Set(names)].filter((n) => !this.loaded.has(n)).map((n) => ({ name: n, entry: this.entries.get(n)! }));
		const progress: WeightLoadProgress = { bytesDone: 0, bytesTotal: 0, tensorsDone: 0, tensorsTotal: todo.length };
		for (const t of todo) progress.bytesTotal += t.entry.end - t.entry.begin;
		options.onProgress?.({ ...progress });
		const done: string[] = [];
		const scratch = Buffer.allocUnsafe(CHUNK_BYTES);
		const handles = new Map<string, fs.promises.FileHandle>();
		try {
			for (const { name, entry } of todo) {
				const dtype = entry.dtype as StoredFloat;
				const elementBytes = STORED_FLOAT_BYTES[dtype];
				const count = (entry.end - entry.begin) / elementBytes;
				let values: Float32Array;
				try {
					values = new Float32Array(count);
				} catch {
					throw new ModelConfigError(`${path.basename(entry.file)}: weight "${entry.name}" (${count} values) is larger than one float32 array can hold in Node`);
				}
				let handle = handles.get(entry.file);
				if (!handle) {
					handle = await fs.promises.open(entry.file, 'r');
					handles.set(entry.file, handle);
				}
				const step = Math.floor(CHUNK_BYTES / elementBytes);
				for (let at = 0; at < count; at += step) {
					if (options.signal?.aborted) throw new WeightLoadCancelled();
					const n = Math.min(step, count - at);
					const position = entry.begin + at * elementBytes;
					// f32 reads straight into the destination; f16/bf16 read into scratch and widen.
					const target = dtype === 'F32' ? new Uint8Array(values.buffer, at * 4, n * 4) : scratch.subarray(0, n * elementBytes);
					await readFully(handle, target, position, entry);
					if (dtype !== 'F32') widenToFloat32(dtype, target, 0, n, values, at);
					progress.bytesDone += n * elementBytes;
					options.onProgress?.({ ...progress });
				}
				this.loaded.set(name, new ort.Tensor('float32', values, entry.shape));
				done.push(name);
				progress.tensorsDone++;
			}
		} catch (err) {
			// Nothing half-loaded: a failed or cancelled load drops what it read.
			for (const name of done) this.loaded.delete(name);
			throw err;
		} finally {
			for (const h of handles.values()) await h.close();
		}
		options.onProgress?.({ ...progress });
	}

	/** The loaded float32 weights to feed a session whose graph declared `names`. */
	feeds(names: readonly string[]): Record<string, ort.Tensor> {
		const feeds: Record<string, ort.Tensor> = {};
		for (const name of names) {
			const t = this.loaded.get(name);
			if (!t) throw new Error(`internal: weight ${name} fed before it was loaded`);
			feeds[name] = t;
		}
		return feeds;
	}

	/** Drops the float32 copies (the model is being unloaded). */
	release(): void {
		this.loaded.clear();
	}
}

async function readFully(handle: fs.promises.FileHandle, target: Uint8Array, position: number, entry: TensorEntry): Promise<void> {
	let off = 0;
	while (off < target.length) {
		const { bytesRead } = await handle.read(target, off, target.length - off, position + off);
		if (bytesRead === 0) throw new SafetensorsError(`${entry.file}: truncated while reading "${entry.name}" (the file shrank after it was opened)`);
		off += bytesRead;
	}
}

function stripPrefix(name: string, prefixes: readonly string[]): string {
	for (const p of prefixes) if (name.startsWith(p)) return name.slice(p.length);
	return name;
}

const INDEX_FILE = 'model.safetensors.index.json';

/** The shard list from model.safetensors.index.json, else every *.safetensors in the folder. */
function safetensorsFiles(dir: string): string[] {
	const index = path.join(dir, INDEX_FILE);
	if (fs.existsSync(index)) {
		const shards = [...new Set(Object.values(readWeightMap(index)))].sort();
		return shards.map((s) => {
			const file = resolveInside(dir, s, index);
			if (!fs.existsSync(file)) throw new ModelConfigError(`${index} lists shard ${s}, which is missing from ${dir}`);
			return file;
		});
	}
	const files = fs.readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();
	if (files.length === 0) throw new ModelConfigError(`${dir}: no *.safetensors weights found (only safetensors checkpoints are supported)`);
	return files.map((f) => path.join(dir, f));
}

function readWeightMap(index: string): Record<string, string> {
	let parsed: unknown;
	try {
		parsed = JSON.parse(fs.readFileSync(index, 'utf8'));
	} catch {
		throw new ModelConfigError(`${index}: not valid JSON`);
	}
	const map = (parsed as { weight_map?: unknown } | null)?.weight_map;
	if (!map || typeof map !== 'object' || Array.isArray(map)) throw new ModelConfigError(`${index}: missing "weight_map" (an object from tensor name to shard file)`);
	for (const [tensor, shard] of Object.entries(map as Record<string, unknown>)) {
		if (typeof shard !== 'string') throw new ModelConfigError(`${index}: weight_map["${tensor}"] must be a shard file name (got ${JSON.stringify(shard)})`);
	}
	return map as Record<string, string>;
}

/** Every tensor the index places in a shard is in that shard's header. */
function checkIndex(dir: string, entries: ReadonlyMap<string, TensorEntry>): void {
	const index = path.join(dir, INDEX_FILE);
	if (!fs.existsSync(index)) return;
	const byRawName = new Map([...entries.values()].map((e) => [e.name, e]));
	for (const [tensor, shard] of Object.entries(readWeightMap(index))) {
		const entry = byRawName.get(tensor);
		if (!entry) throw new ModelConfigError(`${index} places "${tensor}" in ${shard}, but no shard holds it`);
		if (path.resolve(entry.file) !== path.resolve(dir, shard)) {
			throw new ModelConfigError(`${index} places "${tensor}" in ${shard}, but it is in ${path.basename(entry.file)}`);
		}
	}
}

function commonFolder(files: readonly string[]): string {
	let folder = path.dirname(files[0]!);
	for (const f of files) {
		while (path.relative(folder, f).startsWith('..')) folder = path.dirname(folder);
	}
	return folder;
}
