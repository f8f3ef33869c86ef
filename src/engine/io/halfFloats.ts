// IEEE 754 half-precision and bfloat16: rounding to half for stored example activations, and
// widening stored f16/bf16 tensors (checkpoints, SAEs) to the float32 the CPU computes in.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Rounds a float to the nearest half (ties to even); overflow becomes ±∞. */
export function toHalf(value: number): number {
	f32[0] = value;
	const x = u32[0]!;
	const sign = (x >>> 16) & 0x8000;
	const exp = (x >>> 23) & 0xff;
	let mant = x & 0x7fffff;
	if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
	let e = exp - 127 + 15;
	if (e >= 0x1f) return sign | 0x7c00;
	if (e <= 0) {
		if (e < -10) return sign;
		// Subnormal half: shift the implicit bit in, round to nearest even.
		mant |= 0x800000;
		const shift = 14 - e;
		const half = 1 << (shift - 1);
		let m = mant >>> shift;
		const rest = mant & ((1 << shift) - 1);
		if (rest > half || (rest === half && m & 1)) m++;
		return sign | m;
	}
	let m = mant >>> 13;
	const rest = mant & 0x1fff;
	if (rest > 0x1000 || (rest === 0x1000 && m & 1)) {
		m++;
		if (m === 0x400) {
			m = 0;
			e++;
			if (e >= 0x1f) return sign | 0x7c00;
		}
	}
	return sign | (e << 10) | m;
}

export function fromHalf(h: number): number {
	const sign = h & 0x8000 ? -1 : 1;
	const exp = (h >>> 10) & 0x1f;
	const mant = h & 0x3ff;
	if (exp === 0) return sign * mant * 2 ** -24;
	if (exp === 0x1f) return mant ? NaN : sign * Infinity;
	return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

export function encodeHalf(values: ArrayLike<number>): Uint16Array {
	return Uint16Array.from({ length: values.length }, (_, i) => toHalf(values[i]!));
}

export function decodeHalf(bits: Uint16Array): Float32Array {
	return Float32Array.from(bits, fromHalf);
}

/** Stored float formats that widen to float32 exactly (safetensors dtype names). */
export const STORED_FLOATS = ['F32', 'F16', 'BF16'] as const;
export type StoredFloat = (typeof STORED_FLOATS)[number];

export function isStoredFloat(dtype: string): dtype is StoredFloat {
	return (STORED_FLOATS as readonly string[]).includes(dtype);
}

/** Bytes per element of a stored float format. */
export const STORED_FLOAT_BYTES: Readonly<Record<StoredFloat, number>> = { F32: 4, F16: 2, BF16: 2 };

let halfTable: Float32Array | undefined;

/** All 65,536 halves as float32, so widening a tensor is one table lookup per element. */
function halfToFloatTable(): Float32Array {
	halfTable ??= Float32Array.from({ length: 65536 }, (_, h) => fromHalf(h));
	return halfTable;
}

/**
 * Widens `count` little-endian stored floats from `src` (byte offset `srcByte`) into `dst` at
 * element `dstIndex`. bf16 is the top half of a float32, so its bits shift into place; f16
 * goes through a lookup table. Exact in both cases.
 */
export function widenToFloat32(dtype: StoredFloat, src: Uint8Array, srcByte: number, count: number, dst: Float32Array, dstIndex: number): void {
	if (dtype === 'F32') {
		new Uint8Array(dst.buffer, dst.byteOffset + 4 * dstIndex, 4 * count).set(src.subarray(srcByte, srcByte + 4 * count));
		return;
	}
	// Reading 16-bit words through a typed array needs 2-byte alignment; copy when it is off.
	const aligned = (src.byteOffset + srcByte) % 2 === 0 ? src : src.slice(srcByte, srcByte + 2 * count);
	const start = aligned === src ? srcByte : 0;
	const words = new Uint16Array(aligned.buffer, aligned.byteOffset + start, count);
	if (dtype === 'BF16') {
		const bits = new Uint32Array(dst.buffer, dst.byteOffset + 4 * dstIndex, count);
		for (let i = 0; i < count; i++) bits[i] = words[i]! << 16;
	} else {
		const table = halfToFloatTable();
		for (let i = 0; i < count; i++) dst[dstIndex + i] = table[words[i]!]!;
	}
}

/** A whole stored tensor as float32. */
export function toFloat32(dtype: StoredFloat, bytes: Uint8Array): Float32Array {
	const count = bytes.byteLength / STORED_FLOAT_BYTES[dtype];
	const out = new Float32Array(count);
	widenToFloat32(dtype, bytes, 0, count, out, 0);
	return out;
}

/** A number rounded to the nearest value a stored float format holds (ties to even), as torch.tensor(x, dtype=…) rounds it. */
export function roundToStored(value: number, dtype: StoredFloat): number {
	if (dtype === 'F16') return fromHalf(toHalf(value));
	f32[0] = value;
	if (dtype === 'BF16') {
		const bits = u32[0]!;
		u32[0] = ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) << 16;
	}
	return f32[0];
}

/** The exponent bits that are all ones in a NaN or ±Inf of each stored format (as little-endian words of its width). */
const NON_FINITE_EXPONENT: Readonly<Record<StoredFloat, number>> = { F32: 0x7f800000, F16: 0x7c00, BF16: 0x7f80 };

/**
 * Whether any 32-bit word holds a non-finite value, branch-free: adding the exponent's lowest
 * bit to the masked exponent carries into the bit above it only when the exponent is all ones
 * (for 16-bit formats, two values per word, the carries land in bits 15 and 31). Unrolled, this
 * runs at about the speed of reading from the page cache.
 */
function anyNonFinite(words: Int32Array, mask: number, low: number, carry: number): boolean {
	let acc = 0;
	const n = words.length;
	let i = 0;
	for (; i + 4 <= n; i += 4) {
		acc |= ((words[i]! & mask) + low) | ((words[i + 1]! & mask) + low) | ((words[i + 2]! & mask) + low) | ((words[i + 3]! & mask) + low);
	}
	for (; i < n; i++) acc |= (words[i]! & mask) + low;
	return (acc & carry) !== 0;
}

/** [mask, lowest exponent bit, carry bits] of each format's exponent, as seen in 32-bit words. */
const WORD_TEST: Readonly<Record<StoredFloat, readonly [number, number, number]>> = {
	F32: [0x7f800000, 0x00800000, 0x80000000 | 0],
	F16: [0x7c007c00, 0x04000400, 0x80008000 | 0],
	BF16: [0x7f807f80, 0x00800080, 0x80008000 | 0],
};

/**
 * How many of the stored floats in `bytes` (whole values, little-endian) are NaN or ±Inf, by
 * their exponent bits: cheap enough to run on every chunk of a checkpoint as it is read (a
 * branch-free scan, and a count only where it finds any).
 */
export function countNonFinite(dtype: StoredFloat, bytes: Uint8Array): number {
	const width = STORED_FLOAT_BYTES[dtype];
	const count = Math.floor(bytes.byteLength / width);
	// Typed views need aligned offsets; an unaligned slice is copied once.
	const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice(0, count * width);
	const [mask, low, carry] = WORD_TEST[dtype];
	const wholeWords = Math.floor((count * width) / 4);
	const tail = count * width - wholeWords * 4;
	// A 16-bit format's odd last value is not in a whole word: it is looked at on its own below.
	if (!anyNonFinite(new Int32Array(aligned.buffer, aligned.byteOffset, wholeWords), mask, low, carry) && tail === 0) return 0;
	const exponent = NON_FINITE_EXPONENT[dtype];
	const values = width === 4 ? new Uint32Array(aligned.buffer, aligned.byteOffset, count) : new Uint16Array(aligned.buffer, aligned.byteOffset, count);
	let n = 0;
	for (let i = 0; i < count; i++) if ((values[i]! & exponent) === exponent) n++;
	return n;
}
