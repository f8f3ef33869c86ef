// A validated graph JSON file (graphJson.ts) as an AttributionGraph, to show and prune: node
// kinds from `feature_type`, layers and positions checked against the prompt, feature indices
// decoded from Neuronpedia's ids, logit probabilities from `token_prob` (or the "(p=…)" that
// Neuronpedia's own page reads from the label), links as edges. What the schema allows but a
// graph cannot use (links to unknown nodes, a node id twice, node types without a place in the
// replacement model) is left out and reported in `warnings`; what makes the graph unusable (a
// position past the prompt, a layer that is not a number, links forming a cycle) is a
// GraphJsonError naming the field.

import { edgesOf } from './attributionGraph';
import type { AttributionGraph, GraphEdge, GraphNode } from './attributionGraph';
import { cantorUnpair } from '../../protocol/featureIds';
import { FEATURE_TYPES, GraphJsonError } from '../../protocol/graphJson';
import type { GraphJson, GraphJsonNode } from '../../protocol/graphJson';

/** Feature types of other generators that map onto the four kinds (Neuronpedia's page treats them so too). */
const KIND_OF_TYPE: Record<string, GraphNode['kind']> = {
	[FEATURE_TYPES.feature]: 'feature',
	[FEATURE_TYPES.error]: 'error',
	[FEATURE_TYPES.embedding]: 'embedding',
	[FEATURE_TYPES.logit]: 'logit',
	'unexplored node': 'feature',
	lorsa: 'feature',
	'lorsa error': 'error',
};

export interface GraphFromJson {
	graph: AttributionGraph;
	/** What was left out, one sentence each. */
	warnings: string[];
	/** The subgraph the file saved (qParams), by node id: pinned nodes and supernodes that name nodes of the graph. */
	pinnedIds: string[];
	supernodes: { name: string; members: string[] }[];
}

export function graphFromJson(json: GraphJson): GraphFromJson {
	const { metadata } = json;
	const promptTokens = metadata.prompt_tokens;
	const warnings: string[] = [];
	const cantor = metadata.schema_version === 1;

	const nodes: GraphNode[] = [];
	const indexOf = new Map<string, number>();
	const leftOut = new Map<string, number>();
	const duplicates: string[] = [];
	json.nodes.forEach((raw, i) => {
		const kind = KIND_OF_TYPE[raw.feature_type];
		if (!kind) {
			leftOut.set(raw.feature_type, (leftOut.get(raw.feature_type) ?? 0) + 1);
			return;
		}
		const node = toNode(raw, kind, `nodes[${i}]`, promptTokens, cantor);
		const previous = indexOf.get(node.id);
		// Neuronpedia's page keeps the last node with an id, so this does too.
		if (previous !== undefined) {
			duplicates.push(node.id);
			nodes[previous] = node;
		} else {
			indexOf.set(node.id, nodes.length);
			nodes.push(node);
		}
	});
	for (const [type, count] of leftOut) warnings.push(`${count} node${count === 1 ? '' : 's'} of type ${JSON.stringify(type)} left out: they have no place in the replacement model's graph.`);
	if (duplicates.length)
		warnings.push(
			`${duplicates.length} node id${duplicates.length === 1 ? ' is' : 's are'} used twice (${duplicates
				.slice(0, 3)
				.map((d) => JSON.stringify(d))
				.join(', ')}); the last node with each id is kept, and links to it are ambiguous.`,
		);

	const edgeAt = new Map<string, number>();
	const edges: GraphEdge[] = [];
	let dangling = 0;
	let selfLinks = 0;
	let repeated = 0;
	for (const link of json.links) {
		const source = indexOf.get(link.source);
		const target = indexOf.get(link.target);
		if (source === undefined || target === undefined) {
			dangling++;
			continue;
		}
		if (source === target) {
			selfLinks++;
			continue;
		}
		const key = `${source} ${target}`;
		const at = edgeAt.get(key);
		// A dense adjacency matrix holds one weight per pair: the last link written wins, as on Neuronpedia.
		if (at !== undefined) {
			repeated++;
			edges[at] = { source, target, weight: link.weight };
		} else {
			edgeAt.set(key, edges.length);
			edges.push({ source, target, weight: link.weight });
		}
	}
	if (dangling) warnings.push(`${dangling} link${dangling === 1 ? '' : 's'} to or from nodes not in the graph left out.`);
	if (selfLinks) warnings.push(`${selfLinks} link${selfLinks === 1 ? '' : 's'} from a node to itself left out.`);
	if (repeated) warnings.push(`${repeated} link${repeated === 1 ? '' : 's'} repeat an earlier source and target; the last weight is kept.`);
	refuseCycles(nodes, edges);

	const layers = nodes.flatMap((n) => (n.kind === 'feature' || n.kind === 'error' ? [n.layer] : []));
	const nLayers = layers.length ? Math.max(...layers) + 1 : 1;
	const sources = metadata.transcoder_list?.length ? metadata.transcoder_list : (metadata.info?.source_urls ?? []).filter((s): s is string => typeof s === 'string');

	const known = (id: unknown): id is string => typeof id === 'string' && indexOf.has(id);
	const pinnedIds = [...new Set((json.qParams.pinnedIds ?? []).filter(known))];
	const supernodes: GraphFromJson['supernodes'] = [];
	for (const entry of json.qParams.supernodes ?? []) {
		if (!Array.isArray(entry) || typeof entry[0] !== 'string') continue;
		const members = [...new Set(entry.slice(1).filter(known))];
		if (members.length) supernodes.push({ name: entry[0], members });
	}
	return {
		graph: { prompt: metadata.prompt, promptTokens, nLayers, nodes, edges: edgesOf(edges), featureSources: sources },
		warnings,
		pinnedIds,
		supernodes,
	};
}

function toNode(raw: GraphJsonNode, kind: GraphNode['kind'], path: string, promptTokens: readonly string[], cantor: boolean): GraphNode {
	const position = raw.ctx_idx;
	if (position < 0 || position >= promptTokens.length) {
		throw new GraphJsonError(`${path}.ctx_idx`, `position ${position} is outside the prompt's ${promptTokens.length} tokens (metadata.prompt_tokens)`);
	}
	const base = { id: raw.node_id, position, ...(raw.clerp ? { label: raw.clerp } : {}), ...(typeof raw.influence === 'number' ? { storedInfluence: raw.influence } : {}) };
	switch (kind) {
		case 'embedding':
			return { ...base, kind, token: promptTokens[position]! };
		case 'error':
			return { ...base, kind, layer: layerOf(raw, path) };
		case 'feature': {
			const layer = layerOf(raw, path);
			if (raw.feature === null) throw new GraphJsonError(`${path}.feature`, 'a feature node needs its feature number, not null');
			const feature = cantor ? cantorUnpair(raw.feature).index : raw.feature;
			return { ...base, kind, layer, feature, ...(typeof raw.activation === 'number' ? { activation: raw.activation } : {}) };
		}
		case 'logit': {
			const fromLabel = /\(p=([0-9.eE+-]+)\)/.exec(raw.clerp)?.[1];
			const probability = typeof raw.token_prob === 'number' ? raw.token_prob : fromLabel !== undefined && Number.isFinite(Number(fromLabel)) ? Number(fromLabel) : 0;
			const extra = raw as unknown as Record<string, unknown>;
			// The token: Neuronpedia's graph server writes it; circuit-tracer only inside the label, `Output "tok" (p=…)`.
			const token = typeof extra['token'] === 'string' ? extra['token'] : (/^[^"']*["'](.*)["']\s*\(p=/s.exec(raw.clerp)?.[1] ?? '');
			return { ...base, kind, token, probability, ...(raw.feature !== null ? { tokenId: raw.feature } : {}) };
		}
	}
}

function layerOf(raw: GraphJsonNode, path: string): number {
	const layer = typeof raw.layer === 'number' ? raw.layer : /^\d+$/.test(raw.layer) ? Number(raw.layer) : Number.NaN;
	if (!Number.isSafeInteger(layer) || layer < 0) throw new GraphJsonError(`${path}.layer`, `expected a layer number for a ${raw.feature_type} node, got ${JSON.stringify(raw.layer)}`);
	return layer;
}

/** Influence is defined on acyclic graphs only (attribution flows from the tokens to the logits). */
function refuseCycles(nodes: readonly GraphNode[], edges: readonly GraphEdge[]): void {
	const indegree = new Array<number>(nodes.length).fill(0);
	const out: number[][] = nodes.map(() => []);
	for (const e of edges) {
		indegree[e.target]!++;
		out[e.source]!.push(e.target);
	}
	const ready = indegree.flatMap((d, i) => (d === 0 ? [i] : []));
	let seen = 0;
	while (ready.length) {
		const i = ready.pop()!;
		seen++;
		for (const t of out[i]!) if (--indegree[t]! === 0) ready.push(t);
	}
	if (seen < nodes.length) {
		const stuck = nodes.find((_, i) => indegree[i]! > 0)!;
		throw new GraphJsonError('links', `the links form a cycle (through node ${JSON.stringify(stuck.id)}); an attribution graph runs from the input tokens to the logits`);
	}
}
