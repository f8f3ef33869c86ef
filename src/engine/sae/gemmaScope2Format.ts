// Gemma Scope 2 (Gemma 3) SAEs: `params.safetensors` with lower-case w_enc [d_in, d_sae],
// w_dec [d_sae, d_in], b_enc, b_dec and threshold (JumpReLU, b_dec not subtracted from the
// input), and optionally a `config.json` beside it naming the Hugging Face module it reads
// (`hf_hook_point_in`, e.g. model.layers.12.output) and writes (`hf_hook_point_out`). Read as
// SAELens's gemma_3 loader reads them; without config.json the hook comes from the folder
// (`resid_post…`, `attn_out…`, `mlp_out…`, `transcoder…`/`clt…` + `layer_N`), as SAELens infers it.
// The transcoders (`transcoder…` folders, or config.json with hf_hook_point_out ≠ hf_hook_point_in)
// read the pre-feed-forward norm's output and write the post-feed-forward norm's output
// (blocks.N.mlp.hook_in → blocks.N.hook_mlp_out); the `…_affine` ones add
// `affine_skip_connection` [d_in, d_out] (x · A, so W_skip = Aᵀ), as circuit-tracer reads them.
// Cross-layer transcoders (`clt…`) write to every later layer and are refused here.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { readSafetensorsHeader, readTensor } from '../io/safetensors';
import { formatError, readJsonObject, safetensors, transpose2d } from './saeChecks';
import { requiredTensors, validateWeights } from './tensorChecks';
import type { Sae, SaeConfig, SaeMetadata, SaeTensor } from './saeTypes';
import { checkTranscoderConfig } from './transcoder';

export const GEMMA_SCOPE_2_FILENAME = 'params.safetensors';
export const GEMMA_SCOPE_2_CONFIG = 'config.json';

const V6 = '6.0.0';

/** Gemma Scope 2 tensor name → SAELens name. */
const NAMES: Record<string, string> = { w_enc: 'W_enc', w_dec: 'W_dec', b_enc: 'b_enc', b_dec: 'b_dec', threshold: 'threshold' };

export interface GemmaScope2Options {
	hookName?: string;
	/** For a transcoder whose files do not say: the hook it writes. */
	hookNameOut?: string;
}

export function loadGemmaScope2(file: string, options: GemmaScope2Options = {}): Sae {
	const dir = path.dirname(file);
	const configFile = path.join(dir, GEMMA_SCOPE_2_CONFIG);
	const config = fs.existsSync(configFile) ? readJsonObject(configFile) : undefined;
	const entries = new Map(safetensors(file, () => readSafetensorsHeader(file).tensors).map((t) => [t.name, t]));
	const hookIn = typeof config?.hf_hook_point_in === 'string' ? config.hf_hook_point_in : undefined;
	const hookOut = typeof config?.hf_hook_point_out === 'string' ? config.hf_hook_point_out : undefined;
	const site = hookIn ? hookFromHf(hookIn) : hookFromFolder(file);
	const siteOut = hookOut ? hookFromHf(hookOut) : undefined;
	const isTranscoder = entries.has('affine_skip_connection') || config?.type === 'transcoder' || (hookOut !== undefined && hookOut !== hookIn) || site?.transcoder === true;
	if (site?.crossLayer || config?.type === 'clt') {
		throw formatError(`${file}: a Gemma Scope 2 cross-layer transcoder (it writes to every later layer); only per-layer transcoders load as one dictionary`);
	}
	let hookNameOut: string | undefined;
	if (isTranscoder) {
		hookNameOut = options.hookNameOut ?? siteOut?.hookName ?? site?.hookNameOut;
		if (!hookNameOut) throw formatError(`${configFile}: a Gemma Scope 2 transcoder whose output hook is not known (hf_hook_point_out ${JSON.stringify(hookOut)})`);
	}
	const wEnc = entries.get('w_enc');
	if (!wEnc) throw formatError(`${file}: missing tensor "w_enc" (a Gemma Scope 2 params.safetensors has w_enc, w_dec, b_enc, b_dec, threshold; found: ${[...entries.keys()].join(', ') || 'none'})`);
	if (wEnc.shape.length !== 2) throw formatError(`${file}: w_enc has shape [${wEnc.shape.join(', ')}], expected [d_in, d_sae]`);
	const [dIn, dSae] = wEnc.shape as [number, number];
	if (typeof config?.width === 'number' && config.width !== dSae) throw formatError(`${configFile}: width ${config.width} differs from w_enc's d_sae ${dSae}`);

	const hookName = options.hookName ?? site?.hookName ?? '';
	const metadata: SaeMetadata = {
		sae_lens_version: V6,
		hook_name: hookName,
		hook_head_index: null,
		prepend_bos: true,
		context_size: 1024,
		dataset_path: 'monology/pile-uncopyrighted',
	};
	const modelName = typeof config?.model_name === 'string' ? config.model_name : modelFromPath(file);
	if (modelName) metadata.model_name = modelName.includes('/') ? modelName : `google/${modelName}`;
	if (hookIn) metadata.hf_hook_name = hookIn;
	const cfg: SaeConfig = {
		d_in: dIn,
		d_sae: dSae,
		dtype: 'float32',
		architecture: 'jumprelu',
		apply_b_dec_to_input: false,
		normalize_activations: 'none',
		reshape_activations: hookName.includes('hook_z') ? 'hook_z' : 'none',
		metadata,
	};
	if (hookNameOut) {
		const wDec = entries.get('w_dec');
		if (!wDec || wDec.shape.length !== 2) throw formatError(`${file}: a transcoder needs a 2-D tensor "w_dec" [d_sae, d_out] (found: ${[...entries.keys()].join(', ')})`);
		cfg.transcoder = { d_out: wDec.shape[1]!, hook_name_out: hookNameOut, skip: entries.has('affine_skip_connection') };
		if (hookOut) metadata.hf_hook_name_out = hookOut;
		checkTranscoderConfig(cfg, file);
	}
	const weights: Record<string, SaeTensor> = {};
	for (const [theirs, ours] of Object.entries(NAMES)) {
		const entry = entries.get(theirs);
		if (!entry) throw formatError(`${file}: missing tensor "${theirs}" (required for Gemma Scope 2 JumpReLU SAEs; found: ${[...entries.keys()].join(', ')})`);
		weights[ours] = safetensors(file, () => readTensor(entry));
	}
	const skip = entries.get('affine_skip_connection');
	if (skip && cfg.transcoder) {
		// [d_in, d_out] as stored; W_skip is its transpose.
		if (skip.shape.length !== 2 || skip.shape[0] !== dIn || skip.shape[1] !== cfg.transcoder.d_out) {
			throw formatError(`${file}: affine_skip_connection has shape [${skip.shape.join(', ')}], expected [d_in, d_out] = [${dIn}, ${cfg.transcoder.d_out}]`);
		}
		weights.W_skip = transpose2d(safetensors(file, () => readTensor(skip)));
	}
	for (const name of requiredTensors(cfg)) if (!weights[name]) throw formatError(`${file}: missing ${name}`);
	validateWeights(file, cfg, weights);
	// The folder is the SAE (its params.safetensors and config.json), as for SAELens folders.
	return { source: dir, cfg, weights, rawConfig: config ?? {} };
}

/**
 * TransformerLens hook of a Gemma 3 module name. `self_attn.o_proj.input` is the heads' output
 * before the output projection, n_heads·d_head wide: TransformerLens's attn.hook_z (SAELens
 * calls it hook_attn_out, but that hook is d_model wide and after o_proj).
 */
export function hookFromHf(module: string): { hookName: string; hookNameOut?: string; transcoder: boolean; crossLayer?: boolean } | undefined {
	const m = /(?:^|\.)layers\.(\d+)\.(.+)$/.exec(module);
	if (!m) return undefined;
	const [layer, site] = [m[1]!, m[2]!];
	switch (site) {
		case 'output':
			return { hookName: `blocks.${layer}.hook_resid_post`, transcoder: false };
		case 'self_attn.o_proj.input':
			return { hookName: `blocks.${layer}.attn.hook_z`, transcoder: false };
		case 'post_feedforward_layernorm.output':
			return { hookName: `blocks.${layer}.hook_mlp_out`, transcoder: false };
		// The norm's output after its gain: the MLP's input.
		case 'pre_feedforward_layernorm.output':
			return { hookName: `blocks.${layer}.mlp.hook_in`, transcoder: false };
		default:
			return undefined;
	}
}

/** The hook from the release folder, as SAELens infers it when config.json is absent. */
function hookFromFolder(file: string): { hookName: string; hookNameOut?: string; transcoder: boolean; crossLayer?: boolean } | undefined {
	const rel = file
		.split(/[\\/]+/)
		.slice(-4)
		.join('/');
	const layer = /layer_(\d+)/.exec(rel)?.[1];
	if (layer === undefined) return undefined;
	if (/resid_post/.test(rel)) return { hookName: `blocks.${layer}.hook_resid_post`, transcoder: false };
	if (/attn_out/.test(rel)) return { hookName: `blocks.${layer}.attn.hook_z`, transcoder: false };
	if (/mlp_out/.test(rel)) return { hookName: `blocks.${layer}.hook_mlp_out`, transcoder: false };
	if (/(^|\/)clt/.test(rel)) return { hookName: `blocks.${layer}.mlp.hook_in`, transcoder: true, crossLayer: true };
	if (/transcoder/.test(rel)) return { hookName: `blocks.${layer}.mlp.hook_in`, hookNameOut: `blocks.${layer}.hook_mlp_out`, transcoder: true };
	return undefined;
}

/** google/gemma-3-<size>-<pt|it> from a gemma-scope-2-<size>-<pt|it> repository folder in the path. */
function modelFromPath(file: string): string | undefined {
	const m = /gemma-scope-2-(\d+(?:\.\d+)?[bm])-(pt|it)/i.exec(file);
	return m ? `google/gemma-3-${m[1]!.toLowerCase()}-${m[2]!.toLowerCase()}` : undefined;
}
