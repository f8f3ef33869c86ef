// The typed protocol for steering (engine src/engine/steer, webview-ui/steering sidebar, the
// inline completion provider and `feature-lens generate --steer`).

import { NotificationType, RequestType } from 'vscode-jsonrpc';
import type { SteerMode, SteerPositions } from './steerModes';

export interface FeatureSteer {
	featureIndex: number;
	mode: SteerMode;
	strength: number;
}

/** A raw direction at a hook, e.g. from `ContrastVectorRequest`; added as strength·vector. */
export interface VectorSteer {
	hookName: string;
	/** [d_in] */
	vector: number[];
	strength: number;
	label: string;
}

export interface SteerSpec {
	features: FeatureSteer[];
	vectors: VectorSteer[];
	positions: SteerPositions;
}

export interface SamplingSettings {
	maxNewTokens: number;
	temperature: number;
	topP: number;
	/** Baseline and steered runs both start from this seed, so they differ only by the steering. */
	seed: number;
}

export interface SteeredGenerateParams extends SamplingSettings {
	/** Correlates `SteerTokenNotification`s with this request. */
	requestId: string;
	prompt: string;
	steer: SteerSpec;
	/** Also generate the unsteered baseline (default true). */
	baseline?: boolean;
}

export interface Completion {
	ids: number[];
	text: string;
	stopReason: 'eos' | 'maxTokens' | 'context';
}

export interface SteeredGenerateResult {
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

export interface SweepParams extends SamplingSettings {
	requestId: string;
	prompt: string;
	feature: Omit<FeatureSteer, 'strength'>;
	strengths: number[];
	/** Other steering held fixed while the swept feature varies. */
	steer: SteerSpec;
}

/** Host → engine: a steered completion and (by default) its baseline with the same seed, streamed; cancellable. */
export const SteeredGenerateRequest = new RequestType<SteeredGenerateParams, SteeredGenerateResult, void>('steer/generate');

/** Engine → host: one token of a steered or baseline completion (or of sweep entry `sweepIndex`). */
export const SteerTokenNotification = new NotificationType<SteerToken>('steer/token');

/** Host → engine: completions for several strengths of one feature, same seed each; cancellable. */
export const SweepRequest = new RequestType<SweepParams, { strength: number; completion: Completion }[], void>('steer/sweep');

/** Host → engine: the difference of two prompts' mean activations at a hook (contrastive activation addition). */
export const ContrastVectorRequest = new RequestType<{ hookName: string; positive: string; negative: string }, { vector: number[]; norm: number }, void>('steer/contrastVector');
