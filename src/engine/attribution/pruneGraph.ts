// Pruning an attribution graph to what matters for the logits, as circuit-tracer's prune_graph
// does (circuit_tracer/graph.py), on the sparse edge list instead of the dense matrix:
//
// 1. Node influence on the logits (influence.ts) over the whole graph; keep the nodes that,
//    ranked by influence, hold `nodeThreshold` of the total (find_threshold), and always the
//    embeddings and logits.
// 2. On the matrix of the kept nodes only, re-normalized: each edge's score is its normalized
//    weight times its target's influence plus the target's logit weight; keep the edges that,
//    ranked by score, hold `edgeThreshold` of the total.
// 3. Repeatedly drop feature and error nodes with no kept outgoing edge, and feature nodes with no
//    kept incoming edge, with their edges, until nothing changes.
//
// Where this differs from circuit-tracer, and why:
// - circuit-tracer ranks the edge scores of the whole dense matrix, zeros included; here only the
//   edges between kept nodes. The zeros change neither the total nor the order of the others, so
//   the two agree unless a threshold is reached only among the zeros, i.e. a threshold of 1;
// - a threshold of 1 keeps everything, as it means; circuit-tracer's float cumulative sum can
//   reach 1 before its last score and then drops the smallest ones;
// - when nothing has influence (no logit has a probability, or no edge reaches a logit) the graph
//   is kept whole, and when no kept edge scores above 0 every edge between kept nodes stays: there
//   is no ranking to prune by. circuit-tracer divides 0 by 0 there, which keeps everything too.

import type { AttributionGraph } from './attributionGraph';
import { influence, logitWeights, normalizedWeights } from './influence';

/** circuit-tracer's defaults (prune_graph, create_graph_files), also Neuronpedia's. */
export const DEFAULT_NODE_THRESHOLD = 0.8;
export const DEFAULT_EDGE_THRESHOLD = 0.98;

export interface PruneThresholds {
	/** Keep the fewest nodes whose influence adds up to this share of the total, in [0, 1]. */
	nodeThreshold: number;
	/** Keep the fewest edges whose scores add up to this share of the total, in [0, 1]. */
	edgeThreshold: number;
}

export interface PruneResult {
	/** Per node of the graph: kept. */
	nodeKept: boolean[];
	/** Per edge of the graph: 1 when kept (bytes: a long prompt's graph has more edges than a JavaScript array may hold). */
	edgeKept: Uint8Array;
	/** Per node: its influence on the logits in the whole graph. */
	nodeInfluence: Float64Array;
	/**
	 * Per node: the share of the total influence held by it and every node ranked above it
	 * (circuit-tracer's cumulative_scores, written as each node's `influence` in graph JSON).
	 */
	cumulativeInfluence: Float64Array;
}

export function pruneGraph(graph: AttributionGraph, thresholds: PruneThresholds): PruneResult {
	for (const key of ['nodeThreshold', 'edgeThreshold'] as const) {
		const t = thresholds[key];
		if (!(t >= 0 && t <= 1)) throw new RangeError(`${key} must be between 0 and 1, not ${t}`);
	}
	const n = graph.nodes.length;
	const edges = graph.edges;
	const { source, target } = edges;
	const m = source.length;
	const weights = logitWeights(graph);
	const everyEdge = (): Uint8Array => new Uint8Array(m).fill(1);

	const nodeInfluence = influence(n, edges, normalizedWeights(n, edges), weights);
	const cumulativeInfluence = cumulativeShares(nodeInfluence);
	if (!(sum(nodeInfluence) > 0)) return { nodeKept: graph.nodes.map(() => true), edgeKept: everyEdge(), nodeInfluence, cumulativeInfluence };
	const nodeCut = threshold(nodeInfluence, thresholds.nodeThreshold);
	const nodeKept = graph.nodes.map((node, i) => node.kind === 'embedding' || node.kind === 'logit' || nodeInfluence[i]! >= nodeCut);

	const between = new Uint8Array(m);
	let nBetween = 0;
	for (let i = 0; i < m; i++) if (nodeKept[source[i]!]! && nodeKept[target[i]!]!) [between[i], nBetween] = [1, nBetween + 1];
	const a = normalizedWeights(n, edges, between);
	const prunedInfluence = influence(n, edges, a, weights);
	const scores = new Float64Array(nBetween); // of the edges between kept nodes, in edge order
	for (let i = 0, j = 0; i < m; i++) if (between[i]) scores[j++] = a[i]! * (prunedInfluence[target[i]!]! + weights[target[i]!]!);
	const edgeKept = new Uint8Array(m);
	if (!(sum(scores) > 0)) {
		edgeKept.set(between);
		return { nodeKept, edgeKept, nodeInfluence, cumulativeInfluence };
	}
	const edgeCut = threshold(scores, thresholds.edgeThreshold);
	for (let i = 0, j = 0; i < m; i++) if (between[i]) edgeKept[i] = scores[j++]! >= edgeCut ? 1 : 0;

	// Feature and error nodes must feed a kept edge, features must be fed by one; dropping a node
	// drops its edges, which can strand others (at most about one round per layer).
	for (let changed = true; changed;) {
		changed = false;
		const hasOut = new Uint8Array(n);
		const hasIn = new Uint8Array(n);
		for (let i = 0; i < m; i++) {
			if (!edgeKept[i]) continue;
			hasOut[source[i]!] = 1;
			hasIn[target[i]!] = 1;
		}
		graph.nodes.forEach((node, i) => {
			const stranded = ((node.kind === 'feature' || node.kind === 'error') && !hasOut[i]) || (node.kind === 'feature' && !hasIn[i]);
			if (nodeKept[i] && stranded) {
				nodeKept[i] = false;
				changed = true;
			}
		});
		for (let i = 0; i < m; i++) if (edgeKept[i] && (!nodeKept[source[i]!] || !nodeKept[target[i]!])) edgeKept[i] = 0;
	}

	return { nodeKept, edgeKept, nodeInfluence, cumulativeInfluence };
}

function sum(values: ArrayLike<number>): number {
	let total = 0;
	for (let i = 0; i < values.length; i++) total += values[i]!;
	return total;
}

/**
 * circuit-tracer's find_threshold: the score at which the scores ranked from the largest first
 * reach `share` of their total; keeping every score at or above it keeps that share.
 */
export function threshold(scores: ArrayLike<number>, share: number): number {
	const sorted = new Float64Array(scores.length);
	for (let i = 0; i < scores.length; i++) sorted[i] = scores[i]!;
	sorted.sort().reverse();
	if (sorted.length === 0) return 0;
	const total = sum(sorted);
	if (share >= 1 || !(total > 0)) return sorted[sorted.length - 1]!;
	let cumulative = 0;
	for (let i = 0; i < sorted.length; i++) {
		cumulative += sorted[i]!;
		// torch.searchsorted (left): the first index whose cumulative share reaches the threshold.
		if (cumulative / total >= share) return sorted[i]!;
	}
	return sorted[sorted.length - 1]!;
}

/** Per score: the share of the total held by it and every score ranked above it. */
export function cumulativeShares(scores: Float64Array): Float64Array {
	const order = Array.from(scores.keys()).sort((i, j) => scores[j]! - scores[i]!);
	const total = sum(scores);
	const shares = new Float64Array(scores.length);
	let cumulative = 0;
	for (const i of order) {
		cumulative += scores[i]!;
		shares[i] = total > 0 ? cumulative / total : 0;
	}
	return shares;
}
