// The typed protocol for steering (engine src/engine/steer, webview-ui/steering sidebar, the
// inline completion provider and `feature-lens generate --steer`).

import * as v from 'valibot';
import { NotificationType, RequestType } from 'vscode-jsonrpc';
import { MAX_NEW_TOKENS } from './engineProtocol';
import { fields, finite, flag, integer, list, name, oneOf, probability, requestId, text } from './schemaParts';
import { STEER_MODES, STEER_POSITIONS } from './steerModes';

/** Most features (and vectors) one steering spec may steer at once. */
export const MAX_STEERED = 1024;
/** Most strengths one sweep may try. */
export const MAX_SWEEP_STRENGTHS = 64;
/** Widest raw steering vector (a model's d_model; the hook's own width is checked where the model is known). */
const MAX_VECTOR_WIDTH = 1 << 20;

export const FeatureSteer = fields({
	featureIndex: integer(0, 2 ** 31 - 1),
	mode: oneOf(STEER_MODES),
	strength: finite(),
	/**
	 * The SAE or transcoder the feature is of, as `featureLens.sae` names one (a local path); absent:
	 * the loaded SAE. Lets one spec steer features of several layers (an attribution graph's pins).
	 */
	sae: v.optional(name('an SAE path')),
});
export type FeatureSteer = v.InferOutput<typeof FeatureSteer>;

/** A raw direction at a hook, e.g. from `ContrastVectorRequest`; added as strength·vector. */
export const VectorSteer = fields({
	hookName: name('a hook name'),
	/** [d_in] */
	vector: list(finite(), MAX_VECTOR_WIDTH, 'a list of finite numbers'),
	strength: finite(),
	label: text(),
});
export type VectorSteer = v.InferOutput<typeof VectorSteer>;

export const SteerSpec = fields({
	features: list(FeatureSteer, MAX_STEERED, 'a list of steered features'),
	vectors: list(VectorSteer, MAX_STEERED, 'a list of steering vectors'),
	positions: oneOf(STEER_POSITIONS),
});
export type SteerSpec = v.InferOutput<typeof SteerSpec>;

const samplingEntries = {
	maxNewTokens: integer(1, MAX_NEW_TOKENS),
	/** 0 is greedy. */
	temperature: finite(0),
	topP: probability(),
	/** Baseline and steered runs both start from this seed, so they differ only by the steering. */
	seed: integer(Number.MIN_SAFE_INTEGER),
};
export const SamplingSettings = fields(samplingEntries);
export type SamplingSettings = v.InferOutput<typeof SamplingSettings>;

export const SteeredGenerateParams = fields({
	...samplingEntries,
	/** Correlates `SteerTokenNotification`s with this request. */
	requestId: requestId(),
	prompt: text(),
	steer: SteerSpec,
	/** Also generate the unsteered baseline (default true). */
	baseline: v.optional(flag()),
});
export type SteeredGenerateParams = v.InferOutput<typeof SteeredGenerateParams>;

export interface Completion {
	ids: number[];
	text: string;
	/** Each token's text as streamed: they add up to `text` (a character split across tokens shows on its last). Steered generation gives them. */
	pieces?: string[];
	stopReason: 'eos' | 'maxTokens' | 'context';
}

export interface SteeredGenerateResult {
	/** The token ids the completions continue (token-healed: a text prompt's last token may be generated again). */
	promptIds: number[];
	steered: Completion;
	baseline?: Completion;
	cancelled: boolean;
}

/** One streamed token of a steered or baseline completion, or of sweep entry `sweepIndex`. */
export interface SteerToken {
	requestId: string;
	which: 'baseline' | 'steered';
	sweepIndex?: number;
	id: number;
	text: string;
}

export const SweepParams = fields({
	...samplingEntries,
	requestId: requestId(),
	prompt: text(),
	feature: v.omit(FeatureSteer, ['strength']),
	strengths: v.pipe(list(finite(), MAX_SWEEP_STRENGTHS, 'a list of strengths'), v.minLength(1, 'a list of at least one strength')),
	/** Other steering held fixed while the swept feature varies. */
	steer: SteerSpec,
});
export type SweepParams = v.InferOutput<typeof SweepParams>;

export const ContrastVectorParams = fields({ hookName: name('a hook name'), positive: text(), negative: text() });
export type ContrastVectorParams = v.InferOutput<typeof ContrastVectorParams>;

/** Host → engine: a steered completion and (by default) its baseline with the same seed, streamed; cancellable. */
export const SteeredGenerateRequest = new RequestType<SteeredGenerateParams, SteeredGenerateResult, void>('steer/generate');

/** Engine → host: one token of a steered or baseline completion (or of sweep entry `sweepIndex`). */
export const SteerTokenNotification = new NotificationType<SteerToken>('steer/token');

/** Host → engine: completions for several strengths of one feature, same seed each; cancellable. */
export const SweepRequest = new RequestType<SweepParams, { strength: number; completion: Completion }[], void>('steer/sweep');

/** Host → engine: the difference of two prompts' mean activations at a hook (contrastive activation addition). */
export const ContrastVectorRequest = new RequestType<ContrastVectorParams, { vector: number[]; norm: number }, void>('steer/contrastVector');
