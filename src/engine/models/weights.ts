// Checkpoint weights: one or many *.safetensors files (with model.safetensors.index.json), keys
// normalized by stripping the prefixes real checkpoints use. Graphs never embed the weights:
// each is an ONNX external-data initializer pointing straight into its shard (file, offset,
// length; safetensors data is raw little-endian row-major already), so a graph is kilobytes,
// there is no 2 GB protobuf cap, and onnxruntime reads each weight once, when the session that
// owns it is created.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { STORED_FLOAT_BYTES, countNonFinite, isStoredFloat, toFloat32, widenToFloat32 } from '../io/halfFloats';
import type { StoredFloat } from '../io/halfFloats';
import { resolveInside } from '../io/safePaths';
import { readSafetensorsHeader, readTensor } from '../io/safetensors';
import type { TensorEntry } from '../io/safetensors';
import { DataType, STORED_FLOAT_TYPE } from '../onnx/onnxProto';
import type { GraphBuilder, Value } from '../onnx/graphBuilder';
import { ModelConfigError } from './decoderConfig';

export class ModelWeights {
	/** Shards readRows reads embedding rows from, kept open while the model is. */
	private readonly rowFiles = new Map<string, number>();

	private constructor(
		private readonly entries: ReadonlyMap<string, TensorEntry>,
		readonly files: readonly string[],
		/** The folder that every shard's real path lies in: onnxruntime resolves external data against it. */
		readonly externalFolder: string,
		/** Each shard's location relative to `externalFolder`, as ONNX external data names it. */
		private readonly locations: ReadonlyMap<string, string>,
	) {}

	/** Indexes every tensor in the folder's safetensors files under its prefix-stripped name, reading headers only. */
	static open(dir: string, keyPrefixes: readonly string[]): ModelWeights {
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
		// onnxruntime refuses external data outside its folder after following symlinks, and in a
		// Hugging Face cache snapshot the shards are links into ../../blobs: use the common folder
		// of the real paths.
		const reals = new Map(files.map((f) => [f, fs.realpathSync(f)]));
		const folder = commonFolder([...reals.values()]);
		const locations = new Map([...reals].map(([f, real]) => [f, path.relative(folder, real).split(path.sep).join('/')]));
		return new ModelWeights(entries, files, folder, locations);
	}

	has(name: string): boolean {
		return this.entries.has(name);
	}

	/** The float format a weight is stored in. */
	storedDtype(name: string): StoredFloat {
		const entry = this.entries.get(name);
		if (!entry) throw new ModelConfigError(`checkpoint is missing weight "${name}" (looked in ${this.files.map((f) => path.basename(f)).join(', ')})`);
		return this.entry(name, entry.shape).dtype;
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
		if (!isStoredFloat(entry.dtype)) {
			throw new ModelConfigError(`${path.basename(entry.file)}: weight "${entry.name}" has dtype ${entry.dtype}; only F32, F16 and BF16 are supported`);
		}
		return entry as TensorEntry & { dtype: StoredFloat };
	}

	/**
	 * Declares a weight in a graph under construction in its stored dtype, as an external
	 * initializer in its shard.
	 */
	declareStored(b: GraphBuilder, name: string, shape: readonly number[]): { value: Value; dataType: DataType } {
		const entry = this.entry(name, shape);
		const dataType = STORED_FLOAT_TYPE[entry.dtype];
		const value = b.externalInitializer(name, dataType, shape, {
			location: this.locations.get(entry.file)!,
			offset: entry.begin,
			length: entry.end - entry.begin,
		});
		return { value, dataType };
	}

	/** Bytes the named weights take as float32. */
	float32Bytes(names: Iterable<string>): number {
		let bytes = 0;
		for (const name of names) {
			const e = this.entries.get(name);
			if (e) bytes += ((e.end - e.begin) / STORED_FLOAT_BYTES[e.dtype as StoredFloat]) * 4;
		}
		return bytes;
	}

	/** Bytes the named weights take in their shards (what creating their sessions reads). */
	storedBytes(names: Iterable<string>): number {
		let bytes = 0;
		for (const name of names) {
			const e = this.entries.get(name);
			if (e) bytes += e.end - e.begin;
		}
		return bytes;
	}

	/**
	 * Reads the named weights' bytes from their shards in chunks, asynchronously, calling
	 * `onBytes` as it goes; `signal` stops it. What is read is dropped: this puts the shards in
	 * the page cache (where onnxruntime then finds them) with progress, and proves every byte
	 * readable. Each chunk is also scanned for NaN and ±Inf as it passes (an integer test per
	 * value, no second read): a checkpoint holding any is refused, naming the weights and how
	 * many, rather than run to NaN logits.
	 */
	async read(names: readonly string[], chunk: number, onBytes: (n: number) => void, signal?: AbortSignal): Promise<void> {
		const byFile = new Map<string, TensorEntry[]>();
		for (const n of names) {
			const e = this.entries.get(n);
			if (!e) continue;
			if (!byFile.has(e.file)) byFile.set(e.file, []);
			byFile.get(e.file)!.push(e);
		}
		// Two buffers: the next chunk is being read while this one is scanned, so the scan costs
		// no time where the disk is the limit. Whole values per read (chunk rounded down to 4
		// bytes), each buffer of its own so typed views are aligned.
		const size = Math.max(4, chunk - (chunk % 4));
		const scratch = [Buffer.from(new ArrayBuffer(size)), Buffer.from(new ArrayBuffer(size))] as const;
		const nonFinite: { entry: TensorEntry; count: number }[] = [];
		for (const [file, entries] of byFile) {
			const handle = await fs.promises.open(file, 'r');
			let pending: Promise<{ bytesRead: number }> | undefined;
			try {
				for (const e of entries.sort((x, y) => x.begin - y.begin)) {
					const dtype = e.dtype as StoredFloat;
					let bad = 0;
					let at = e.begin;
					let k: 0 | 1 = 0;
					pending = at < e.end ? handle.read(scratch[k], 0, Math.min(size, e.end - at), at) : undefined;
					while (pending) {
						const { bytesRead } = await pending;
						pending = undefined;
						if (bytesRead === 0) throw new ModelConfigError(`${file}: truncated while reading "${e.name}" (the file shrank after it was opened)`);
						const current = scratch[k];
						at += bytesRead;
						k = k === 0 ? 1 : 0;
						if (signal?.aborted) return;
						if (at < e.end) pending = handle.read(scratch[k], 0, Math.min(size, e.end - at), at);
						if (isStoredFloat(dtype)) bad += countNonFinite(dtype, current.subarray(0, bytesRead));
						onBytes(bytesRead);
					}
					if (bad > 0) nonFinite.push({ entry: e, count: bad });
				}
			} finally {
				// A read still in flight (an error while scanning) settles before its file closes.
				await pending?.catch(() => undefined);
				await handle.close();
			}
		}
		if (nonFinite.length > 0) throw nonFiniteError(nonFinite);
	}

	/**
	 * Rows `indices` of a [rows, width] weight as float32 [indices.length, width], read from the
	 * shard (adjacent rows in one read) and widened from f16/bf16.
	 */
	readRows(name: string, indices: ArrayLike<number>): Float32Array {
		const entry = this.entries.get(name);
		if (!entry || entry.shape.length !== 2) throw new Error(`internal: ${name} is not a [rows, width] weight`);
		const [rows, width] = entry.shape as [number, number];
		const dtype = entry.dtype as StoredFloat;
		const rowBytes = width * STORED_FLOAT_BYTES[dtype];
		const out = new Float32Array(indices.length * width);
		let fd = this.rowFiles.get(entry.file);
		if (fd === undefined) this.rowFiles.set(entry.file, (fd = fs.openSync(entry.file, 'r')));
		for (let i = 0; i < indices.length;) {
			// A run of consecutive rows (positions always are) is one read.
			let n = 1;
			while (i + n < indices.length && indices[i + n] === indices[i]! + n) n++;
			const first = indices[i]!;
			if (!Number.isInteger(first) || first < 0 || first + n > rows) throw new Error(`internal: row ${first} of ${name} is outside 0..${rows - 1}`);
			const bytes = Buffer.allocUnsafe(n * rowBytes);
			let off = 0;
			while (off < bytes.length) {
				const got = fs.readSync(fd, bytes, off, bytes.length - off, entry.begin + first * rowBytes + off);
				if (got === 0) throw new ModelConfigError(`${entry.file}: truncated while reading "${entry.name}" (the file shrank after it was opened)`);
				off += got;
			}
			const bad = countNonFinite(dtype, bytes);
			if (bad > 0) throw new ModelConfigError(`${entry.file}: rows ${first}..${first + n - 1} of weight "${entry.name}" hold ${bad} non-finite value${bad === 1 ? '' : 's'} (NaN or ±Inf): the checkpoint is corrupt (weights must be finite numbers)`);
			widenToFloat32(dtype, bytes, 0, n * width, out, i * width);
			i += n;
		}
		return out;
	}

	/** Closes the files readRows keeps open. */
	close(): void {
		for (const fd of this.rowFiles.values()) fs.closeSync(fd);
		this.rowFiles.clear();
	}

	/** A small weight read into memory as float32 (a norm's gain for the logit lens). */
	readFloat32(name: string, shape: readonly number[]): Float32Array {
		const entry = this.entry(name, shape);
		return toFloat32(entry.dtype, readTensor(entry).data);
	}
}

/** The error for weights holding NaN or ±Inf: each weight, its file and how many of its values. */
function nonFiniteError(found: readonly { entry: TensorEntry; count: number }[]): ModelConfigError {
	const each = found.slice(0, 5).map(({ entry, count }) => {
		const values = (entry.end - entry.begin) / STORED_FLOAT_BYTES[entry.dtype as StoredFloat];
		return `${entry.file}: weight "${entry.name}" holds ${count} non-finite value${count === 1 ? '' : 's'} (NaN or ±Inf) of ${values}`;
	});
	const more = found.length > 5 ? `; and ${found.length - 5} more weights` : '';
	return new ModelConfigError(`${each.join('; ')}${more}: the checkpoint is corrupt (weights must be finite numbers)`);
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
