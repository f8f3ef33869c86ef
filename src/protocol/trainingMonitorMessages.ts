// Messages between the extension host and the training monitor webview (JSON-serializable).

import type { SaeEvalMetrics, TrainSaeResult, TrainStepMetrics } from './engineProtocol';

export interface RunDescription {
	hookName: string;
	architecture: string;
	dSae: number;
	tokens: number;
	out: string;
}

/** Host → webview. */
export type ToTrainingMonitor =
	/** A run starts (or resumes): reset the charts unless resuming. */
	| { type: 'start'; run: RunDescription; resumed: boolean }
	/** Metrics after a training step. */
	| { type: 'metrics'; metrics: TrainStepMetrics }
	/** The run ended: finished, cancelled (resumable), cancelled before its first step (nothing to resume), or failed. */
	| { type: 'finished'; result?: TrainSaeResult; error?: string; cancelledBeforeStart?: boolean }
	/** The trained SAE's evaluation on the start of its training text. */
	| { type: 'evaluated'; metrics: SaeEvalMetrics };

/** Webview → host. */
export type FromTrainingMonitor =
	/** The webview's script is running and can receive messages. */
	| { type: 'ready' }
	/** Stop the run (its checkpoint stays, so it can resume). */
	| { type: 'cancel' }
	/** Continue a cancelled run from its checkpoint. */
	| { type: 'resume' };
