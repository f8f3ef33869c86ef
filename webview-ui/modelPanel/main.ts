// The model panel: the loaded model's configuration and its hook points, filterable.
// Model-provided strings are set with textContent only, never as HTML.

import type { FromModelPanel, ToModelPanel } from '../../src/protocol/modelPanelMessages';
import type { ModelInfo } from '../../src/protocol/engineProtocol';

interface VsCodeApi {
	postMessage(message: FromModelPanel): void;
	getState(): { filter?: string } | undefined;
	setState(state: { filter?: string }): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const root = document.getElementById('root')!;
let current: ModelInfo | undefined;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string): HTMLElementTagNameMap[K] {
	const node = document.createElement(tag);
	if (text !== undefined) node.textContent = text;
	if (className) node.className = className;
	return node;
}

function render(model: ModelInfo): void {
	root.replaceChildren();
	root.append(el('h1', model.name));
	const facts = el('dl', undefined, 'facts');
	const rows: [string, string][] = [
		['Architecture', model.modelType],
		['Layers', String(model.nLayers)],
		['d_model', String(model.dModel)],
		['Vocabulary', String(model.dVocab)],
		['Context', String(model.nCtx)],
		['Folder', model.dir],
	];
	for (const [k, v] of rows) facts.append(el('dt', k), el('dd', v));
	root.append(facts);

	const filter = el('input');
	filter.type = 'search';
	filter.placeholder = 'Filter hook points (e.g. resid_post)';
	filter.setAttribute('aria-label', 'Filter hook points');
	filter.value = vscode.getState()?.filter ?? '';
	const table = el('table');
	const head = el('tr');
	head.append(el('th', 'Hook point'), el('th', 'Shape'), el('th', ''));
	const body = el('tbody');
	table.append(el('thead'), body);
	table.tHead!.append(head);
	const fill = (): void => {
		vscode.setState({ filter: filter.value });
		body.replaceChildren();
		for (const h of model.hookPoints.filter((p) => p.name.includes(filter.value.trim()))) {
			const row = el('tr');
			const copy = el('button', 'Copy', 'link');
			copy.title = `Copy ${h.name}`;
			copy.addEventListener('click', () => vscode.postMessage({ type: 'copyHook', name: h.name }));
			row.append(el('td', h.name, h.residual ? 'residual' : undefined), el('td', `[${h.shape.join(', ')}]`), el('td'));
			row.lastElementChild!.append(copy);
			body.append(row);
		}
	};
	filter.addEventListener('input', fill);
	root.append(el('h2', 'Hook points'), filter, table);
	fill();
}

window.addEventListener('message', (event: MessageEvent<ToModelPanel>) => {
	const message = event.data;
	if (message.type === 'model') {
		current = message.model;
		render(current);
	} else {
		root.replaceChildren(el('p', message.message, 'error'));
	}
});

vscode.postMessage({ type: 'ready' });
