// In-memory SAEs with seeded random weights for tests, on gpt2-tiny (d_model 32), reading an
// SAE's tensors back as float32, and a random cross-layer transcoder written in circuit-tracer's layout.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeSafetensors } from '../src/engine/io/safetensors';
import type { Sae, SaeArchitecture, SaeConfig } from '../src/engine/sae/saeTypes';
import { gaussian } from '../tools/fixtures/random';

export function gaussianArray(n: number, seed: number, std = 1, mean = 0): Float32Array {
	const normal = gaussian(seed);
	return Float32Array.from({ length: n }, () => mean + std * normal());
}

export function tensor(data: Float32Array, shape: number[]): Sae['weights'][string] {
	return { dtype: 'F32', shape, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength) };
}

export function f32(sae: Sae, name: string): Float32Array {
	const t = sae.weights[name]!;
	return new Float32Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength));
}

export interface InMemorySaeOptions {
	hookName: string;
	dSae: number;
	/** TopK's k. */
	k: number;
	/** Standard deviation of the encoder weights. */
	encoderStd: number;
}

/** Every parameter seeded (the same seed per tensor name), so a given set of options always gives the same SAE. */
export function inMemorySae(architecture: SaeArchitecture, o: InMemorySaeOptions, extra: Partial<SaeConfig> = {}): Sae {
	const dIn = 32;
	const { dSae } = o;
	const cfg: SaeConfig = {
		d_in: dIn,
		d_sae: dSae,
		dtype: 'float32',
		architecture,
		apply_b_dec_to_input: true,
		normalize_activations: 'none',
		reshape_activations: 'none',
		metadata: { hook_name: o.hookName, model_name: 'gpt2-tiny', model_from_pretrained_kwargs: { center_writing_weights: false } },
		...(architecture === 'topk' ? { k: o.k } : {}),
		...extra,
	};
	const weights: Sae['weights'] = {
		W_enc: tensor(gaussianArray(dIn * dSae, 1, o.encoderStd), [dIn, dSae]),
		W_dec: tensor(gaussianArray(dSae * dIn, 2, 0.3), [dSae, dIn]),
		b_dec: tensor(gaussianArray(dIn, 3, 0.1), [dIn]),
	};
	if (architecture === 'gated') {
		weights.b_gate = tensor(gaussianArray(dSae, 4, 0.2), [dSae]);
		weights.b_mag = tensor(gaussianArray(dSae, 5, 0.2), [dSae]);
		weights.r_mag = tensor(gaussianArray(dSae, 6, 0.2), [dSae]);
	} else {
		weights.b_enc = tensor(gaussianArray(dSae, 4, 0.2), [dSae]);
	}
	if (architecture === 'jumprelu') weights.threshold = tensor(Float32Array.from(gaussianArray(dSae, 7, 0.3), Math.abs), [dSae]);
	return { source: `in-memory ${architecture} SAE`, cfg, weights, rawConfig: {} };
}

/** A seeded per-layer transcoder for a model of width `dModel`: reads `input`, writes `output` (optionally with W_skip). */
export function inMemoryTranscoder(
	architecture: 'topk' | 'standard' | 'jumprelu',
	o: { input: string; output: string; dModel: number; dSae: number; k?: number; skip?: boolean; modelName?: string; seed?: number },
): Sae {
	const d = o.dModel;
	const s = o.seed ?? 0;
	const cfg: SaeConfig = {
		d_in: d,
		d_sae: o.dSae,
		dtype: 'float32',
		architecture,
		apply_b_dec_to_input: false,
		normalize_activations: 'none',
		reshape_activations: 'none',
		metadata: { hook_name: o.input, ...(o.modelName ? { model_name: o.modelName } : {}) },
		transcoder: { d_out: d, hook_name_out: o.output, skip: o.skip ?? false },
		...(architecture === 'topk' ? { k: o.k ?? 8 } : {}),
	};
	const weights: Sae['weights'] = {
		W_enc: tensor(gaussianArray(d * o.dSae, s + 1, 1 / Math.sqrt(d)), [d, o.dSae]),
		b_enc: tensor(gaussianArray(o.dSae, s + 2, 0.1), [o.dSae]),
		W_dec: tensor(gaussianArray(o.dSae * d, s + 3, 0.2), [o.dSae, d]),
		b_dec: tensor(gaussianArray(d, s + 4, 0.1), [d]),
	};
	if (architecture === 'jumprelu') weights.threshold = tensor(Float32Array.from(gaussianArray(o.dSae, s + 5, 0.3), Math.abs), [o.dSae]);
	if (o.skip) weights.W_skip = tensor(gaussianArray(d * d, s + 6, 0.05), [d, d]);
	return { source: `in-memory ${architecture} transcoder`, cfg, weights, rawConfig: {} };
}

export interface RawCltLayer {
	wEnc: Float32Array;
	bEnc: Float32Array;
	bDec: Float32Array;
	threshold: Float32Array;
	wDec: Float32Array;
}

/**
 * Writes a random JumpReLU cross-layer transcoder in circuit-tracer's layout (W_enc_L.safetensors:
 * W_enc_L [d_sae, d_model], b_enc_L, b_dec_L, threshold_L; W_dec_L.safetensors: W_dec_L
 * [d_sae, n − L, d_model]) reading ln2.hook_normalized and writing hook_mlp_out; returns its raw
 * weights in that orientation.
 */
export function writeRandomClt(dir: string, o: { dModel: number; dSae: number; nLayers: number }): RawCltLayer[] {
	const { dModel: D, dSae: S, nLayers: N } = o;
	const f32 = (data: Float32Array, shape: number[]) => ({ dtype: 'F32' as const, shape, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
	const layers: RawCltLayer[] = [];
	for (let l = 0; l < N; l++) {
		const layer: RawCltLayer = {
			wEnc: gaussianArray(S * D, 100 + l, 1 / Math.sqrt(D)), // [S, D], circuit-tracer's orientation
			bEnc: gaussianArray(S, 200 + l, 0.1),
			bDec: gaussianArray(D, 300 + l, 0.05),
			threshold: gaussianArray(S, 400 + l, 0.1, 0.5).map(Math.abs),
			wDec: gaussianArray(S * (N - l) * D, 500 + l, 0.05), // [S, N − l, D]
		};
		fs.writeFileSync(
			path.join(dir, `W_enc_${l}.safetensors`),
			encodeSafetensors({
				[`W_enc_${l}`]: f32(layer.wEnc, [S, D]),
				[`b_enc_${l}`]: f32(layer.bEnc, [S]),
				[`b_dec_${l}`]: f32(layer.bDec, [D]),
				[`threshold_${l}`]: f32(layer.threshold, [S]),
			}),
		);
		fs.writeFileSync(path.join(dir, `W_dec_${l}.safetensors`), encodeSafetensors({ [`W_dec_${l}`]: f32(layer.wDec, [S, N - l, D]) }));
		layers.push(layer);
	}
	fs.writeFileSync(path.join(dir, 'config.yaml'), 'model_kind: cross_layer_transcoder\nfeature_input_hook: ln2.hook_normalized\nfeature_output_hook: hook_mlp_out\n');
	return layers;
}
