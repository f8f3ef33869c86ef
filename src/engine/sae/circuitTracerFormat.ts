// circuit-tracer's transcoder layouts (safety-research/circuit-tracer), read and written:
//
// - A transcoder set (config.yaml `model_kind: transcoder_set`): one per-layer transcoder per
//   layer, `layer_{L}.safetensors` (or the files config.yaml's `transcoders` list names, in layer
//   order: circuit-tracer safetensors, Gemma Scope params.npz, Gemma Scope 2 params.safetensors),
//   each reading blocks.L.<feature_input_hook> and writing blocks.L.<feature_output_hook>.
//   A layer file holds W_enc [d_sae, d_in] (torch Linear orientation, transposed here to SAELens's
//   [d_in, d_sae]), W_dec [d_sae, d_out], b_enc [d_sae], b_dec [d_out], and optionally
//   `activation_function.threshold` [d_sae] (JumpReLU) and W_skip [d_out, d_in]; config.yaml's
//   `activation: topk` with `k` makes it TopK, `relu` ReLU, and otherwise the threshold decides.
// - A cross-layer transcoder (config.yaml `model_kind: cross_layer_transcoder`): per layer L,
//   W_enc_L.safetensors (W_enc_L [d_sae, d_model], b_enc_L, b_dec_L, optional threshold_L) and
//   W_dec_L.safetensors (W_dec_L [d_sae, n_layers − L, d_model]: L's features write to L and
//   every later layer's output hook).
//
// Every error names the file and the field.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import { syncDir, writeAtomic } from '../io/atomicWrite';
import { encodeSafetensors, readSafetensorsHeader, readTensor } from '../io/safetensors';
import type { TensorEntry, TensorToWrite } from '../io/safetensors';
import { GEMMA_SCOPE_2_FILENAME, loadGemmaScope2 } from './gemmaScope2Format';
import { loadGemmaScope } from './gemmaScopeFormat';
import { asFloat32, errCode, formatError, isObject, safetensors, transpose2d } from './saeChecks';
import { encodeHalf } from '../io/halfFloats';
import { validateWeights } from './tensorChecks';
import { checkTranscoderConfig } from './transcoder';
import type { Sae, SaeArchitecture, SaeConfig, SaeTensor } from './saeTypes';

export const CIRCUIT_TRACER_CONFIG = 'config.yaml';
const THRESHOLD = 'activation_function.threshold';

export type TranscoderKind = 'transcoder_set' | 'cross_layer_transcoder';

/** config.yaml as circuit-tracer reads it. */
export interface CircuitTracerConfig {
	model_kind: TranscoderKind;
	model_name?: string;
	/** Per-layer hook name without the blocks.L. prefix, e.g. ln2.hook_normalized, hook_resid_mid, mlp.hook_in. */
	feature_input_hook: string;
	/** E.g. hook_mlp_out, mlp.hook_out. */
	feature_output_hook: string;
	/** Layer files in layer order (paths or hf:// URIs); absent: layer_{L}.safetensors in the folder. */
	transcoders?: string[];
	activation?: 'relu' | 'topk' | 'jump_relu';
	k?: number;
}

/** Per-layer transcoders, one per layer from 0, as circuit-tracer's TranscoderSet. */
export interface TranscoderSet {
	/** The folder holding config.yaml. */
	source: string;
	config: CircuitTracerConfig;
	layers: Sae[];
}

/** Whether a folder holds a circuit-tracer config.yaml. */
export function isCircuitTracerFolder(dir: string): boolean {
	return fs.existsSync(path.join(dir, CIRCUIT_TRACER_CONFIG));
}

/** The TransformerLens hook of circuit-tracer's per-layer hook name at `layer` (mlp.hook_out is hook_mlp_out). */
export function layerHook(hook: string, layer: number): string {
	const name = hook === 'mlp.hook_out' ? 'hook_mlp_out' : hook;
	return `blocks.${layer}.${name}`;
}

export function readCircuitTracerConfig(dir: string): CircuitTracerConfig {
	const file = path.join(dir, CIRCUIT_TRACER_CONFIG);
	let raw: unknown;
	try {
		raw = parse(fs.readFileSync(file, 'utf8'));
	} catch (e) {
		throw formatError(`${file}: ${(e as NodeJS.ErrnoException).code ? `cannot read (${errCode(e)})` : `not valid YAML (${(e as Error).message.split('\n')[0]})`}`);
	}
	if (!isObject(raw)) throw formatError(`${file}: not a YAML mapping`);
	const kind = raw.model_kind;
	if (kind !== 'transcoder_set' && kind !== 'cross_layer_transcoder') {
		throw formatError(`${file}: "model_kind" must be transcoder_set or cross_layer_transcoder, got ${JSON.stringify(kind)}`);
	}
	const hook = (key: string): string => {
		const v = raw[key];
		if (typeof v !== 'string' || !/^[A-Za-z0-9_.]+$/.test(v)) throw formatError(`${file}: "${key}" must be a hook name such as ln2.hook_normalized or hook_mlp_out, got ${JSON.stringify(v)}`);
		return v.replace(/^blocks\.\d+\./, '');
	};
	const config: CircuitTracerConfig = { model_kind: kind, feature_input_hook: hook('feature_input_hook'), feature_output_hook: hook('feature_output_hook') };
	if (raw.model_name !== undefined) {
		if (typeof raw.model_name !== 'string') throw formatError(`${file}: "model_name" must be a string, got ${JSON.stringify(raw.model_name)}`);
		config.model_name = raw.model_name;
	}
	if (raw.transcoders !== undefined) {
		if (!Array.isArray(raw.transcoders) || raw.transcoders.length === 0 || raw.transcoders.some((t) => typeof t !== 'string')) {
			throw formatError(`${file}: "transcoders" must be a non-empty list of file paths, one per layer`);
		}
		config.transcoders = raw.transcoders as string[];
	}
	if (raw.activation !== undefined && raw.activation !== null) {
		if (raw.activation !== 'relu' && raw.activation !== 'topk' && raw.activation !== 'jump_relu') {
			throw formatError(`${file}: unsupported "activation" ${JSON.stringify(raw.activation)} (supported: relu, topk, jump_relu)`);
		}
		config.activation = raw.activation;
	}
	if (config.activation === 'topk') {
		if (typeof raw.k !== 'number' || !Number.isInteger(raw.k) || raw.k < 1) throw formatError(`${file}: "activation: topk" needs a positive integer "k", got ${JSON.stringify(raw.k)}`);
		config.k = raw.k;
	}
	return config;
}

/** The layer files of a set, in layer order, resolved to files on this machine. */
function layerFiles(dir: string, config: CircuitTracerConfig): string[] {
	const configFile = path.join(dir, CIRCUIT_TRACER_CONFIG);
	if (config.transcoders) {
		return config.transcoders.map((entry, i) => {
			// An hf:// URI means a Hub file; one downloaded into this folder (its path under the repository) is used.
			const local = entry.startsWith('hf://')
				? path.join(
						dir,
						...entry
							.replace(/^hf:\/\/[^/]+\/[^/]+\//, '')
							.split(/[?]/)[0]!
							.split('/'),
					)
				: path.resolve(dir, entry);
			if (!fs.existsSync(local)) {
				throw formatError(`${configFile}: transcoders[${i}] (${entry}) is not on this machine (looked for ${local})`);
			}
			return local;
		});
	}
	const files: string[] = [];
	for (let l = 0; fs.existsSync(path.join(dir, `layer_${l}.safetensors`)); l++) files.push(path.join(dir, `layer_${l}.safetensors`));
	if (files.length === 0) throw formatError(`${configFile}: no "transcoders" list and no layer_0.safetensors beside it`);
	const stray = fs.readdirSync(dir).filter((f) => /^layer_\d+\.safetensors$/.test(f) && Number(f.slice(6, -12)) >= files.length);
	if (stray.length) throw formatError(`${dir}: ${stray[0]} is there but layer_${files.length}.safetensors is not (a set has one transcoder per layer from 0)`);
	return files;
}

/** Loads a circuit-tracer transcoder set: every layer's transcoder, checked. */
export function loadTranscoderSet(dir: string): TranscoderSet {
	const config = readCircuitTracerConfig(dir);
	if (config.model_kind !== 'transcoder_set') {
		throw formatError(`${path.join(dir, CIRCUIT_TRACER_CONFIG)}: model_kind is ${config.model_kind}; a cross-layer transcoder loads with loadCrossLayerTranscoder`);
	}
	const layers = layerFiles(dir, config).map((file, layer) => loadSetLayer(file, layer, config));
	const dSae = layers[0]!.cfg.d_sae;
	layers.forEach((l, i) => {
		if (l.cfg.d_sae !== dSae) throw formatError(`${l.source}: d_sae ${l.cfg.d_sae} differs from layer 0's ${dSae} (circuit-tracer needs one width for the set; layer ${i})`);
	});
	return { source: dir, config, layers };
}

/** One layer of a set, from its file, with the set's hooks. */
export function loadSetLayer(file: string, layer: number, config: CircuitTracerConfig): Sae {
	const hookName = layerHook(config.feature_input_hook, layer);
	const hookNameOut = layerHook(config.feature_output_hook, layer);
	let sae: Sae;
	if (file.endsWith('.npz')) sae = loadGemmaScope(file, { hookName, hookNameOut });
	else if (path.basename(file) === GEMMA_SCOPE_2_FILENAME) sae = loadGemmaScope2(file, { hookName, hookNameOut });
	else return loadCircuitTracerLayer(file, hookName, hookNameOut, config);
	// The set's config.yaml says which hooks its files read and write.
	sae.cfg.metadata.hook_name = hookName;
	if (!sae.cfg.transcoder) throw formatError(`${file}: layer ${layer} of the set is not a transcoder`);
	sae.cfg.transcoder.hook_name_out = hookNameOut;
	if (config.model_name) sae.cfg.metadata.model_name = config.model_name;
	return sae;
}

/** A circuit-tracer per-layer safetensors file (SingleLayerTranscoder.to_safetensors). */
export function loadCircuitTracerLayer(file: string, hookName: string, hookNameOut: string, config: Pick<CircuitTracerConfig, 'activation' | 'k' | 'model_name'>): Sae {
	const entries = new Map(safetensors(file, () => readSafetensorsHeader(file).tensors).map((t) => [t.name, t]));
	const found = () => [...entries.keys()].join(', ') || 'none';
	const need = (name: string, rank: number): TensorEntry => {
		const e = entries.get(name);
		if (!e) throw formatError(`${file}: missing tensor "${name}" (a circuit-tracer transcoder has W_enc, W_dec, b_enc, b_dec; found: ${found()})`);
		if (e.shape.length !== rank) throw formatError(`${file}: ${name} has shape [${e.shape.join(', ')}], expected ${rank} dimensions`);
		return e;
	};
	const wEnc = need('W_enc', 2);
	const wDec = need('W_dec', 2);
	const [dSae, dIn] = wEnc.shape as [number, number];
	const dOut = wDec.shape[1]!;
	let architecture: SaeArchitecture;
	let k: number | undefined;
	if (config.activation === 'topk' || (config.activation === undefined && entries.has('k'))) {
		architecture = 'topk';
		k = config.k ?? readK(file, entries.get('k'));
	} else if (config.activation === 'relu') {
		architecture = 'standard';
	} else if (entries.has(THRESHOLD)) {
		architecture = 'jumprelu';
	} else if (config.activation === 'jump_relu') {
		throw formatError(`${file}: missing tensor "${THRESHOLD}" (config.yaml says activation jump_relu; found: ${found()})`);
	} else {
		architecture = 'standard';
	}
	const cfg: SaeConfig = {
		d_in: dIn,
		d_sae: dSae,
		dtype: 'float32',
		architecture,
		apply_b_dec_to_input: false,
		normalize_activations: 'none',
		reshape_activations: 'none',
		metadata: { hook_name: hookName, hook_head_index: null, prepend_bos: true, ...(config.model_name ? { model_name: config.model_name } : {}) },
		transcoder: { d_out: dOut, hook_name_out: hookNameOut, skip: entries.has('W_skip') },
	};
	if (k !== undefined) {
		cfg.k = k;
		cfg.rescale_acts_by_decoder_norm = false;
	}
	checkTranscoderConfig(cfg, file);
	const read = (name: string) => safetensors(file, () => readTensor(entries.get(name)!));
	const weights: Record<string, SaeTensor> = { W_enc: transpose2d(read('W_enc')), W_dec: read('W_dec'), b_enc: read(need('b_enc', 1).name), b_dec: read(need('b_dec', 1).name) };
	if (architecture === 'jumprelu') weights.threshold = read(THRESHOLD);
	if (cfg.transcoder!.skip) weights.W_skip = read('W_skip');
	validateWeights(file, cfg, weights);
	return { source: file, cfg, weights, rawConfig: {} };
}

function readK(file: string, entry: TensorEntry | undefined): number {
	if (!entry) throw formatError(`${file}: a TopK transcoder needs "k" (config.yaml's k, or a scalar tensor "k")`);
	const t = safetensors(file, () => readTensor(entry));
	const k = t.dtype === 'I64' ? Number(t.data.readBigInt64LE(0)) : t.dtype === 'I32' ? t.data.readInt32LE(0) : NaN;
	if (t.data.length === 0 || !Number.isInteger(k) || k < 1) throw formatError(`${file}: tensor "k" must be one positive int64, got dtype ${t.dtype} shape [${t.shape.join(', ')}]`);
	return k;
}

/** One layer of a cross-layer transcoder: its encoder, reading layer L's input hook, and its decoders to L and every later layer. */
export interface CltLayer {
	/** [d_model, d_sae] (SAELens orientation). */
	W_enc: SaeTensor;
	b_enc: SaeTensor;
	/** Layer L's output bias [d_model]. */
	b_dec: SaeTensor;
	/** JumpReLU thresholds [d_sae], when the CLT has them. */
	threshold?: SaeTensor;
	/** [d_sae, n_layers − L, d_model]: what L's features write to layers L, L + 1, …. */
	W_dec: SaeTensor;
}

/** A cross-layer transcoder (circuit-tracer's CrossLayerTranscoder), checked. */
export interface CrossLayerTranscoder {
	source: string;
	config: CircuitTracerConfig;
	nLayers: number;
	dSae: number;
	dModel: number;
	architecture: 'standard' | 'jumprelu';
	layers: CltLayer[];
}

/** Loads a circuit-tracer CLT folder: W_enc_L.safetensors and W_dec_L.safetensors for L = 0, 1, …. */
export function loadCrossLayerTranscoder(dir: string): CrossLayerTranscoder {
	const config = readCircuitTracerConfig(dir);
	if (config.model_kind !== 'cross_layer_transcoder') throw formatError(`${path.join(dir, CIRCUIT_TRACER_CONFIG)}: model_kind is ${config.model_kind}, not cross_layer_transcoder`);
	let nLayers = 0;
	while (fs.existsSync(path.join(dir, `W_enc_${nLayers}.safetensors`))) nLayers++;
	if (nLayers === 0) throw formatError(`${dir}: a cross-layer transcoder needs W_enc_0.safetensors (and W_dec_0.safetensors, …) beside config.yaml`);
	const layers: CltLayer[] = [];
	let dSae = 0;
	let dModel = 0;
	let jump = false;
	for (let l = 0; l < nLayers; l++) {
		const encFile = path.join(dir, `W_enc_${l}.safetensors`);
		const decFile = path.join(dir, `W_dec_${l}.safetensors`);
		if (!fs.existsSync(decFile)) throw formatError(`${decFile}: missing (every W_enc_L.safetensors needs its W_dec_L.safetensors)`);
		const enc = new Map(safetensors(encFile, () => readSafetensorsHeader(encFile).tensors).map((t) => [t.name, t]));
		const dec = new Map(safetensors(decFile, () => readSafetensorsHeader(decFile).tensors).map((t) => [t.name, t]));
		const get = (file: string, m: Map<string, TensorEntry>, name: string, shape: number[] | undefined): SaeTensor => {
			const e = m.get(name);
			if (!e) throw formatError(`${file}: missing tensor "${name}" (found: ${[...m.keys()].join(', ') || 'none'})`);
			if (shape && (e.shape.length !== shape.length || e.shape.some((d, i) => d !== shape[i]))) {
				throw formatError(`${file}: ${name} has shape [${e.shape.join(', ')}], expected [${shape.join(', ')}]`);
			}
			if (e.dtype !== 'F32' && e.dtype !== 'F16' && e.dtype !== 'BF16') throw formatError(`${file}: ${name} has dtype ${e.dtype}, expected F32, F16 or BF16`);
			return safetensors(file, () => readTensor(e));
		};
		const wEncEntry = enc.get(`W_enc_${l}`);
		if (l === 0) {
			if (!wEncEntry || wEncEntry.shape.length !== 2) throw formatError(`${encFile}: needs a 2-D tensor "W_enc_0" [d_sae, d_model] (found: ${[...enc.keys()].join(', ') || 'none'})`);
			[dSae, dModel] = wEncEntry.shape as [number, number];
			jump = enc.has('threshold_0');
		}
		const layer: CltLayer = {
			W_enc: transpose2d(get(encFile, enc, `W_enc_${l}`, [dSae, dModel])),
			b_enc: get(encFile, enc, `b_enc_${l}`, [dSae]),
			b_dec: get(encFile, enc, `b_dec_${l}`, [dModel]),
			W_dec: get(decFile, dec, `W_dec_${l}`, [dSae, nLayers - l, dModel]),
		};
		if (jump) layer.threshold = get(encFile, enc, `threshold_${l}`, [dSae]);
		else if (enc.has(`threshold_${l}`)) throw formatError(`${encFile}: has threshold_${l}, but W_enc_0.safetensors has no threshold_0 (every layer or none is JumpReLU)`);
		layers.push(layer);
	}
	return { source: dir, config, nLayers, dSae, dModel, architecture: jump ? 'jumprelu' : 'standard', layers };
}

// ---------------------------------------------------------------------------------------------
// Writing

/**
 * Writes per-layer transcoders (layer L at index L) as a circuit-tracer transcoder set:
 * layer_{L}.safetensors as SingleLayerTranscoder.to_safetensors writes them, then config.yaml
 * (last, so a reader never sees a half-written set). `inputHook` / `outputHook` are the per-layer
 * names (ln2.hook_normalized, hook_mlp_out).
 */
export function saveTranscoderSet(dir: string, layers: readonly Sae[], options: { inputHook: string; outputHook: string; modelName?: string; half?: boolean }): void {
	if (layers.length === 0) throw new Error('a transcoder set needs at least one layer');
	const architecture = layers[0]!.cfg.architecture;
	layers.forEach((sae, l) => {
		const t = sae.cfg.transcoder;
		if (!t) throw formatError(`${sae.source}: layer ${l} is not a transcoder`);
		if (sae.cfg.metadata.hook_name !== layerHook(options.inputHook, l) || t.hook_name_out !== layerHook(options.outputHook, l)) {
			throw formatError(`${sae.source}: layer ${l} reads ${sae.cfg.metadata.hook_name} and writes ${t.hook_name_out}, not ${layerHook(options.inputHook, l)} → ${layerHook(options.outputHook, l)}`);
		}
		if (sae.cfg.architecture !== architecture || (architecture === 'topk' && sae.cfg.k !== layers[0]!.cfg.k))
			throw formatError(`${sae.source}: layer ${l} is ${sae.cfg.architecture}, layer 0 ${architecture}; a set has one activation`);
		if (sae.cfg.architecture === 'gated' || sae.cfg.rescale_acts_by_decoder_norm)
			throw formatError(`${sae.source}: circuit-tracer has no ${sae.cfg.architecture}${sae.cfg.rescale_acts_by_decoder_norm ? ' (rescaled)' : ''} transcoders`);
	});
	try {
		fs.mkdirSync(dir, { recursive: true });
	} catch (e) {
		throw formatError(`${dir}: cannot create folder (${errCode(e)})`);
	}
	layers.forEach((sae, l) => {
		const file = path.join(dir, `layer_${l}.safetensors`);
		validateWeights(file, sae.cfg, sae.weights);
		const w = sae.weights;
		// float16 halves the files (the demo set ships in the extension); every loader widens it back.
		const stored = (t: SaeTensor): TensorToWrite => (options.half ? toF16(sae.source, t) : t);
		const tensors: Record<string, TensorToWrite> = { W_enc: stored(transpose2d(w.W_enc!)), W_dec: stored(w.W_dec!), b_enc: stored(w.b_enc!), b_dec: stored(w.b_dec!) };
		if (sae.cfg.architecture === 'jumprelu') tensors[THRESHOLD] = stored(w.threshold!);
		if (sae.cfg.transcoder!.skip) tensors.W_skip = stored(w.W_skip!);
		write(file, encodeSafetensors(tensors));
	});
	const config: Record<string, unknown> = {
		...(options.modelName ? { model_name: options.modelName } : {}),
		model_kind: 'transcoder_set',
		feature_input_hook: options.inputHook,
		feature_output_hook: options.outputHook,
	};
	if (architecture === 'topk') Object.assign(config, { activation: 'topk', k: layers[0]!.cfg.k });
	else if (architecture === 'standard') config.activation = 'relu';
	write(path.join(dir, CIRCUIT_TRACER_CONFIG), Buffer.from(stringify(config), 'utf8'));
	syncDir(dir);
}

/** A float tensor as float16 (round to nearest even). */
function toF16(file: string, t: SaeTensor): TensorToWrite {
	const half = encodeHalf(asFloat32(file, 'tensor', t));
	return { dtype: 'F16', shape: t.shape, data: new Uint8Array(half.buffer, half.byteOffset, half.byteLength) };
}

function write(file: string, data: Buffer): void {
	try {
		writeAtomic(file, data);
	} catch (e) {
		throw formatError(`${file}: cannot write (${errCode(e)})`);
	}
}

/**
 * The per-layer transcoders in a folder, in layer order: a circuit-tracer set (config.yaml), or a
 * folder of per-layer transcoder folders or files in any format loadSae reads (`load`).
 */
export function loadTranscoderFolder(dir: string, load: (p: string) => Sae): Sae[] {
	if (isCircuitTracerFolder(dir)) return loadTranscoderSet(dir).layers;
	let entries: string[];
	try {
		entries = fs.readdirSync(dir).sort();
	} catch (e) {
		throw formatError(`${dir}: cannot read (${errCode(e)})`);
	}
	const saes: Sae[] = [];
	for (const entry of entries) {
		const p = path.join(dir, entry);
		if (!fs.statSync(p).isDirectory()) continue;
		const sae = load(p);
		if (!sae.cfg.transcoder) throw formatError(`${p}: not a transcoder (it reads and writes ${sae.cfg.metadata.hook_name})`);
		saes.push(sae);
	}
	if (saes.length === 0) throw formatError(`${dir}: no ${CIRCUIT_TRACER_CONFIG} and no transcoder folders in it`);
	const layerOf = (s: Sae) => Number(/^blocks\.(\d+)\./.exec(s.cfg.metadata.hook_name)?.[1] ?? NaN);
	return saes.sort((a, b) => layerOf(a) - layerOf(b));
}
