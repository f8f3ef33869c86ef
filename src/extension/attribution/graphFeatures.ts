// What the host reads from a graph's nodes: which transcoder feature a node is (its layer and its
// index in that layer's transcoder), which file holds that layer's transcoder, and the steering
// of pinned nodes. Free of `vscode`, unit-tested.

import * as fs from 'node:fs';
import * as path from 'node:path';
// Pure maths (no imports): Neuronpedia's encoding of a feature's layer and index in graph JSON.
import { cantorUnpair } from '../../protocol/featureIds';
import { FEATURE_TYPES } from '../../protocol/graphJson';
import type { GraphJson, GraphJsonNode } from '../../protocol/graphJson';
import type { GraphSteerMode } from '../../protocol/attributionPanelMessages';
import type { FeatureSteer } from '../../protocol/steerProtocol';

export interface GraphFeature {
	layer: number;
	/** The feature's index in its layer's transcoder. */
	index: number;
}

/** The transcoder feature a node is, or undefined for embeddings, errors and logits. */
export function graphFeature(graph: GraphJson, node: GraphJsonNode): GraphFeature | undefined {
	if (node.feature_type !== FEATURE_TYPES.feature || node.feature === null) return undefined;
	const layer = Number(node.layer);
	if (!Number.isInteger(layer)) return undefined;
	// schema_version 1: the Cantor pairing of layer and index; older graphs hold the index itself.
	if (graph.metadata.schema_version === 1) return cantorUnpair(node.feature);
	return { layer, index: node.feature };
}

/** The file of layer `layer`'s transcoder in a transcoder set (circuit-tracer's `layer_L.safetensors`), or an explanation of why there is none. */
export function layerTranscoder(setDir: string, layer: number): { path: string } | { why: string } {
	const file = path.join(setDir, `layer_${layer}.safetensors`);
	if (fs.existsSync(file)) return { path: file };
	return { why: `the transcoder set ${setDir} has no layer_${layer}.safetensors to load as the SAE (a dashboard shows one layer's transcoder, loaded like an SAE)` };
}

export interface GraphSteering {
	/** Each feature with its layer's transcoder file in `sae`, so features of several layers steer together. */
	features: FeatureSteer[];
	/** For people: "clamp L2/17, L3/40 to 5". */
	description: string;
}

/**
 * The steer spec for pinned nodes: their features, one clamp each (a feature at several positions
 * is steered once, at the largest activation the graph shows for it), each naming the file of its
 * layer's transcoder (`transcoderFile`, which throws where a layer has none).
 */
export function graphSteering(graph: GraphJson, nodeIds: readonly string[], mode: GraphSteerMode, strength: number, transcoderFile: (layer: number) => string): GraphSteering {
	const byId = new Map(graph.nodes.map((n) => [n.node_id, n]));
	/** Largest activation per feature, by "layer/index", in the order first chosen. */
	const features = new Map<string, { feature: GraphFeature; activation: number }>();
	for (const id of nodeIds) {
		const node = byId.get(id);
		if (!node) throw new Error(`node ${id} is not in the graph`);
		const f = graphFeature(graph, node);
		if (!f) continue;
		const key = `${f.layer}/${f.index}`;
		const activation = Math.max(features.get(key)?.activation ?? -Infinity, node.activation ?? 0);
		features.set(key, { feature: f, activation });
	}
	if (features.size === 0) throw new Error('none of the chosen nodes is a transcoder feature (embeddings, errors and logits cannot be steered)');
	const chosen = [...features.values()].sort((a, b) => a.feature.layer - b.feature.layer || a.feature.index - b.feature.index);
	const steers: FeatureSteer[] = chosen.map(({ feature, activation }) => ({
		featureIndex: feature.index,
		mode: 'clamp',
		strength: mode === 'clamp' ? strength : strength * activation,
		sae: transcoderFile(feature.layer),
	}));
	const what = chosen.map(({ feature }) => `L${feature.layer}/${feature.index}`).join(', ');
	const description = mode === 'clamp' ? `clamp ${what} to ${strength}` : `scale ${what} by ${strength}× (clamped to ${steers.map((s) => round(s.strength)).join(', ')})`;
	return { features: steers, description };
}

function round(x: number): string {
	return String(Math.round(x * 1000) / 1000);
}

/** The graph with the panel's pins and supernodes in its qParams, as Neuronpedia saves a subgraph. */
export function withSubgraph(graph: GraphJson, pinnedIds: readonly string[], supernodes: readonly (readonly string[])[]): GraphJson {
	return { ...graph, qParams: { ...graph.qParams, pinnedIds: [...pinnedIds], supernodes: supernodes.map((s) => [...s]) } };
}
