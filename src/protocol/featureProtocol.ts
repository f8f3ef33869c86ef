// The typed protocol for feature analysis and dashboards (engine src/engine/features, webview
// webview-ui/dashboard), shared by the engine, the extension host and the CLI's --json output.

import * as v from 'valibot';
import { NotificationType, RequestType } from 'vscode-jsonrpc';
import { corpus, fields, flag, integer, requestId, text, tokenCount } from './schemaParts';

/** Longest user label and notes a feature keeps (labels show in hovers and lists; notes are free text). */
export const MAX_LABEL_LENGTH = 1000;
export const MAX_NOTES_LENGTH = 100_000;
/** Most hits one search returns. */
export const MAX_SEARCH_LIMIT = 10_000;

/** One context window around a token where a feature fired (Neuronpedia's `Activation`). */
export interface ActivationExample {
	/** Token texts of the window, in order (untrusted model text: render as text). */
	tokens: string[];
	ids: number[];
	/** This feature's activation on every token of the window, [tokens.length]. */
	activations: number[];
	/** Index in `tokens` of the token this example was chosen for. */
	focusIndex: number;
	/** The feature's activation on that token. */
	focusActivation: number;
	/** Where it came from: the corpus document (path or index) and the focus token's position in it. */
	source: string;
	position: number;
}

/** Examples whose focus activation lies in [min, max) (sae_vis "INTERVAL a – b, CONTAINS p%"). */
export interface QuantileBand {
	min: number;
	max: number;
	/** Share of this feature's firing tokens that fall in the band, 0..1. */
	contains: number;
	examples: ActivationExample[];
}

/** Histogram of a feature's nonzero activations; `edges` has counts.length + 1 entries. */
export interface ActivationHistogram {
	edges: number[];
	counts: number[];
	scale: 'linear' | 'log';
}

/** A vocabulary token with its logit-lens weight (W_dec[i] through the unembedding). */
export interface LogitLensToken {
	id: number;
	text: string;
	value: number;
}

export interface LogitLens {
	positive: LogitLensToken[];
	negative: LogitLensToken[];
	/** Histogram of the weights over the whole vocabulary (sae_vis LogitsHistogram). */
	histogram: ActivationHistogram;
}

export interface FeatureNeighbour {
	featureIndex: number;
	/** Cosine similarity of the two decoder rows. */
	cosine: number;
	label: string;
}

/** What a feature is called and how often it fires; enough for lists, hovers and search results. */
export interface FeatureSummary {
	featureIndex: number;
	/** The user's label if set, else the automatic one, else "". */
	label: string;
	/** Short automatic label from the feature's top tokens. */
	autoLabel: string;
	/** Fraction of analysed tokens where the feature fired (> 0). */
	density: number;
	/** Mean activation over the tokens where it fired. */
	meanActivation: number;
	maxActivation: number;
	dead: boolean;
	dense: boolean;
}

/** Everything a feature dashboard shows. Corpus statistics are absent until an analysis exists. */
export interface FeatureDashboardData extends FeatureSummary {
	saeSource: string;
	hookName: string;
	dSae: number;
	userLabel: string;
	notes: string;
	/** True once a corpus analysis exists for this SAE; the corpus fields below are empty otherwise. */
	analysed: boolean;
	/** The corpus and token count the statistics come from. */
	corpus: string;
	analysedTokens: number;
	histogram: ActivationHistogram;
	topExamples: ActivationExample[];
	quantiles: QuantileBand[];
	logitLens: LogitLens;
	neighbours: FeatureNeighbour[];
}

export const AnalyzeParams = fields({
	/** Correlates `AnalyzeProgressNotification`s with this request. */
	requestId: requestId(),
	/** "demo", a folder or glob, a text/JSONL file, or an explicit list of files. */
	corpus: corpus(),
	tokens: tokenCount(),
	/** Recompute even when a stored analysis for this SAE and corpus exists. */
	force: v.optional(flag()),
});
export type AnalyzeParams = v.InferOutput<typeof AnalyzeParams>;

export interface AnalyzeResult {
	/** The folder the analysis lives in: the SAE's user-data folder, or beside the SAE for an exported one that was reused. */
	dir: string;
	/** True when a stored analysis was reused instead of recomputed. */
	reused: boolean;
	cancelled: boolean;
	tokens: number;
	dead: number;
	dense: number;
	tokensPerSecond: number;
}

/** A feature of the loaded SAE, by index (checked against its width where the SAE is known). */
const featureIndex = () => integer(0, 2 ** 31 - 1);

export const FeatureSearchParams = fields({
	/** Match feature labels (case-insensitive substring), or a feature number. */
	query: v.optional(text()),
	/** Rank features by how strongly they fire on this text. */
	text: v.optional(text()),
	limit: integer(1, MAX_SEARCH_LIMIT),
});
export type FeatureSearchParams = v.InferOutput<typeof FeatureSearchParams>;

export const FeatureDashboardParams = fields({ featureIndex: featureIndex() });
export type FeatureDashboardParams = v.InferOutput<typeof FeatureDashboardParams>;

export const SetFeatureLabelParams = fields({
	featureIndex: featureIndex(),
	/** The user's label; empty clears it (the automatic one shows again). */
	label: v.pipe(text(), v.maxLength(MAX_LABEL_LENGTH, `a string of at most ${MAX_LABEL_LENGTH} characters`)),
	/** The user's notes; empty clears them. */
	notes: v.pipe(text(), v.maxLength(MAX_NOTES_LENGTH, `a string of at most ${MAX_NOTES_LENGTH} characters`)),
});
export type SetFeatureLabelParams = v.InferOutput<typeof SetFeatureLabelParams>;

export const FeatureTextParams = fields({ featureIndex: featureIndex(), text: text() });
export type FeatureTextParams = v.InferOutput<typeof FeatureTextParams>;

export interface FeatureSearchHit extends FeatureSummary {
	/** Label searches: 1 for exact matches, less for partial ones. Text searches: max activation on the text. */
	score: number;
}

export interface FeatureTextActivations {
	featureIndex: number;
	tokens: { id: number; text: string; start: number; end: number; activation: number }[];
}

/** Host → engine: analyses every feature of the loaded SAE over a corpus and stores it beside the SAE; cancellable. */
export const AnalyzeFeaturesRequest = new RequestType<AnalyzeParams, AnalyzeResult, void>('features/analyze');

/** Engine → host: tokens analysed so far. */
export const AnalyzeProgressNotification = new NotificationType<{ requestId: string; done: number; total: number }>('features/analyzeProgress');

/** Host → engine: one feature's dashboard data for the loaded SAE. */
export const FeatureDashboardRequest = new RequestType<FeatureDashboardParams, FeatureDashboardData, void>('features/dashboard');

/** Host → engine: features by label or number, or by how strongly they fire on a text. */
export const SearchFeaturesRequest = new RequestType<FeatureSearchParams, FeatureSearchHit[], void>('features/search');

/** Host → engine: saves a user label and notes for a feature beside the SAE. */
export const SetFeatureLabelRequest = new RequestType<SetFeatureLabelParams, FeatureSummary, void>('features/setLabel');

/** Host → engine: one feature's activation on every token of a text ("test your own text"). */
export const FeatureTextRequest = new RequestType<FeatureTextParams, FeatureTextActivations, void>('features/activationsOnText');
