// Feature dashboards for one loaded model and SAE: runs and reuses corpus analyses, and
// answers dashboard, search, label and "test your own text" requests in the shapes of
// src/protocol/featureProtocol.ts. Used by the engine server and the CLI alike. Analyses and
// labels are written to the SAE's user-data folder (saeUserData.ts); an analysis exported
// beside the SAE is read from there until one is made here.

import { checkWritable } from '../io/disk';
import type { LanguageModel } from '../models/languageModel';
import { ModelConfigError } from '../models/decoderConfig';
import type { SessionSettings } from '../onnx/session';
import { inspectText } from '../sae/inspect';
import type { SaeRunner } from '../sae/saeRunner';
import { namedCorpusDocuments, namedCorpusFromFiles } from '../sae/train/corpus';
import type {
	ActivationExample,
	ActivationHistogram,
	AnalyzeResult,
	FeatureDashboardData,
	FeatureSearchHit,
	FeatureSearchParams,
	FeatureSummary,
	FeatureTextActivations,
	LogitLens,
	QuantileBand,
} from '../../protocol/featureProtocol';
import { AnalysisCancelled, analyzeFeatures, featureCapFor } from './analyzeFeatures';
import type { AnalyzeOptions } from './analyzeFeatures';
import { analysisBytesBound, analysisMatches, copyAnalysis, featureLensDir, loadAnalysis, readAnalysisMeta, saveAnalysis } from './analysisStore';
import type { SaeKey, StoredAnalysis } from './analysisStore';
import { DecoderViews } from './decoderGraphs';
import { DEFAULT_EXAMPLE_OPTIONS, histogramEdges } from './exampleCollector';
import { UserLabels, autoLabel, searchLabels } from './labels';
import { cachedSaeKey, saeDataDir } from './saeUserData';

/** Features firing on more than this share of tokens are "dense" (as SaeInfo.denseFeatures: log10 density > −1). */
export const DENSE_DENSITY = 0.1;
const LOGIT_HISTOGRAM_BINS = 40;

export interface AnalyzeRequest extends Omit<AnalyzeOptions, 'tokens' | 'onProgress'> {
	corpus: string | readonly string[];
	tokens: number;
	force?: boolean;
	onProgress?: (done: number, total: number) => void;
}

export class FeatureService {
	/** Where an analysis exported with the SAE lives (read, and written only by `exportAnalysis`); none in the Hub cache. */
	readonly exportedDir: string | undefined;
	readonly views: DecoderViews;
	private key?: SaeKey;
	/** The analysis in use for this SAE (null: none, or only ones for other weights) and its folder. */
	private stored?: StoredAnalysis | null;
	private storedDir?: string;
	private labels?: UserLabels;
	private readonly tokenTexts = new Map<number, Promise<string>>();

	/** `dataDir`: the user-data root (the extension's global storage, the CLI's cache folder). */
	constructor(
		readonly model: LanguageModel,
		readonly runner: SaeRunner,
		readonly settings: SessionSettings,
		private readonly dataDir: string,
		private readonly log: (m: string) => void = () => {},
	) {
		this.exportedDir = featureLensDir(runner.sae.source);
		this.views = new DecoderViews(model, runner.sae, settings, 10, 10, log);
	}

	/** The SAE's user-data folder: its labels and the analyses made on this machine. */
	get dir(): string {
		return saeDataDir(this.dataDir, this.saeKey());
	}

	get dSae(): number {
		return this.runner.sae.cfg.d_sae;
	}

	/** Analyses every feature over a corpus and stores the result, unless a stored one for this SAE, corpus and budget exists. */
	async analyze(request: AnalyzeRequest): Promise<AnalyzeResult> {
		const key = this.saeKey();
		if (!request.force) {
			const own = readAnalysisMeta(this.dir);
			const exported = this.exportedDir === undefined ? undefined : readAnalysisMeta(this.exportedDir);
			const ownMatches = own !== undefined && analysisMatches(own, key, request.corpus, request.tokens);
			if (!ownMatches && own && exported && this.exportedDir && analysisMatches(exported, key, request.corpus, request.tokens)) {
				// The user's own analysis (of another corpus) is read first: make the exported one theirs.
				copyAnalysis(this.exportedDir, this.dir);
				this.stored = undefined;
			}
			const current = this.analysis();
			if (current && analysisMatches(current.meta, key, request.corpus, request.tokens)) {
				return { dir: this.storedDir!, reused: true, cancelled: false, ...this.counts(), tokensPerSecond: current.meta.tokensPerSecond };
			}
		}
		const documents = typeof request.corpus === 'string' ? namedCorpusDocuments(request.corpus) : namedCorpusFromFiles(request.corpus);
		// A full or read-only disk is found now, not after the corpus has been analysed.
		checkWritable(this.dir, this.analysisBytes(), 'the analysis');
		let analysis;
		try {
			analysis = await analyzeFeatures(this.model, this.runner, documents, request);
		} catch (e) {
			if (e instanceof AnalysisCancelled) return { dir: this.dir, reused: false, cancelled: true, tokens: 0, dead: 0, dense: 0, tokensPerSecond: 0 };
			throw e;
		}
		const t = analysis.table;
		const autoLabels: string[] = [];
		for (let f = 0; f < this.dSae; f++) {
			const focus: string[] = [];
			for (let i = 0; i < analysis.options.topExamples; i++) {
				const e = t.top[f * analysis.options.topExamples + i]!;
				if (e >= 0) focus.push(await this.tokenText(t.tokens[t.start[e]! + t.focus[e]!]!));
			}
			autoLabels.push(focus.length ? autoLabel(focus) : '');
		}
		const saved = saveAnalysis(this.dir, analysis, { sae: key, corpus: request.corpus, requestedTokens: request.tokens, autoLabels });
		this.stored = undefined;
		if (!this.analysis()) throw new Error(`internal: the analysis written to ${this.dir} does not read back`);
		const tm = analysis.timing;
		this.log(
			`analysed ${analysis.tokens} tokens in ${saved.seconds} s (${saved.tokensPerSecond} tokens/s; forward ${Math.round(tm.forwardMs)} ms, SAE ${Math.round(tm.saeMs)} ms, bookkeeping ${Math.round(tm.bookkeepingMs)} ms, other ${Math.round(tm.otherMs)} ms) into ${this.dir}`,
		);
		if (analysis.saturatedTokens > 0) {
			this.log(`${analysis.saturatedTokens} tokens had all of their ${analysis.featureCap} strongest features firing; weaker ones there are not counted`);
		}
		return { dir: this.dir, reused: false, cancelled: false, ...this.counts(), tokensPerSecond: saved.tokensPerSecond };
	}

	/** The stored analysis for these SAE weights, if there is one: the user's own, else one exported beside the SAE. */
	analysis(): StoredAnalysis | undefined {
		if (this.stored === undefined) {
			this.stored = null;
			for (const dir of [this.dir, ...(this.exportedDir === undefined ? [] : [this.exportedDir])]) {
				const meta = readAnalysisMeta(dir);
				if (!meta) continue;
				if (meta.sae.sha256 !== this.saeKey().sha256 || meta.dSae !== this.dSae) {
					this.log(`${dir}: the analysis there is for other SAE weights; analyse again to use it`);
					continue;
				}
				const loaded = loadAnalysis(dir);
				if (loaded) {
					this.stored = loaded;
					this.storedDir = dir;
					break;
				}
			}
		}
		return this.stored ?? undefined;
	}

	/** Bytes an analysis of this SAE may take on disk, at most. */
	private analysisBytes(): number {
		return analysisBytesBound(this.dSae, DEFAULT_EXAMPLE_OPTIONS);
	}

	/**
	 * Checks that the analysis can be exported beside the SAE (not in the Hub cache, a folder
	 * that can be written, room for it), before one is computed to be exported; returns the folder.
	 */
	checkExportable(): string {
		const to = this.exportedDir;
		if (to === undefined)
			throw new ModelConfigError(`${this.runner.sae.source} is in the Hugging Face cache, which holds only what the Hub serves: copy the SAE folder elsewhere to export its analysis beside it`);
		checkWritable(to, this.analysisBytes(), 'the exported analysis');
		return to;
	}

	/** Copies the analysis in use beside the SAE (`<sae>/feature-lens/`), to share it with the SAE; returns that folder. */
	exportAnalysis(): string {
		const to = this.checkExportable();
		if (!this.analysis()) throw new ModelConfigError(`${this.runner.sae.source} has no analysis to export (analyse it first)`);
		if (this.storedDir !== to) copyAnalysis(this.storedDir!, to);
		return to;
	}

	summary(featureIndex: number): FeatureSummary {
		this.checkIndex(featureIndex);
		const a = this.analysis();
		const user = this.userLabels().get(featureIndex);
		const auto = a?.meta.autoLabels[featureIndex] ?? '';
		let density = 0;
		let mean = 0;
		let max = 0;
		let dead = false;
		if (a) {
			density = a.fireCount[featureIndex]! / a.meta.tokens;
			mean = a.meanActivation[featureIndex]!;
			max = a.maxActivation[featureIndex]!;
			dead = a.fireCount[featureIndex] === 0;
		} else if (this.runner.sae.logSparsity) {
			// Without an analysis, sparsity.safetensors (log10 density, floored at 1e-10) still says how often it fires.
			const log10 = this.runner.sae.logSparsity[featureIndex]!;
			density = log10 <= -9.99 ? 0 : 10 ** log10;
			dead = density === 0;
		}
		return {
			featureIndex,
			label: user.label || auto,
			autoLabel: auto,
			density,
			meanActivation: mean,
			maxActivation: max,
			dead,
			dense: density > DENSE_DENSITY,
		};
	}

	async dashboard(featureIndex: number): Promise<FeatureDashboardData> {
		const summary = this.summary(featureIndex);
		const a = this.analysis();
		const user = this.userLabels().get(featureIndex);
		const [logitLens, nearest] = await Promise.all([this.logitLens(featureIndex), this.views.nearest(featureIndex)]);
		const neighbours = nearest.map((n) => ({ ...n, label: this.labelOf(n.featureIndex) }));
		const base = {
			...summary,
			saeSource: this.runner.sae.source,
			hookName: this.runner.hookName,
			dSae: this.dSae,
			userLabel: user.label,
			notes: user.notes,
			logitLens,
			neighbours,
		};
		if (!a) {
			return { ...base, analysed: false, corpus: '', analysedTokens: 0, histogram: { edges: [], counts: [], scale: 'log' }, topExamples: [], quantiles: [] };
		}
		const o = a.meta.options;
		const histogram: ActivationHistogram = {
			edges: histogramEdges(a.histogramLow[featureIndex]!, a.histogramHigh[featureIndex]!, o.histogramBins, o.histogramScale),
			counts: Array.from(a.histogram.subarray(featureIndex * o.histogramBins, (featureIndex + 1) * o.histogramBins)),
			scale: o.histogramScale,
		};
		const topExamples = await this.examples(a, a.table.top.subarray(featureIndex * o.topExamples, (featureIndex + 1) * o.topExamples));
		const quantiles: QuantileBand[] = [];
		const fired = a.fireCount[featureIndex]!;
		for (let q = 0; q < o.bands; q++) {
			const base = (featureIndex * o.bands + q) * o.perBand;
			const count = a.bandCount[featureIndex * o.bands + q]!;
			quantiles.push({
				min: (summary.maxActivation * q) / o.bands,
				max: (summary.maxActivation * (q + 1)) / o.bands,
				contains: fired > 0 ? count / fired : 0,
				examples: await this.examples(a, a.table.band.subarray(base, base + o.perBand)),
			});
		}
		return { ...base, analysed: true, corpus: a.meta.corpus, analysedTokens: a.meta.tokens, histogram, topExamples, quantiles };
	}

	/** Features by label or number, or by their largest activation on a text. */
	async search(params: FeatureSearchParams): Promise<FeatureSearchHit[]> {
		const limit = Math.max(1, Math.floor(params.limit) || 20);
		if (params.text !== undefined && params.text !== '') {
			const cap = featureCapFor(this.runner);
			const tokens = await inspectText(this.model, this.runner, params.text, { topFeatures: cap });
			const best = new Map<number, number>();
			for (const t of tokens) for (const [f, v] of t.features) if (v > (best.get(f) ?? 0)) best.set(f, v);
			let hits = [...best.entries()].sort((x, y) => y[1] - x[1]);
			if (params.query?.trim()) {
				const wanted = new Set(searchLabels(params.query, this.dSae, (f) => this.labelParts(f), this.dSae).map((m) => m.featureIndex));
				hits = hits.filter(([f]) => wanted.has(f));
			}
			return hits.slice(0, limit).map(([f, score]) => ({ ...this.summary(f), score }));
		}
		if (!params.query?.trim()) throw new ModelConfigError('search needs a query (a label or a feature number) or a text');
		return searchLabels(params.query, this.dSae, (f) => this.labelParts(f), limit).map((m) => ({ ...this.summary(m.featureIndex), score: m.score }));
	}

	setLabel(featureIndex: number, label: string, notes: string): FeatureSummary {
		this.checkIndex(featureIndex);
		this.userLabels().set(featureIndex, label, notes);
		return this.summary(featureIndex);
	}

	/** One feature's activation on every token of a text (BOS excluded), through the same windows as Inspect Selection. */
	async activationsOnText(featureIndex: number, text: string): Promise<FeatureTextActivations> {
		this.checkIndex(featureIndex);
		// Every nonzero feature of a TopK SAE is among its k outputs; other SAEs are read through the cap.
		const tokens = await inspectText(this.model, this.runner, text, { topFeatures: featureCapFor(this.runner) });
		return {
			featureIndex,
			tokens: tokens.map((t) => ({ id: t.id, text: t.text, start: t.start, end: t.end, activation: t.features.find(([f]) => f === featureIndex)?.[1] ?? 0 })),
		};
	}

	async dispose(): Promise<void> {
		await this.views.dispose();
	}

	private async logitLens(featureIndex: number): Promise<LogitLens> {
		const row = await this.views.logitLens(featureIndex);
		if (!row) return { positive: [], negative: [], histogram: { edges: [], counts: [], scale: 'linear' } };
		let lo = Infinity;
		let hi = -Infinity;
		for (const v of row.all) {
			if (v < lo) lo = v;
			if (v > hi) hi = v;
		}
		const counts = new Array<number>(LOGIT_HISTOGRAM_BINS).fill(0);
		const width = (hi - lo) / LOGIT_HISTOGRAM_BINS;
		for (const v of row.all) counts[width > 0 ? Math.min(LOGIT_HISTOGRAM_BINS - 1, Math.floor((v - lo) / width)) : 0]!++;
		const withText = (list: { id: number; value: number }[]) => Promise.all(list.map(async (t) => ({ ...t, text: await this.tokenText(t.id) })));
		return {
			positive: await withText(row.positive),
			negative: await withText(row.negative),
			histogram: { edges: histogramEdges(lo, hi, LOGIT_HISTOGRAM_BINS, 'linear'), counts, scale: 'linear' },
		};
	}

	private async examples(a: StoredAnalysis, indices: Int32Array): Promise<ActivationExample[]> {
		const out: ActivationExample[] = [];
		const t = a.table;
		for (const e of indices) {
			if (e < 0) break;
			const ids = Array.from(t.tokens.subarray(t.start[e], t.start[e]! + t.length[e]!));
			const activations = new Array<number>(ids.length).fill(0);
			for (let j = t.actStart[e]!; j < t.actStart[e + 1]!; j++) activations[t.actOffset[j]!] = t.actValue[j]!;
			const focusIndex = t.focus[e]!;
			out.push({
				tokens: await this.windowTexts(ids),
				ids,
				activations,
				focusIndex,
				focusActivation: activations[focusIndex]!,
				source: a.meta.sources[t.doc[e]!] ?? '',
				position: t.position[e]!,
			});
		}
		return out;
	}

	/** Per-token texts of a window, decoded together so multi-byte characters split across tokens come out whole where possible. */
	private async windowTexts(ids: readonly number[]): Promise<string[]> {
		const tokenizer = this.model.tokenizer;
		if (!tokenizer) return ids.map((id) => `<${id}>`);
		const texts: string[] = [];
		let prefix = '';
		for (let i = 0; i < ids.length; i++) {
			const next = await tokenizer.decode(ids.slice(0, i + 1));
			if (next.startsWith(prefix) && !next.endsWith('\uFFFD')) {
				texts.push(next.slice(prefix.length));
				prefix = next;
			} else {
				texts.push(await this.tokenText(ids[i]!));
				prefix = next;
			}
		}
		return texts;
	}

	private tokenText(id: number): Promise<string> {
		let text = this.tokenTexts.get(id);
		if (!text) {
			text = this.model.tokenizer ? this.model.tokenizer.decode([id]) : Promise.resolve(`<${id}>`);
			this.tokenTexts.set(id, text);
		}
		return text;
	}

	private counts(): { tokens: number; dead: number; dense: number } {
		const a = this.analysis()!;
		let dead = 0;
		let dense = 0;
		for (const c of a.fireCount) {
			if (c === 0) dead++;
			else if (c / a.meta.tokens > DENSE_DENSITY) dense++;
		}
		return { tokens: a.meta.tokens, dead, dense };
	}

	private labelOf(featureIndex: number): string {
		return this.userLabels().get(featureIndex).label || (this.analysis()?.meta.autoLabels[featureIndex] ?? '');
	}

	private labelParts(featureIndex: number): { userLabel: string; autoLabel: string; notes: string } {
		const user = this.userLabels().get(featureIndex);
		return { userLabel: user.label, autoLabel: this.analysis()?.meta.autoLabels[featureIndex] ?? '', notes: user.notes };
	}

	private userLabels(): UserLabels {
		if (!this.labels) {
			this.labels = UserLabels.load(this.dir, this.exportedDir);
			if (this.labels.problem) this.log(`user labels: ${this.labels.problem} (the readable labels are used; saving a label is refused until then)`);
		}
		return this.labels;
	}

	private saeKey(): SaeKey {
		this.key ??= cachedSaeKey(this.dataDir, this.runner.sae.source);
		return this.key;
	}

	private checkIndex(featureIndex: number): void {
		if (!Number.isInteger(featureIndex) || featureIndex < 0 || featureIndex >= this.dSae) {
			throw new ModelConfigError(`feature ${featureIndex} is out of range: this SAE has ${this.dSae} features (0–${this.dSae - 1})`);
		}
	}
}
