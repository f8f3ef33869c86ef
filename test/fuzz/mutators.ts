// Mutations of the inputs the engine reads: JSON documents (by structure: values replaced by
// boundary values and wrong types, keys dropped or added; or as text), safetensors files (the
// header's JSON, its length field, NaN and Inf planted in a tensor, flipped, cut or added bytes)
// and npz archives (rebuilt with lying shapes or sizes, deflate bombs, planted NaNs, or flipped
// bytes). Each says whether it planted non-finite values, which the engine must then report.

import { readSafetensorsHeader } from '../../src/engine/io/safetensors';
import type { Rng } from './random';
import { deflateBomb, npy, zip } from './zipWriter';
import type { ZipMember } from './zipWriter';

/** Values that break assumptions: signs, zero, huge and fractional numbers, numbers as strings, wrong types, long and odd strings. */
export const INTERESTING: readonly unknown[] = [
	-1,
	0,
	1,
	2,
	-0.5,
	0.5,
	3.7,
	1e9,
	1e12,
	-1e12,
	2 ** 31,
	2 ** 32 + 1,
	2 ** 53,
	1e308,
	-1e308,
	5e-324,
	'NaN',
	'Infinity',
	'1e12',
	'-1',
	'',
	' ',
	'x'.repeat(5000),
	'\u0000\u001b[2J\u0007',
	'../../outside/x',
	'..',
	'é中🙂',
	null,
	true,
	false,
	[],
	{},
	[1, 2, 3],
	[[]],
	{ a: 1 },
	[-1],
	['a', 'b'],
];

/** A deep copy of a JSON value. */
function clone<T>(v: T): T {
	return JSON.parse(JSON.stringify(v)) as T;
}

type Container = Record<string, unknown> | unknown[];

/** Up to `max` places in the value (its containers and their keys), sampled evenly from a bounded walk. */
function places(root: unknown, rng: Rng, max = 400): { parent: Container; key: string | number }[] {
	const found: { parent: Container; key: string | number }[] = [];
	const walk = (v: unknown, depth: number): void => {
		if (depth > 12 || typeof v !== 'object' || v === null) return;
		const keys: (string | number)[] = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
		// Long lists and big objects (a vocabulary) are sampled, not walked whole.
		const take = keys.length > 40 ? Array.from({ length: 40 }, () => rng.pick(keys)) : keys;
		for (const k of take) {
			if (found.length >= max * 4) return;
			found.push({ parent: v as Container, key: k });
			walk((v as Record<string | number, unknown>)[k], depth + 1);
		}
	};
	walk(root, 0);
	if (found.length <= max) return found;
	return Array.from({ length: max }, () => rng.pick(found));
}

function interesting(rng: Rng, old: unknown): unknown {
	if (typeof old === 'number' && rng.chance(0.4)) {
		return rng.pick([-old, old + 1, old - 1, old * 2, old * 1e6, old / 3, Math.floor(old / 2), old + 0.5, -old - 1]);
	}
	if (typeof old === 'string' && rng.chance(0.3)) {
		return rng.pick([old.slice(0, rng.int(old.length + 1)), old + old, old.toUpperCase(), `${old}\u0000`, old.split('').reverse().join('')]);
	}
	return clone(rng.pick(INTERESTING));
}

/** 1–3 structural mutations of a JSON value (never the input itself). */
export function mutateJsonValue(rng: Rng, value: unknown): unknown {
	let root = clone(value);
	const ops = 1 + rng.int(3);
	for (let i = 0; i < ops; i++) {
		const at = places(root, rng);
		if (at.length === 0 || rng.chance(0.03)) {
			root = interesting(rng, root);
			continue;
		}
		const { parent, key } = rng.pick(at);
		const p = parent as Record<string | number, unknown>;
		switch (rng.int(6)) {
			case 0:
				if (Array.isArray(parent)) parent.splice(key as number, 1);
				else delete p[key];
				break;
			case 1:
				if (Array.isArray(parent)) parent.push(interesting(rng, p[key]));
				else p[`${String(key)}_${rng.int(9)}`] = interesting(rng, p[key]);
				break;
			case 2:
				p[key] = clone(p[rng.pick(Object.keys(parent))]);
				break;
			default:
				p[key] = interesting(rng, p[key]);
		}
	}
	return root;
}

/** A text-level mutation: a cut, a flipped or inserted character, a repeated piece. */
export function mutateText(rng: Rng, text: string): string {
	const at = rng.int(text.length + 1);
	switch (rng.int(5)) {
		case 0:
			return text.slice(0, at);
		case 1:
			return text.slice(0, at) + String.fromCharCode(rng.int(128)) + text.slice(at + 1);
		case 2:
			return text.slice(0, at) + rng.pick(['{', '}', '[', ']', '"', ',', ':', '\\', '\u0000', 'null', '1e999', '-']) + text.slice(at);
		case 3:
			return text.slice(0, at) + text.slice(at, at + 50).repeat(1 + rng.int(20)) + text.slice(at);
		default:
			return text.slice(0, at) + text.slice(at + 1 + rng.int(100));
	}
}

/** A mutated JSON document: mostly structural, sometimes broken as text. */
export function mutateJson(rng: Rng, text: string): string {
	if (rng.chance(0.15)) return mutateText(rng, text);
	return JSON.stringify(mutateJsonValue(rng, JSON.parse(text)));
}

export interface Mutated {
	bytes: Buffer;
	/** NaN or ±Inf were planted in tensor data that is otherwise intact. */
	plantedNonFinite: boolean;
	what: string;
}

const NON_FINITE_BITS: Readonly<Record<string, readonly number[]>> = {
	F32: [0x7fc00000, 0x7f800000, 0xff800000, 0x7f800001],
	F16: [0x7e00, 0x7c00, 0xfc00],
	BF16: [0x7fc0, 0x7f80, 0xff80],
};

function flipBytes(rng: Rng, bytes: Buffer, from = 0): Buffer {
	const out = Buffer.from(bytes);
	for (let n = 1 + rng.int(8); n > 0 && out.length > from; n--) out[from + rng.int(out.length - from)] = rng.int(256);
	return out;
}

/** Plants 1–4 non-finite values in the float tensor `t` of `bytes`. */
function plant(rng: Rng, bytes: Buffer, t: { dtype: string; begin: number; end: number }): Buffer {
	const out = Buffer.from(bytes);
	const width = t.dtype === 'F32' ? 4 : 2;
	const count = (t.end - t.begin) / width;
	for (let n = 1 + rng.int(4); n > 0; n--) {
		const at = t.begin + rng.int(count) * width;
		const bits = rng.pick(NON_FINITE_BITS[t.dtype]!);
		if (width === 4) out.writeUInt32LE(bits >>> 0, at);
		else out.writeUInt16LE(bits, at);
	}
	return out;
}

/** A mutated safetensors file (`file` names it for reading its header). */
export function mutateSafetensors(rng: Rng, file: string, bytes: Buffer): Mutated {
	const headerLen = Number(bytes.readBigUInt64LE(0));
	const header = JSON.parse(bytes.toString('utf8', 8, 8 + headerLen)) as Record<string, unknown>;
	const data = bytes.subarray(8 + headerLen);
	const withHeader = (h: unknown, len?: number): Buffer => {
		const json = Buffer.from(JSON.stringify(h) ?? 'undefined');
		const l = Buffer.alloc(8);
		l.writeBigUInt64LE(BigInt(len ?? json.length));
		return Buffer.concat([l, json, data]);
	};
	switch (rng.weighted([4, 2, 3, 2, 1, 1])) {
		case 0: {
			// Mostly the tensor entries' offsets, shapes and dtypes.
			const names = Object.keys(header).filter((k) => k !== '__metadata__');
			if (names.length > 0 && rng.chance(0.8)) {
				const h = clone(header);
				const name = rng.pick(names);
				h[name] = mutateJsonValue(rng, h[name]);
				return { bytes: withHeader(h), plantedNonFinite: false, what: `header entry ${name}` };
			}
			return { bytes: withHeader(mutateJsonValue(rng, header)), plantedNonFinite: false, what: 'header' };
		}
		case 1: {
			const len = rng.pick([headerLen - 1, headerLen + 1, headerLen - 8, headerLen + 8, 0, 1, bytes.length, bytes.length - 8, 2 ** 40, 2 ** 53]);
			const out = Buffer.from(bytes);
			out.writeBigUInt64LE(BigInt(Math.max(0, len)), 0);
			return { bytes: out, plantedNonFinite: false, what: `header length ${len}` };
		}
		case 2: {
			const floats = readSafetensorsHeader(file).tensors.filter((t) => t.dtype in NON_FINITE_BITS && t.end > t.begin);
			const t = rng.pick(floats);
			return { bytes: plant(rng, bytes, t), plantedNonFinite: true, what: `non-finite values in ${t.name}` };
		}
		case 3:
			return { bytes: flipBytes(rng, bytes, rng.chance(0.5) ? 8 + headerLen : 0), plantedNonFinite: false, what: 'flipped bytes' };
		case 4:
			return { bytes: bytes.subarray(0, rng.int(bytes.length)), plantedNonFinite: false, what: 'truncated' };
		default:
			return { bytes: Buffer.concat([bytes, Buffer.alloc(1 + rng.int(64), rng.int(256))]), plantedNonFinite: false, what: 'extended' };
	}
}

/** An npz archive's arrays, as the fuzzer rebuilds it. */
export interface NpzArrays {
	[name: string]: { shape: number[]; descr: string; payload: Buffer };
}

/** A mutated npz archive built from `arrays` (its members and their payloads). */
export function mutateNpz(rng: Rng, arrays: NpzArrays, original: Buffer): Mutated {
	if (rng.chance(0.25)) return { bytes: flipBytes(rng, original), plantedNonFinite: false, what: 'flipped bytes' };
	const deflate = rng.chance(0.5);
	const members: Record<string, ZipMember> = {};
	for (const [name, a] of Object.entries(arrays)) members[`${name}.npy`] = { data: npy(a.shape, a.payload, a.descr), deflate };
	const names = Object.keys(arrays);
	const target = rng.pick(names);
	const a = arrays[target]!;
	const m = members[`${target}.npy`]!;
	let planted = false;
	let what: string;
	switch (rng.int(8)) {
		case 0: {
			const shape = a.shape.map((d) => (rng.chance(0.5) ? rng.pick([0, 1, d + 1, d * 2, 1e6, 2 ** 31, 2 ** 40]) : d));
			m.data = npy(shape, a.payload, a.descr);
			what = `${target} shape [${shape}]`;
			break;
		}
		case 1:
			m.declaredSize = rng.pick([0, 1, m.data.length - 1, m.data.length + 1, 2 ** 30, 2 ** 32 - 1]);
			what = `${target} declared size ${m.declaredSize}`;
			break;
		case 2: {
			const header = npy(a.shape, Buffer.alloc(0), a.descr);
			m.packed = deflateBomb(header, rng.pick([1 << 20, 64 << 20, 1 << 30]));
			what = `${target} deflate bomb`;
			break;
		}
		case 3: {
			const width = a.descr.endsWith('4') ? 4 : a.descr.endsWith('8') ? 8 : 2;
			if (a.payload.length >= width && (width === 4 || width === 8)) {
				const payload = Buffer.from(a.payload);
				for (let n = 1 + rng.int(3); n > 0; n--) {
					const at = rng.int(payload.length / width) * width;
					if (width === 4) payload.writeFloatLE(rng.pick([NaN, Infinity, -Infinity]), at);
					else payload.writeDoubleLE(rng.pick([NaN, Infinity, -Infinity]), at);
				}
				m.data = npy(a.shape, payload, a.descr);
				planted = true;
			}
			what = `non-finite values in ${target}`;
			break;
		}
		case 4:
			m.data = npy(a.shape, a.payload, rng.pick(['<f8', '>f4', '<i4', '|b1', '<c8', '<U3', 'O', '<f2']));
			what = `${target} dtype`;
			break;
		case 5:
			delete members[`${target}.npy`];
			if (rng.chance(0.5)) members[`${target}_x.npy`] = m;
			what = `${target} removed or renamed`;
			break;
		case 6:
			m.data = Buffer.from(mutateText(rng, m.data.toString('latin1', 0, Math.min(m.data.length, 128))) + m.data.toString('latin1', 128), 'latin1');
			what = `${target} header text`;
			break;
		default:
			m.data = m.data.subarray(0, rng.int(m.data.length));
			what = `${target} truncated payload`;
	}
	return { bytes: zip(members), plantedNonFinite: planted, what };
}
