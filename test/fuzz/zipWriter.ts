// Writes .npz archives (zips of .npy members, stored or deflated) for the tests and the fuzzer,
// including ones that lie: a member whose central-directory size is not what it inflates to.

import * as zlib from 'node:zlib';

/** A .npy file as numpy writes it: header and payload (version 1 has a u16 header length, 2 and 3 a u32). */
export function npy(shape: readonly number[], data: Buffer, descr = '<f4', version = 1): Buffer {
	const prefix = version === 1 ? 10 : 12;
	let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
	header += ' '.repeat(63 - ((prefix + header.length) % 64)) + '\n';
	const pre = Buffer.alloc(prefix);
	Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]).copy(pre);
	if (version === 1) pre.writeUInt16LE(header.length, 8);
	else pre.writeUInt32LE(header.length, 8);
	return Buffer.concat([pre, Buffer.from(header, 'latin1'), data]);
}

export interface ZipMember {
	/** The member's bytes before compression. */
	data: Buffer;
	/** Deflate it (else stored). */
	deflate?: boolean;
	/** The deflated bytes to write instead of deflating `data` (a stream that inflates to something else). */
	packed?: Buffer;
	/** The uncompressed size the central directory declares (default: data's length). */
	declaredSize?: number;
}

export function crc32(b: Uint8Array): number {
	let c = 0xffffffff;
	for (const byte of b) {
		c ^= byte;
		for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
	}
	return (c ^ 0xffffffff) >>> 0;
}

/** A plain (non-ZIP64) zip of the members. */
export function zip(members: Record<string, ZipMember>): Buffer {
	const locals: Buffer[] = [];
	const centrals: Buffer[] = [];
	let offset = 0;
	for (const [name, m] of Object.entries(members)) {
		const nb = Buffer.from(name);
		const body = m.packed ?? (m.deflate ? zlib.deflateRawSync(m.data) : m.data);
		const method = m.packed || m.deflate ? 8 : 0;
		const crc = crc32(m.data);
		const size = m.declaredSize ?? m.data.length;
		const l = Buffer.alloc(30);
		l.writeUInt32LE(0x04034b50, 0);
		l.writeUInt16LE(20, 4);
		l.writeUInt16LE(method, 8);
		l.writeUInt32LE(crc, 14);
		l.writeUInt32LE(body.length, 18);
		l.writeUInt32LE(size, 22);
		l.writeUInt16LE(nb.length, 26);
		const c = Buffer.alloc(46);
		c.writeUInt32LE(0x02014b50, 0);
		c.writeUInt16LE(20, 4);
		c.writeUInt16LE(20, 6);
		c.writeUInt16LE(method, 10);
		c.writeUInt32LE(crc, 16);
		c.writeUInt32LE(body.length, 20);
		c.writeUInt32LE(size, 24);
		c.writeUInt16LE(nb.length, 28);
		c.writeUInt32LE(offset, 42);
		locals.push(l, nb, body);
		centrals.push(c, nb);
		offset += 30 + nb.length + body.length;
	}
	const cd = Buffer.concat(centrals);
	const end = Buffer.alloc(22);
	end.writeUInt32LE(0x06054b50, 0);
	end.writeUInt16LE(Object.keys(members).length, 8);
	end.writeUInt16LE(Object.keys(members).length, 10);
	end.writeUInt32LE(cd.length, 12);
	end.writeUInt32LE(offset, 16);
	return Buffer.concat([...locals, cd, end]);
}

/**
 * A raw deflate stream of `header` followed by `zeros` zero bytes, made without holding them:
 * sync-flushed deflate blocks of one MiB of zeros (about a kilobyte each) repeated, then a final
 * empty block, so a stream of about a megabyte inflates to a gigabyte.
 */
export function deflateBomb(header: Buffer, zeros: number): Buffer {
	const sync = { finishFlush: zlib.constants.Z_SYNC_FLUSH };
	const mib = zlib.deflateRawSync(Buffer.alloc(1 << 20), sync);
	const parts = [zlib.deflateRawSync(header, sync)];
	for (let left = zeros; left > 0; left -= 1 << 20) parts.push(left >= 1 << 20 ? mib : zlib.deflateRawSync(Buffer.alloc(left), sync));
	parts.push(zlib.deflateRawSync(Buffer.alloc(0)));
	return Buffer.concat(parts);
}
