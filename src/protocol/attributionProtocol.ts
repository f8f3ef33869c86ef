// The typed protocol for attribution graphs (engine src/engine/attribution, `feature-lens
// attribute`, and the graph panel to come).

import { NotificationType, RequestType } from 'vscode-jsonrpc';
// Type-only: the graph JSON's shape is defined once, with its reader and writer (free of Node and DOM APIs).
import type { GraphJson } from './graphJson';

export interface AttributeParams {
	/** Correlates `AttributeProgressNotification`s with this request. */
	requestId: string;
	/** The prompt whose next token is traced, tokenized by the current model. */
	prompt: string;
	/** A transcoder set for the current model: circuit-tracer's folder (config.yaml) or a folder of per-layer transcoder folders. */
	transcoders: string;
	/** A token id attributed from whatever its probability (beside the most probable ones). */
	targetToken?: number;
	/** At most this many logits (default 10). */
	maxLogits?: number;
	/** At most this many features, the most influential on the logits (circuit-tracer's max_feature_nodes); default all. */
	maxFeatureNodes?: number;
	/** Pruning thresholds (defaults 0.8 and 0.98, circuit-tracer's). */
	nodeThreshold?: number;
	edgeThreshold?: number;
}

export interface AttributeResult {
	/** Neuronpedia's graph JSON, pruned at the thresholds, `replacement_score` and `completeness_score` in its metadata. */
	graph: GraphJson;
	/** Names the whole graph, which the engine holds until the next attribution or model change, for `PruneAttributionRequest`. */
	graphId: string;
	/** Before pruning. */
	featureCount: number;
	edgeCount: number;
}

/** Host → engine: the attribution graph of a prompt's next token with a transcoder set, on the current model; reports progress (targets done) and is cancellable. */
export const AttributeRequest = new RequestType<AttributeParams, AttributeResult, void>('attribution/attribute');

export interface PruneAttributionParams {
	/** `AttributeResult.graphId` of the engine's last attribution. */
	graphId: string;
	nodeThreshold: number;
	edgeThreshold: number;
}

/** Host → engine: the last attribution graph pruned again at other thresholds (a pruning slider), as Neuronpedia's graph JSON. */
export const PruneAttributionRequest = new RequestType<PruneAttributionParams, GraphJson, void>('attribution/prune');

/** Engine → host: backward passes done for an `AttributeRequest`, in targets (logits and features). */
export const AttributeProgressNotification = new NotificationType<{ requestId: string; done: number; total: number }>('attribution/progress');
