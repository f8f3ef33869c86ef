// Llama Scope SAEs (fnlp/Llama3_1-8B-Base-L*): `hyperparams.json` and
// `checkpoints/final.safetensors` (encoder.weight [d_sae, d_in], encoder.bias, decoder.weight
// [d_in, d_sae], decoder.bias), read as SAELens's llama_scope loader and from_pretrained read
// them. The SAE was trained on inputs scaled to an average norm of √d_in, s = √d_in /
// dataset_average_activation_norm.in; SAELens folds s into the weights (W_enc·s, W_dec/s,
// b_dec/s) and scales the one JumpReLU threshold of hyperparams.json by s for every feature.
// We always fold, so the SAE reads the raw hook activation. (SAELens folds only when its
// registry lists a norm_scaling_factor for the SAE, which it does for every Llama Scope release,
// with this same value.)

import * as fs from 'node:fs';
import * as path from 'node:path';
import { readSafetensorsHeader, readTensor } from '../io/safetensors';
import { asFloat32, f32Tensor, formatError, isObject, readJsonObject, safetensors } from './saeChecks';
import { validateWeights } from './tensorChecks';
import type { Sae, SaeConfig, SaeTensor } from './saeTypes';

export const LLAMA_SCOPE_HYPERPARAMS = 'hyperparams.json';
export const LLAMA_SCOPE_WEIGHTS = 'checkpoints/final.safetensors';

const V6 = '6.0.0';

export function loadLlamaScope(dir: string): Sae {
	const hpFile = path.join(dir, LLAMA_SCOPE_HYPERPARAMS);
	const hp = readJsonObject(hpFile);
	const num = (key: string, v: unknown = hp[key]): number => {
		if (typeof v !== 'number' || !Number.isFinite(v)) throw formatError(`${hpFile}: "${key}" must be a number, got ${JSON.stringify(v)}`);
		return v;
	};
	const dIn = num('d_model');
	const dSae = num('d_sae');
	const hook = hp.hook_point_in;
	if (typeof hook !== 'string' || !hook) throw formatError(`${hpFile}: "hook_point_in" must name a hook, got ${JSON.stringify(hook)}`);
	const norms = hp.dataset_average_activation_norm;
	if (!isObject(norms)) throw formatError(`${hpFile}: "dataset_average_activation_norm" must be an object with "in"`);
	const normIn = num('dataset_average_activation_norm.in', norms.in);
	if (normIn <= 0) throw formatError(`${hpFile}: dataset_average_activation_norm.in must be positive, got ${normIn}`);
	const s = Math.sqrt(dIn) / normIn;
	const threshold = num('jump_relu_threshold') * s;

	const wFile = path.join(dir, ...LLAMA_SCOPE_WEIGHTS.split('/'));
	if (!fs.existsSync(wFile)) throw formatError(`${wFile}: missing (a Llama Scope SAE has ${LLAMA_SCOPE_WEIGHTS} next to ${LLAMA_SCOPE_HYPERPARAMS})`);
	const entries = new Map(safetensors(wFile, () => readSafetensorsHeader(wFile).tensors).map((t) => [t.name, t]));
	const read = (name: string, shape: number[]): Float32Array => {
		const e = entries.get(name);
		if (!e) throw formatError(`${wFile}: missing tensor "${name}" (found: ${[...entries.keys()].join(', ') || 'none'})`);
		if (e.shape.length !== shape.length || e.shape.some((d, i) => d !== shape[i])) throw formatError(`${wFile}: ${name} has shape [${e.shape.join(', ')}], expected [${shape.join(', ')}]`);
		return asFloat32(
			wFile,
			name,
			safetensors(wFile, () => readTensor(e)),
		);
	};
	const encoder = read('encoder.weight', [dSae, dIn]);
	const decoder = read('decoder.weight', [dIn, dSae]);
	const bEnc = read('encoder.bias', [dSae]);
	const bDec = read('decoder.bias', [dIn]);
	// W_enc = encoder.weightᵀ · s, W_dec = decoder.weightᵀ / s.
	const wEnc = transposeScaled(encoder, dSae, dIn, s);
	const wDec = transposeScaled(decoder, dIn, dSae, 1 / s);
	const bDecFolded = bDec.map((v) => v / s);
	const weights: Record<string, SaeTensor> = {
		W_enc: f32Tensor(wEnc, [dIn, dSae]),
		b_enc: f32Tensor(bEnc, [dSae]),
		W_dec: f32Tensor(wDec, [dSae, dIn]),
		b_dec: f32Tensor(bDecFolded, [dIn]),
		threshold: f32Tensor(new Float32Array(dSae).fill(threshold), [dSae]),
	};
	const cfg: SaeConfig = {
		d_in: dIn,
		d_sae: dSae,
		dtype: 'float32',
		architecture: 'jumprelu',
		apply_b_dec_to_input: false,
		normalize_activations: 'none',
		reshape_activations: 'none',
		metadata: {
			sae_lens_version: V6,
			hook_name: hook,
			hook_head_index: null,
			model_name: 'meta-llama/Llama-3.1-8B',
			prepend_bos: true,
			context_size: 1024,
			dataset_path: 'cerebras/SlimPajama-627B',
			norm_scaling_factor: s,
		},
	};
	validateWeights(wFile, cfg, weights);
	return { source: dir, cfg, weights, rawConfig: hp };
}

/** mᵀ · factor for a row-major [rows, cols] matrix. */
function transposeScaled(m: Float32Array, rows: number, cols: number, factor: number): Float32Array {
	const out = new Float32Array(rows * cols);
	for (let r = 0; r < rows; r++) {
		const base = r * cols;
		for (let c = 0; c < cols; c++) out[c * rows + r] = m[base + c]! * factor;
	}
	return out;
}
