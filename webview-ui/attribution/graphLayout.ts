// Where the attribution panel draws each node: x by token position (one column per prompt
// token, its label along the bottom), y by layer (embeddings at the bottom, then each layer's
// features and error nodes, the logits at the top). Nodes sharing a column and row sit side by
// side, most influential first. Pure (no DOM), unit-tested.

import type { GraphJson, GraphJsonNode } from '../../src/protocol/graphJson';

/** Neuronpedia's feature types, as the graph JSON spells them (graphJson.ts FEATURE_TYPES). */
export type NodeKind = 'feature' | 'error' | 'embedding' | 'logit' | 'other';

export interface PlacedNode {
	node: GraphJsonNode;
	kind: NodeKind;
	x: number;
	y: number;
	/** 0 for embeddings, L + 1 for layer L, the top row for logits. */
	row: number;
}

export interface GraphLayout {
	width: number;
	height: number;
	nodes: PlacedNode[];
	byId: Map<string, PlacedNode>;
	/** Each prompt token's column centre, for the labels along the bottom. */
	columns: { x: number; token: string }[];
	/** Each row's y and name ("Emb", "L0", …, "Logit"), for the labels down the left. */
	rows: { y: number; name: string }[];
}

export const LAYOUT = { left: 56, right: 16, top: 16, bottom: 56, minColumn: 48, row: 56, spacing: 14, perLine: 5, lineHeight: 13 } as const;

export function nodeKind(node: GraphJsonNode): NodeKind {
	switch (node.feature_type) {
		case 'cross layer transcoder':
			return 'feature';
		case 'mlp reconstruction error':
			return 'error';
		case 'embedding':
			return 'embedding';
		case 'logit':
			return 'logit';
		default:
			return 'other';
	}
}

function rowOf(node: GraphJsonNode, kind: NodeKind): number {
	if (kind === 'embedding' || node.layer === 'E') return 0;
	const layer = Number(node.layer);
	if (!Number.isFinite(layer)) return 0;
	// Logits carry layer n_layers + 1 (circuit-tracer): their row is the one above the last layer's (n_layers).
	return kind === 'logit' ? layer : layer + 1;
}

export function layoutGraph(graph: GraphJson): GraphLayout {
	const tokens = graph.metadata.prompt_tokens;
	const kinds = graph.nodes.map(nodeKind);
	const rowsOf = graph.nodes.map((n, i) => rowOf(n, kinds[i]!));
	const topRow = Math.max(1, ...rowsOf);
	const cells = new Map<string, number[]>();
	graph.nodes.forEach((n, i) => {
		const key = `${rowsOf[i]}:${n.ctx_idx}`;
		const list = cells.get(key) ?? [];
		list.push(i);
		cells.set(key, list);
	});
	const widest = Math.max(1, ...[...cells.values()].map((c) => c.length));
	// A cell holds `perLine` nodes side by side and wraps onto more lines; rows grow to fit the fullest cell.
	const column = Math.max(LAYOUT.minColumn, Math.min(widest, LAYOUT.perLine) * LAYOUT.spacing + 8);
	const perLine = Math.max(1, Math.floor((column - 8) / LAYOUT.spacing));
	const lines = Math.ceil(widest / perLine);
	const rowHeight = Math.max(LAYOUT.row, lines * LAYOUT.lineHeight + 20);
	const nColumns = Math.max(1, tokens.length, ...graph.nodes.map((n) => n.ctx_idx + 1));
	const width = LAYOUT.left + nColumns * column + LAYOUT.right;
	const height = LAYOUT.top + (topRow + 1) * rowHeight + LAYOUT.bottom;
	const yOf = (row: number) => LAYOUT.top + (topRow - row) * rowHeight + rowHeight / 2;
	const placed = new Array<PlacedNode>(graph.nodes.length);
	for (const members of cells.values()) {
		// Most influential first (circuit-tracer's influence is cumulative: smaller matters more).
		members.sort((a, b) => (graph.nodes[a]!.influence ?? Infinity) - (graph.nodes[b]!.influence ?? Infinity));
		const cellLines = Math.ceil(members.length / perLine);
		members.forEach((i, k) => {
			const node = graph.nodes[i]!;
			const line = Math.floor(k / perLine);
			const inLine = line < cellLines - 1 ? perLine : members.length - line * perLine;
			const centre = LAYOUT.left + (node.ctx_idx + 0.5) * column;
			const x = centre + ((k % perLine) - (inLine - 1) / 2) * LAYOUT.spacing;
			const y = yOf(rowsOf[i]!) + (line - (cellLines - 1) / 2) * LAYOUT.lineHeight;
			placed[i] = { node, kind: kinds[i]!, x, y, row: rowsOf[i]! };
		});
	}
	const rows: { y: number; name: string }[] = [];
	for (let r = 0; r <= topRow; r++) rows.push({ y: yOf(r), name: r === 0 ? 'Emb' : r === topRow && rowsOf.some((row, i) => row === r && kinds[i] === 'logit') ? 'Logit' : `L${r - 1}` });
	return {
		width,
		height,
		nodes: placed,
		byId: new Map(placed.map((p) => [p.node.node_id, p])),
		columns: tokens.map((token, i) => ({ x: LAYOUT.left + (i + 0.5) * column, token })),
		rows,
	};
}

/** A node's one-line name for lists and screen readers: its label, or what it is. */
export function nodeName(p: PlacedNode, tokens: readonly string[]): string {
	const token = tokens[p.node.ctx_idx] ?? '';
	switch (p.kind) {
		case 'embedding':
			return `Embedding of ${JSON.stringify(token)} (position ${p.node.ctx_idx})`;
		case 'logit':
			return p.node.clerp || `Logit ${p.node.feature ?? ''}`;
		case 'error':
			return `Error L${p.row - 1} at ${JSON.stringify(token)}`;
		default:
			return `${p.node.clerp ? `${p.node.clerp} · ` : ''}${p.node.node_id} at ${JSON.stringify(token)}`;
	}
}

/** A token as a label: newlines and tabs shown as ↵ and →, a token of spaces as middle dots, so whitespace tokens stay visible. */
export function visibleToken(token: string): string {
	const shown = token.replace(/\r?\n/g, '↵').replace(/\t/g, '→');
	return shown.trim() === '' ? shown.replace(/ /g, '·') : shown;
}
