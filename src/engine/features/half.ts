// IEEE 754 half-precision conversion for stored example activations (safetensors F16): the
// storage format, not tensor math, so a few bit operations per stored value.

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
		if (rest > half || (rest === half && (m & 1))) m++;
		return sign | m;
	}
	let m = mant >>> 13;
	const rest = mant & 0x1fff;
	if (rest > 0x1000 || (rest === 0x1000 && (m & 1))) {
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
