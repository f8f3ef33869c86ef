// Reading and writing SAEs on disk: SAELens folders (cfg.json + sae_weights.safetensors +
// optional sparsity.safetensors, v6 and pre-v6 configs) and Gemma Scope params.npz files.
// Everything that can be wrong with a file becomes one SaeFormatError line naming the file, so
// the UI can show it as is.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { syncDir, writeAtomic } from '../io/atomicWrite';
import { encodeSafetensors, readSafetensorsHeader, readTensor, SafetensorsError } from '../io/safetensors';
import type { SafetensorsDtype, TensorToWrite } from '../io/safetensors';
import { STORED_FLOAT_BYTES, toFloat32 } from '../io/halfFloats';
import { NpzError, readNpz } from './npz';
import type { NpyArray } from './npz';
import { SaeFormatError } from './saeTypes';
import type { NormalizeActivations, Sae, SaeArchitecture, SaeConfig, SaeMetadata, SaeTensor } from './saeTypes';

export const SAE_CFG_FILENAME = 'cfg.json';
export const SAE_WEIGHTS_FILENAME = 'sae_weights.safetensors';
export const SPARSITY_FILENAME = 'sparsity.safetensors';
export const GEMMA_SCOPE_FILENAME = 'params.npz';

/** The oldest SAELens version whose cfg.json has this (nested `metadata`) shape. */
const V6 = '6.0.0';

const NORMALIZE: readonly NormalizeActivations[] = ['none', 'expected_average_only_in', 'constant_norm_rescale', 'layer_norm'];

/** Tensors each inference architecture needs, in the order they are written. */
const REQUIRED: Record<SaeArchitecture, readonly string[]> = {
	standard: ['W_enc', 'b_enc', 'W_dec', 'b_dec'],
	topk: ['W_enc', 'b_enc', 'W_dec', 'b_dec'],
	jumprelu: ['W_enc', 'b_enc', 'W_dec', 'b_dec', 'threshold'],
	gated: ['W_enc', 'b_gate', 'b_mag', 'r_mag', 'W_dec', 'b_dec'],
};

/** Pre-6 top-level keys that SAELens 6 keeps under `metadata` (the LLM-side facts). */
const METADATA_KEYS = [
	'model_name', 'hook_name', 'hook_head_index', 'context_size', 'prepend_bos', 'model_class_name',
	'dataset_path', 'model_from_pretrained_kwargs', 'sae_lens_training_version', 'neuronpedia_id',
	'seqpos_slice', 'exclude_special_tokens', 'sequence_separator_token', 'disable_concat_sequences',
];

/** Top-level cfg.json keys of SAELens 6 inference configs that SaeConfig models. */
const BASE_KEYS = ['d_in', 'd_sae', 'dtype', 'device', 'apply_b_dec_to_input', 'normalize_activations', 'reshape_activations', 'metadata'];
const TOPK_KEYS = ['k', 'rescale_acts_by_decoder_norm'];
/** Keys that belong to another architecture (or a transcoder) and must not leak into a saved cfg. */
const FOREIGN_KEYS = new Set([...TOPK_KEYS, 'd_out', 'architecture']);

const WEIGHT_DTYPES: readonly SafetensorsDtype[] = ['F32', 'F16', 'BF16'];

export interface LoadSaeOptions {
	/**
	 * The hook the SAE reads, for files that do not say (Gemma Scope npz outside its usual folder
	 * layout). A cfg.json's own hook_name wins over it.
	 */
	hookName?: string;
}

/**
 * Loads an SAE from a SAELens folder, a Gemma Scope `params.npz`, or a folder holding only a
 * `params.npz`. Throws SaeFormatError for anything unreadable or inconsistent.
 */
export function loadSae(p: string, options: LoadSaeOptions = {}): Sae {
	let stat: fs.Stats;
	try {
		stat = fs.statSync(p);
	} catch {
		throw formatError(`${p}: no such file or folder`);
	}
	if (stat.isFile()) {
		if (p.endsWith('.npz')) return loadGemmaScope(p, options);
		const base = path.basename(p);
		// Pointing at a file inside a SAELens folder means the folder.
		if (base === SAE_CFG_FILENAME || base === SAE_WEIGHTS_FILENAME) return loadSaeLens(path.dirname(p), options);
		throw formatError(`${p}: not an SAE (expected a SAELens folder with ${SAE_CFG_FILENAME} and ${SAE_WEIGHTS_FILENAME}, or a Gemma Scope ${GEMMA_SCOPE_FILENAME})`);
	}
	if (fs.existsSync(path.join(p, SAE_CFG_FILENAME))) return loadSaeLens(p, options);
	const npz = path.join(p, GEMMA_SCOPE_FILENAME);
	if (fs.existsSync(npz)) return loadGemmaScope(npz, options);
	throw formatError(`${p}: no ${SAE_CFG_FILENAME} (expected a SAELens folder with ${SAE_CFG_FILENAME} and ${SAE_WEIGHTS_FILENAME}, or a Gemma Scope ${GEMMA_SCOPE_FILENAME})`);
}

function loadSaeLens(dir: string, options: LoadSaeOptions): Sae {
	const cfgFile = path.join(dir, SAE_CFG_FILENAME);
	let text: string;
	try {
		text = fs.readFileSync(cfgFile, 'utf8');
	} catch (e) {
		throw formatError(`${cfgFile}: cannot read (${errCode(e)})`);
	}
	let raw: unknown;
	try {
		raw = JSON.parse(text);
	} catch (e) {
		throw formatError(`${cfgFile}: not valid JSON (${(e as Error).message})`);
	}
	if (!isObject(raw)) throw formatError(`${cfgFile}: not a JSON object`);
	const { cfg, needsThreshold } = normalizeSaeConfig(raw, cfgFile);
	if (!cfg.metadata.hook_name && options.hookName) cfg.metadata.hook_name = options.hookName;

	const weightsFile = path.join(dir, SAE_WEIGHTS_FILENAME);
	if (!fs.existsSync(weightsFile)) throw formatError(`${weightsFile}: missing (a SAELens folder needs ${SAE_WEIGHTS_FILENAME} next to ${SAE_CFG_FILENAME})`);
	const entries = new Map(safetensors(weightsFile, () => readSafetensorsHeader(weightsFile).tensors).map((t) => [t.name, t]));
	if (needsThreshold) {
		if (!entries.has('threshold')) {
			const hint = entries.has('topk_threshold') ? ' (a BatchTopK training checkpoint: SAELens converts it to jumprelu with a threshold tensor when saving for inference)' : '';
			throw formatError(`${weightsFile}: architecture "${String(raw.architecture)}" is only supported when saved for inference with a "threshold" tensor, and there is none${hint}`);
		}
		// SAELens saves BatchTopK SAEs for inference as JumpReLU with that threshold.
		cfg.architecture = 'jumprelu';
	}
	if (entries.has('W_skip')) throw formatError(`${weightsFile}: has W_skip (a skip transcoder); transcoders are not supported yet`);
	const weights: Record<string, SaeTensor> = {};
	for (const name of REQUIRED[cfg.architecture]) {
		const entry = entries.get(name);
		if (!entry) {
			const hint = name === 'threshold' && entries.has('log_threshold') ? '; it has log_threshold, so it is a training checkpoint' : '';
			throw formatError(`${weightsFile}: missing tensor "${name}" (required for ${cfg.architecture} SAEs; found: ${[...entries.keys()].join(', ') || 'none'})${hint}`);
		}
		// Checked before reading, so a wrong config never reads a huge tensor first.
		checkTensor(weightsFile, cfg, name, entry.dtype, entry.shape);
		weights[name] = safetensors(weightsFile, () => readTensor(entry));
	}
	for (const name of ['scaling_factor', 'finetuning_scaling_factor']) {
		const entry = entries.get(name);
		if (entry) checkLegacyScalingFactor(weightsFile, name, safetensors(weightsFile, () => readTensor(entry)));
	}
	// Any other tensor (training buffers such as topk_threshold, log_threshold) plays no part in
	// inference and is not carried.
	validateWeights(weightsFile, cfg, weights);

	const sae: Sae = { source: dir, cfg, weights, rawConfig: raw };
	const sparsityFile = path.join(dir, SPARSITY_FILENAME);
	if (fs.existsSync(sparsityFile)) sae.logSparsity = readSparsity(sparsityFile, cfg.d_sae);
	return sae;
}

/** Runs a safetensors read, turning its errors into SaeFormatError (their messages already name the file). */
function safetensors<T>(file: string, fn: () => T): T {
	try {
		return fn();
	} catch (e) {
		if (e instanceof SafetensorsError) throw formatError(e.message);
		if (e instanceof SaeFormatError) throw e;
		throw formatError(`${file}: cannot read (${errCode(e)})`);
	}
}

function readSparsity(file: string, dSae: number): Float32Array {
	const entry = safetensors(file, () => readSafetensorsHeader(file).tensors.find((t) => t.name === 'sparsity'));
	if (!entry) throw formatError(`${file}: no "sparsity" tensor`);
	if (entry.shape.length !== 1 || entry.shape[0] !== dSae) {
		throw formatError(`${file}: sparsity has shape [${entry.shape.join(', ')}], expected [d_sae] = [${dSae}]`);
	}
	const t = safetensors(file, () => readTensor(entry));
	const values = toNumbers(t);
	if (!values) throw formatError(`${file}: sparsity has dtype ${t.dtype}, expected a float dtype`);
	return Float32Array.from(values);
}

/** Legacy (pre-6) SAEs carry a scaling_factor that is all ones unless fine-tuned; ones are a no-op. */
function checkLegacyScalingFactor(file: string, name: string, t: SaeTensor): void {
	const values = toNumbers(t);
	// SAELens drops it when torch.allclose(x, 1): |x - 1| <= 1e-8 + 1e-5.
	if (!values || values.some((v) => !(Math.abs(v - 1) <= 1e-8 + 1e-5))) {
		throw formatError(`${file}: has a legacy "${name}" tensor that is not all ones (a fine-tuned scaling factor); fold it into the weights first, this format is not supported`);
	}
}

/**
 * Turns a cfg.json object (v6 or pre-v6) into the v6 inference config. `needsThreshold` marks
 * BatchTopK configs, which are JumpReLU SAEs once a threshold tensor confirms it.
 */
export function normalizeSaeConfig(raw: Record<string, unknown>, file: string): { cfg: SaeConfig; needsThreshold: boolean } {
	const c: Record<string, unknown> = { ...raw };
	// A deep copy, so that editing the config never edits rawConfig.
	const metadata: Record<string, unknown> = isObject(raw.metadata) ? structuredClone(raw.metadata) : {};
	const version = typeof c.sae_lens_version === 'string' && c.sae_lens_version ? c.sae_lens_version : metadata.sae_lens_version;
	// SAELens treats a cfg without a version, or older than 6, as pre-6; hook info at the top
	// level is the pre-6 shape whatever the version says.
	const pre6 = !isV6Version(version) || 'hook_point' in c || 'hook_name' in c;
	if (pre6) convertPre6(c, metadata, file);

	const architecture = c.architecture ?? 'standard';
	if (typeof architecture !== 'string') throw formatError(`${file}: "architecture" must be a string, got ${JSON.stringify(architecture)}`);
	let arch: SaeArchitecture;
	let needsThreshold = false;
	if (architecture.includes('transcoder')) {
		throw formatError(`${file}: architecture "${architecture}" (transcoder) is not supported yet`);
	} else if (architecture === 'batchtopk' || architecture === 'matryoshka_batchtopk') {
		arch = 'jumprelu';
		needsThreshold = true;
	} else if (architecture in REQUIRED) {
		arch = architecture as SaeArchitecture;
	} else {
		throw formatError(`${file}: unsupported architecture "${architecture}" (supported: standard, topk, jumprelu, gated, and batchtopk saved with a threshold)`);
	}

	const cfg: SaeConfig = {
		d_in: positiveInt(file, c, 'd_in'),
		d_sae: positiveInt(file, c, 'd_sae'),
		dtype: optString(file, c, 'dtype', 'float32'),
		architecture: arch,
		apply_b_dec_to_input: optBool(file, c, 'apply_b_dec_to_input', true),
		normalize_activations: normalizeActivations(file, c.normalize_activations),
		reshape_activations: reshapeActivations(file, c.reshape_activations),
		metadata: { ...metadata, hook_name: optString(file, metadata, 'hook_name', '') } as SaeMetadata,
	};
	if (arch === 'topk') {
		if (c.k === undefined || c.k === null) throw formatError(`${file}: architecture "topk" needs "k" (the number of active latents)`);
		if (typeof c.k !== 'number' || !Number.isInteger(c.k) || c.k < 1 || c.k > cfg.d_sae) {
			throw formatError(`${file}: "k" must be a positive integer no larger than d_sae (${cfg.d_sae}), got ${JSON.stringify(c.k)}`);
		}
		cfg.k = c.k;
		cfg.rescale_acts_by_decoder_norm = optBool(file, c, 'rescale_acts_by_decoder_norm', false);
	}
	return { cfg, needsThreshold };
}

/** SAELens' handle_pre_6_0_config, applied in place to a copy of the cfg. */
function convertPre6(c: Record<string, unknown>, metadata: Record<string, unknown>, file: string): void {
	for (const [from, to] of [['hook_point', 'hook_name'], ['hook_point_head_index', 'hook_head_index'], ['activation_fn_str', 'activation_fn']] as const) {
		if (from in c) {
			if (!(to in c)) c[to] = c[from];
			delete c[from];
		}
	}
	const fn = c.activation_fn ?? 'relu';
	if (fn === 'topk') {
		if (c.architecture === undefined || c.architecture === 'standard') c.architecture = 'topk';
		const kwargs = c.activation_fn_kwargs;
		if (c.k === undefined && isObject(kwargs) && kwargs.k !== undefined) c.k = kwargs.k;
	} else if (fn !== 'relu') {
		// SAELens 6 would silently run these as ReLU SAEs, which gives wrong activations.
		throw formatError(`${file}: activation_fn "${String(fn)}" is not supported (only relu and topk)`);
	}
	if (c.architecture === undefined) c.architecture = 'standard';
	if (c.apply_b_dec_to_input === undefined) c.apply_b_dec_to_input = true;
	for (const key of METADATA_KEYS) {
		if (key in c) {
			if (!(key in metadata)) metadata[key] = c[key];
			delete c[key];
		}
	}
	if (c.reshape_activations === undefined) {
		const hook = metadata.hook_name;
		c.reshape_activations = typeof hook === 'string' && hook.includes('hook_z') ? 'hook_z' : 'none';
	}
	// As in SAELens, whose loaded metadata defaults its version to the running (6.x) one: the
	// converted config is a v6 config, and a cfg.json written from it must read back as one.
	if (!isV6Version(metadata.sae_lens_version)) metadata.sae_lens_version = V6;
}

function isV6Version(version: unknown): boolean {
	const major = typeof version === 'string' ? Number(/^\s*v?(\d+)/.exec(version)?.[1] ?? NaN) : NaN;
	return major >= 6;
}

function normalizeActivations(file: string, v: unknown): NormalizeActivations {
	if (v === undefined || v === null || v === false) return 'none';
	if (v === true) return 'expected_average_only_in';
	if (typeof v === 'string' && (NORMALIZE as readonly string[]).includes(v)) return v as NormalizeActivations;
	throw formatError(`${file}: unsupported normalize_activations ${JSON.stringify(v)} (supported: ${NORMALIZE.join(', ')})`);
}

function reshapeActivations(file: string, v: unknown): 'none' | 'hook_z' {
	if (v === undefined || v === null) return 'none';
	if (v === 'none' || v === 'hook_z') return v;
	throw formatError(`${file}: unsupported reshape_activations ${JSON.stringify(v)} (supported: none, hook_z)`);
}

function positiveInt(file: string, o: Record<string, unknown>, key: string): number {
	const v = o[key];
	if (v === undefined) throw formatError(`${file}: missing key "${key}"`);
	if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw formatError(`${file}: "${key}" must be a positive integer, got ${JSON.stringify(v)}`);
	return v;
}

function optString(file: string, o: Record<string, unknown>, key: string, fallback: string): string {
	const v = o[key];
	if (v === undefined || v === null) return fallback;
	if (typeof v !== 'string') throw formatError(`${file}: "${key}" must be a string, got ${JSON.stringify(v)}`);
	return v;
}

function optBool(file: string, o: Record<string, unknown>, key: string, fallback: boolean): boolean {
	const v = o[key];
	if (v === undefined || v === null) return fallback;
	if (typeof v !== 'boolean') throw formatError(`${file}: "${key}" must be true or false, got ${JSON.stringify(v)}`);
	return v;
}

/** Checks tensor presence, dtypes and shapes against the config; `file` names the weights in errors. */
export function validateWeights(file: string, cfg: SaeConfig, weights: Record<string, SaeTensor>): void {
	for (const name of REQUIRED[cfg.architecture]) {
		const t = weights[name];
		if (!t) throw formatError(`${file}: missing tensor "${name}" (required for ${cfg.architecture} SAEs)`);
		const bytes = checkTensor(file, cfg, name, t.dtype, t.shape);
		if (t.data.length !== bytes) throw formatError(`${file}: ${name} has ${t.data.length} bytes, expected ${bytes}`);
	}
	if (cfg.architecture === 'topk' && (cfg.k === undefined || !Number.isInteger(cfg.k) || cfg.k < 1 || cfg.k > cfg.d_sae)) {
		throw formatError(`${file}: topk SAE needs an integer k in 1..d_sae (${cfg.d_sae}), got ${String(cfg.k)}`);
	}
}

/** Checks one weight's dtype and shape (before its bytes are read); returns its byte size. */
function checkTensor(file: string, cfg: SaeConfig, name: string, dtype: SafetensorsDtype, shape: readonly number[]): number {
	const { d_in: dIn, d_sae: dSae } = cfg;
	const [want, label] = name === 'W_enc' ? [[dIn, dSae], 'd_in, d_sae']
		: name === 'W_dec' ? [[dSae, dIn], 'd_sae, d_in']
			: name === 'b_dec' ? [[dIn], 'd_in']
				: [[dSae], 'd_sae'];
	if (!WEIGHT_DTYPES.includes(dtype)) throw formatError(`${file}: ${name} has dtype ${dtype}, expected F32, F16 or BF16`);
	if (shape.length !== want.length || shape.some((d, i) => d !== want[i])) {
		throw formatError(`${file}: ${name} has shape [${shape.join(', ')}], expected [${label}] = [${want.join(', ')}]`);
	}
	return want.reduce((a, d) => a * d, 1) * (dtype === 'F32' ? 4 : 2);
}

// ---------------------------------------------------------------------------------------------
// Gemma Scope

function loadGemmaScope(file: string, options: LoadSaeOptions): Sae {
	let arrays: Record<string, NpyArray>;
	try {
		arrays = readNpz(file);
	} catch (e) {
		if (e instanceof NpzError) throw formatError(e.message);
		throw formatError(`${file}: cannot read (${errCode(e)})`);
	}
	const tensors: Record<string, SaeTensor> = {};
	for (const [key, a] of Object.entries(arrays)) {
		// As SAELens' gemma_2 loader: keys starting w_ are the W_ matrices.
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
	for (const name of REQUIRED.jumprelu) {
		const t = tensors[name];
		if (!t) throw formatError(`${file}: missing array "${name}" (required for Gemma Scope JumpReLU SAEs; found: ${Object.keys(arrays).join(', ')})`);
		weights[name] = t;
	}
	validateWeights(file, cfg, weights);
	return { source: file, cfg, weights, rawConfig: {} };
}

/**
 * The hook and model of a Gemma Scope SAE from its path, e.g.
 * `.../gemma-scope-2b-pt-res/layer_12/width_16k/average_l0_82/params.npz` → blocks.12.hook_resid_post
 * on gemma-2-2b. Undefined when the path does not follow that layout.
 */
export function inferGemmaScope(file: string): { hookName: string; modelName?: string } | undefined {
	const parts = path.resolve(file).split(/[\\/]+/);
	const layerAt = parts.findIndex((s, i) => /^layer_\d+$/.test(s) && /^width_\d+[km]$/.test(parts[i + 1] ?? ''));
	if (layerAt < 1) return undefined;
	const layer = Number(parts[layerAt]!.slice('layer_'.length));
	// The release folder is the nearest ancestor naming the site; in a Hugging Face cache it sits
	// above snapshots/<hash>, as models--google--gemma-scope-2b-pt-res.
	for (let i = layerAt - 1; i >= 0; i--) {
		const repo = parts[i]!.toLowerCase();
		let hookName: string | undefined;
		if (/-res(?:[-_]|$)/.test(repo)) hookName = `blocks.${layer}.hook_resid_post`;
		else if (/-mlp(?:[-_]|$)/.test(repo)) hookName = `blocks.${layer}.hook_mlp_out`;
		else if (/-att(?:n)?(?:[-_]|$)/.test(repo)) hookName = `blocks.${layer}.attn.hook_z`;
		if (!hookName) continue;
		const m = /gemma-scope-(2b|9b|27b)-(pt|it)/.exec(repo);
		return m ? { hookName, modelName: `gemma-2-${m[1]}${m[2] === 'it' ? '-it' : ''}` } : { hookName };
	}
	return undefined;
}

function f64ToF32(a: NpyArray): SaeTensor {
	const n = a.data.length / 8;
	const out = Buffer.allocUnsafe(n * 4);
	for (let i = 0; i < n; i++) out.writeFloatLE(a.data.readDoubleLE(i * 8), i * 4);
	return { dtype: 'F32', shape: a.shape, data: out };
}

// ---------------------------------------------------------------------------------------------
// Writing

/**
 * Writes `sae` as a SAELens 6 folder: cfg.json, sae_weights.safetensors and, when the SAE has
 * it, sparsity.safetensors. Each file is written to a temporary name, synced and renamed, and
 * cfg.json goes last, so a reader never sees a half-written SAE.
 */
export function saveSae(dir: string, sae: Sae): void {
	const { cfg } = sae;
	const weightsFile = path.join(dir, SAE_WEIGHTS_FILENAME);
	validateWeights(weightsFile, cfg, sae.weights);
	if (sae.logSparsity && sae.logSparsity.length !== cfg.d_sae) {
		throw formatError(`${path.join(dir, SPARSITY_FILENAME)}: logSparsity has ${sae.logSparsity.length} values, expected d_sae = ${cfg.d_sae}`);
	}
	const tensors: Record<string, TensorToWrite> = {};
	for (const name of REQUIRED[cfg.architecture]) tensors[name] = sae.weights[name]!;
	const cfgJson = `${JSON.stringify(saeLensConfig(sae), null, 2)}\n`;

	try {
		fs.mkdirSync(dir, { recursive: true });
	} catch (e) {
		throw formatError(`${dir}: cannot create folder (${errCode(e)})`);
	}
	writeFileAtomic(weightsFile, encodeSafetensors(tensors));
	const sparsityFile = path.join(dir, SPARSITY_FILENAME);
	if (sae.logSparsity) {
		const s = sae.logSparsity;
		writeFileAtomic(sparsityFile, encodeSafetensors({ sparsity: { dtype: 'F32', shape: [s.length], data: new Uint8Array(s.buffer, s.byteOffset, s.byteLength) } }));
	} else if (fs.existsSync(sparsityFile)) {
		// A sparsity file left from an earlier SAE in this folder would be read as this one's.
		fs.rmSync(sparsityFile);
	}
	writeFileAtomic(path.join(dir, SAE_CFG_FILENAME), Buffer.from(cfgJson, 'utf8'));
	syncDir(dir);
}

/**
 * The cfg.json object SAELens 6 writes for inference (SAEConfig.to_dict): the base fields, the
 * architecture's own fields, nested metadata, then architecture. Unknown top-level keys of a v6
 * source config of the same architecture are kept; pre-6 and training-only keys are not, as
 * SAELens does not read them back.
 */
export function saeLensConfig(sae: Sae): Record<string, unknown> {
	const { cfg, rawConfig } = sae;
	const metadata: Record<string, unknown> = { ...cfg.metadata };
	// Without a 6.x version SAELens reads the file as pre-6 and ignores the nested metadata.
	if (!isV6Version(metadata.sae_lens_version)) metadata.sae_lens_version = V6;
	const out: Record<string, unknown> = {
		d_in: cfg.d_in,
		d_sae: cfg.d_sae,
		dtype: cfg.dtype,
		device: typeof rawConfig.device === 'string' ? rawConfig.device : 'cpu',
		apply_b_dec_to_input: cfg.apply_b_dec_to_input,
		normalize_activations: cfg.normalize_activations,
		reshape_activations: cfg.reshape_activations,
		metadata,
	};
	if (cfg.architecture === 'topk') {
		out.k = cfg.k;
		out.rescale_acts_by_decoder_norm = cfg.rescale_acts_by_decoder_norm ?? false;
	}
	if (isV6InferenceConfig(rawConfig) && rawConfig.architecture === cfg.architecture) {
		for (const [key, value] of Object.entries(rawConfig)) {
			if (!(key in out) && !BASE_KEYS.includes(key) && !FOREIGN_KEYS.has(key)) out[key] = value;
		}
	}
	out.architecture = cfg.architecture;
	return out;
}

function isV6InferenceConfig(raw: Record<string, unknown>): boolean {
	return isObject(raw.metadata) && isV6Version(raw.metadata.sae_lens_version) && !('hook_name' in raw) && !('hook_point' in raw) && typeof raw.architecture === 'string' && raw.architecture in REQUIRED;
}

function writeFileAtomic(file: string, data: Buffer): void {
	try {
		writeAtomic(file, data);
	} catch (e) {
		throw formatError(`${file}: cannot write (${errCode(e)})`);
	}
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** File contents quoted in a message (a JSON.parse excerpt, a corrupt header) may hold line breaks. */
function formatError(message: string): SaeFormatError {
	return new SaeFormatError(message.replace(/\s*[\r\n]+\s*/g, ' '));
}

function isObject(v: unknown): v is Record<string, unknown> {
	return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function errCode(e: unknown): string {
	return (e as NodeJS.ErrnoException)?.code ?? (e instanceof Error ? e.message : String(e));
}

/** Float tensor values as numbers, or undefined for a non-float dtype. */
function toNumbers(t: { dtype: SafetensorsDtype; data: Buffer }): number[] | undefined {
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

