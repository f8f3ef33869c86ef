// Helpers shared by every SAE format reader: one-line SaeFormatErrors naming the file, typed
// reads of cfg.json values, legacy tensors, float tensors as numbers. What each architecture's
// tensors must be is checked in tensorChecks.ts.

import * as fs from 'node:fs';
import { STORED_FLOAT_BYTES, isStoredFloat, toFloat32 } from '../io/halfFloats';
import { SafetensorsError } from '../io/safetensors';
import type { SafetensorsDtype } from '../io/safetensors';
import type { NpyArray } from './npz';
import { SaeFormatError } from './saeTypes';
import type { SaeTensor } from './saeTypes';
import { errorMessage } from '../../protocol/errors';

/** Runs a safetensors read, turning its errors into SaeFormatError (their messages already name the file). */
export function safetensors<T>(file: string, fn: () => T): T {
	try {
		return fn();
	} catch (e) {
		if (e instanceof SafetensorsError) throw formatError(e.message);
		if (e instanceof SaeFormatError) throw e;
		throw formatError(`${file}: cannot read (${errCode(e)})`);
	}
}

/** Legacy (pre-6) SAEs carry a scaling_factor that is all ones unless fine-tuned; ones are a no-op. */
export function checkLegacyScalingFactor(file: string, name: string, t: SaeTensor): void {
	const values = toNumbers(t);
	// SAELens drops it when torch.allclose(x, 1): |x - 1| <= 1e-8 + 1e-5.
	if (!values || values.some((v) => !(Math.abs(v - 1) <= 1e-8 + 1e-5))) {
		throw formatError(`${file}: has a legacy "${name}" tensor that is not all ones (a fine-tuned scaling factor); fold it into the weights first, this format is not supported`);
	}
}

/** File contents quoted in a message (a JSON.parse excerpt, a corrupt header) may hold line breaks. */
export function formatError(message: string): SaeFormatError {
	return new SaeFormatError(message.replace(/\s*[\r\n]+\s*/g, ' '));
}

/** An optional boolean cfg.json key (null counts as absent). */
export function optBool(file: string, o: Record<string, unknown>, key: string, fallback: boolean): boolean {
	const v = o[key];
	if (v === undefined || v === null) return fallback;
	if (typeof v !== 'boolean') throw formatError(`${file}: "${key}" must be true or false, got ${JSON.stringify(v)}`);
	return v;
}

/** A JSON config file that must hold one object (cfg.json, config.json, hyperparams.json), or an error naming the file. */
export function readJsonObject(file: string): Record<string, unknown> {
	let raw: unknown;
	try {
		raw = JSON.parse(fs.readFileSync(file, 'utf8'));
	} catch (e) {
		throw formatError(`${file}: ${e instanceof SyntaxError ? `not valid JSON (${e.message})` : `cannot read (${errCode(e)})`}`);
	}
	if (!isObject(raw)) throw formatError(`${file}: not a JSON object`);
	return raw;
}

export function isObject(v: unknown): v is Record<string, unknown> {
	return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function errCode(e: unknown): string {
	return (e as NodeJS.ErrnoException)?.code ?? errorMessage(e);
}

/** Float tensor values as numbers, or undefined for a non-float dtype. */
export function toNumbers(t: { dtype: SafetensorsDtype; data: Buffer }): number[] | undefined {
	const { data } = t;
	const out: number[] = [];
	switch (t.dtype) {
		case 'F64':
			for (let i = 0; i + 8 <= data.length; i += 8) out.push(data.readDoubleLE(i));
			return out;
		case 'F32':
		case 'F16':
		case 'BF16':
			return Array.from(toFloat32(t.dtype, data.subarray(0, data.length - (data.length % STORED_FLOAT_BYTES[t.dtype]))));
		default:
			return undefined;
	}
}

/** numpy float64 as float32 (SAELens casts every loaded array to float32). */
export function f64ToF32(a: NpyArray): SaeTensor {
	const n = a.data.length / 8;
	const out = Buffer.allocUnsafe(n * 4);
	for (let i = 0; i < n; i++) out.writeFloatLE(a.data.readDoubleLE(i * 8), i * 4);
	return { dtype: 'F32', shape: a.shape, data: out };
}

/** A float tensor's values as float32 (f16/bf16 widened exactly); `file` and `name` label errors. */
export function asFloat32(file: string, name: string, t: SaeTensor): Float32Array {
	if (!isStoredFloat(t.dtype)) throw formatError(`${file}: ${name} has dtype ${t.dtype}, expected F32, F16 or BF16`);
	return toFloat32(t.dtype, t.data);
}

/** A float32 SaeTensor over `values`. */
export function f32Tensor(values: Float32Array, shape: number[]): SaeTensor {
	return { dtype: 'F32', shape, data: Buffer.from(values.buffer, values.byteOffset, values.byteLength) };
}

/** A 2-D tensor transposed, in its own dtype ([r, c] → [c, r]): torch Linear weights to SAELens's orientation and back. */
export function transpose2d(t: SaeTensor): SaeTensor {
	const [rows, cols] = t.shape as [number, number];
	const size = t.data.length / (rows * cols);
	const out = Buffer.allocUnsafe(t.data.length);
	for (let r = 0; r < rows; r++) {
		for (let c = 0; c < cols; c++) t.data.copy(out, (c * rows + r) * size, (r * cols + c) * size, (r * cols + c + 1) * size);
	}
	return { dtype: t.dtype, shape: [cols, rows], data: out };
}
