// The typed protocol for attribution graphs (engine src/engine/attribution, `feature-lens
// attribute`, and the graph panel to come).

import * as v from 'valibot';
import { NotificationType, RequestType } from 'vscode-jsonrpc';
import { fields, finite, integer, list, name, requestId, tokenId } from './schemaParts';
import { SteerSpec } from './steerProtocol';
// Type-only: the graph JSON's shape is defined once, with its reader and writer (free of Node and DOM APIs).
import type { GraphJson } from './graphJson';

/** Most tokens one trace may hold (prompt and completion): far past any model's context here. */
const MAX_TRACED_TOKENS = 1 << 17;

export const AttributeParams = fields({
	/** Correlates `AttributeProgressNotification`s with this request. */
	requestId: requestId(),
	/** The prompt whose next token is traced, tokenized by the current model. */
	prompt: name('a non-empty prompt'),
	/** A transcoder set for the current model: circuit-tracer's folder (config.yaml) or a folder of per-layer transcoder folders. */
	transcoders: name('a transcoder set folder'),
	/** A token id attributed from whatever its probability (beside the most probable ones), the graph's target logit. */
	targetToken: v.optional(tokenId()),
	/**
	 * The traced tokens as ids instead of `prompt`'s tokenization (then only the text people see):
	 * a completion's prompt ids (`SteeredGenerateResult.promptIds`) and its tokens before the traced one.
	 */
	promptIds: v.optional(list(tokenId(), MAX_TRACED_TOKENS, 'a list of token ids')),
	/** The steering the traced completion was generated with: the forward pass runs steered (attribute.ts AttributionSteering). */
	steer: v.optional(SteerSpec),
	/** Where generation began in `promptIds`: under `steer.positions` "generated", positions before it are not steered. */
	steerFrom: v.optional(integer(0)),
	/** At most this many logits (default 10). */
	maxLogits: v.optional(integer(1, 1000)),
	/** At most this many features, the most influential on the logits (circuit-tracer's max_feature_nodes); default all. */
	maxFeatureNodes: v.optional(integer(1)),
	/** Pruning thresholds (defaults 0.8 and 0.98, circuit-tracer's): cumulative influence kept, in [0, 1]. */
	nodeThreshold: v.optional(finite(0, 1)),
	edgeThreshold: v.optional(finite(0, 1)),
});
export type AttributeParams = v.InferOutput<typeof AttributeParams>;

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

export const PruneAttributionParams = fields({
	/** `AttributeResult.graphId` of the engine's last attribution. */
	graphId: name('a graph id'),
	nodeThreshold: finite(0, 1),
	edgeThreshold: finite(0, 1),
});
export type PruneAttributionParams = v.InferOutput<typeof PruneAttributionParams>;

/** Host → engine: the last attribution graph pruned again at other thresholds (a pruning slider), as Neuronpedia's graph JSON. */
export const PruneAttributionRequest = new RequestType<PruneAttributionParams, GraphJson, void>('attribution/prune');

/** Engine → host: backward passes done for an `AttributeRequest`, in targets (logits and features). */
export const AttributeProgressNotification = new NotificationType<{ requestId: string; done: number; total: number }>('attribution/progress');
