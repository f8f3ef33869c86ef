// A small reader for NumPy .npz archives (a ZIP of .npy members), enough for Gemma Scope's
// params.npz. numpy writes every member with force_zip64, so local headers carry 0xFFFFFFFF
// sizes; sizes and offsets are therefore always taken from the central directory and its ZIP64
// extras. Files are read with positional reads so only the central directory and the members'
// bytes are touched, never the whole archive at once.

import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import type { SafetensorsDtype } from '../io/safetensors';

export class NpzError extends Error {}

export interface NpyArray {
	/** Safetensors dtype name for the array's element type. */
	dtype: SafetensorsDtype;
	shape: number[];
	/** Little-endian, C-order payload. */
	data: Buffer;
}

export interface NpzMember {
	/** Name inside the archive, e.g. `W_enc.npy`. */
	name: string;
	/** 0 = STORED, 8 = DEFLATE. */
	method: number;
	compressedSize: number;
	uncompressedSize: number;
	crc32: number;
	localHeaderOffset: number;
}

export interface NpyHeader {
	dtype: SafetensorsDtype;
	shape: number[];
	/** Bytes before the payload (magic, version, header length, header). */
	dataOffset: number;
	/** Whether the payload is big-endian and needs swapping to little-endian. */
	bigEndian: boolean;
	itemSize: number;
}

const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;
const EOCD_SIZE = 22;
const LOCATOR_SIZE = 20;
const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

/** numpy descr kind+size (after the byte-order character) → safetensors dtype. */
const DESCR: Record<string, { dtype: SafetensorsDtype; size: number }> = {
	f8: { dtype: 'F64', size: 8 },
	f4: { dtype: 'F32', size: 4 },
	f2: { dtype: 'F16', size: 2 },
	i8: { dtype: 'I64', size: 8 },
	i4: { dtype: 'I32', size: 4 },
	i2: { dtype: 'I16', size: 2 },
	i1: { dtype: 'I8', size: 1 },
	u2: { dtype: 'U16', size: 2 },
	u1: { dtype: 'U8', size: 1 },
	b1: { dtype: 'BOOL', size: 1 },
};

/** Lists the archive's members from its central directory (reads no member data). */
export function listNpz(file: string): NpzMember[] {
	return withFd(file, (fd, size) => readCentralDirectory(file, fd, size));
}

/** Reads every `.npy` member of an .npz archive, keyed by name without the `.npy` suffix. */
export function readNpz(file: string): Record<string, NpyArray> {
	return withFd(file, (fd, size) => {
		const out: Record<string, NpyArray> = {};
		for (const m of readCentralDirectory(file, fd, size)) {
			// np.load ignores members that are not arrays (np.savez only writes .npy members).
			if (!m.name.endsWith('.npy')) continue;
			const key = m.name.slice(0, -'.npy'.length);
			if (key in out) throw new NpzError(`${file}: duplicate member ${m.name}`);
			out[key] = readMember(file, fd, size, m);
		}
		return out;
	});
}

/** Parses a .npy header from the start of `buf`; `label` names the array in errors. */
export function parseNpyHeader(buf: Buffer, label: string): NpyHeader {
	if (buf.length < 10 || !buf.subarray(0, 6).equals(NPY_MAGIC)) {
		throw new NpzError(`${label}: not a .npy array (bad magic)`);
	}
	const major = buf[6]!;
	let headerStart: number;
	let headerLen: number;
	if (major === 1) {
		headerStart = 10;
		headerLen = buf.readUInt16LE(8);
	} else if (major === 2 || major === 3) {
		if (buf.length < 12) throw new NpzError(`${label}: truncated .npy header`);
		headerStart = 12;
		headerLen = buf.readUInt32LE(8);
	} else {
		throw new NpzError(`${label}: unsupported .npy format version ${major}.${buf[7]}`);
	}
	if (headerStart + headerLen > buf.length) throw new NpzError(`${label}: truncated .npy header`);
	// v1/v2 headers are latin1; v3 allows utf8. The keys and values we read are ASCII either way.
	const text = buf.toString(major === 3 ? 'utf8' : 'latin1', headerStart, headerStart + headerLen);
	const descrMatch = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(text);
	const fortranMatch = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text);
	const shapeMatch = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text);
	if (!descrMatch || !fortranMatch || !shapeMatch) {
		// A structured dtype has a list as descr, which the first regex does not match.
		throw new NpzError(`${label}: unsupported or malformed .npy header ${JSON.stringify(text.trim())}`);
	}
	if (fortranMatch[1] === 'True') {
		throw new NpzError(`${label}: array is stored in Fortran order (fortran_order: True); only C-order arrays are supported, re-save it with np.ascontiguousarray`);
	}
	const descr = descrMatch[1]!;
	const order = descr[0];
	const kind = DESCR[descr.slice(1)];
	if (!kind || (order !== '<' && order !== '>' && order !== '|' && order !== '=')) {
		throw new NpzError(`${label}: unsupported dtype ${JSON.stringify(descr)} (supported: float16/32/64, int8/16/32/64, uint8/16, bool)`);
	}
	const shape: number[] = [];
	for (const part of shapeMatch[1]!.split(',')) {
		const t = part.trim().replace(/L$/, ''); // Python 2 wrote longs as 3L.
		if (t === '') continue;
		if (!/^\d+$/.test(t)) throw new NpzError(`${label}: malformed shape ${JSON.stringify(shapeMatch[1])}`);
		shape.push(Number(t));
	}
	// '=' is native order; numpy writes '<' or '>' explicitly, and every platform we run on is little-endian.
	return { dtype: kind.dtype, shape, dataOffset: headerStart + headerLen, bigEndian: order === '>' && kind.size > 1, itemSize: kind.size };
}

function withFd<T>(file: string, fn: (fd: number, size: number) => T): T {
	let fd: number;
	try {
		fd = fs.openSync(file, 'r');
	} catch (e) {
		throw new NpzError(`${file}: cannot open (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
	}
	try {
		return fn(fd, fs.fstatSync(fd).size);
	} finally {
		fs.closeSync(fd);
	}
}

function readAt(file: string, fd: number, size: number, position: number, length: number): Buffer {
	if (position < 0 || position + length > size) {
		throw new NpzError(`${file}: truncated or corrupt zip (wants bytes ${position}..${position + length} of ${size})`);
	}
	if (length > MAX_BUFFER) throw new NpzError(`${file}: member of ${length} bytes is larger than this reader can hold in memory`);
	const buf = Buffer.allocUnsafe(length);
	let off = 0;
	while (off < length) {
		const n = fs.readSync(fd, buf, off, length - off, position + off);
		if (n === 0) throw new NpzError(`${file}: truncated (short read at byte ${position + off})`);
		off += n;
	}
	return buf;
}

const MAX_BUFFER = 2 ** 32 - 1;

/** A u64 as a safe JS number; ZIP64 fields beyond 2^53 can only come from a corrupt file. */
function u64(file: string, buf: Buffer, offset: number): number {
	const v = buf.readBigUInt64LE(offset);
	if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new NpzError(`${file}: corrupt ZIP64 field (${v})`);
	return Number(v);
}

function readCentralDirectory(file: string, fd: number, size: number): NpzMember[] {
	if (size < EOCD_SIZE) throw new NpzError(`${file}: not a zip archive (too short); an .npz must be a zip of .npy arrays`);
	// The end-of-central-directory record sits in the last 22 + 65535 (max comment) bytes.
	const tailLen = Math.min(size, EOCD_SIZE + U16_MAX + LOCATOR_SIZE + 56);
	const tailStart = size - tailLen;
	const tail = readAt(file, fd, size, tailStart, tailLen);
	let eocd = -1;
	for (let i = tail.length - EOCD_SIZE; i >= 0; i--) {
		if (tail.readUInt32LE(i) === SIG_EOCD && i + EOCD_SIZE + tail.readUInt16LE(i + 20) <= tail.length) {
			eocd = i;
			break;
		}
	}
	if (eocd < 0) throw new NpzError(`${file}: not a zip archive (no end-of-central-directory record); an .npz must be a zip of .npy arrays`);
	let entries = tail.readUInt16LE(eocd + 10);
	let cdSize = tail.readUInt32LE(eocd + 12);
	let cdOffset = tail.readUInt32LE(eocd + 16);
	if (tail.readUInt16LE(eocd + 4) !== 0 || tail.readUInt16LE(eocd + 6) !== 0) {
		throw new NpzError(`${file}: multi-disk zip archives are not supported`);
	}
	// A ZIP64 locator directly precedes the EOCD when the archive has a ZIP64 end record; its
	// values replace the 16/32-bit ones (which are then 0xFFFF/0xFFFFFFFF).
	const loc = eocd - LOCATOR_SIZE;
	if (loc >= 0 && tail.readUInt32LE(loc) === SIG_EOCD64_LOCATOR) {
		const rec64Offset = u64(file, tail, loc + 8);
		const rec = readAt(file, fd, size, rec64Offset, 56);
		if (rec.readUInt32LE(0) !== SIG_EOCD64) throw new NpzError(`${file}: corrupt zip (ZIP64 end record not found where its locator points)`);
		entries = u64(file, rec, 32);
		cdSize = u64(file, rec, 40);
		cdOffset = u64(file, rec, 48);
	} else if (entries === U16_MAX || cdSize === U32_MAX || cdOffset === U32_MAX) {
		throw new NpzError(`${file}: corrupt zip (ZIP64 sizes announced but no ZIP64 end record)`);
	}
	const cd = readAt(file, fd, size, cdOffset, cdSize);
	const members: NpzMember[] = [];
	let p = 0;
	for (let n = 0; n < entries; n++) {
		if (p + 46 > cd.length || cd.readUInt32LE(p) !== SIG_CENTRAL) throw new NpzError(`${file}: corrupt zip central directory (entry ${n})`);
		const flags = cd.readUInt16LE(p + 8);
		const method = cd.readUInt16LE(p + 10);
		const crc32 = cd.readUInt32LE(p + 16);
		let compressedSize = cd.readUInt32LE(p + 20);
		let uncompressedSize = cd.readUInt32LE(p + 24);
		const nameLen = cd.readUInt16LE(p + 28);
		const extraLen = cd.readUInt16LE(p + 30);
		const commentLen = cd.readUInt16LE(p + 32);
		let localHeaderOffset = cd.readUInt32LE(p + 42);
		const end = p + 46 + nameLen + extraLen + commentLen;
		if (end > cd.length) throw new NpzError(`${file}: corrupt zip central directory (entry ${n} overruns it)`);
		const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
		// ZIP64 extended information (id 0x0001) holds, in this order, exactly those fields whose
		// 32-bit value is 0xFFFFFFFF.
		let e = p + 46 + nameLen;
		const extraEnd = e + extraLen;
		while (e + 4 <= extraEnd) {
			const id = cd.readUInt16LE(e);
			const len = cd.readUInt16LE(e + 2);
			if (id === 0x0001) {
				let q = e + 4;
				const need = (): number => {
					if (q + 8 > e + 4 + len) throw new NpzError(`${file}: corrupt ZIP64 extra field for ${name}`);
					const v = u64(file, cd, q);
					q += 8;
					return v;
				};
				if (uncompressedSize === U32_MAX) uncompressedSize = need();
				if (compressedSize === U32_MAX) compressedSize = need();
				if (localHeaderOffset === U32_MAX) localHeaderOffset = need();
			}
			e += 4 + len;
		}
		if (flags & 0x1) throw new NpzError(`${file}: member ${name} is encrypted`);
		members.push({ name, method, compressedSize, uncompressedSize, crc32, localHeaderOffset });
		p = end;
	}
	return members;
}

/** The first bytes of a deflated member, enough for its .npy header, without inflating the rest. */
function inflateHead(label: string, packed: Buffer): Buffer {
	// Deflate expands at most ~1032:1, so a prefix of n compressed bytes inflates to at most about
	// n KiB: the prefix grows until the header is whole, up to 4 KiB (numpy's headers are a few
	// hundred bytes), and what is inflated stays within a few MiB whatever the stream holds.
	for (let take = 256; ; take *= 4) {
		let head: Buffer;
		try {
			head = zlib.inflateRawSync(packed.subarray(0, take), { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: 8 << 20 });
		} catch (e) {
			throw new NpzError(`${label}: corrupt compressed data (${(e as Error).message})`);
		}
		const need = head.length >= 10 && head[6] === 1 ? 10 + head.readUInt16LE(8) : head.length >= 12 ? 12 + head.readUInt32LE(8) : 12;
		if (head.length >= need || take >= packed.length || take >= 4096) return head;
	}
}

function readMember(file: string, fd: number, size: number, m: NpzMember): NpyArray {
	const label = `${file}: ${m.name}`;
	const local = readAt(file, fd, size, m.localHeaderOffset, 30);
	if (local.readUInt32LE(0) !== SIG_LOCAL) throw new NpzError(`${label}: corrupt zip (no local header at offset ${m.localHeaderOffset})`);
	// Only the name and extra lengths are taken from the local header: its sizes may be 0xFFFFFFFF.
	const dataStart = m.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
	if (dataStart + m.compressedSize > size) {
		throw new NpzError(`${label}: truncated (member data ends at byte ${dataStart + m.compressedSize} but the file has ${size} bytes)`);
	}
	let header: NpyHeader;
	let data: Buffer;
	let crc: number | undefined;
	const canCrc = typeof zlib.crc32 === 'function';
	if (m.method === 0) {
		if (m.compressedSize !== m.uncompressedSize) throw new NpzError(`${label}: corrupt zip (stored member with different sizes)`);
		// Read the header first, then the payload straight into its own buffer (no copy of a
		// possibly multi-GB member).
		const head = readAt(file, fd, size, dataStart, Math.min(m.uncompressedSize, 12));
		const headerLen = head.length >= 10 && head[6] === 1 ? 10 + head.readUInt16LE(8) : head.length >= 12 ? 12 + head.readUInt32LE(8) : 0;
		const headBuf = readAt(file, fd, size, dataStart, Math.min(m.uncompressedSize, Math.max(headerLen, head.length)));
		header = parseNpyHeader(headBuf, label);
		data = readAt(file, fd, size, dataStart + header.dataOffset, m.uncompressedSize - header.dataOffset);
		if (canCrc) crc = zlib.crc32(data, zlib.crc32(headBuf.subarray(0, header.dataOffset)));
	} else if (m.method === 8) {
		const packed = readAt(file, fd, size, dataStart, m.compressedSize);
		// The array's header is inflated first, from the start of the stream, and its shape says
		// how large the member may be: the zip's own size must agree, and the whole member is
		// inflated with that as its limit, so a small archive cannot deflate to gigabytes.
		header = parseNpyHeader(inflateHead(label, packed), label);
		const expected = header.dataOffset + header.shape.reduce((a, d) => a * d, 1) * header.itemSize;
		if (m.uncompressedSize !== expected) {
			throw new NpzError(`${label}: the zip says it inflates to ${m.uncompressedSize} bytes, but its shape [${header.shape.join(', ')}] of ${header.dtype} takes ${expected}`);
		}
		if (expected > MAX_BUFFER) throw new NpzError(`${label}: member of ${expected} bytes is larger than this reader can hold in memory`);
		let raw: Buffer;
		try {
			raw = zlib.inflateRawSync(packed, { maxOutputLength: Math.max(1, expected) });
		} catch (e) {
			if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
				throw new NpzError(`${label}: corrupt compressed data (inflates to more than the ${expected} bytes its shape [${header.shape.join(', ')}] of ${header.dtype} takes)`);
			}
			throw new NpzError(`${label}: corrupt compressed data (${(e as Error).message})`);
		}
		if (raw.length !== expected) throw new NpzError(`${label}: corrupt compressed data (inflated to ${raw.length} bytes, expected ${expected})`);
		data = raw.subarray(header.dataOffset);
		if (canCrc) crc = zlib.crc32(raw);
	} else {
		throw new NpzError(`${label}: unsupported zip compression method ${m.method} (only stored and deflate)`);
	}
	if (crc !== undefined && crc >>> 0 !== m.crc32) throw new NpzError(`${label}: corrupt member (CRC mismatch)`);
	const count = header.shape.reduce((a, d) => a * d, 1);
	if (data.length !== count * header.itemSize) {
		throw new NpzError(`${label}: payload has ${data.length} bytes but shape [${header.shape.join(', ')}] of ${header.dtype} needs ${count * header.itemSize}`);
	}
	if (header.bigEndian) {
		if (header.itemSize === 2) data.swap16();
		else if (header.itemSize === 4) data.swap32();
		else if (header.itemSize === 8) data.swap64();
	}
	return { dtype: header.dtype, shape: header.shape, data };
}
