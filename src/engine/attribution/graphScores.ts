// How much of the model's computation a graph explains with features, as circuit-tracer's
// compute_graph_scores defines it (circuit_tracer/graph.py), on the whole graph before pruning
// (and as Neuronpedia's graph page computes it on the graph it shows):
//
// - replacement score: of the influence the input tokens and the error nodes have on the logits,
//   the tokens' share: 1 when every path from the tokens to the logits runs through features;
// - completeness score: for every node, the share of its (normalized) input that does not come
//   from error nodes, averaged with each node's influence on the logits plus its own logit weight
//   as the weights: partial credit for nodes mostly explained by features.
//
// JavaScript for the reason influence.ts gives.

import type { AttributionGraph } from './attributionGraph';
import { influence, logitWeights, normalizedWeights } from './influence';

export interface GraphScores {
	replacementScore: number;
	completenessScore: number;
}

export function graphScores(graph: AttributionGraph): GraphScores {
	const n = graph.nodes.length;
	const weights = logitWeights(graph);
	const edges = graph.edges;
	const a = normalizedWeights(n, edges);
	const nodeInfluence = influence(n, edges, a, weights);

	let tokenInfluence = 0;
	let errorInfluence = 0;
	graph.nodes.forEach((node, i) => {
		if (node.kind === 'embedding') tokenInfluence += nodeInfluence[i]!;
		else if (node.kind === 'error') errorInfluence += nodeInfluence[i]!;
	});

	// 1 − (share of each row from error nodes); a row with no input (tokens, errors) counts as 1.
	const fromErrors = new Float64Array(n);
	const isError = Uint8Array.from(graph.nodes, (node) => (node.kind === 'error' ? 1 : 0));
	for (let i = 0; i < a.length; i++) if (isError[edges.source[i]!]) fromErrors[edges.target[i]!]! += a[i]!;
	let explained = 0;
	let total = 0;
	for (let i = 0; i < n; i++) {
		const output = nodeInfluence[i]! + weights[i]!;
		explained += (1 - fromErrors[i]!) * output;
		total += output;
	}
	return { replacementScore: tokenInfluence / (tokenInfluence + errorInfluence), completenessScore: explained / total };
}
