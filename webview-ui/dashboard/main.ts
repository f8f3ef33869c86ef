// The feature dashboard webview: one feature of the loaded SAE, drawn from the host's
// FeatureDashboardData. Untrusted text (tokens, examples, labels) is set with textContent only.
// View options (context size, line breaks, the test text) and the feature number survive
// reloads through getState/setState; the host's panel serializer reads the feature number.

import { el } from '../components/dom';
import { button, progressRing } from '../components/controls';
import type { DashboardState, FromDashboard, ToDashboard } from '../../src/protocol/dashboardMessages';
import type { FeatureDashboardData } from '../../src/protocol/featureProtocol';
import './dashboard.css';
import { activationHistogram, examples, exampleControls, exampleScale, header, labelEditor, logitLens, neighbours, notAnalysed, testText } from './sections';
import type { ExampleOptions, LabelEditor, TestTextPanel } from './sections';
import { formatActivation } from './shading';

interface VsCodeApi {
	postMessage(message: FromDashboard): void;
	getState(): Partial<DashboardState> | undefined;
	setState(state: DashboardState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const root = document.getElementById('root')!;

const saved = vscode.getState() ?? {};
const state: DashboardState = {
	featureIndex: typeof saved.featureIndex === 'number' ? saved.featureIndex : -1,
	contextSize: saved.contextSize === 'wide' || saved.contextSize === 'full' ? saved.contextSize : 'snippet',
	showBreaks: saved.showBreaks === true,
	testText: typeof saved.testText === 'string' ? saved.testText : '',
};

let data: FeatureDashboardData | undefined;
let analysing = false;
let editor: LabelEditor | undefined;
let tester: TestTextPanel | undefined;
let examplesHost: HTMLElement | undefined;
let histogramHost: HTMLElement | undefined;
let lastTestMax: number | undefined;

function post(message: FromDashboard): void {
	vscode.postMessage(message);
}

function saveState(): void {
	vscode.setState(state);
}

function exampleOptions(d: FeatureDashboardData): ExampleOptions {
	return { contextSize: state.contextSize, showBreaks: state.showBreaks, scaleMax: exampleScale(d) };
}

function renderExamples(): void {
	if (!data || !examplesHost) return;
	examplesHost.replaceChildren(examples(data, exampleOptions(data)));
}

function renderHistogram(): void {
	if (!data || !histogramHost) return;
	const marker = lastTestMax !== undefined && lastTestMax > 0 ? { value: lastTestMax, label: `your text: max activation ${formatActivation(lastTestMax)}` } : undefined;
	histogramHost.replaceChildren(activationHistogram(data, marker));
}

function render(d: FeatureDashboardData): void {
	data = d;
	state.featureIndex = d.featureIndex;
	saveState();
	document.title = `Feature ${d.featureIndex}`;
	editor = labelEditor(d, (label, notes) => post({ type: 'saveLabel', label, notes }));
	tester = testText(
		state.testText,
		(text) => {
			state.testText = text;
			saveState();
		},
		(text) => post({ type: 'testText', text }),
	);
	const side = el('div', undefined, 'column side');
	const main = el('div', undefined, 'column main');
	if (d.analysed) {
		histogramHost = el('div');
		side.append(histogramHost);
		renderHistogram();
	} else {
		histogramHost = undefined;
		main.append(notAnalysed(analysing, () => post({ type: 'analyze' })));
	}
	side.append(
		logitLens(d),
		neighbours(d.neighbours, (featureIndex) => post({ type: 'openFeature', featureIndex })),
	);
	main.append(tester.node);
	if (d.analysed) {
		main.append(
			exampleControls(
				exampleOptions(d),
				(size) => {
					state.contextSize = size;
					saveState();
					renderExamples();
				},
				(show) => {
					state.showBreaks = show;
					saveState();
					renderExamples();
				},
			),
		);
		examplesHost = el('div');
		main.append(examplesHost);
		renderExamples();
	} else {
		examplesHost = undefined;
	}
	const columns = el('div', undefined, 'columns');
	columns.append(side, main);
	const top = el('div', undefined, 'top');
	top.append(
		header(d, () => post({ type: 'steer' })),
		editor.node,
	);
	root.replaceChildren(top, columns);
}

function showLoading(featureIndex: number): void {
	state.featureIndex = featureIndex;
	saveState();
	const box = el('div', undefined, 'loading');
	box.append(progressRing(`Loading feature ${featureIndex}`), el('span', `Loading feature ${featureIndex}…`));
	root.replaceChildren(box);
}

function showError(featureIndex: number, message: string): void {
	state.featureIndex = featureIndex;
	saveState();
	const box = el('div', undefined, 'load-error');
	box.append(
		el('h1', `Feature ${featureIndex}`),
		el('p', message, 'error'),
		button('Retry', () => post({ type: 'refresh' })),
	);
	root.replaceChildren(box);
}

window.addEventListener('message', (event: MessageEvent<ToDashboard>) => {
	const message = event.data;
	if (typeof message !== 'object' || message === null) return;
	switch (message.type) {
		case 'loading':
			showLoading(message.featureIndex);
			break;
		case 'data':
			lastTestMax = undefined;
			render(message.data);
			break;
		case 'error':
			showError(message.featureIndex, message.message);
			break;
		case 'labelSaved': {
			editor?.saved(message.userLabel, message.notes);
			const label = document.getElementById('feature-label');
			if (label) {
				label.textContent = message.summary.label || 'no label yet';
				label.classList.toggle('empty', !message.summary.label);
			}
			if (data) data = { ...data, label: message.summary.label, userLabel: message.userLabel, notes: message.notes };
			break;
		}
		case 'labelError':
			editor?.failed(message.message);
			break;
		case 'textActivations': {
			if (!tester || !data) break;
			lastTestMax = Math.max(0, ...message.result.tokens.map((t) => t.activation));
			tester.showResult(message.result, exampleScale(data), state.showBreaks);
			renderHistogram();
			break;
		}
		case 'textError':
			tester?.showError(message.message);
			break;
		case 'analysing':
			analysing = message.running;
			if (data && !data.analysed) render(data);
			break;
	}
});

if (state.featureIndex >= 0) showLoading(state.featureIndex);
post({ type: 'ready' });
