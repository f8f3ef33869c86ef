// Shared pieces of the steering tests: in-memory SAEs with seeded weights, reading SAE tensors
// back as float32, and one forward pass with a compiled steering spec.

import type { ForwardResult, LanguageModel } from '../../src/engine/models/languageModel';
import { seededRandom } from '../../src/engine/models/sampling';
import type { SaeRunner } from '../../src/engine/sae/saeRunner';
import type { Sae, SaeArchitecture, SaeConfig } from '../../src/engine/sae/saeTypes';
import { compileSteering } from '../../src/engine/steer/steering';
import type { SteerSpec } from '../../src/protocol/steerProtocol';

export const CPU = { executionProvider: 'cpu', threads: 1 } as const;

export function gaussianArray(n: number, seed: number, std = 1, mean = 0): Float32Array {
	const u = seededRandom(seed);
	return Float32Array.from({ length: n }, () => mean + std * Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u()));
}

export function tensor(data: Float32Array, shape: number[]): Sae['weights'][string] {
	return { dtype: 'F32', shape, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength) };
}

export function f32(sae: Sae, name: string): Float32Array {
	const t = sae.weights[name]!;
	return new Float32Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength));
}

/** An in-memory SAE with seeded random weights on gpt2-tiny (d_model 32). */
export function makeSae(architecture: SaeArchitecture, extra: Partial<SaeConfig> = {}, hookName = 'blocks.1.hook_resid_pre', dSae = 96): Sae {
	const dIn = 32;
	const cfg: SaeConfig = {
		d_in: dIn, d_sae: dSae, dtype: 'float32', architecture, apply_b_dec_to_input: true, normalize_activations: 'none',
		reshape_activations: 'none', metadata: { hook_name: hookName, model_name: 'gpt2-tiny', model_from_pretrained_kwargs: { center_writing_weights: false } },
		...(architecture === 'topk' ? { k: 6 } : {}), ...extra,
	};
	const weights: Sae['weights'] = {
		W_enc: tensor(gaussianArray(dIn * dSae, 1, 0.4), [dIn, dSae]),
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

/**
 * A ReLU SAE whose encoder inverts its decoder: d_sae orthonormal, mean-zero decoder rows,
 * W_enc = W_decᵀ, and an encoder bias large enough that every feature is active on the test
 * activations. Re-encoding x + (v − f_i)·d_i then reads exactly v for feature i.
 */
export function invertibleSae(hookName: string, dSae: number, centred: boolean): Sae {
	const dIn = 32;
	const rows: Float64Array[] = [];
	const g = gaussianArray(dSae * dIn, 11);
	for (let i = 0; i < dSae; i++) {
		const r = Float64Array.from(g.subarray(i * dIn, (i + 1) * dIn));
		const project = (u: Float64Array): void => {
			const dot = r.reduce((s, v, j) => s + v * u[j]!, 0);
			for (let j = 0; j < dIn; j++) r[j]! -= dot * u[j]!;
		};
		project(new Float64Array(dIn).fill(1 / Math.sqrt(dIn)));
		for (const prev of rows) project(prev);
		const norm = Math.hypot(...r);
		rows.push(r.map((v) => v / norm));
	}
	const wDec = Float32Array.from(rows.flatMap((r) => [...r]));
	const wEnc = new Float32Array(dIn * dSae);
	for (let i = 0; i < dSae; i++) for (let j = 0; j < dIn; j++) wEnc[j * dSae + i] = wDec[i * dIn + j]!;
	const cfg: SaeConfig = {
		d_in: dIn, d_sae: dSae, dtype: 'float32', architecture: 'standard', apply_b_dec_to_input: true, normalize_activations: 'none', reshape_activations: 'none',
		metadata: { hook_name: hookName, model_name: 'gpt2-tiny', ...(centred ? { model_class_name: 'HookedTransformer' } : { model_from_pretrained_kwargs: { center_writing_weights: false } }) },
	};
	const weights = {
		W_enc: tensor(wEnc, [dIn, dSae]), W_dec: tensor(wDec, [dSae, dIn]),
		b_dec: tensor(gaussianArray(dIn, 12, 0.1), [dIn]), b_enc: tensor(new Float32Array(dSae).fill(100), [dSae]),
	};
	return { source: 'in-memory invertible SAE', cfg, weights, rawConfig: {} };
}

/** One forward over `ids` with `spec` applied as for the prompt (`prompt` true) or a generated token. */
export async function steeredForward(model: LanguageModel, runner: SaeRunner | undefined, spec: SteerSpec, ids: number[], hooks: string[], prompt = true, past?: ForwardResult['present']): Promise<ForwardResult> {
	const steering = compileSteering(model, runner, spec);
	return model.forward({ ids: [ids], hooks, logits: 'all', past, ...steering.callInputs({ prompt, seq: ids.length }) });
}

export function spec(features: SteerSpec['features'], positions: SteerSpec['positions'] = 'all', vectors: SteerSpec['vectors'] = []): SteerSpec {
	return { features, vectors, positions };
}
