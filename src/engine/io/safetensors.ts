// safetensors reading and writing. Tensors are read one at a time with positional reads, so
// files larger than Node's 2 GiB readFile limit load, and only requested tensors are read.

import * as fs from 'node:fs';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'U8' | 'I8' | 'BOOL' | 'U16' | 'I16';

export interface TensorEntry {
	name: string;
	dtype: SafetensorsDtype;
	shape: number[];
	/** Absolute byte range of the payload in the file. */
	begin: number;
	end: number;
	file: string;
}

export interface LoadedTensor {
	dtype: SafetensorsDtype;
	shape: number[];
	/** Little-endian payload bytes. */
	data: Buffer;
}

const BYTES: Record<SafetensorsDtype, number> = {
	F64: 8,
	I64: 8,
	F32: 4,
	I32: 4,
	F16: 2,
	BF16: 2,
	U16: 2,
	I16: 2,
	U8: 1,
	I8: 1,
	BOOL: 1,
};

const MAX_HEADER = 100_000_000;

export class SafetensorsError extends Error {}

/** Reads and validates a safetensors header; returns the tensors it describes and its metadata. */
export function readSafetensorsHeader(file: string): { tensors: TensorEntry[]; metadata: Record<string, string> } {
	const fd = fs.openSync(file, 'r');
	try {
		const size = fs.fstatSync(fd).size;
		const lenBuf = Buffer.alloc(8);
		if (size < 8 || fs.readSync(fd, lenBuf, 0, 8, 0) !== 8) {
			throw new SafetensorsError(`${file}: not a safetensors file (shorter than its 8-byte header length)`);
		}
		const headerLen = Number(lenBuf.readBigUInt64LE(0));
		if (headerLen > MAX_HEADER || 8 + headerLen > size) {
			throw new SafetensorsError(`${file}: corrupt or truncated safetensors header (header length ${headerLen}, file size ${size})`);
		}
		const headerBuf = Buffer.alloc(headerLen);
		fs.readSync(fd, headerBuf, 0, headerLen, 8);
		let header: unknown;
		try {
			header = JSON.parse(headerBuf.toString('utf8'));
		} catch {
			throw new SafetensorsError(`${file}: corrupt safetensors header (not valid JSON)`);
		}
		if (header === null || typeof header !== 'object' || Array.isArray(header)) {
			throw new SafetensorsError(`${file}: corrupt safetensors header (expected a JSON object of tensors)`);
		}
		const dataStart = 8 + headerLen;
		const tensors: TensorEntry[] = [];
		let metadata: Record<string, string> = {};
		for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
			if (name === '__metadata__') {
				metadata = (info ?? {}) as Record<string, string>;
				continue;
			}
			tensors.push(parseEntry(file, name, info, dataStart, size));
		}
		checkTiling(file, tensors, dataStart, size);
		return { tensors, metadata };
	} finally {
		fs.closeSync(fd);
	}
}

function parseEntry(file: string, name: string, info: unknown, dataStart: number, size: number): TensorEntry {
	const i = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
	if (!i || typeof i !== 'object' || typeof i.dtype !== 'string' || !Array.isArray(i.shape) || !Array.isArray(i.data_offsets)) {
		throw new SafetensorsError(`${file}: corrupt safetensors header entry for "${name}" (expected dtype, shape and data_offsets)`);
	}
	if (!(i.dtype in BYTES)) throw new SafetensorsError(`${file}: tensor "${name}" has unsupported dtype ${i.dtype}`);
	const dtype = i.dtype as SafetensorsDtype;
	const shape = i.shape as unknown[];
	if (!shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
		throw new SafetensorsError(`${file}: tensor "${name}" has shape ${JSON.stringify(shape)}; dimensions must be non-negative integers`);
	}
	const offsets = i.data_offsets as unknown[];
	if (offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && (o as number) >= 0) || (offsets[0] as number) > (offsets[1] as number)) {
		throw new SafetensorsError(`${file}: tensor "${name}" has data_offsets ${JSON.stringify(offsets)}; expected [begin, end] with 0 ≤ begin ≤ end`);
	}
	const [b, e] = offsets as [number, number];
	const count = (shape as number[]).reduce((a, d) => a * d, 1);
	if (e - b !== count * BYTES[dtype]) {
		throw new SafetensorsError(`${file}: tensor "${name}" byte range ${b}..${e} does not match shape [${(shape as number[]).join(',')}] of ${dtype}`);
	}
	if (dataStart + e > size) {
		throw new SafetensorsError(`${file}: truncated: tensor "${name}" ends at byte ${dataStart + e} but the file has ${size} bytes`);
	}
	return { name, dtype, shape: shape as number[], begin: dataStart + b, end: dataStart + e, file };
}

/** As the safetensors library requires: the tensors cover the data region exactly, without gaps or overlaps. */
function checkTiling(file: string, tensors: readonly TensorEntry[], dataStart: number, size: number): void {
	const sorted = [...tensors].sort((x, y) => x.begin - y.begin || x.end - y.end);
	let at = dataStart;
	for (const t of sorted) {
		if (t.begin !== at) {
			throw new SafetensorsError(
				t.begin < at
					? `${file}: tensor "${t.name}" overlaps the tensor before it (bytes ${t.begin - dataStart}..${t.end - dataStart})`
					: `${file}: ${t.begin - at} bytes before tensor "${t.name}" belong to no tensor (corrupt header)`,
			);
		}
		at = t.end;
	}
	if (at !== size) {
		throw new SafetensorsError(`${file}: the header describes ${at - dataStart} bytes of tensor data but the file holds ${size - dataStart}`);
	}
}

/** Reads one tensor's bytes. */
export function readTensor(entry: TensorEntry): LoadedTensor {
	const data = Buffer.allocUnsafe(entry.end - entry.begin);
	const fd = fs.openSync(entry.file, 'r');
	try {
		let off = 0;
		while (off < data.length) {
			const n = fs.readSync(fd, data, off, data.length - off, entry.begin + off);
			if (n === 0) throw new SafetensorsError(`${entry.file}: truncated while reading "${entry.name}"`);
			off += n;
		}
	} finally {
		fs.closeSync(fd);
	}
	return { dtype: entry.dtype, shape: entry.shape, data };
}

export interface TensorToWrite {
	dtype: SafetensorsDtype;
	shape: readonly number[];
	data: Uint8Array;
}

/** Serializes tensors in the safetensors layout (header padded with spaces to 8 bytes, contiguous data). */
export function encodeSafetensors(tensors: Record<string, TensorToWrite>, metadata?: Record<string, string>): Buffer {
	const header: Record<string, unknown> = {};
	if (metadata) header.__metadata__ = metadata;
	let offset = 0;
	const names = Object.keys(tensors);
	for (const name of names) {
		const t = tensors[name]!;
		const expected = t.shape.reduce((a, d) => a * d, 1) * BYTES[t.dtype];
		if (expected !== t.data.byteLength) throw new Error(`tensor ${name}: ${t.data.byteLength} bytes for shape [${t.shape}] ${t.dtype}`);
		header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
		offset += t.data.byteLength;
	}
	let json = JSON.stringify(header);
	json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
	const headerBytes = Buffer.from(json, 'utf8');
	const len = Buffer.alloc(8);
	len.writeBigUInt64LE(BigInt(headerBytes.length));
	return Buffer.concat([len, headerBytes, ...names.map((n) => tensors[n]!.data)]);
}
