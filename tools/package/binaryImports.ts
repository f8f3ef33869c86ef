// Which shared libraries a native binary loads, read from the binary itself: ELF DT_NEEDED
// and run paths (Linux), Mach-O load commands and rpaths (macOS), and the PE import and
// delay-import tables (Windows). The package test uses it to check that each platform package
// holds exactly the libraries its bindings load, for every platform, from one Linux machine.

import * as fs from 'node:fs';

export interface BinaryImports {
	format: 'elf' | 'macho' | 'pe';
	/** Libraries loaded with the binary: sonames, install names (`@rpath/…`) or DLL names. */
	needed: string[];
	/** Windows only: DLLs loaded on first use of one of their functions (absent ones are fine until then). */
	delayLoaded: string[];
	/** Where the loader looks for `needed` besides the system: ELF RUNPATH/RPATH, Mach-O LC_RPATH. */
	searchPaths: string[];
}

export function readBinaryImports(file: string): BinaryImports {
	return parseBinaryImports(fs.readFileSync(file), file);
}

/** The imports of a binary held in memory (e.g. read from a .vsix); `file` names it in errors. */
export function parseBinaryImports(b: Buffer, file: string): BinaryImports {
	if (b.readUInt32BE(0) === 0x7f454c46) return readElf(b, file);
	if (b.readUInt16LE(0) === 0x5a4d) return readPe(b, file);
	const magic = b.readUInt32BE(0);
	if (magic === 0xcffaedfe || magic === 0xcafebabe) return readMachO(b, file);
	throw new Error(`${file}: not an ELF, Mach-O or PE binary`);
}

function cString(b: Buffer, offset: number): string {
	const end = b.indexOf(0, offset);
	return b.toString('latin1', offset, end < 0 ? b.length : end);
}

function readElf(b: Buffer, file: string): BinaryImports {
	const is64 = b[4] === 2;
	if (b[5] !== 1) throw new Error(`${file}: big-endian ELF is not expected here`);
	const word = (o: number) => (is64 ? Number(b.readBigUInt64LE(o)) : b.readUInt32LE(o));
	const shoff = word(is64 ? 0x28 : 0x20);
	const shentsize = b.readUInt16LE(is64 ? 0x3a : 0x2e);
	const shnum = b.readUInt16LE(is64 ? 0x3c : 0x30);
	const sections = Array.from({ length: shnum }, (_, i) => {
		const s = shoff + i * shentsize;
		return { type: b.readUInt32LE(s + 4), offset: word(s + (is64 ? 0x18 : 0x10)), size: word(s + (is64 ? 0x20 : 0x14)), link: b.readUInt32LE(s + (is64 ? 0x28 : 0x18)) };
	});
	const SHT_DYNAMIC = 6;
	const dynamic = sections.find((s) => s.type === SHT_DYNAMIC);
	if (!dynamic) return { format: 'elf', needed: [], delayLoaded: [], searchPaths: [] };
	const strtab = sections[dynamic.link]!;
	const needed: string[] = [];
	const searchPaths: string[] = [];
	const entry = is64 ? 16 : 8;
	for (let o = dynamic.offset; o + entry <= dynamic.offset + dynamic.size; o += entry) {
		const tag = word(o);
		const value = word(o + entry / 2);
		if (tag === 0) break;
		const DT_NEEDED = 1,
			DT_RPATH = 15,
			DT_RUNPATH = 29;
		if (tag === DT_NEEDED) needed.push(cString(b, strtab.offset + value));
		else if (tag === DT_RPATH || tag === DT_RUNPATH) searchPaths.push(...cString(b, strtab.offset + value).split(':'));
	}
	return { format: 'elf', needed, delayLoaded: [], searchPaths };
}

function readMachO(b: Buffer, file: string): BinaryImports {
	let base = 0;
	if (b.readUInt32BE(0) === 0xcafebabe) {
		// A universal binary: read its arm64 slice, the one platform packages serve on macOS.
		const CPU_TYPE_ARM64 = 0x0100000c;
		const n = b.readUInt32BE(4);
		const slice = Array.from({ length: n }, (_, i) => ({ cpu: b.readUInt32BE(8 + i * 20), offset: b.readUInt32BE(8 + i * 20 + 8) })).find((s) => s.cpu === CPU_TYPE_ARM64);
		if (!slice) throw new Error(`${file}: universal binary without an arm64 slice`);
		base = slice.offset;
	}
	if (b.readUInt32LE(base) !== 0xfeedfacf) throw new Error(`${file}: only 64-bit Mach-O is expected here`);
	const ncmds = b.readUInt32LE(base + 16);
	const LC_LOAD_DYLIB = 0xc,
		LC_LOAD_WEAK_DYLIB = 0x80000018,
		LC_REEXPORT_DYLIB = 0x8000001f,
		LC_LAZY_LOAD_DYLIB = 0x20,
		LC_RPATH = 0x8000001c;
	const needed: string[] = [];
	const searchPaths: string[] = [];
	let o = base + 32;
	for (let i = 0; i < ncmds; i++) {
		const cmd = b.readUInt32LE(o);
		const size = b.readUInt32LE(o + 4);
		if ([LC_LOAD_DYLIB, LC_LOAD_WEAK_DYLIB, LC_REEXPORT_DYLIB, LC_LAZY_LOAD_DYLIB].includes(cmd)) needed.push(cString(b, o + b.readUInt32LE(o + 8)));
		else if (cmd === LC_RPATH) searchPaths.push(cString(b, o + b.readUInt32LE(o + 8)));
		o += size;
	}
	return { format: 'macho', needed, delayLoaded: [], searchPaths };
}

function readPe(b: Buffer, file: string): BinaryImports {
	const pe = b.readUInt32LE(0x3c);
	if (b.readUInt32BE(pe) !== 0x50450000) throw new Error(`${file}: no PE signature`);
	const coff = pe + 4;
	const sectionCount = b.readUInt16LE(coff + 2);
	const optionalSize = b.readUInt16LE(coff + 16);
	const optional = coff + 20;
	const PE32_PLUS = 0x20b;
	const dataDirectories = optional + (b.readUInt16LE(optional) === PE32_PLUS ? 112 : 96);
	const sections = Array.from({ length: sectionCount }, (_, i) => {
		const s = optional + optionalSize + i * 40;
		return { va: b.readUInt32LE(s + 12), virtualSize: b.readUInt32LE(s + 8), rawSize: b.readUInt32LE(s + 16), raw: b.readUInt32LE(s + 20) };
	});
	const fileOffset = (rva: number) => {
		const s = sections.find((x) => rva >= x.va && rva < x.va + Math.max(x.virtualSize, x.rawSize));
		if (!s) throw new Error(`${file}: address ${rva} is in no section`);
		return rva - s.va + s.raw;
	};
	const IMPORT = 1,
		DELAY_IMPORT = 13;
	const needed: string[] = [];
	const importTable = b.readUInt32LE(dataDirectories + IMPORT * 8);
	// Import descriptors are 20 bytes, their name's address at +12, ending with a zero one.
	if (importTable) for (let o = fileOffset(importTable); b.readUInt32LE(o + 12); o += 20) needed.push(cString(b, fileOffset(b.readUInt32LE(o + 12))));
	const delayLoaded: string[] = [];
	const delayTable = b.readUInt32LE(dataDirectories + DELAY_IMPORT * 8);
	// Delay-load descriptors are 32 bytes, their name's address at +4.
	if (delayTable) for (let o = fileOffset(delayTable); b.readUInt32LE(o + 4); o += 32) delayLoaded.push(cString(b, fileOffset(b.readUInt32LE(o + 4))));
	return { format: 'pe', needed, delayLoaded, searchPaths: [] };
}
