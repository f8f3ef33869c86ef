// Messages between the extension host and the attribution-graph panel webview (JSON-serializable).
// Type-only imports, so the webview bundles none of the engine.

import type { GraphJson } from './graphJson';

/** circuit-tracer's pruning defaults, which the panel starts at (its slider moves the node threshold). */
export const DEFAULT_NODE_THRESHOLD = 0.8;
export const DEFAULT_EDGE_THRESHOLD = 0.98;

/** How pinned features are steered: `clamp` sets each to `strength`; `scale` clamps each to `strength` × its activation in the graph. */
export const GRAPH_STEER_MODES = ['clamp', 'scale'] as const;
export type GraphSteerMode = (typeof GRAPH_STEER_MODES)[number];

/** Host → webview. */
export type ToAttributionPanel =
	/** A graph (pruned at `nodeThreshold`), with the counts before pruning; `prunable` when the engine holds it whole (a traced graph, not one opened from a file). */
	| { type: 'graph'; graph: GraphJson; nodeThreshold: number; featureCount: number; edgeCount: number; prunable: boolean }
	/** The same graph pruned again at `nodeThreshold` (the slider). */
	| { type: 'pruned'; graph: GraphJson; nodeThreshold: number }
	/** Something the user should know (why a dashboard cannot open, a failed request). */
	| { type: 'notice'; message: string; error: boolean }
	/** Steering from pinned nodes is running, or finished with the baseline and steered completions of the prompt. */
	| { type: 'steering'; description: string }
	| { type: 'steered'; description: string; baseline: string; steered: string };

/** Webview → host. */
export type FromAttributionPanel =
	/** The webview's script is running and can receive messages. */
	| { type: 'ready' }
	/** Prune the graph again at this node threshold (0–1). */
	| { type: 'prune'; nodeThreshold: number }
	/** Open the dashboard of a feature node. */
	| { type: 'openFeature'; nodeId: string }
	/** Save the graph as Neuronpedia JSON, with the pinned nodes and supernodes ([name, ...node ids]) in its qParams. */
	| { type: 'save'; pinnedIds: string[]; supernodes: [string, ...string[]][] }
	/** Steer the prompt's completion by these feature nodes. */
	| { type: 'steer'; nodeIds: string[]; mode: GraphSteerMode; strength: number };

/** What the panel keeps across a window reload (webview state): the host restores the graph from it, no longer prunable. */
export interface AttributionPanelState {
	/** The graph as shown, its pins and supernodes in qParams. */
	graph: GraphJson;
	nodeThreshold: number;
	featureCount: number;
	edgeCount: number;
}
