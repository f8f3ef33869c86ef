// Indirect influence on the logits, as circuit-tracer defines it (circuit_tracer/graph.py:
// normalize_matrix, compute_influence). A is the adjacency matrix with rows as targets, its
// entries replaced by their absolute values and each row divided by its sum (clamped at 1e-10),
// so that A[t, s] is the share of t's input that comes from s; the influence of every node on the
// logits is w·(A + A² + A³ + …) = w·((I − A)⁻¹ − I), w holding each logit's probability.
//
// Why this is JavaScript and not an onnxruntime graph, which the project asks of tensor math:
// it is bookkeeping on the graph, not model math. A graph has at most a few thousand nodes and is
// sparse; the series is a sum over its edges repeated once per step of the longest path (the
// number of layers + 2, since the graph is acyclic), O(edges × layers), milliseconds here, and the
// graph webview re-runs it on every move of the pruning sliders, where there is no onnxruntime.
// Everything is float64 (circuit-tracer computes in float32).

import type { AttributionGraph, GraphEdges } from './attributionGraph';

/** Circuit-tracer's clamp on a row's absolute sum before dividing by it. */
const ROW_SUM_FLOOR = 1e-10;

/**
 * The normalized weight of each edge, |w| / Σ|w| over the edges into the same target
 * (`keep` limits the edges to those of a pruned matrix; the others get 0).
 */
export function normalizedWeights(nodeCount: number, edges: GraphEdges, keep?: ArrayLike<boolean | number>): Float64Array {
	const { target, weight } = edges;
	const m = target.length;
	const rowSums = new Float64Array(nodeCount);
	for (let i = 0; i < m; i++) if (!keep || keep[i]) rowSums[target[i]!]! += Math.abs(weight[i]!);
	const out = new Float64Array(m);
	for (let i = 0; i < m; i++) if (!keep || keep[i]) out[i] = Math.abs(weight[i]!) / Math.max(rowSums[target[i]!]!, ROW_SUM_FLOOR);
	return out;
}

/**
 * w·(A + A² + …) for the normalized weights `a` of `edges`: each node's influence on the
 * weighted targets. Throws when the edges form a cycle (the series then never ends).
 */
export function influence(nodeCount: number, edges: GraphEdges, a: Float64Array, weights: Float64Array): Float64Array {
	const { source, target } = edges;
	const m = source.length;
	const total = new Float64Array(nodeCount);
	let current = weights;
	// An acyclic graph's longest path has fewer than nodeCount edges, so the series ends before then.
	for (let step = 0; step <= nodeCount; step++) {
		const next = new Float64Array(nodeCount);
		let any = false;
		for (let i = 0; i < m; i++) {
			const v = current[target[i]!]! * a[i]!;
			if (v !== 0) {
				next[source[i]!]! += v;
				any = true;
			}
		}
		if (!any) return total;
		for (let n = 0; n < nodeCount; n++) total[n]! += next[n]!;
		current = next;
	}
	throw new Error('the graph has a cycle: influence on the logits is defined only for acyclic graphs');
}

/** Each node's weight in w: its probability for a logit, else 0. */
export function logitWeights(graph: AttributionGraph): Float64Array {
	const out = new Float64Array(graph.nodes.length);
	graph.nodes.forEach((n, i) => {
		if (n.kind === 'logit') out[i] = n.probability;
	});
	return out;
}
