// Reads a .vsix (a ZIP) as the package test needs it: the members' names, sizes and CRCs from
// the central directory (the ZIP reader of the npz loader), and any member's bytes.

import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { listNpz } from '../../src/engine/sae/npz';

export interface VsixEntry {
	name: string;
	size: number;
	compressedSize: number;
	crc32: number;
	read(): Buffer;
}

export function readVsix(file: string): Map<string, VsixEntry> {
	const bytes = fs.readFileSync(file);
	const entries = new Map<string, VsixEntry>();
	for (const m of listNpz(file)) {
		if (m.name.endsWith('/')) continue;
		entries.set(m.name, {
			name: m.name,
			size: m.uncompressedSize,
			compressedSize: m.compressedSize,
			crc32: m.crc32,
			read: () => {
				const local = m.localHeaderOffset;
				if (bytes.readUInt32LE(local) !== 0x04034b50) throw new Error(`${file}: ${m.name} has no local header`);
				const start = local + 30 + bytes.readUInt16LE(local + 26) + bytes.readUInt16LE(local + 28);
				const data = bytes.subarray(start, start + m.compressedSize);
				if (m.method === 0) return Buffer.from(data);
				if (m.method === 8) return zlib.inflateRawSync(data);
				throw new Error(`${file}: ${m.name} uses compression method ${m.method}`);
			},
		});
	}
	return entries;
}

/** Writes the package's files (its `extension/` folder) into `dir`, as VS Code installs them. */
export function extractVsix(file: string, dir: string): void {
	for (const e of readVsix(file).values()) {
		if (!e.name.startsWith('extension/')) continue;
		const to = `${dir}/${e.name.slice('extension/'.length)}`;
		fs.mkdirSync(to.slice(0, to.lastIndexOf('/')), { recursive: true });
		fs.writeFileSync(to, e.read());
	}
}
