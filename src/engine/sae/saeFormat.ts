// Reading SAEs on disk in every supported layout (the formats' own files say which), and
// reading and writing the SAELens folder format: cfg.json (v6, or pre-v6 converted as SAELens
// converts it) + sae_weights.safetensors + optional sparsity.safetensors. Everything that can
// be wrong with a file becomes one SaeFormatError line naming the file, so the UI can show it
// as is.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { syncDir, writeAtomic } from '../io/atomicWrite';
import { encodeSafetensors, readSafetensorsHeader, readTensor } from '../io/safetensors';
import type { TensorToWrite } from '../io/safetensors';
import { GEMMA_SCOPE_2_CONFIG, GEMMA_SCOPE_2_FILENAME, loadGemmaScope2 } from './gemmaScope2Format';
import { GEMMA_SCOPE_FILENAME, loadGemmaScope } from './gemmaScopeFormat';
import { LLAMA_SCOPE_HYPERPARAMS, LLAMA_SCOPE_WEIGHTS, loadLlamaScope } from './llamaScopeFormat';
import { architectureConfigKeys, isSaeArchitecture, saeArchitecture } from './architectures/saeArchitectures';
import { checkLegacyScalingFactor, errCode, formatError, isObject, optBool, readJsonObject, safetensors, toNumbers } from './saeChecks';
import { checkTensor, requiredTensors, validateWeights } from './tensorChecks';
import { SAE_ARCHITECTURES } from '../../protocol/engineProtocol';
import type { NormalizeActivations, Sae, SaeArchitecture, SaeConfig, SaeTensor } from './saeTypes';
import { CIRCUIT_TRACER_CONFIG, isCircuitTracerFolder, loadSetLayer, readCircuitTracerConfig } from './circuitTracerFormat';
import { SAELENS_TRANSCODERS, checkTranscoderConfig, hookLayer, saeLensTranscoderName } from './transcoder';

export const SAE_CFG_FILENAME = 'cfg.json';
export const SAE_WEIGHTS_FILENAME = 'sae_weights.safetensors';
export const SPARSITY_FILENAME = 'sparsity.safetensors';

/** The oldest SAELens version whose cfg.json has this (nested `metadata`) shape. */
const V6 = '6.0.0';

/** The files of each SAE layout in a folder: the first one whose `marker` is there is the folder's format. */
export interface SaeLayout {
	format: string;
	marker: string;
	required: readonly string[];
	optional: readonly string[];
}

export const SAE_LAYOUTS: readonly SaeLayout[] = [
	{ format: 'SAELens', marker: SAE_CFG_FILENAME, required: [SAE_CFG_FILENAME, SAE_WEIGHTS_FILENAME], optional: [SPARSITY_FILENAME] },
	{ format: 'Gemma Scope', marker: GEMMA_SCOPE_FILENAME, required: [GEMMA_SCOPE_FILENAME], optional: [] },
	{ format: 'Gemma Scope 2', marker: GEMMA_SCOPE_2_FILENAME, required: [GEMMA_SCOPE_2_FILENAME], optional: [GEMMA_SCOPE_2_CONFIG] },
	{ format: 'Llama Scope', marker: LLAMA_SCOPE_HYPERPARAMS, required: [LLAMA_SCOPE_HYPERPARAMS, LLAMA_SCOPE_WEIGHTS], optional: [] },
];

/** What a folder must hold, for messages. */
export const SAE_LAYOUTS_TEXT =
	'a SAELens folder (cfg.json + sae_weights.safetensors), a Gemma Scope params.npz, a Gemma Scope 2 params.safetensors, or a Llama Scope folder (hyperparams.json + checkpoints/final.safetensors)';

const NORMALIZE: readonly NormalizeActivations[] = ['none', 'expected_average_only_in', 'constant_norm_rescale', 'layer_norm'];

/** Pre-6 top-level keys that SAELens 6 keeps under `metadata` (its LLM_METADATA_KEYS, the LLM-side facts). */
export const METADATA_KEYS: readonly string[] = [
	'model_name',
	'hook_name',
	'hook_head_index',
	'context_size',
	'prepend_bos',
	'model_class_name',
	'dataset_path',
	'model_from_pretrained_kwargs',
	'sae_lens_version',
	'sae_lens_training_version',
	'neuronpedia_id',
	'seqpos_slice',
	'exclude_special_tokens',
	'sequence_separator_token',
	'disable_concat_sequences',
];

/** Top-level cfg.json keys of SAELens 6 inference configs that SaeConfig models. */
const BASE_KEYS = ['d_in', 'd_sae', 'dtype', 'device', 'apply_b_dec_to_input', 'normalize_activations', 'reshape_activations', 'metadata', 'sae_lens_version'];
/** SAELens TranscoderConfig's own top-level keys. */
const TRANSCODER_KEYS = ['d_out', 'hook_name_out', 'hook_layer_out', 'hook_head_index_out'];
/** Keys that belong to another architecture (or a transcoder) and must not leak into a saved cfg. */
const FOREIGN_KEYS = new Set([...architectureConfigKeys(), ...TRANSCODER_KEYS, 'architecture']);

export interface LoadSaeOptions {
	/**
	 * The hook the SAE reads, for files that do not say (Gemma Scope npz outside its usual folder
	 * layout). A cfg.json's own hook_name wins over it.
	 */
	hookName?: string;
}

/**
 * Loads an SAE from a folder in any of SAE_LAYOUTS, or from one of its files (a Gemma Scope
 * `.npz`, a Gemma Scope 2 params.safetensors, a SAELens or Llama Scope folder's file means the
 * folder). Throws SaeFormatError for anything unreadable or inconsistent.
 */
export function loadSae(p: string, options: LoadSaeOptions = {}): Sae {
	let stat: fs.Stats;
	try {
		stat = fs.statSync(p);
	} catch {
		throw formatError(`${p}: no such file or folder`);
	}
	if (stat.isFile()) {
		// One layer of a circuit-tracer transcoder set: the set's config.yaml says its hooks.
		const setLayer = circuitTracerLayerIndex(p);
		if (setLayer !== undefined) return loadSetLayer(p, setLayer, readCircuitTracerConfig(path.dirname(p)));
		if (p.endsWith('.npz')) return loadGemmaScope(p, options);
		const base = path.basename(p);
		if (base === GEMMA_SCOPE_2_FILENAME) return loadGemmaScope2(p, options);
		// Pointing at a file inside a SAELens or Llama Scope folder means the folder.
		if (base === SAE_CFG_FILENAME || base === SAE_WEIGHTS_FILENAME) return loadSaeLens(path.dirname(p), options);
		if (base === LLAMA_SCOPE_HYPERPARAMS) return loadLlamaScope(path.dirname(p));
		if (p.endsWith(path.join(...LLAMA_SCOPE_WEIGHTS.split('/')))) return loadLlamaScope(path.dirname(path.dirname(p)));
		throw formatError(`${p}: not an SAE (expected ${SAE_LAYOUTS_TEXT})`);
	}
	if (isCircuitTracerFolder(p) && !fs.existsSync(path.join(p, SAE_CFG_FILENAME))) {
		const config = readCircuitTracerConfig(p);
		throw formatError(
			`${p}: a circuit-tracer ${config.model_kind === 'transcoder_set' ? 'transcoder set' : 'cross-layer transcoder'}; ` +
				(config.model_kind === 'transcoder_set'
					? `load one layer's transcoder (e.g. ${path.join(p, 'layer_0.safetensors')}), or evaluate the set with --transcoders`
					: 'it runs in evaluation with --transcoders, not as one dictionary'),
		);
	}
	const layout = folderLayout(p);
	switch (layout?.marker) {
		case SAE_CFG_FILENAME:
			return loadSaeLens(p, options);
		case GEMMA_SCOPE_FILENAME:
			return loadGemmaScope(path.join(p, GEMMA_SCOPE_FILENAME), options);
		case GEMMA_SCOPE_2_FILENAME:
			return loadGemmaScope2(path.join(p, GEMMA_SCOPE_2_FILENAME), options);
		case LLAMA_SCOPE_HYPERPARAMS:
			return loadLlamaScope(p);
		default:
			throw formatError(`${p}: no ${SAE_CFG_FILENAME} (expected ${SAE_LAYOUTS_TEXT})`);
	}
}

/** The layer of a circuit-tracer set's layer file (layer_L.safetensors, or the L-th file config.yaml lists), or undefined. */
function circuitTracerLayerIndex(file: string): number | undefined {
	const dir = path.dirname(file);
	if (!isCircuitTracerFolder(dir) || path.basename(file) === CIRCUIT_TRACER_CONFIG) return undefined;
	const config = readCircuitTracerConfig(dir);
	if (config.model_kind !== 'transcoder_set') return undefined;
	const listed = config.transcoders?.findIndex((t) => path.resolve(dir, t) === path.resolve(file));
	if (listed !== undefined && listed >= 0) return listed;
	const m = /^layer_(\d+)\.safetensors$/.exec(path.basename(file));
	return m && !config.transcoders ? Number(m[1]) : undefined;
}

/** The layout of an SAE folder, by the first marker file it holds. */
export function folderLayout(dir: string): SaeLayout | undefined {
	return SAE_LAYOUTS.find((l) => fs.existsSync(path.join(dir, l.marker)));
}

/** The files holding an SAE loaded from `source` (a folder or a file), those that exist. */
export function saeSourceFiles(source: string): string[] {
	if (fs.statSync(source).isFile()) return [source];
	const layout = folderLayout(source);
	if (!layout) return [];
	return [...layout.required, ...layout.optional].map((f) => path.join(source, ...f.split('/'))).filter((f) => fs.existsSync(f) && !f.endsWith(SPARSITY_FILENAME));
}

function loadSaeLens(dir: string, options: LoadSaeOptions): Sae {
	const cfgFile = path.join(dir, SAE_CFG_FILENAME);
	const raw = readJsonObject(cfgFile);
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
	if (entries.has('W_skip') && !cfg.transcoder?.skip) {
		throw formatError(`${weightsFile}: has W_skip, but ${SAE_CFG_FILENAME}'s architecture "${String(raw.architecture)}" has no skip connection (a skip transcoder says "skip_transcoder")`);
	}
	const weights: Record<string, SaeTensor> = {};
	for (const name of requiredTensors(cfg)) {
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
		if (entry)
			checkLegacyScalingFactor(
				weightsFile,
				name,
				safetensors(weightsFile, () => readTensor(entry)),
			);
	}
	// Any other tensor (training buffers such as topk_threshold, log_threshold) plays no part in
	// inference and is not carried.
	validateWeights(weightsFile, cfg, weights);

	const sae: Sae = { source: dir, cfg, weights, rawConfig: raw };
	const sparsityFile = path.join(dir, SPARSITY_FILENAME);
	if (fs.existsSync(sparsityFile)) sae.logSparsity = readSparsity(sparsityFile, cfg.d_sae);
	return sae;
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
	const transcoder = Object.hasOwn(SAELENS_TRANSCODERS, architecture) ? SAELENS_TRANSCODERS[architecture] : undefined;
	if (transcoder) {
		arch = transcoder.architecture;
	} else if (architecture.includes('transcoder')) {
		throw formatError(`${file}: unsupported transcoder architecture "${architecture}" (supported: ${Object.keys(SAELENS_TRANSCODERS).join(', ')})`);
	} else if (architecture === 'batchtopk' || architecture === 'matryoshka_batchtopk') {
		arch = 'jumprelu';
		needsThreshold = true;
	} else if (isSaeArchitecture(architecture)) {
		arch = architecture;
	} else {
		throw formatError(`${file}: unsupported architecture "${architecture}" (supported: ${SAE_ARCHITECTURES.join(', ')}, and batchtopk saved with a threshold)`);
	}

	const cfg: SaeConfig = {
		d_in: positiveInt(file, c, 'd_in'),
		d_sae: positiveInt(file, c, 'd_sae'),
		dtype: optString(file, c, 'dtype', 'float32'),
		architecture: arch,
		apply_b_dec_to_input: optBool(file, c, 'apply_b_dec_to_input', true),
		normalize_activations: normalizeActivations(file, c.normalize_activations),
		reshape_activations: reshapeActivations(file, c.reshape_activations),
		metadata: { ...metadata, hook_name: optString(file, metadata, 'hook_name', '') },
	};
	Object.assign(cfg, saeArchitecture(arch).config?.read(c, cfg.d_sae, file));
	if (transcoder) {
		// SAELens's Transcoder never subtracts b_dec (it has the output's width), whatever the key says.
		cfg.apply_b_dec_to_input = false;
		const hookOut = c.hook_name_out ?? metadata.hook_name_out;
		if (typeof hookOut !== 'string' || !hookOut) throw formatError(`${file}: a transcoder needs "hook_name_out" (the hook its output replaces), got ${JSON.stringify(hookOut)}`);
		cfg.transcoder = { d_out: positiveInt(file, c, 'd_out'), hook_name_out: hookOut, skip: transcoder.skip };
		checkTranscoderConfig(cfg, file);
	}
	return { cfg, needsThreshold };
}

/** SAELens' handle_pre_6_0_config, applied in place to a copy of the cfg. */
function convertPre6(c: Record<string, unknown>, metadata: Record<string, unknown>, file: string): void {
	for (const [from, to] of [
		['hook_point', 'hook_name'],
		['hook_point_head_index', 'hook_head_index'],
		['activation_fn_str', 'activation_fn'],
	] as const) {
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
		throw formatError(`${file}: activation_fn ${JSON.stringify(fn)} is not supported (only relu and topk)`);
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
	// SAELens's handle_pre_6_0_config defaults: prepend_bos true (pre-6 SAEs were trained with a
	// BOS), and no training version or Neuronpedia id. The original sae_lens_version stays in the
	// metadata (saeLensConfig marks a written file as v6 at the top level).
	if (!('prepend_bos' in metadata)) metadata.prepend_bos = true;
	// Without a version SAELens's metadata takes the running (6.x) one.
	if (metadata.sae_lens_version === undefined) metadata.sae_lens_version = V6;
	if (!('sae_lens_training_version' in metadata)) metadata.sae_lens_training_version = null;
	if (!('neuronpedia_id' in metadata)) metadata.neuronpedia_id = null;
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
	for (const name of requiredTensors(cfg)) tensors[name] = sae.weights[name]!;
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
	const out: Record<string, unknown> = {};
	// Without a 6.x version SAELens reads the file as pre-6 and ignores the nested metadata. A
	// config converted from pre-6 keeps its original metadata.sae_lens_version, so the file is
	// marked v6 at the top level, which SAELens's handle_config_defaulting reads first.
	if (metadata.sae_lens_version === undefined) metadata.sae_lens_version = V6;
	else if (!isV6Version(metadata.sae_lens_version)) out.sae_lens_version = V6;
	Object.assign(out, {
		d_in: cfg.d_in,
		d_sae: cfg.d_sae,
		dtype: cfg.dtype,
		device: typeof rawConfig.device === 'string' ? rawConfig.device : 'cpu',
		apply_b_dec_to_input: cfg.apply_b_dec_to_input,
		normalize_activations: cfg.normalize_activations,
		reshape_activations: cfg.reshape_activations,
		metadata,
	});
	Object.assign(out, saeArchitecture(cfg.architecture).config?.write(cfg));
	if (cfg.transcoder) {
		// TranscoderConfig.to_dict's fields, after the base ones.
		const layer = hookLayer(cfg.transcoder.hook_name_out);
		Object.assign(out, { d_out: cfg.transcoder.d_out, hook_name_out: cfg.transcoder.hook_name_out, hook_layer_out: layer ?? 0, hook_head_index_out: null });
		out.architecture = saeLensTranscoderName(cfg, path.join(sae.source, SAE_CFG_FILENAME));
		return out;
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
	return (
		isObject(raw.metadata) &&
		isV6Version(raw.metadata.sae_lens_version) &&
		!('hook_name' in raw) &&
		!('hook_point' in raw) &&
		typeof raw.architecture === 'string' &&
		isSaeArchitecture(raw.architecture)
	);
}

function writeFileAtomic(file: string, data: Buffer): void {
	try {
		writeAtomic(file, data);
	} catch (e) {
		throw formatError(`${file}: cannot write (${errCode(e)})`);
	}
}
