// Rotary position embeddings as Hugging Face computes them: the parameters config.json gives
// (rope_theta and rope_scaling before transformers 5, rope_parameters from 5 on), the inverse
// frequencies of the "default", "linear" and "llama3" rope types, and the rotation of queries
// and keys in the graph ("rotate half" layout, on all of each head or on its leading dims).

import type { Value } from '../onnx/graphBuilder';
import { DataType } from '../onnx/onnxProto';
import { ModelConfigError, checkedNumber } from './decoderConfig';
import type { RawConfig } from './decoderConfig';
import type { DecoderContext } from './decoderGraph';

export type RopeScaling =
	/** Every inverse frequency divided by `factor` (Gemma 3's global layers from 4B up). */
	| { type: 'linear'; factor: number }
	/**
	 * Llama 3.1's NTK-by-parts: wavelengths longer than originalContext/lowFreqFactor are
	 * stretched by `factor`, shorter than originalContext/highFreqFactor kept, the band between
	 * interpolated.
	 */
	| { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalContext: number };

export interface Rope {
	/** Base of the inverse frequencies θ^(−2i/dims). */
	theta: number;
	/** Leading dims of each head that rotate: all of d_head but for GPT-NeoX's partial rotary. */
	dims: number;
	scaling?: RopeScaling;
}

const ROPE_TYPES = ['default', 'linear', 'llama3'];

export function isObject(v: unknown): v is RawConfig {
	return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Where a single-rope model keeps its rope parameters: `rope_scaling` (older configs, with
 * rope_theta beside it at the top level), else `rope_parameters` (transformers 5, rope_theta inside).
 */
export function ropeParameters(raw: RawConfig): { params: RawConfig; where: string } {
	if (isObject(raw.rope_scaling)) return { params: raw.rope_scaling, where: 'rope_scaling' };
	if (raw.rope_scaling !== undefined && raw.rope_scaling !== null) {
		throw new ModelConfigError(`config.json: "rope_scaling" must be an object or null (got ${JSON.stringify(raw.rope_scaling)})`);
	}
	if (isObject(raw.rope_parameters)) return { params: raw.rope_parameters, where: 'rope_parameters' };
	return { params: {}, where: 'rope_parameters' };
}

/**
 * A rope from one Hugging Face rope-parameter object (`where` names it in errors). `theta` is
 * the base when the object has no rope_theta; llama3's original context is the top-level
 * original_max_position_embeddings, else the object's, else max_position_embeddings (as
 * transformers standardizes them).
 */
export function readRope(params: RawConfig, where: string, raw: RawConfig, theta: number, dims: number): Rope {
	const num = (key: string, value: unknown = params[key]): number => checkedNumber(value, key, `${where}.${key}`);
	const type = params.rope_type ?? params.type ?? 'default';
	const base = num('rope_theta', params.rope_theta ?? theta);
	if (!Number.isInteger(dims) || dims <= 0 || dims % 2 !== 0) throw new ModelConfigError(`config.json: ${where}: ${dims} rotary dims per head (must be a positive even number)`);
	switch (type) {
		case 'default':
			return { theta: base, dims };
		case 'linear':
			return { theta: base, dims, scaling: { type: 'linear', factor: num('factor') } };
		case 'llama3': {
			const original = raw.original_max_position_embeddings ?? params.original_max_position_embeddings ?? raw.max_position_embeddings;
			const scaling: RopeScaling = {
				type: 'llama3', factor: num('factor'), lowFreqFactor: num('low_freq_factor'), highFreqFactor: num('high_freq_factor'),
				originalContext: num('original_max_position_embeddings', original),
			};
			if (scaling.highFreqFactor <= scaling.lowFreqFactor) {
				throw new ModelConfigError(`config.json: "${where}.high_freq_factor" must exceed low_freq_factor`);
			}
			return { theta: base, dims, scaling };
		}
		default:
			throw new ModelConfigError(`config.json: "${where}.rope_type" ${JSON.stringify(type)} is not supported (supported: ${ROPE_TYPES.join(', ')})`);
	}
}

/** A key that is equal for equal ropes, so layers with the same rope share one table. */
export function ropeKey(rope: Rope): string {
	return JSON.stringify(rope);
}

/**
 * The inverse frequencies, [dims / 2], rounded step by step as torch computes them in float32
 * (transformers' modeling_rope_utils), so the angles match the reference's bit for bit or nearly.
 */
export function inverseFrequencies(rope: Rope): number[] {
	const f = Math.fround;
	const half = rope.dims / 2;
	const theta = f(rope.theta);
	const inv = Array.from({ length: half }, (_, i) => f(1 / f(theta ** f((2 * i) / rope.dims))));
	const s = rope.scaling;
	if (!s) return inv;
	if (s.type === 'linear') return inv.map((x) => f(x / s.factor));
	const lowWavelen = f(s.originalContext / s.lowFreqFactor);
	const highWavelen = f(s.originalContext / s.highFreqFactor);
	return inv.map((x) => {
		const wavelen = f(f(2 * Math.PI) / x);
		const scaled = wavelen > lowWavelen ? f(x / s.factor) : x;
		if (wavelen < highWavelen || wavelen > lowWavelen) return scaled;
		const smooth = f(f(f(s.originalContext) / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor));
		return f(f(f(f(1 - smooth) * scaled) / s.factor) + f(smooth * scaled));
	});
}

/**
 * Rotary embedding in the Hugging Face "rotate half" layout on the first `rope.dims` dims of each
 * head; the rest pass unchanged (GPT-NeoX's partial rotary).
 * x: [batch, seq, n, d_head] → same shape.
 */
export function applyRotary(ctx: DecoderContext, x: Value, rope: Rope): Value {
	const { b, cfg } = ctx;
	const { cos, sin } = rotaryTables(ctx, rope);
	const half = rope.dims / 2;
	const rotate = (xr: Value): Value => {
		const [x1, x2] = b.split(xr, [half, half], -1) as [Value, Value];
		return b.add(b.mul(xr, cos), b.mul(b.concat([b.neg(x2), x1], -1), sin));
	};
	if (rope.dims === cfg.dHead) return rotate(x);
	const [rotated, passed] = b.split(x, [rope.dims, cfg.dHead - rope.dims], -1) as [Value, Value];
	return b.concat([rotate(rotated), passed], -1);
}

/** cos/sin of position × inverse frequency, [seq, 1, dims], built once per graph per distinct rope for every block. */
function rotaryTables(ctx: DecoderContext, rope: Rope): { cos: Value; sin: Value } {
	return ctx.shared(`rotary:${ropeKey(rope)}`, () => {
		const b = ctx.b;
		const half = rope.dims / 2;
		const invFreq = inverseFrequencies(rope);
		return b.scope('/rotary', () => {
			const pos = b.unsqueeze(b.cast(ctx.positions, DataType.FLOAT), [1]); // [seq, 1] float
			const angles = b.mul(pos, b.constFloat(invFreq, [1, half])); // [seq, dims/2]
			const full = b.unsqueeze(b.concat([angles, angles], -1), [1]); // [seq, 1, dims]
			return { cos: b.cos(full), sin: b.sin(full) };
		});
	});
}
