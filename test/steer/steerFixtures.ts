// Shared pieces of the steering tests: their in-memory SAEs (seeded, see ../saeFixtures.ts), an
// SAE whose encoder inverts its decoder, and one forward pass with a compiled steering spec.

import type { ForwardResult, LanguageModel } from '../../src/engine/models/languageModel';
import type { SaeRunner } from '../../src/engine/sae/saeRunner';
import type { Sae, SaeArchitecture, SaeConfig } from '../../src/engine/sae/saeTypes';
import { compileSteering } from '../../src/engine/steer/steering';
import type { SteerSpec } from '../../src/protocol/steerProtocol';
import { gaussianArray, inMemorySae, tensor } from '../saeFixtures';

export const CPU = { executionProvider: 'cpu', threads: 1 } as const;

/** The steering tests' SAE: hook_resid_pre of gpt2-tiny, k 6. */
export function makeSae(architecture: SaeArchitecture, extra: Partial<SaeConfig> = {}, hookName = 'blocks.1.hook_resid_pre', dSae = 96): Sae {
	return inMemorySae(architecture, { hookName, dSae, k: 6, encoderStd: 0.4 }, extra);
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
		d_in: dIn,
		d_sae: dSae,
		dtype: 'float32',
		architecture: 'standard',
		apply_b_dec_to_input: true,
		normalize_activations: 'none',
		reshape_activations: 'none',
		metadata: { hook_name: hookName, model_name: 'gpt2-tiny', ...(centred ? { model_class_name: 'HookedTransformer' } : { model_from_pretrained_kwargs: { center_writing_weights: false } }) },
	};
	const weights = {
		W_enc: tensor(wEnc, [dIn, dSae]),
		W_dec: tensor(wDec, [dSae, dIn]),
		b_dec: tensor(gaussianArray(dIn, 12, 0.1), [dIn]),
		b_enc: tensor(new Float32Array(dSae).fill(100), [dSae]),
	};
	return { source: 'in-memory invertible SAE', cfg, weights, rawConfig: {} };
}

/** One forward over `ids` with `spec` applied as for the prompt (`prompt` true) or a generated token. */
export async function steeredForward(
	model: LanguageModel,
	runner: SaeRunner | undefined,
	spec: SteerSpec,
	ids: number[],
	hooks: string[],
	prompt = true,
	past?: ForwardResult['present'],
): Promise<ForwardResult> {
	const steering = compileSteering(model, runner, spec);
	return model.forward({ ids: [ids], hooks, logits: 'all', past, ...steering.callInputs({ prompt, seq: ids.length }) });
}

export function spec(features: SteerSpec['features'], positions: SteerSpec['positions'] = 'all', vectors: SteerSpec['vectors'] = []): SteerSpec {
	return { features, vectors, positions };
}
