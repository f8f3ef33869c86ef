// The attribution-graph panel: the graph as SVG (x: token position, y: layer), node details on
// hover or focus, dashboards on click or Enter, pins (P) and supernodes, the pruning slider,
// the scores, saving, and steering from pinned features. Every string from the model or the
// graph file goes in through textContent or an attribute, never as markup.

import type { GraphJson } from '../../src/protocol/graphJson';
import { cantorUnpair } from '../../src/protocol/featureIds';
import { GRAPH_STEER_MODES } from '../../src/protocol/attributionPanelMessages';
import type { AttributionPanelState, FromAttributionPanel, ToAttributionPanel } from '../../src/protocol/attributionPanelMessages';
import { el, svg } from '../components/dom';
import { layoutGraph, nodeName, visibleToken } from './graphLayout';
import type { GraphLayout, PlacedNode } from './graphLayout';

interface VsCodeApi {
	postMessage(message: FromAttributionPanel): void;
	setState(state: AttributionPanelState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const root = document.getElementById('root')!;

let graph: GraphJson | undefined;
let layout: GraphLayout | undefined;
let nodeThreshold = 0.8;
let counts = { features: 0, edges: 0 };
/** Pinned node ids in pin order, with the node as last seen (pins outlive a prune that hides them). */
const pinned = new Map<string, PlacedNode>();
const supernodes: { name: string; ids: string[] }[] = [];
let focusedId: string | undefined;

// The panel's fixed parts, built once; render() fills them.
const header = el('div', undefined, 'graph-header');
const notice = el('p', undefined, 'notice');
notice.setAttribute('role', 'status');
const graphBox = el('div', undefined, 'graph-box');
const details = el('div', undefined, 'node-details');
details.setAttribute('aria-live', 'polite');
const side = el('div', undefined, 'graph-side');
const pinList = el('ul', undefined, 'pin-list');
const superList = el('ul', undefined, 'supernode-list');
const steerResult = el('div', undefined, 'steer-result');

function featureOf(p: PlacedNode): { layer: number; index: number } | undefined {
	if (p.kind !== 'feature' || p.node.feature === null || !graph) return undefined;
	return graph.metadata.schema_version === 1 ? cantorUnpair(p.node.feature) : { layer: Number(p.node.layer), index: p.node.feature };
}

function fmt(x: number | null | undefined): string {
	return x === null || x === undefined ? '—' : Math.abs(x) >= 100 || x === 0 ? x.toFixed(0) : x.toPrecision(3);
}

function showNotice(message: string, error: boolean): void {
	notice.textContent = message;
	notice.className = error ? 'notice error' : 'notice';
}

function showDetails(p: PlacedNode): void {
	const tokens = graph?.metadata.prompt_tokens ?? [];
	const f = featureOf(p);
	const rows: [string, string][] = [
		['Label', p.node.clerp || '(none)'],
		['Kind', p.node.feature_type],
		...(f ? [['Feature', `layer ${f.layer} #${f.index}`] as [string, string]] : []),
		['Layer', String(p.node.layer)],
		['Token', `${JSON.stringify(tokens[p.node.ctx_idx] ?? '')} (position ${p.node.ctx_idx})`],
		['Activation', fmt(p.node.activation)],
		['Influence', fmt(p.node.influence)],
	];
	const dl = el('dl', undefined, 'facts');
	for (const [k, v] of rows) dl.append(el('dt', k), el('dd', v));
	details.replaceChildren(el('h2', nodeName(p, tokens)), dl, el('p', f ? 'Enter or click: open the dashboard · P: pin' : 'P: pin', 'details'));
}

function openNode(p: PlacedNode): void {
	if (p.kind !== 'feature') {
		showNotice(`${nodeName(p, graph?.metadata.prompt_tokens ?? [])} is not a transcoder feature: only features have dashboards.`, false);
		return;
	}
	vscode.postMessage({ type: 'openFeature', nodeId: p.node.node_id });
}

function togglePin(p: PlacedNode): void {
	const id = p.node.node_id;
	if (pinned.has(id)) pinned.delete(id);
	else pinned.set(id, p);
	renderGraph();
	renderSide();
	focusedId = id;
	graphBox.querySelector<SVGGElement>(`[data-node-id="${CSS.escape(id)}"]`)?.focus();
}

function renderGraph(): void {
	if (!graph || !layout) return;
	const { width, height } = layout;
	const canvas = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, class: 'graph', role: 'group', 'aria-label': 'Attribution graph' });
	for (const r of layout.rows) {
		canvas.append(svg('line', { x1: 40, x2: width - 8, y1: r.y, y2: r.y, class: 'row-rule' }));
		const label = svg('text', { x: 4, y: r.y + 4, class: 'row-label' });
		label.textContent = r.name;
		canvas.append(label);
	}
	for (const c of layout.columns) {
		const label = svg('text', { x: c.x, y: height - 36, class: 'token-label', transform: `rotate(-30 ${c.x} ${height - 36})` });
		label.textContent = visibleToken(c.token);
		canvas.append(label);
	}
	const maxWeight = Math.max(1e-12, ...graph.links.map((l) => Math.abs(l.weight)));
	const links = svg('g', { class: 'links' });
	for (const link of graph.links) {
		const s = layout.byId.get(link.source);
		const t = layout.byId.get(link.target);
		if (!s || !t) continue;
		const strength = Math.abs(link.weight) / maxWeight;
		const line = svg('line', {
			x1: s.x,
			y1: s.y,
			x2: t.x,
			y2: t.y,
			'stroke-width': (0.4 + 3.6 * strength).toFixed(2),
			'stroke-opacity': (0.15 + 0.7 * strength).toFixed(2),
			class: link.weight >= 0 ? 'link positive' : 'link negative',
			'data-source': link.source,
			'data-target': link.target,
		});
		links.append(line);
	}
	canvas.append(links);
	for (const s of supernodes) {
		const members = s.ids.map((id) => layout!.byId.get(id) ?? pinned.get(id)).filter((p): p is PlacedNode => p !== undefined);
		if (members.length === 0) continue;
		const xs = members.map((p) => p.x);
		const ys = members.map((p) => p.y);
		const x = Math.min(...xs) - 10,
			y = Math.min(...ys) - 10;
		canvas.append(svg('rect', { x, y, width: Math.max(...xs) - x + 10, height: Math.max(...ys) - y + 10, rx: 6, class: 'supernode' }));
		const name = svg('text', { x, y: y - 3, class: 'supernode-label' });
		name.textContent = s.name;
		canvas.append(name);
	}
	const tokens = graph.metadata.prompt_tokens;
	for (const p of layout.nodes) {
		const g = svg('g', { class: `node ${p.kind}${pinned.has(p.node.node_id) ? ' pinned' : ''}`, tabindex: 0, role: 'button', 'data-node-id': p.node.node_id, 'aria-label': nodeName(p, tokens) });
		// Shapes tell kinds apart without colour: features circles, errors squares, embeddings and logits wide bars.
		if (p.kind === 'feature' || p.kind === 'other') g.append(svg('circle', { cx: p.x, cy: p.y, r: 5 }));
		else if (p.kind === 'error') g.append(svg('rect', { x: p.x - 4.5, y: p.y - 4.5, width: 9, height: 9 }));
		else g.append(svg('rect', { x: p.x - 7, y: p.y - 4, width: 14, height: 8, rx: 2 }));
		const title = svg('title');
		title.textContent = nodeName(p, tokens);
		g.append(title);
		const highlight = (on: boolean) => {
			links.querySelectorAll(`[data-source="${CSS.escape(p.node.node_id)}"], [data-target="${CSS.escape(p.node.node_id)}"]`).forEach((line) => line.classList.toggle('lit', on));
		};
		g.addEventListener('mouseenter', () => {
			showDetails(p);
			highlight(true);
		});
		g.addEventListener('mouseleave', () => highlight(false));
		g.addEventListener('focus', () => {
			focusedId = p.node.node_id;
			showDetails(p);
			highlight(true);
		});
		g.addEventListener('blur', () => highlight(false));
		g.addEventListener('click', () => openNode(p));
		g.addEventListener('keydown', (e) => {
			if (e.key === 'Enter' || e.key === ' ') {
				e.preventDefault();
				openNode(p);
			} else if (e.key === 'p' || e.key === 'P') {
				e.preventDefault();
				togglePin(p);
			}
		});
		canvas.append(g);
	}
	graphBox.replaceChildren(canvas);
	if (focusedId) graphBox.querySelector<SVGGElement>(`[data-node-id="${CSS.escape(focusedId)}"]`)?.focus({ preventScroll: true });
}

function button(text: string, onClick: () => void, className = ''): HTMLButtonElement {
	const b = el('button', text, className);
	b.type = 'button';
	b.addEventListener('click', onClick);
	return b;
}

function renderSide(): void {
	const tokens = graph?.metadata.prompt_tokens ?? [];
	pinList.replaceChildren();
	const grouped = new Set(supernodes.flatMap((s) => s.ids));
	for (const [id, p] of pinned) {
		const item = el('li');
		const check = el('input');
		check.type = 'checkbox';
		check.dataset['nodeId'] = id;
		check.setAttribute('aria-label', `Choose ${nodeName(p, tokens)}`);
		check.disabled = grouped.has(id);
		const name = el('span', nodeName(p, tokens));
		item.append(
			check,
			name,
			button('Unpin', () => togglePin(p), 'link'),
		);
		pinList.append(item);
	}
	if (pinned.size === 0) pinList.append(el('li', 'No pinned nodes: focus a node and press P.', 'details'));
	superList.replaceChildren();
	supernodes.forEach((s, i) => {
		const item = el('li');
		item.append(
			el('strong', s.name),
			el('span', ` (${s.ids.length} nodes)`),
			button(
				'Ungroup',
				() => {
					supernodes.splice(i, 1);
					renderGraph();
					renderSide();
				},
				'link',
			),
		);
		superList.append(item);
	});
	persist();
}

/** Keeps the graph with its pins and supernodes for a window reload, which the host restores it from. */
function persist(): void {
	if (!graph) return;
	const qParams = { ...graph.qParams, pinnedIds: [...pinned.keys()], supernodes: supernodes.map((s) => [s.name, ...s.ids]) };
	vscode.setState({ graph: { ...graph, qParams }, nodeThreshold, featureCount: counts.features, edgeCount: counts.edges });
}

function checkedPins(): string[] {
	return Array.from(pinList.querySelectorAll<HTMLInputElement>('input[type="checkbox"]:checked'), (c) => c.dataset['nodeId']!);
}

function buildPanel(prunable: boolean): void {
	const slider = el('input');
	slider.type = 'range';
	slider.min = '0.1';
	slider.max = '1';
	slider.step = '0.01';
	slider.value = String(nodeThreshold);
	slider.id = 'node-threshold';
	slider.setAttribute('aria-label', 'Node threshold (cumulative influence kept)');
	// A graph opened from a file holds only its pruned nodes: nothing to prune again.
	slider.disabled = !prunable;
	if (!prunable) slider.title = 'This graph holds only its pruned nodes (opened from a file, or restored after a reload), so it cannot be pruned again; trace the prompt to prune it';
	const sliderValue = el('output', String(nodeThreshold));
	slider.addEventListener('input', () => {
		sliderValue.textContent = slider.value;
	});
	// Re-pruning happens in the engine: ask once the slider is let go.
	slider.addEventListener('change', () => vscode.postMessage({ type: 'prune', nodeThreshold: Number(slider.value) }));
	const sliderLabel = el('label', 'Node threshold ');
	sliderLabel.htmlFor = 'node-threshold';
	const save = button('Save graph JSON…', () => vscode.postMessage({ type: 'save', pinnedIds: [...pinned.keys()], supernodes: supernodes.map((s) => [s.name, ...s.ids] as [string, ...string[]]) }));
	const toolbar = el('div', undefined, 'controls');
	toolbar.append(sliderLabel, slider, sliderValue, save);

	const groupName = el('input');
	groupName.type = 'text';
	groupName.placeholder = 'Supernode name';
	groupName.setAttribute('aria-label', 'Supernode name');
	const group = button('Group chosen pins', () => {
		const ids = checkedPins();
		const name = groupName.value.trim();
		if (ids.length < 2) return showNotice('Choose two or more pinned nodes to group.', true);
		if (!name) return showNotice('Name the supernode first.', true);
		supernodes.push({ name, ids });
		groupName.value = '';
		renderGraph();
		renderSide();
	});
	const groupRow = el('div', undefined, 'controls');
	groupRow.append(groupName, group);

	const mode = el('select');
	mode.setAttribute('aria-label', 'Steering mode');
	for (const m of GRAPH_STEER_MODES) {
		const option = el('option', m === 'clamp' ? 'Clamp to' : 'Scale by', undefined);
		option.value = m;
		mode.append(option);
	}
	const strength = el('input');
	strength.type = 'number';
	strength.step = 'any';
	strength.value = '10';
	strength.setAttribute('aria-label', 'Steering strength');
	const steer = button('Steer from pinned nodes', () => {
		const ids = checkedPins();
		const nodeIds = ids.length > 0 ? ids : [...pinned.keys()];
		if (nodeIds.length === 0) return showNotice('Pin the features to steer first (focus a node and press P).', true);
		const value = Number(strength.value);
		if (!Number.isFinite(value)) return showNotice('The strength must be a number.', true);
		vscode.postMessage({ type: 'steer', nodeIds, mode: mode.value as (typeof GRAPH_STEER_MODES)[number], strength: value });
	});
	steer.id = 'steer-pinned';
	const steerRow = el('div', undefined, 'controls');
	steerRow.append(mode, strength, steer);

	side.replaceChildren(
		el('h2', 'Pinned nodes'),
		pinList,
		groupRow,
		el('h2', 'Supernodes'),
		superList,
		el('h2', 'Steer from pinned features'),
		el('p', "Steers the chosen pins (all pins when none is chosen), features of any layers together: each clamped through its layer's transcoder.", 'details'),
		steerRow,
		steerResult,
	);
	const body = el('div', undefined, 'graph-body');
	const main = el('div', undefined, 'graph-main');
	main.append(graphBox, details);
	body.append(main, side);
	root.replaceChildren(header, toolbar, notice, body);
}

/** Pins and supernodes a saved graph carries in qParams (Neuronpedia's [name, ...node ids]), for the nodes it has. */
function restoreSubgraph(next: GraphJson): void {
	const placed = layoutGraph(next).byId;
	for (const id of next.qParams.pinnedIds ?? []) {
		const p = placed.get(id);
		if (p) pinned.set(id, p);
	}
	for (const s of next.qParams.supernodes ?? []) {
		if (!Array.isArray(s) || typeof s[0] !== 'string') continue;
		const ids = s.slice(1).filter((id): id is string => typeof id === 'string' && placed.has(id));
		if (ids.length >= 2) supernodes.push({ name: s[0], ids });
	}
}

function renderHeader(): void {
	if (!graph) return;
	const m = graph.metadata;
	header.replaceChildren(
		el('h1', `Attribution graph: ${JSON.stringify(m.prompt.slice(-60))}`),
		el(
			'p',
			`Replacement score ${fmt(m.replacement_score)} · completeness score ${fmt(m.completeness_score)} · ${graph.nodes.length} nodes and ${graph.links.length} edges shown of ${counts.features} features and ${counts.edges} edges`,
			'scores',
		),
	);
	// A traced steered token says how it was steered (graph metadata, written by the engine).
	if (typeof m.info?.description === 'string' && m.info.description) header.append(el('p', m.info.description, 'details graph-description'));
}

function setGraph(next: GraphJson): void {
	graph = next;
	layout = layoutGraph(next);
	renderHeader();
	renderGraph();
	renderSide();
}

window.addEventListener('message', (event: MessageEvent<ToAttributionPanel>) => {
	const message = event.data;
	switch (message.type) {
		case 'graph':
			pinned.clear();
			supernodes.length = 0;
			focusedId = undefined;
			nodeThreshold = message.nodeThreshold;
			counts = { features: message.featureCount, edges: message.edgeCount };
			buildPanel(message.prunable);
			restoreSubgraph(message.graph);
			steerResult.replaceChildren();
			details.replaceChildren(el('p', 'Hover or focus a node (Tab) to see it.', 'details'));
			showNotice('', false);
			setGraph(message.graph);
			break;
		case 'pruned':
			nodeThreshold = message.nodeThreshold;
			setGraph(message.graph);
			break;
		case 'notice':
			showNotice(message.message, message.error);
			break;
		case 'steering':
			steerResult.replaceChildren(el('p', `Steering: ${message.description}…`, 'details'));
			break;
		case 'steered': {
			const pair = el('div', undefined, 'completions');
			const column = (title: string, text: string) => {
				const c = el('div', undefined, 'completion');
				c.append(el('h3', title), el('pre', text));
				return c;
			};
			pair.append(column('Baseline', message.baseline), column('Steered', message.steered));
			steerResult.replaceChildren(el('p', message.description, 'details'), pair);
			break;
		}
	}
});

vscode.postMessage({ type: 'ready' });
