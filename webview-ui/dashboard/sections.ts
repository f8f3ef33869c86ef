// The dashboard's sections, each built from the feature's data (Neuronpedia feature page and
// sae_vis feature-centric layout): header with label and notes, statistics, activation
// histogram, logit lens tables and histogram, neighbours, top and quantile examples, and
// "test your own text". Every string from the model, the corpus or the user goes in as text.

import { badge, button, checkbox, dropdown, progressRing, textArea, textField } from '../components/controls';
import type { ButtonElement, ValueElement } from '../components/controls';
import { el } from '../components/dom';
import type { ContextSize } from '../../src/protocol/dashboardMessages';
import { DASHBOARD_LIMITS } from '../../src/protocol/dashboardMessages';
import type { ActivationExample, FeatureDashboardData, FeatureNeighbour, FeatureTextActivations, LogitLensToken } from '../../src/protocol/featureProtocol';
import { histogramChart } from './histogramChart';
import { bandTitle, formatActivation, formatCount, formatDensity, logitStrength, shadingMax } from './shading';
import { contextWindow, quotedToken, visibleToken } from './tokenText';
import { tokenSequence } from './tokenSequence';

function section(id: string, title: string, className = ''): HTMLElement {
	const node = el('section', undefined, `card ${className}`.trim());
	node.id = id;
	const heading = el('h2', title);
	heading.id = `${id}-title`;
	node.setAttribute('aria-labelledby', heading.id);
	node.append(heading);
	return node;
}

export function header(data: FeatureDashboardData, steer: () => void): HTMLElement {
	const node = el('header', undefined, 'header');
	const title = el('div', undefined, 'title-row');
	title.append(el('h1', `Feature ${data.featureIndex}`));
	const label = el('span', data.label || 'no label yet', data.label ? 'feature-label' : 'feature-label empty');
	label.id = 'feature-label';
	title.append(label);
	if (data.dead) title.append(badge('dead', 'Never fired on the analysed tokens'));
	if (data.dense) title.append(badge('dense', 'Fires on more than 10% of tokens'));
	title.append(button('Steer with this feature', steer, { ariaLabel: `Add feature ${data.featureIndex} to the Steering view` }));
	node.append(title);
	node.append(el('p', `${data.hookName} · ${data.dSae.toLocaleString('en-US')} features · ${data.saeSource}`, 'details'));
	const stats = el('dl', undefined, 'stats');
	const add = (name: string, value: string, title?: string) => {
		const dt = el('dt', name);
		const dd = el('dd', value);
		if (title) dd.title = title;
		stats.append(dt, dd);
	};
	if (data.analysed) {
		add('Density', formatDensity(data.density), `Fired on ${formatDensity(data.density)} of ${data.analysedTokens.toLocaleString('en-US')} tokens`);
		add('Mean activation', formatActivation(data.meanActivation), 'Over the tokens where it fired');
		add('Max activation', formatActivation(data.maxActivation));
		add('Analysed', `${formatCount(data.analysedTokens)} tokens of ${data.corpus}`);
	} else {
		add('Statistics', 'no corpus analysis yet');
	}
	node.append(stats);
	return node;
}

export interface LabelEditor {
	node: HTMLElement;
	saved(label: string, notes: string): void;
	failed(message: string): void;
}

/** Label and notes, saved together; the automatic label is the placeholder. */
export function labelEditor(data: FeatureDashboardData, save: (label: string, notes: string) => void): LabelEditor {
	const node = section('label-editor', 'Label and notes', 'label-editor');
	let savedLabel = data.userLabel;
	let savedNotes = data.notes;
	const status = el('span', '', 'status');
	status.setAttribute('aria-live', 'polite');
	const changed = () => {
		const dirty = label.value !== savedLabel || notes.value !== savedNotes;
		saveButton.disabled = !dirty;
		status.textContent = dirty ? 'unsaved changes' : '';
	};
	const label = textField({
		label: 'Label',
		value: data.userLabel,
		placeholder: data.autoLabel ? `automatic: ${data.autoLabel}` : 'a short name for this feature',
		maxLength: DASHBOARD_LIMITS.label,
		onInput: changed,
	});
	label.id = 'label-input';
	const notes = textArea({ label: 'Notes', value: data.notes, rows: 3, maxLength: DASHBOARD_LIMITS.notes, onInput: changed });
	notes.id = 'notes-input';
	const doSave = () => {
		saveButton.disabled = true;
		status.textContent = 'saving…';
		save(label.value.trim(), notes.value);
	};
	const saveButton: ButtonElement = button('Save', doSave, { disabled: true, ariaLabel: 'Save label and notes' });
	node.addEventListener('keydown', (e) => {
		if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && !saveButton.disabled) doSave();
	});
	const row = el('div', undefined, 'controls');
	row.append(saveButton, status);
	node.append(label, notes, row);
	return {
		node,
		saved: (l, n) => {
			savedLabel = l;
			savedNotes = n;
			changed();
			status.textContent = 'saved';
		},
		failed: (message) => {
			saveButton.disabled = false;
			status.textContent = `not saved: ${message}`;
		},
	};
}

export function notAnalysed(analysing: boolean, analyse: () => void): HTMLElement {
	const node = section('analysis', 'No corpus analysis yet', 'notice');
	node.append(el('p', 'Density, the activation histogram and the example contexts come from one pass over a corpus. The logit lens and the nearest features need none.'));
	const row = el('div', undefined, 'controls');
	row.append(button(analysing ? 'Analysing…' : 'Analyse corpus…', analyse, { disabled: analysing, ariaLabel: 'Analyse a corpus for this SAE' }));
	if (analysing) row.append(progressRing('Analysing the corpus'));
	node.append(row);
	return node;
}

export function activationHistogram(data: FeatureDashboardData, marker?: { value: number; label: string }): HTMLElement {
	const node = section('activations', `ACTIVATIONS DENSITY ${formatDensity(data.density)}`);
	if (data.histogram.counts.length === 0 || data.dead) {
		node.append(el('p', data.dead ? `This feature never fired on the ${data.analysedTokens.toLocaleString('en-US')} analysed tokens.` : 'No histogram.', 'muted'));
		return node;
	}
	node.append(histogramChart(data.histogram, { width: 340, height: 120, unit: 'tokens', ariaLabel: `Histogram of the feature's nonzero activations, ${data.histogram.scale} bins`, marker }));
	return node;
}

function logitTable(title: string, rows: readonly LogitLensToken[], maxAbs: number, kind: 'positive' | 'negative'): HTMLElement {
	const table = el('table', undefined, `logits ${kind}`);
	table.append(el('caption', title));
	const body = el('tbody');
	for (const row of rows) {
		const tr = el('tr');
		const token = el('td', visibleToken(row.text), 'token-cell');
		token.title = `${quotedToken(row.text)} · token id ${row.id} · ${row.value.toFixed(3)}`;
		const value = el('td', `${row.value > 0 ? '+' : ''}${row.value.toFixed(2)}`, 'value');
		tr.style.setProperty('--strength', logitStrength(row.value, maxAbs).toFixed(3));
		tr.append(token, value);
		body.append(tr);
	}
	if (rows.length === 0) body.append(el('tr', 'none'));
	table.append(body);
	return table;
}

export function logitLens(data: FeatureDashboardData): HTMLElement {
	const node = section('logit-lens', 'LOGIT LENS');
	const { positive, negative, histogram } = data.logitLens;
	const maxAbs = Math.max(0, ...positive.map((t) => Math.abs(t.value)), ...negative.map((t) => Math.abs(t.value)));
	const tables = el('div', undefined, 'logit-tables');
	tables.append(logitTable('NEGATIVE LOGITS', negative, maxAbs, 'negative'), logitTable('POSITIVE LOGITS', positive, maxAbs, 'positive'));
	node.append(tables);
	if (histogram.counts.length > 0) {
		node.append(histogramChart(histogram, { width: 340, height: 100, unit: 'vocabulary tokens', signed: true, ariaLabel: 'Histogram of the logit-lens weights over the vocabulary' }));
	}
	return node;
}

export function neighbours(list: readonly FeatureNeighbour[], open: (featureIndex: number) => void): HTMLElement {
	const node = section('neighbours', 'NEAREST FEATURES (decoder cosine)');
	if (list.length === 0) {
		node.append(el('p', 'none', 'muted'));
		return node;
	}
	const table = el('table', undefined, 'neighbours');
	const body = el('tbody');
	for (const n of list) {
		const tr = el('tr');
		const link = el('button', `#${n.featureIndex}`, 'link');
		link.setAttribute('aria-label', `Open feature ${n.featureIndex}${n.label ? `, ${n.label}` : ''}, cosine ${n.cosine.toFixed(3)}`);
		link.addEventListener('click', () => open(n.featureIndex));
		const first = el('td');
		first.append(link);
		tr.append(first, el('td', n.cosine.toFixed(3), 'value'), el('td', n.label, 'neighbour-label'));
		body.append(tr);
	}
	table.append(body);
	node.append(table);
	return node;
}

export interface ExampleOptions {
	contextSize: ContextSize;
	showBreaks: boolean;
	scaleMax: number;
}

function exampleRow(example: ActivationExample, n: number, options: ExampleOptions): HTMLElement {
	const [start, end] = contextWindow(example.tokens.length, example.focusIndex, options.contextSize);
	const row = el('div', undefined, 'example');
	const meta = el('div', formatActivation(example.focusActivation), 'example-act');
	meta.title = `${example.source}, token ${example.position}`;
	row.append(
		meta,
		tokenSequence(example.tokens, example.activations, {
			scaleMax: options.scaleMax,
			showBreaks: options.showBreaks,
			focusIndex: example.focusIndex,
			start,
			end,
			ariaLabel: `Example ${n}: activation ${formatActivation(example.focusActivation)} at token ${example.position} of ${example.source}`,
		}),
	);
	return row;
}

export function exampleControls(options: ExampleOptions, setContext: (size: ContextSize) => void, setBreaks: (show: boolean) => void): HTMLElement {
	const row = el('div', undefined, 'controls example-controls');
	const sizes = [
		{ value: 'snippet', label: '5 tokens around' },
		{ value: 'wide', label: '16 tokens around' },
		{ value: 'full', label: 'Whole context' },
	];
	row.append(
		el('span', 'Context', 'muted'),
		dropdown(sizes, options.contextSize, 'Context shown around each example', (v) => setContext(v as ContextSize)),
		checkbox('Show line breaks', options.showBreaks, setBreaks),
	);
	return row;
}

export function examples(data: FeatureDashboardData, options: ExampleOptions): HTMLElement {
	const node = el('div', undefined, 'examples');
	const top = section('top-examples', `TOP ACTIVATIONS — MAX ACT = ${formatActivation(data.maxActivation)}`);
	if (data.topExamples.length === 0) top.append(el('p', 'No examples: the feature did not fire on the analysed corpus.', 'muted'));
	data.topExamples.forEach((e, i) => top.append(exampleRow(e, i + 1, options)));
	node.append(top);
	for (const [b, band] of data.quantiles.entries()) {
		const q = section(`quantile-${b}`, bandTitle(band), 'quantile');
		band.examples.forEach((e, i) => q.append(exampleRow(e, i + 1, options)));
		if (band.examples.length === 0) q.append(el('p', 'no examples in this interval', 'muted'));
		node.append(q);
	}
	return node;
}

/** The shading scale for a feature's examples. */
export function exampleScale(data: FeatureDashboardData): number {
	return shadingMax(
		data.maxActivation,
		[...data.topExamples, ...data.quantiles.flatMap((q) => q.examples)].map((e) => e.focusActivation),
	);
}

export interface TestTextPanel {
	node: HTMLElement;
	showResult(result: FeatureTextActivations, scaleMax: number, showBreaks: boolean): void;
	showError(message: string): void;
	text(): string;
}

export function testText(initial: string, onEdit: (text: string) => void, run: (text: string) => void): TestTextPanel {
	const node = section('test-text', 'Test your own text');
	const input: ValueElement = textArea({ label: 'Text', value: initial, rows: 3, placeholder: 'Type or paste text; Ctrl+Enter runs it', maxLength: DASHBOARD_LIMITS.text, onInput: onEdit });
	input.id = 'test-input';
	const output = el('div', undefined, 'test-output');
	output.setAttribute('aria-live', 'polite');
	const start = () => {
		const text = input.value;
		if (text.trim().length === 0) {
			output.replaceChildren(el('p', 'Type some text first.', 'muted'));
			return;
		}
		runButton.disabled = true;
		output.replaceChildren(progressRing('Running the text through the model'));
		run(text);
	};
	const runButton = button('Run', start, { ariaLabel: 'Run this text through the model and show the feature on each token' });
	input.addEventListener('keydown', (e) => {
		if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
			e.preventDefault();
			start();
		}
	});
	const row = el('div', undefined, 'controls');
	row.append(runButton);
	node.append(input, row, output);
	return {
		node,
		text: () => input.value,
		showResult: (result, scaleMax, showBreaks) => {
			runButton.disabled = false;
			const acts = result.tokens.map((t) => t.activation);
			const max = Math.max(0, ...acts);
			const summary = el(
				'p',
				max > 0 ? `max activation ${formatActivation(max)} on ${acts.filter((a) => a > 0).length} of ${acts.length} tokens` : `does not fire on any of the ${acts.length} tokens`,
				'muted',
			);
			output.replaceChildren(
				summary,
				tokenSequence(
					result.tokens.map((t) => t.text),
					acts,
					{
						scaleMax: shadingMax(scaleMax, acts),
						showBreaks,
						focusIndex: max > 0 ? acts.indexOf(max) : undefined,
						ariaLabel: `Your text: max activation ${formatActivation(max)}`,
					},
				),
			);
		},
		showError: (message) => {
			runButton.disabled = false;
			output.replaceChildren(el('p', message, 'error'));
		},
	};
}
