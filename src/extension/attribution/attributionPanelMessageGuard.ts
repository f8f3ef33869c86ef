// Messages from the attribution-graph panel, checked before the host acts on them: node ids are
// short strings, thresholds lie in [0, 1], strengths are finite, lists are bounded. Free of
// `vscode`, unit-tested.

import { GRAPH_STEER_MODES } from '../../protocol/attributionPanelMessages';
import type { FromAttributionPanel, GraphSteerMode, ToAttributionPanel } from '../../protocol/attributionPanelMessages';
import { parseGraphJson } from '../../protocol/graphJson';

/** Longest node id or supernode name accepted; circuit-tracer's ids ("12_3456_7") are far shorter. */
export const MAX_ID_LENGTH = 200;
/** Most node ids in one message (pins, a supernode, a steer). */
export const MAX_IDS = 1000;

function isId(v: unknown): v is string {
	return typeof v === 'string' && v.length > 0 && v.length <= MAX_ID_LENGTH;
}

function ids(v: unknown, min: number): string[] | undefined {
	if (!Array.isArray(v) || v.length < min || v.length > MAX_IDS || !v.every(isId)) return undefined;
	return [...v] as string[];
}

/** The message as a FromAttributionPanel, or undefined when it is not one. */
export function parseFromAttributionPanel(value: unknown): FromAttributionPanel | undefined {
	if (typeof value !== 'object' || value === null) return undefined;
	const m = value as Record<string, unknown>;
	switch (m['type']) {
		case 'ready':
			return { type: 'ready' };
		case 'prune': {
			const t = m['nodeThreshold'];
			return typeof t === 'number' && t >= 0 && t <= 1 ? { type: 'prune', nodeThreshold: t } : undefined;
		}
		case 'openFeature':
			return isId(m['nodeId']) ? { type: 'openFeature', nodeId: m['nodeId'] } : undefined;
		case 'save': {
			const pinnedIds = ids(m['pinnedIds'], 0);
			const raw = m['supernodes'];
			if (!pinnedIds || !Array.isArray(raw) || raw.length > MAX_IDS) return undefined;
			const supernodes: [string, ...string[]][] = [];
			for (const s of raw) {
				const group = ids(s, 2);
				if (!group) return undefined;
				supernodes.push(group as [string, ...string[]]);
			}
			return { type: 'save', pinnedIds, supernodes };
		}
		case 'steer': {
			const nodeIds = ids(m['nodeIds'], 1);
			const mode = m['mode'];
			const strength = m['strength'];
			if (!nodeIds || !(GRAPH_STEER_MODES as readonly unknown[]).includes(mode) || typeof strength !== 'number' || !Number.isFinite(strength) || Math.abs(strength) > 1e6) return undefined;
			return { type: 'steer', nodeIds, mode: mode as GraphSteerMode, strength };
		}
		default:
			return undefined;
	}
}

/**
 * The graph message a panel restored after a window reload shows, from the state its webview kept
 * (untrusted, like a file: the graph is read as Neuronpedia JSON), or undefined when the state is
 * not one. Restored graphs are not prunable: the engine that held them whole is gone.
 */
export function restoredGraph(state: unknown): (ToAttributionPanel & { type: 'graph' }) | undefined {
	if (typeof state !== 'object' || state === null) return undefined;
	const { graph, nodeThreshold, featureCount, edgeCount } = state as Record<string, unknown>;
	const count = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
	if (typeof nodeThreshold !== 'number' || !(nodeThreshold >= 0 && nodeThreshold <= 1) || !count(featureCount) || !count(edgeCount)) return undefined;
	try {
		return { type: 'graph', graph: parseGraphJson(JSON.stringify(graph)), nodeThreshold, featureCount, edgeCount, prunable: false };
	} catch {
		return undefined;
	}
}
