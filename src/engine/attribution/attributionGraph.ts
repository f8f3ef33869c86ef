// The attribution graph as Feature Lens holds it, whatever made it (a Neuronpedia or
// circuit-tracer JSON file today, the attribution engine later): the nodes of the replacement
// model on one prompt and the direct effects between them. Plain data (the edges in typed
// arrays, which structured clone copies as they are), free of Node and DOM APIs, so the engine,
// the extension host and the graph webview share it.
//
// The nodes are circuit-tracer's: input tokens (embeddings), active transcoder features, one
// error node per layer and position (what the transcoders miss), and the output logits attributed
// from. An edge is a direct effect: how much of the target's input the source contributes, in the
// frozen linear replacement model (circuit-tracer's adjacency matrix entry [target, source]).

/** A node's kind; Neuronpedia's `feature_type` names them in graphJson.ts. */
export type GraphNodeKind = 'embedding' | 'feature' | 'error' | 'logit';

interface NodeBase {
	/** Unique within the graph; Neuronpedia's `node_id`. */
	id: string;
	/** Token position: the input token, or for a logit the position it is predicted from. */
	position: number;
	/** Neuronpedia's `clerp`: a label, when there is one. */
	label?: string;
	/**
	 * The cumulative influence a file stored for the node (circuit-tracer's score: the share of
	 * all nodes' influence on the logits held by this node and the nodes ranked above it), for
	 * display; pruning recomputes influence from the edges.
	 */
	storedInfluence?: number;
}

/** An input token. */
export interface EmbeddingNode extends NodeBase {
	kind: 'embedding';
	token: string;
	tokenId?: number;
}

/** An active transcoder feature. */
export interface FeatureNode extends NodeBase {
	kind: 'feature';
	layer: number;
	/** The feature's index in its layer's transcoder. */
	feature: number;
	activation?: number;
}

/** What the transcoders miss at one layer and position: the MLP output minus their reconstruction. */
export interface ErrorNode extends NodeBase {
	kind: 'error';
	layer: number;
}

/** An output token attributed from, weighted by its probability. */
export interface LogitNode extends NodeBase {
	kind: 'logit';
	token: string;
	tokenId?: number;
	probability: number;
}

export type GraphNode = EmbeddingNode | FeatureNode | ErrorNode | LogitNode;

/** A direct effect: `weight` of node `source`'s output in node `target`'s input (indices into `nodes`). */
export interface GraphEdge {
	source: number;
	target: number;
	weight: number;
}

/**
 * The direct effects as parallel arrays: edge i is a GraphEdge of source[i], target[i],
 * weight[i]. Typed arrays rather than objects: a graph the engine makes has millions of edges
 * (a 64-token prompt on the demo model: 13 million), which as objects (each weight a boxed
 * double) cost gigabytes and seconds to walk; typed arrays also cross to a webview by structured
 * clone in one copy.
 */
export interface GraphEdges {
	source: Int32Array;
	target: Int32Array;
	weight: Float64Array;
}

/** Edges from a list of GraphEdge (files, tests). */
export function edgesOf(list: readonly GraphEdge[]): GraphEdges {
	const m = list.length;
	const edges: GraphEdges = { source: new Int32Array(m), target: new Int32Array(m), weight: new Float64Array(m) };
	for (let i = 0; i < m; i++) {
		const e = list[i]!;
		edges.source[i] = e.source;
		edges.target[i] = e.target;
		edges.weight[i] = e.weight;
	}
	return edges;
}

/** The edges as a list of GraphEdge (for small graphs: files, tests). */
export function edgeList(edges: GraphEdges): GraphEdge[] {
	return Array.from(edges.source, (source, i) => ({ source, target: edges.target[i]!, weight: edges.weight[i]! }));
}

export interface AttributionGraph {
	prompt: string;
	/** The prompt's tokens as text, one per position. */
	promptTokens: string[];
	/** Layers of the model: features and errors sit on layers 0 … nLayers − 1. */
	nLayers: number;
	nodes: GraphNode[];
	/** Direct effects, at most one per (source, target) pair; sources come before targets in the model, so there is no cycle. */
	edges: GraphEdges;
	/**
	 * Where the features come from: one transcoder set (or SAE) for every layer, or one entry per
	 * layer (circuit-tracer's `transcoder_list`); folders, `hf:` or `release:` references or URLs.
	 * Empty when unknown.
	 */
	featureSources: string[];
	/** The token asked to be traced (a completion's token), when one was: the graph's target logit. */
	targetToken?: number;
	/** The steering the traced completion was generated with, for people (attribute.ts AttributionSteering). */
	steering?: string;
}

/** A node before it has an id. */
export type UnnamedGraphNode = GraphNode extends infer N ? (N extends GraphNode ? Omit<N, 'id'> : never) : never;

/** The canonical id of a node the engine made (ids read from a file are kept as they are). */
export function canonicalNodeId(node: UnnamedGraphNode, nLayers: number): string {
	switch (node.kind) {
		case 'embedding':
			return `E_${node.tokenId ?? 'x'}_${node.position}`;
		case 'feature':
			return `${node.layer}_${node.feature}_${node.position}`;
		// Not circuit-tracer's `0_{layer}_{pos}`, which a layer-0 feature numbered like the layer can share.
		case 'error':
			return `${node.layer}_error_mlp_${node.position}`;
		case 'logit':
			return `${nLayers + 1}_${node.tokenId ?? 'x'}_${node.position}`;
	}
}
