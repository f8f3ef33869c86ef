// Corpus analysis of every feature of an SAE: the model runs to the SAE's hook, the SAE encodes
// each token in onnxruntime and returns its strongest features (TopK, so bookkeeping is
// O(tokens × k)), and two passes over the same windows collect the statistics.
//
// Why two passes: sae_vis's quantile bands are uniform intervals on (0, max], and the
// histogram's log-spaced edges span [smallest, largest] activation; neither is known until
// every token has been seen. Pass 1 only accumulates count/sum/max/min per feature; pass 2 then
// samples each band with an exact reservoir and bins exactly. Both passes see identical
// batches of the same token budget, so pass 2's activations equal pass 1's bit for bit. Pass 1
// keeps its sparse outputs in memory up to `cacheBytes` (default 256 MiB, about a million tokens of
// a k = 32 SAE), and pass 2 replays them instead of running the model and SAE again; past that
// bound pass 2 recomputes, so memory stays bounded whatever the budget.
//
// For TopK SAEs the encoder's k outputs are all a token's nonzero features, so the statistics
// are exact. Other architectures are read through a graph TopK capped at `featureCap`
// (default 256) features per token; a token where all of them fire is counted in
// `saturatedTokens`, and weaker features beyond the cap are not seen there.

import type { LanguageModel } from '../models/languageModel';
import { ModelConfigError } from '../models/decoderConfig';
import type { SaeRunner } from '../sae/saeRunner';
import { corpusWindowsWithSources } from '../sae/train/corpus';
import type { CorpusDocument, SourcedWindow } from '../sae/train/corpus';
import { DEFAULT_EXAMPLE_OPTIONS, ExampleCollector } from './exampleCollector';
import type { BatchSources, CollectedExamples, ExampleOptions } from './exampleCollector';
import { FeatureTotals } from './featureTotals';
import type { SparseBatch } from './featureTotals';
import { Cancelled } from '../cancelled';
import { saeArchitecture } from '../sae/architectures/saeArchitectures';

export interface AnalyzeOptions extends Partial<ExampleOptions> {
	/** Token budget (BOS/EOS/PAD not counted); the analysis stops at the first batch that reaches it, or at the corpus's end. */
	tokens: number;
	/** Model window length; default the SAE's context_size, at most the model's. */
	contextSize?: number;
	/** Windows per forward pass. */
	batchContexts?: number;
	/** Features read per token for non-TopK SAEs. */
	featureCap?: number;
	/** Memory for pass 1's sparse outputs that pass 2 replays instead of recomputing. */
	cacheBytes?: number;
	signal?: AbortSignal;
	/** Tokens processed so far over both passes. */
	onProgress?: (done: number, total: number) => void;
}

/** Where analysis time goes, in milliseconds. */
export interface AnalysisTiming {
	forwardMs: number;
	saeMs: number;
	bookkeepingMs: number;
	/** Tokenization and everything else. */
	otherMs: number;
	totalMs: number;
}

export interface FeatureAnalysis extends CollectedExamples {
	dSae: number;
	options: ExampleOptions;
	/** Counted tokens analysed. */
	tokens: number;
	contextSize: number;
	windows: number;
	/** Features read per token (k for TopK SAEs). */
	featureCap: number;
	saturatedTokens: number;
	/** [d_sae]. */
	fireCount: Float64Array;
	meanActivation: Float32Array;
	maxActivation: Float32Array;
	/** Document names; `table.doc` indexes into this. */
	sources: string[];
	timing: AnalysisTiming;
}

export class AnalysisCancelled extends Cancelled {
	constructor() {
		super('feature analysis cancelled');
	}
}

export const DEFAULT_FEATURE_CAP = 256;
const DEFAULT_CACHE_BYTES = 256 * 1024 * 1024;

type Encoded = { batch: SparseBatch; sources: BatchSources };

function encodedBytes({ batch }: Encoded): number {
	// values + indices, counted, and ids/doc/position.
	return batch.rows * (8 * batch.width + 1 + 12);
}

/** Features read per token: all that can fire (a TopK SAE's k), else a cap. */
export function featureCapFor(runner: SaeRunner, cap = DEFAULT_FEATURE_CAP): number {
	const { cfg } = runner.sae;
	return saeArchitecture(cfg.architecture).maxActive?.(cfg) ?? Math.min(cap, cfg.d_sae);
}

/** Token ids that statistics ignore: BOS, EOS and PAD. */
export function specialTokenIds(model: LanguageModel): Set<number> {
	const ids = new Set<number>(model.cfg.eosTokenIds);
	if (model.cfg.bosTokenId !== undefined) ids.add(model.cfg.bosTokenId);
	return ids;
}

export async function analyzeFeatures(model: LanguageModel, runner: SaeRunner, documents: () => Iterable<CorpusDocument>, options: AnalyzeOptions): Promise<FeatureAnalysis> {
	if (!Number.isInteger(options.tokens) || options.tokens < 1) throw new ModelConfigError(`the token budget must be a positive integer (got ${options.tokens})`);
	const o: ExampleOptions = { ...DEFAULT_EXAMPLE_OPTIONS };
	for (const key of Object.keys(o) as (keyof ExampleOptions)[]) {
		if (options[key] !== undefined) (o as unknown as Record<string, unknown>)[key] = options[key];
	}
	for (const key of ['topExamples', 'bands', 'perBand', 'histogramBins', 'before', 'after'] as const) {
		if (!Number.isInteger(o[key]) || o[key] < (key === 'before' || key === 'after' || key === 'topExamples' ? 0 : 1)) throw new ModelConfigError(`${key} must be a whole number (got ${o[key]})`);
	}
	const { cfg } = runner.sae;
	const contextSize = options.contextSize ?? Math.min(cfg.metadata.context_size ?? 128, model.cfg.nCtx);
	if (contextSize < 2 || contextSize > model.cfg.nCtx) throw new ModelConfigError(`context size ${contextSize} must be between 2 and the model's ${model.cfg.nCtx}`);
	const batchContexts = options.batchContexts ?? 8;
	const cap = featureCapFor(runner, options.featureCap);
	const special = specialTokenIds(model);
	const prependBos = cfg.metadata.prepend_bos !== false;
	const timing: AnalysisTiming = { forwardMs: 0, saeMs: 0, bookkeepingMs: 0, otherMs: 0, totalMs: 0 };
	const t0 = performance.now();

	const encoder = new BatchEncoder(model, runner, cap, special, timing);
	let windowsRead = 0;
	let names: readonly string[] = [];
	/** Encoded batches of the corpus's windows up to `maxWindows`, skipping (not encoding) the first `skipWindows`. */
	const batches = async function* (maxWindows: number, skipWindows = 0): AsyncGenerator<Encoded> {
		let pending: SourcedWindow[] = [];
		let first = 0;
		const flush = async () => {
			const out = await encoder.encode(pending, first);
			first += pending.length;
			pending = [];
			return out;
		};
		for await (const w of corpusWindowsWithSources(model, documents, contextSize, prependBos)) {
			if (options.signal?.aborted) throw new AnalysisCancelled();
			names = w.names;
			if (first < skipWindows) {
				first++;
				continue;
			}
			pending.push(w);
			if (pending.length === batchContexts || first + pending.length === maxWindows) yield await flush();
			if (first === maxWindows) return;
			// Let cancellation and other messages through between batches.
			if (pending.length === 0) await new Promise((resolve) => setImmediate(resolve));
		}
		if (pending.length > 0) yield await flush();
	};

	// Pass 1: count, sum, max, smallest positive activation.
	const totals = new FeatureTotals(cfg.d_sae);
	const cache: Encoded[] = [];
	let cacheLeft = options.cacheBytes ?? DEFAULT_CACHE_BYTES;
	let cachedWindows = 0;
	for await (const encoded of batches(Infinity)) {
		const { batch, sources } = encoded;
		// Keep a prefix of whole batches for pass 2.
		if (cachedWindows === sources.firstWindow && encodedBytes(encoded) <= cacheLeft) {
			cache.push(encoded);
			cacheLeft -= encodedBytes(encoded);
			cachedWindows += batch.rows / sources.windowLength;
		}
		const t = performance.now();
		totals.add(batch);
		timing.bookkeepingMs += performance.now() - t;
		windowsRead = sources.firstWindow + batch.rows / sources.windowLength;
		options.onProgress?.(totals.tokens, 2 * Math.max(options.tokens, totals.tokens));
		if (totals.tokens >= options.tokens) break;
	}
	if (totals.tokens === 0) throw new ModelConfigError('the corpus gave no tokens to analyse (it may be shorter than one context window)');

	// Pass 2: the same windows again, now with exact bands and histogram edges.
	const collector = new ExampleCollector(cfg.d_sae, totals.max, totals.minPositive, o);
	let seen = 0;
	const replayThenRecompute = async function* (): AsyncGenerator<Encoded> {
		for (const encoded of cache.splice(0)) {
			if (options.signal?.aborted) throw new AnalysisCancelled();
			yield encoded;
			await new Promise((resolve) => setImmediate(resolve));
		}
		if (cachedWindows < windowsRead) yield* batches(windowsRead, cachedWindows);
	};
	for await (const { batch, sources } of replayThenRecompute()) {
		const t = performance.now();
		collector.add(batch, sources);
		timing.bookkeepingMs += performance.now() - t;
		for (let r = 0; r < batch.rows; r++) seen += batch.counted[r]!;
		options.onProgress?.(totals.tokens + seen, 2 * totals.tokens);
	}
	if (seen !== totals.tokens) throw new Error(`internal: the second pass saw ${seen} tokens, the first ${totals.tokens}`);
	const t = performance.now();
	const collected = collector.finish();
	timing.bookkeepingMs += performance.now() - t;
	timing.totalMs = performance.now() - t0;
	timing.otherMs = timing.totalMs - timing.forwardMs - timing.saeMs - timing.bookkeepingMs;

	const meanActivation = Float32Array.from(totals.sum, (s, f) => (totals.fireCount[f]! > 0 ? s / totals.fireCount[f]! : 0));
	return {
		...collected,
		dSae: cfg.d_sae,
		options: o,
		tokens: totals.tokens,
		contextSize,
		windows: windowsRead,
		featureCap: cap,
		// Where the architecture bounds the features per token, reading that many misses none.
		saturatedTokens: saeArchitecture(cfg.architecture).maxActive ? 0 : totals.saturatedTokens,
		fireCount: totals.fireCount,
		meanActivation,
		maxActivation: totals.max,
		sources: [...names],
		timing,
	};
}

/** Model forward to the hook, then the SAE's strongest features per token, for a batch of windows. */
class BatchEncoder {
	constructor(
		private readonly model: LanguageModel,
		private readonly runner: SaeRunner,
		private readonly cap: number,
		private readonly special: ReadonlySet<number>,
		private readonly timing: AnalysisTiming,
	) {}

	async encode(windows: readonly SourcedWindow[], firstWindow: number): Promise<{ batch: SparseBatch; sources: BatchSources }> {
		const T = windows[0]!.ids.length;
		const rows = windows.length * T;
		let t = performance.now();
		const out = await this.model.forward({ ids: windows.map((w) => w.ids), hooks: [this.runner.hookName], logits: 'none' });
		const x = out.hooks[this.runner.hookName]!.data as Float32Array; // [B, T, d_in]
		this.timing.forwardMs += performance.now() - t;
		t = performance.now();
		const sae = await this.runner.run(x, rows, { acts: false, topFeatures: this.cap, recons: false, error: false });
		this.timing.saeMs += performance.now() - t;
		const ids = Int32Array.from(windows.flatMap((w) => w.ids));
		const counted = Uint8Array.from(ids, (id) => (this.special.has(id) ? 0 : 1));
		return {
			batch: { rows, width: this.cap, values: sae.topValues!, indices: sae.topIndices!, counted },
			sources: { windowLength: T, firstWindow, ids, doc: Int32Array.from(windows.flatMap((w) => w.doc)), position: Int32Array.from(windows.flatMap((w) => w.position)) },
		};
	}
}
