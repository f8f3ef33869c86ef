// An AttributionGraph written as Neuronpedia's graph JSON, the way circuit-tracer's
// create_graph_files writes one: pruned (pruneGraph.ts) at the given thresholds, each kept node
// with its cumulative influence (Neuronpedia's pruning slider reads it), the kept edges as links,
// nodes left without a kept link dropped (embeddings and logits stay), feature ids as Cantor pairs
// (`schema_version` 1), and the graph's replacement and completeness scores (graphScores.ts),
// computed on the whole graph, in the metadata. Logit labels read `Output "tok" (p=0.123)`, which
// Neuronpedia's page parses for the probability.

import type { AttributionGraph, GraphNode } from './attributionGraph';
import { cantorPair } from '../../protocol/featureIds';
import { FEATURE_TYPES } from '../../protocol/graphJson';
import type { GraphJson, GraphJsonInfo, GraphJsonLink, GraphJsonMetadata, GraphJsonNode } from '../../protocol/graphJson';
import { graphScores } from './graphScores';
import { DEFAULT_EDGE_THRESHOLD, DEFAULT_NODE_THRESHOLD, pruneGraph } from './pruneGraph';

export interface GraphJsonOptions {
	slug: string;
	/** Neuronpedia's model id, e.g. `gemma-2-2b`; for a local model its name. */
	scan: string;
	nodeThreshold?: number;
	edgeThreshold?: number;
	/** Where Neuronpedia finds the features' dashboards, when it has them. */
	featureDetails?: GraphJsonMetadata['feature_details'];
	/** Shown on Neuronpedia; `source_urls` defaults to the graph's feature sources. */
	info?: GraphJsonInfo;
	generationSettings?: GraphJsonMetadata['generation_settings'];
}

export function graphToJson(graph: AttributionGraph, options: GraphJsonOptions): GraphJson {
	const nodeThreshold = options.nodeThreshold ?? DEFAULT_NODE_THRESHOLD;
	const edgeThreshold = options.edgeThreshold ?? DEFAULT_EDGE_THRESHOLD;
	const pruned = pruneGraph(graph, { nodeThreshold, edgeThreshold });
	const scores = graphScores(graph);
	// circuit-tracer marks its first logit, the most probable one, as the target; a token asked
	// for (a completion's token, traced) is the target instead.
	let targetLogit = -1;
	let best = -1;
	graph.nodes.forEach((n, i) => {
		if (n.kind === 'logit' && n.probability > best) [targetLogit, best] = [i, n.probability];
	});
	if (graph.targetToken !== undefined) {
		const asked = graph.nodes.findIndex((n) => n.kind === 'logit' && n.tokenId === graph.targetToken);
		if (asked >= 0) targetLogit = asked;
	}

	const links: GraphJsonLink[] = [];
	const linked = new Set<number>();
	const { source, target, weight } = graph.edges;
	for (let i = 0; i < source.length; i++) {
		if (!pruned.edgeKept[i]) continue;
		links.push({ source: graph.nodes[source[i]!]!.id, target: graph.nodes[target[i]!]!.id, weight: plain(weight[i]!) });
		linked.add(source[i]!).add(target[i]!);
	}
	const nodes: GraphJsonNode[] = [];
	graph.nodes.forEach((node, i) => {
		if (!pruned.nodeKept[i] || !(linked.has(i) || node.kind === 'embedding' || node.kind === 'logit')) return;
		nodes.push(toJsonNode(node, graph.nLayers, plain(pruned.cumulativeInfluence[i]!), i === targetLogit));
	});

	const info: GraphJsonInfo = {
		source_urls: graph.featureSources,
		...(graph.steering ? { description: `Traced under steering: ${graph.steering}. Steered features of these transcoders are nodes at their steered activation.` } : {}),
		...options.info,
	};
	const metadata: GraphJsonMetadata = {
		slug: options.slug,
		scan: options.scan,
		prompt_tokens: graph.promptTokens,
		prompt: graph.prompt,
		...(options.featureDetails ? { feature_details: options.featureDetails } : {}),
		node_threshold: nodeThreshold,
		info,
		...(options.generationSettings ? { generation_settings: options.generationSettings } : {}),
		pruning_settings: { node_threshold: nodeThreshold, edge_threshold: edgeThreshold },
		schema_version: 1,
		// Undefined (0/0) when nothing reaches the logits; JSON has no NaN.
		...(Number.isFinite(scores.replacementScore) ? { replacement_score: scores.replacementScore } : {}),
		...(Number.isFinite(scores.completenessScore) ? { completeness_score: scores.completenessScore } : {}),
	};
	return { metadata, qParams: { pinnedIds: [], supernodes: [], linkType: 'both', clickedId: '', sg_pos: '' }, nodes, links };
}

function toJsonNode(node: GraphNode, nLayers: number, influence: number, targetLogit: boolean): GraphJsonNode {
	const common = { node_id: node.id, ctx_idx: node.position, jsNodeId: node.id, influence };
	switch (node.kind) {
		case 'embedding':
			return { ...common, feature: null, layer: 'E', feature_type: FEATURE_TYPES.embedding, clerp: node.label ?? '' };
		case 'feature':
			return {
				...common,
				feature: cantorPair(node.layer, node.feature),
				layer: String(node.layer),
				feature_type: FEATURE_TYPES.feature,
				clerp: node.label ?? '',
				...(node.activation !== undefined ? { activation: plain(node.activation) } : {}),
			};
		case 'error':
			return { ...common, feature: null, layer: String(node.layer), feature_type: FEATURE_TYPES.error, clerp: node.label ?? '' };
		case 'logit':
			// circuit-tracer puts the logits one past the last layer, as Neuronpedia's page does.
			return {
				...common,
				feature: node.tokenId ?? null,
				layer: String(nLayers + 1),
				feature_type: FEATURE_TYPES.logit,
				clerp: `Output "${node.token}" (p=${node.probability.toFixed(3)})`,
				token_prob: node.probability,
				is_target_logit: targetLogit,
			};
	}
}

/** −0 as 0: JSON writes both as 0, so a graph written and read back is the same. */
function plain(x: number): number {
	return x === 0 ? 0 : x;
}
