// Feature analyses on disk: in the SAE's user-data folder (saeUserData.ts), or exported beside
// the SAE in `<saeDir>/feature-lens/` (for a Gemma Scope npz, beside the file) to share it with
// the SAE, as the demo SAE ships with its own. analysis.json holds the format version, what was analysed (a content key
// of the SAE, the corpus, the token count) and the example sources; features.safetensors the
// per-feature arrays; examples.safetensors the example windows (token ids stored once for
// overlapping windows, nonzero activations as f16). Every file is written atomically and
// carries the same analysis id, so a half-replaced analysis is detected, not misread.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { syncDir, writeAtomic } from '../io/atomicWrite';
import { resolveInside } from '../io/safePaths';
import { encodeSafetensors, readSafetensorsHeader, readTensor } from '../io/safetensors';
import type { SafetensorsDtype, TensorToWrite } from '../io/safetensors';
import { GEMMA_SCOPE_FILENAME } from '../sae/gemmaScopeFormat';
import { saeSourceFiles } from '../sae/saeFormat';
import type { FeatureAnalysis } from './analyzeFeatures';
import type { ExampleOptions, ExampleTable } from './exampleCollector';
import { decodeHalf, encodeHalf } from '../io/halfFloats';
import { DEMO } from '../../protocol/engineProtocol';

export const FEATURE_LENS_DIRNAME = 'feature-lens';
/** Bumped whenever the files' layout or meaning changes; older analyses are recomputed. */
export const ANALYSIS_FORMAT_VERSION = 1;
const META_FILE = 'analysis.json';
const FEATURES_FILE = 'features.safetensors';
const EXAMPLES_FILE = 'examples.safetensors';

/**
 * Where an analysis exported with an SAE lives, beside it; undefined for an SAE in a Hugging Face
 * cache snapshot (`…/models--org--name/snapshots/<commit>/…`), which holds only what the Hub
 * serves (the cache is shared with Python): its analyses stay in the user-data folder.
 */
export function featureLensDir(saeSource: string): string | undefined {
	if (/[\\/]models--[^\\/]+[\\/]snapshots[\\/][0-9a-f]{40}([\\/]|$)/.test(path.resolve(saeSource))) return undefined;
	const isFile = fs.existsSync(saeSource) && fs.statSync(saeSource).isFile();
	const saeDir = isFile ? path.dirname(saeSource) : saeSource;
	const base = path.basename(saeSource);
	// A Gemma Scope params.npz sits alone in its folder; any other npz gets a subfolder of its own.
	const parts = !isFile || base === GEMMA_SCOPE_FILENAME ? [FEATURE_LENS_DIRNAME] : [FEATURE_LENS_DIRNAME, base.replace(/\.npz$/, '')];
	// Analyses are read from and written to it: a link (feature-lens/ itself or its subfolder)
	// leading out of the SAE's folder is refused, or an export would write through it.
	for (let i = 1; i <= parts.length; i++) resolveInside(saeDir, path.join(...parts.slice(0, i)), saeSource);
	return path.join(saeDir, ...parts);
}

/** A content key of the SAE's files: SHA-256 over cfg.json and the weights, plus their sizes and mtimes to skip rehashing. */
export interface SaeKey {
	sha256: string;
	files: { name: string; size: number; mtimeMs: number }[];
}

/**
 * The SAE's key. When `known` lists the same files with the same sizes and mtimes, its hash is
 * reused; otherwise (a fresh clone, a retrained SAE) the files are hashed again. mtimes alone
 * would invalidate a committed analysis on every checkout; content alone is slow for big SAEs.
 */
export function saeKey(saeSource: string, known?: SaeKey): SaeKey {
	const files = saeSourceFiles(saeSource).map((f) => {
		const st = fs.statSync(f);
		return { name: path.basename(f), size: st.size, mtimeMs: Math.round(st.mtimeMs) };
	});
	if (known && JSON.stringify(known.files) === JSON.stringify(files)) return { sha256: known.sha256, files };
	const hash = crypto.createHash('sha256');
	for (const f of saeSourceFiles(saeSource)) {
		hash.update(path.basename(f));
		const fd = fs.openSync(f, 'r');
		try {
			const buf = Buffer.allocUnsafe(1 << 20);
			for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0;) hash.update(buf.subarray(0, n));
		} finally {
			fs.closeSync(fd);
		}
	}
	return { sha256: hash.digest('hex'), files };
}

/** A corpus argument as a stable key: "demo", an absolute path or pattern, or a hash of a file list. */
export function corpusKey(corpus: string | readonly string[]): { key: string; label: string } {
	if (typeof corpus === 'string') {
		const key = corpus === DEMO ? DEMO : path.resolve(corpus);
		return { key, label: corpus };
	}
	const sorted = [...corpus].map((f) => path.resolve(f)).sort();
	return { key: `files:${crypto.createHash('sha256').update(sorted.join('\n')).digest('hex')}`, label: `${corpus.length} files` };
}

export interface AnalysisMeta {
	formatVersion: number;
	/** Shared by the three files of one analysis. */
	id: string;
	sae: SaeKey;
	corpus: string;
	corpusKey: string;
	requestedTokens: number;
	tokens: number;
	contextSize: number;
	windows: number;
	featureCap: number;
	saturatedTokens: number;
	dSae: number;
	options: ExampleOptions;
	/** Example source documents, indexed by the examples' `doc`. */
	sources: string[];
	/** Automatic labels, [d_sae]. */
	autoLabels: string[];
	createdAt: string;
	seconds: number;
	tokensPerSecond: number;
}

export interface StoredAnalysis {
	meta: AnalysisMeta;
	fireCount: Float64Array;
	meanActivation: Float32Array;
	maxActivation: Float32Array;
	histogram: Int32Array;
	histogramLow: Float32Array;
	histogramHigh: Float32Array;
	bandCount: Int32Array;
	table: ExampleTable;
}

/**
 * An upper bound on the bytes an analysis of `dSae` features takes on disk, known before it is
 * computed (so a full or read-only disk is found before the corpus is analysed): the per-feature
 * arrays, and every kept example with its whole window stored (they share tokens, so less).
 */
export function analysisBytesBound(dSae: number, o: ExampleOptions): number {
	const perFeature = 8 + 4 * 4 + 4 * o.histogramBins + 4 * o.bands + 4 * (o.topExamples + o.bands * o.perBand);
	const window = o.before + o.after + 1;
	const perExample = 4 * 3 + window * (4 + 1 + 2);
	return dSae * (perFeature + (o.topExamples + o.bands * o.perBand) * perExample) + (1 << 20);
}

/** Writes an analysis to `dir`, replacing any earlier one. */
export function saveAnalysis(dir: string, analysis: FeatureAnalysis, info: { sae: SaeKey; corpus: string | readonly string[]; requestedTokens: number; autoLabels: string[] }): AnalysisMeta {
	fs.mkdirSync(dir, { recursive: true });
	const id = crypto.randomBytes(8).toString('hex');
	const { key, label } = corpusKey(info.corpus);
	// Documents that examples point at, renumbered compactly.
	const t = analysis.table;
	const sourceIndex = new Map<number, number>();
	const sources: string[] = [];
	const doc = Int32Array.from(t.doc, (d) => {
		let s = sourceIndex.get(d);
		if (s === undefined) {
			s = sources.length;
			sources.push(analysis.sources[d] ?? `document ${d}`);
			sourceIndex.set(d, s);
		}
		return s;
	});
	const seconds = analysis.timing.totalMs / 1000;
	const meta: AnalysisMeta = {
		formatVersion: ANALYSIS_FORMAT_VERSION,
		id,
		sae: info.sae,
		corpus: label,
		corpusKey: key,
		requestedTokens: info.requestedTokens,
		tokens: analysis.tokens,
		contextSize: analysis.contextSize,
		windows: analysis.windows,
		featureCap: analysis.featureCap,
		saturatedTokens: analysis.saturatedTokens,
		dSae: analysis.dSae,
		options: analysis.options,
		sources,
		autoLabels: info.autoLabels,
		createdAt: new Date().toISOString(),
		seconds: Number(seconds.toFixed(2)),
		tokensPerSecond: Math.round(analysis.tokens / seconds),
	};
	const { dSae, options: o } = analysis;
	const f32 = (a: Float32Array, shape: number[]): TensorToWrite => ({ dtype: 'F32', shape, data: bytes(a) });
	const i32 = (a: Int32Array, shape: number[]): TensorToWrite => ({ dtype: 'I32', shape, data: bytes(a) });
	const u8 = (a: Uint8Array): TensorToWrite => ({ dtype: 'U8', shape: [a.length], data: a });
	const features = encodeSafetensors(
		{
			fire_count: i32(Int32Array.from(analysis.fireCount), [dSae]),
			mean_activation: f32(analysis.meanActivation, [dSae]),
			max_activation: f32(analysis.maxActivation, [dSae]),
			histogram: i32(analysis.histogram, [dSae, o.histogramBins]),
			histogram_low: f32(analysis.histogramLow, [dSae]),
			histogram_high: f32(analysis.histogramHigh, [dSae]),
			band_count: i32(analysis.bandCount, [dSae, o.bands]),
			top: i32(t.top, [dSae, o.topExamples]),
			band: i32(t.band, [dSae, o.bands, o.perBand]),
		},
		{ id },
	);
	const maxId = t.tokens.reduce((m, v) => Math.max(m, v), 0);
	const n = t.start.length;
	const examples = encodeSafetensors(
		{
			tokens: maxId < 65536 ? { dtype: 'U16', shape: [t.tokens.length], data: bytes(Uint16Array.from(t.tokens)) } : i32(t.tokens, [t.tokens.length]),
			start: i32(t.start, [n]),
			length: u8(t.length),
			focus: u8(t.focus),
			doc: i32(doc, [n]),
			position: i32(t.position, [n]),
			act_start: i32(t.actStart, [n + 1]),
			act_offset: u8(t.actOffset),
			act_value: { dtype: 'F16', shape: [t.actValue.length], data: bytes(encodeHalf(t.actValue)) },
		},
		{ id },
	);
	writeAtomic(path.join(dir, FEATURES_FILE), features);
	writeAtomic(path.join(dir, EXAMPLES_FILE), examples);
	// analysis.json last: until it is replaced, the old one's id no longer matches and nothing is read.
	writeAtomic(path.join(dir, META_FILE), JSON.stringify(meta) + '\n');
	syncDir(dir);
	return meta;
}

/** The stored analysis's metadata, or undefined when there is none (or it is from another format version). */
export function readAnalysisMeta(dir: string): AnalysisMeta | undefined {
	const file = path.join(dir, META_FILE);
	if (!fs.existsSync(file)) return undefined;
	try {
		const meta = JSON.parse(fs.readFileSync(file, 'utf8')) as AnalysisMeta;
		return meta.formatVersion === ANALYSIS_FORMAT_VERSION ? meta : undefined;
	} catch {
		return undefined;
	}
}

/** Whether a stored analysis answers for this SAE, corpus and token budget. */
export function analysisMatches(meta: AnalysisMeta, sae: SaeKey, corpus: string | readonly string[], requestedTokens: number): boolean {
	return meta.sae.sha256 === sae.sha256 && meta.corpusKey === corpusKey(corpus).key && meta.requestedTokens === requestedTokens;
}

/** Loads a stored analysis; undefined when there is none, it is from another format, or its files disagree. */
export function loadAnalysis(dir: string): StoredAnalysis | undefined {
	const meta = readAnalysisMeta(dir);
	if (!meta) return undefined;
	const features = readTensors(path.join(dir, FEATURES_FILE), meta.id);
	const examples = readTensors(path.join(dir, EXAMPLES_FILE), meta.id);
	if (!features || !examples) return undefined;
	const i32 = (m: Map<string, Loaded>, name: string) => new Int32Array(m.get(name)!.bytes.buffer);
	const f32 = (m: Map<string, Loaded>, name: string) => new Float32Array(m.get(name)!.bytes.buffer);
	const u8 = (m: Map<string, Loaded>, name: string) => m.get(name)!.bytes;
	const tokens = examples.get('tokens')!;
	return {
		meta,
		fireCount: Float64Array.from(i32(features, 'fire_count')),
		meanActivation: f32(features, 'mean_activation'),
		maxActivation: f32(features, 'max_activation'),
		histogram: i32(features, 'histogram'),
		histogramLow: f32(features, 'histogram_low'),
		histogramHigh: f32(features, 'histogram_high'),
		bandCount: i32(features, 'band_count'),
		table: {
			tokens: tokens.dtype === 'U16' ? Int32Array.from(new Uint16Array(tokens.bytes.buffer)) : new Int32Array(tokens.bytes.buffer),
			start: i32(examples, 'start'),
			length: u8(examples, 'length'),
			focus: u8(examples, 'focus'),
			doc: i32(examples, 'doc'),
			position: i32(examples, 'position'),
			actStart: i32(examples, 'act_start'),
			actOffset: u8(examples, 'act_offset'),
			actValue: decodeHalf(new Uint16Array(examples.get('act_value')!.bytes.buffer)),
			top: i32(features, 'top'),
			band: i32(features, 'band'),
		},
	};
}

interface Loaded {
	dtype: SafetensorsDtype;
	/** An aligned copy of the payload. */
	bytes: Uint8Array;
}

/** Copies the analysis in `from` to `to` (analysis.json last, so a reader never sees a half-copied one). */
export function copyAnalysis(from: string, to: string): void {
	if (!readAnalysisMeta(from)) throw new Error(`${from} holds no analysis to copy`);
	fs.mkdirSync(to, { recursive: true });
	for (const name of [FEATURES_FILE, EXAMPLES_FILE, META_FILE]) writeAtomic(path.join(to, name), fs.readFileSync(path.join(from, name)));
	syncDir(to);
}

function readTensors(file: string, id: string): Map<string, Loaded> | undefined {
	if (!fs.existsSync(file)) return undefined;
	const { tensors, metadata } = readSafetensorsHeader(file);
	if (metadata.id !== id) return undefined;
	return new Map(tensors.map((e) => [e.name, { dtype: e.dtype, bytes: new Uint8Array(readTensor(e).data) }]));
}

function bytes(a: Int32Array | Float32Array | Uint16Array): Uint8Array {
	return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
