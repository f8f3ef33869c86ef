// Gemma Scope (Gemma 2) SAEs: `params.npz` in `layer_N/width_Xk/average_l0_Y/` (or
// `embedding/width_Xk/…` for the embedding SAEs) of the google/gemma-scope-* repositories,
// read as SAELens's gemma_2 loader reads them: keys starting w_ are the W_ matrices, every array
// becomes float32, JumpReLU with apply_b_dec_to_input false, the hook from the repository and
// folder, and the embedding SAEs rescaled by √d_in (they were trained on the unscaled embedding,
// which Gemma multiplies by √d_model before hook_embed).

import * as path from 'node:path';
import { NpzError, readNpz } from './npz';
import type { NpyArray } from './npz';
import { asFloat32, checkLegacyScalingFactor, errCode, f32Tensor, f64ToF32, formatError } from './saeChecks';
import { requiredTensors, validateWeights } from './tensorChecks';
import type { Sae, SaeConfig, SaeMetadata, SaeTensor } from './saeTypes';

export const GEMMA_SCOPE_FILENAME = 'params.npz';

/** The SAELens 6 version the converted configs are written as. */
const V6 = '6.0.0';

export interface GemmaScopeOptions {
	/** The hook, for a params.npz outside the Gemma Scope folder layout. */
	hookName?: string;
}

export function loadGemmaScope(file: string, options: GemmaScopeOptions = {}): Sae {
	let arrays: Record<string, NpyArray>;
	try {
		arrays = readNpz(file);
	} catch (e) {
		if (e instanceof NpzError) throw formatError(e.message);
		throw formatError(`${file}: cannot read (${errCode(e)})`);
	}
	const tensors: Record<string, SaeTensor> = {};
	for (const [key, a] of Object.entries(arrays)) {
		const name = key.startsWith('w_') ? `W_${key.slice(2)}` : key;
		// numpy's default dtype is float64, and SAELens casts every Gemma Scope array to float32.
		tensors[name] = a.dtype === 'F64' ? f64ToF32(a) : a;
	}
	const wEnc = tensors.W_enc;
	if (!wEnc) throw formatError(`${file}: missing array "W_enc" (found: ${Object.keys(arrays).join(', ') || 'none'})`);
	if (wEnc.shape.length !== 2) throw formatError(`${file}: W_enc has shape [${wEnc.shape.join(', ')}], expected [d_in, d_sae]`);
	const [dIn, dSae] = wEnc.shape as [number, number];
	const scaling = tensors.scaling_factor;
	if (scaling) checkLegacyScalingFactor(file, 'scaling_factor', scaling);

	const inferred = inferGemmaScope(file);
	const hookName = options.hookName ?? inferred?.hookName ?? '';
	const metadata: SaeMetadata = { sae_lens_version: V6, hook_name: hookName, hook_head_index: null };
	if (inferred) {
		if (inferred.modelName) metadata.model_name = inferred.modelName;
		// Gemma Scope's training setup, as SAELens records it for these releases.
		metadata.context_size = 1024;
		metadata.prepend_bos = true;
		metadata.dataset_path = 'monology/pile-uncopyrighted';
	}
	const cfg: SaeConfig = {
		d_in: dIn,
		d_sae: dSae,
		dtype: 'float32',
		architecture: 'jumprelu',
		// Gemma Scope does not subtract b_dec from the input before encoding.
		apply_b_dec_to_input: false,
		normalize_activations: 'none',
		reshape_activations: hookName.includes('hook_z') ? 'hook_z' : 'none',
		metadata,
	};
	const weights: Record<string, SaeTensor> = {};
	for (const name of requiredTensors(cfg)) {
		const t = tensors[name];
		if (!t) throw formatError(`${file}: missing array "${name}" (required for Gemma Scope JumpReLU SAEs; found: ${Object.keys(arrays).join(', ')})`);
		weights[name] = t;
	}
	validateWeights(file, cfg, weights);
	if (inferred?.embedding) {
		// SAELens's gemma_2 loader: W_enc / √d_in and W_dec · √d_in.
		const s = Math.sqrt(dIn);
		weights.W_enc = scaled(file, 'W_enc', weights.W_enc!, 1 / s);
		weights.W_dec = scaled(file, 'W_dec', weights.W_dec!, s);
	}
	return { source: file, cfg, weights, rawConfig: {} };
}

/**
 * The hook and model of a Gemma Scope SAE from its path, e.g.
 * `.../gemma-scope-2b-pt-res/layer_12/width_16k/average_l0_82/params.npz` → blocks.12.hook_resid_post
 * on gemma-2-2b, and `.../gemma-scope-2b-pt-res/embedding/width_4k/average_l0_6` → hook_embed.
 * Undefined when the path does not follow that layout.
 */
export function inferGemmaScope(file: string): { hookName: string; modelName?: string; embedding: boolean } | undefined {
	const parts = path.resolve(file).split(/[\\/]+/);
	const at = parts.findIndex((s, i) => (/^layer_\d+$/.test(s) || s === 'embedding') && /^width_\d+[km]$/.test(parts[i + 1] ?? ''));
	if (at < 1) return undefined;
	const embedding = parts[at] === 'embedding';
	const layer = embedding ? 0 : Number(parts[at]!.slice('layer_'.length));
	// The release folder is the nearest ancestor naming the site; in a Hugging Face cache it sits
	// above snapshots/<hash>, as models--google--gemma-scope-2b-pt-res.
	for (let i = at - 1; i >= 0; i--) {
		const repo = parts[i]!.toLowerCase();
		let hookName: string | undefined;
		if (/-res(?:[-_]|$)/.test(repo)) hookName = embedding ? 'hook_embed' : `blocks.${layer}.hook_resid_post`;
		else if (/-mlp(?:[-_]|$)/.test(repo)) hookName = `blocks.${layer}.hook_mlp_out`;
		else if (/-att(?:n)?(?:[-_]|$)/.test(repo)) hookName = `blocks.${layer}.attn.hook_z`;
		if (!hookName) continue;
		const m = /gemma-scope-(2b|9b|27b)-(pt|it)/.exec(repo);
		return m ? { hookName, modelName: `gemma-2-${m[1]}${m[2] === 'it' ? '-it' : ''}`, embedding } : { hookName, embedding };
	}
	return undefined;
}

/** A tensor times a scalar, as float32. */
function scaled(file: string, name: string, t: SaeTensor, factor: number): SaeTensor {
	const v = asFloat32(file, name, t);
	const out = new Float32Array(v.length);
	for (let i = 0; i < v.length; i++) out[i] = v[i]! * factor;
	return f32Tensor(out, t.shape);
}
