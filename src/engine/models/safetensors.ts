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
	F64: 8, I64: 8, F32: 4, I32: 4, F16: 2, BF16: 2, U16: 2, I16: 2, U8: 1, I8: 1, BOOL: 1,
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
		let header: Record<string, unknown>;
		try {
			header = JSON.parse(headerBuf.toString('utf8')) as Record<string, unknown>;
		} catch {
			throw new SafetensorsError(`${file}: corrupt safetensors header (not valid JSON)`);
		}
		const dataStart = 8 + headerLen;
		const tensors: TensorEntry[] = [];
		let metadata: Record<string, string> = {};
		for (const [name, info] of Object.entries(header)) {
			if (name === '__metadata__') {
				metadata = (info ?? {}) as Record<string, string>;
				continue;
			}
			tensors.push(parseEntry(file, name, info, dataStart, size));
		}
		return { tensors, metadata };
	} finally {
		fs.closeSync(fd);
	}
}

function parseEntry(file: string, name: string, info: unknown, dataStart: number, size: number): TensorEntry {
	const i = info as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
	if (!i || typeof i.dtype !== 'string' || !Array.isArray(i.shape) || !Array.isArray(i.data_offsets)) {
		throw new SafetensorsError(`${file}: corrupt safetensors header entry for "${name}"`);
	}
	if (!(i.dtype in BYTES)) throw new SafetensorsError(`${file}: tensor "${name}" has unsupported dtype ${i.dtype}`);
	const dtype = i.dtype as SafetensorsDtype;
	const [b, e] = i.data_offsets;
	const count = i.shape.reduce((a, d) => a * d, 1);
	if (e - b !== count * BYTES[dtype]) {
		throw new SafetensorsError(`${file}: tensor "${name}" byte range ${b}..${e} does not match shape [${i.shape}] of ${dtype}`);
	}
	if (dataStart + e > size) {
		throw new SafetensorsError(`${file}: truncated: tensor "${name}" ends at byte ${dataStart + e} but the file has ${size} bytes`);
	}
	return { name, dtype, shape: i.shape, begin: dataStart + b, end: dataStart + e, file };
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
