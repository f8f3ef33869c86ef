// The steering sidebar webview: a feature picker (by label or number), the features being
// steered with their modes and strengths, presets, the prompt and sampling settings, Generate /
// Cancel, baseline and steered completions side by side, and a sweep over one feature's
// strength. Everything typed survives hiding and reloads through getState/setState; the host
// re-sends the run and the SAE on `ready`. Untrusted text (tokens, labels) is set with
// textContent only.

import { button, checkbox, dropdown, numberField, textArea, textField } from '../components/controls';
import type { ButtonElement, CheckboxElement } from '../components/controls';
import { el } from '../components/dom';
import { DEFAULT_STRENGTH, SIDEBAR_SAMPLING } from '../../src/protocol/steeringViewMessages';
import type { ContrastSetup, FromSteeringView, PickerHit, RunView, SteeringEntry, SteeringSaeInfo, SteeringViewState, ToSteeringView } from '../../src/protocol/steeringViewMessages';
import type { SamplingSettings } from '../../src/protocol/steerProtocol';
import { parseSampling, parseSetup, parseStrength, parseStrengths, samplingProblems, setupProblems, typedFeatureNumber } from '../../src/protocol/steeringSetup';
import { entriesView, showLabel } from './entriesView';
import { renderRun } from './resultsView';
import './steering.css';

interface VsCodeApi {
	postMessage(message: FromSteeringView): void;
	getState(): Partial<SteeringViewState> | undefined;
	setState(state: SteeringViewState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const root = document.getElementById('root')!;

const saved = vscode.getState() ?? {};
const state: SteeringViewState = {
	setup: parseSetup(saved.setup) ?? { entries: [], positions: 'all' },
	sampling: parseSampling(saved.sampling) ?? { ...SIDEBAR_SAMPLING },
	prompt: typeof saved.prompt === 'string' ? saved.prompt : '',
	sweepStrengths: typeof saved.sweepStrengths === 'string' ? saved.sweepStrengths : '0, 10, 20, 40',
	sweepFeature: typeof saved.sweepFeature === 'number' ? saved.sweepFeature : -1,
	...(saved.run ? { run: saved.run } : {}),
};
let sae: SteeringSaeInfo | undefined;
let inlineEnabled = false;
let running = false;
let presetNames: string[] = [];
let lastQuery = '';

function post(message: FromSteeringView): void {
	vscode.postMessage(message);
}

function saveState(): void {
	vscode.setState(state);
}

let setupTimer: ReturnType<typeof setTimeout> | undefined;
/** Saves the state now and tells the host a moment later (a slider fires many inputs). */
function setupChanged(): void {
	saveState();
	updateProblems();
	clearTimeout(setupTimer);
	setupTimer = setTimeout(() => post({ type: 'setupChanged', setup: state.setup, sampling: state.sampling }), 150);
}

// ---- skeleton, built once; the parts below are re-rendered as things change ----

const saeLine = el('p', 'No SAE loaded yet: it loads on first use.', 'sae-line');

const search = textField({ label: 'Add a feature', placeholder: 'label or number, e.g. 1132', maxLength: 200, onInput: (v) => queueSearch(v) });
search.id = 'feature-search';
const hitsBox = el('div', undefined, 'hits');
hitsBox.setAttribute('role', 'list');
hitsBox.setAttribute('aria-label', 'Matching features');
search.addEventListener('keydown', (event) => {
	if (event.key !== 'Enter') return;
	// Enter adds a typed number at once (no search needed), else the first hit.
	const number = typedFeatureNumber(search.value);
	const first = hitsBox.querySelector<HTMLElement>('.hit');
	if (number !== undefined) addEntry(number, '');
	else first?.click();
});

const entriesHost = el('div');
const positions = dropdown(
	[
		{ value: 'all', label: 'prompt and generated tokens' },
		{ value: 'generated', label: 'generated tokens only' },
	],
	state.setup.positions,
	'Steered positions',
	(value) => {
		state.setup.positions = value === 'generated' ? 'generated' : 'all';
		setupChanged();
	},
);
positions.id = 'positions';

const presetsHost = el('div', undefined, 'presets');
const problemsBox = el('p', '', 'problems error');
problemsBox.setAttribute('aria-live', 'polite');

const prompt = textArea({
	label: 'Text for the model to continue',
	rows: 4,
	value: state.prompt,
	placeholder: '"Feature Lens: Steer Selection" fills it from the editor',
	onInput: (v) => {
		state.prompt = v;
		saveState();
		updateProblems();
	},
});
prompt.id = 'prompt';

function samplingField(key: keyof SamplingSettings, label: string, step: number, integer: boolean): HTMLElement {
	const wrap = el('label', undefined, 'setting');
	wrap.append(el('span', label));
	const box = numberField({
		value: state.sampling[key],
		ariaLabel: label,
		step,
		size: 6,
		parse: (t) => {
			const v = t.trim() === '' ? Number.NaN : Number(t);
			return Number.isFinite(v) && (!integer || Number.isInteger(v)) ? v : undefined;
		},
		onChange: (v) => {
			state.sampling[key] = v;
			setupChanged();
		},
	});
	box.id = `sampling-${key}`;
	wrap.append(box);
	return wrap;
}
const samplingBox = el('details', undefined, 'sampling');
const samplingSummary = el('summary');
samplingBox.append(samplingSummary);
function renderSamplingSummary(): void {
	const s = state.sampling;
	samplingSummary.textContent = `Sampling: ${s.maxNewTokens} tokens · temperature ${s.temperature} · top-p ${s.topP} · seed ${s.seed}`;
}
function renderSamplingFields(): void {
	samplingBox.querySelector('.settings')?.remove();
	const grid = el('div', undefined, 'settings');
	grid.append(
		samplingField('maxNewTokens', 'Max tokens', 8, true),
		samplingField('temperature', 'Temperature', 0.1, false),
		samplingField('topP', 'Top-p', 0.05, false),
		samplingField('seed', 'Seed', 1, true),
		button(
			'Reset to defaults',
			() => {
				state.sampling = { ...SIDEBAR_SAMPLING };
				renderSamplingFields();
				setupChanged();
			},
			{ appearance: 'secondary' },
		),
	);
	samplingBox.append(grid);
	renderSamplingSummary();
}

const generateButton: ButtonElement = button('Generate', () => generate(), { ariaLabel: 'Generate baseline and steered completions' });
generateButton.id = 'generate';
const cancelButton: ButtonElement = button('Cancel', () => post({ type: 'cancel' }), { appearance: 'secondary', disabled: true });
cancelButton.id = 'cancel';
const notice = el('p', '', 'notice');
notice.setAttribute('role', 'status');

const sweepBox = el('details', undefined, 'sweep-box');
const sweepBody = el('div', undefined, 'sweep-body');
sweepBox.append(el('summary', "Sweep one feature's strength"), sweepBody);

// Setting `checked` from a host message fires `change` too: only a change away from the host's state is the user's.
const inlineBox: CheckboxElement = checkbox('Steered inline completions in the editor', false, (checked) => {
	if (checked !== inlineEnabled) post({ type: 'toggleInline' });
});
inlineBox.id = 'inline-toggle';
inlineBox.title = 'Ghost-text completions at the cursor from the local model with this steering ("Feature Lens: Toggle Steered Inline Completions")';

const resultsHost = el('div', undefined, 'results-host');
resultsHost.setAttribute('aria-live', 'off');

function section(title: string, ...children: HTMLElement[]): HTMLElement {
	const s = el('section', undefined, 'block');
	s.append(el('h2', title), ...children);
	return s;
}

const actions = el('div', undefined, 'actions');
actions.append(generateButton, cancelButton);
const positionsRow = el('label', undefined, 'setting wide');
positionsRow.append(el('span', 'Steer'), positions);
// ---- contrast vector ----

const CONTRAST_DEFAULT: ContrastSetup = { positive: '', negative: '', strength: 4, enabled: false };
const contrastBox = el('details', undefined, 'contrast-box');
contrastBox.id = 'contrast';
contrastBox.append(el('summary', 'Contrast vector: towards one text, away from another'));
if (state.setup.contrast?.enabled) contrastBox.open = true;

function contrastState(): ContrastSetup {
	state.setup.contrast ??= { ...CONTRAST_DEFAULT };
	return state.setup.contrast;
}

function renderContrast(): void {
	contrastBox.querySelector('.contrast-body')?.remove();
	const c = state.setup.contrast ?? CONTRAST_DEFAULT;
	const body = el('div', undefined, 'contrast-body');
	const towards = textArea({
		label: 'Towards',
		rows: 2,
		value: c.positive,
		placeholder: 'e.g. # explain what the code does',
		onInput: (v) => {
			contrastState().positive = v;
			setupChanged();
		},
	});
	towards.id = 'contrast-positive';
	const away = textArea({
		label: 'Away from',
		rows: 2,
		value: c.negative,
		placeholder: 'e.g. x = f(y)',
		onInput: (v) => {
			contrastState().negative = v;
			setupChanged();
		},
	});
	away.id = 'contrast-negative';
	const strengthRow = el('label', undefined, 'setting');
	const strength = numberField({
		value: c.strength,
		ariaLabel: 'Contrast vector strength',
		step: 1,
		size: 6,
		parse: parseStrength,
		onChange: (v) => {
			contrastState().strength = v;
			setupChanged();
		},
	});
	strength.id = 'contrast-strength';
	strengthRow.append(el('span', 'Strength'), strength);
	const enabled = checkbox('Add it to the steering', c.enabled, (checked) => {
		contrastState().enabled = checked;
		setupChanged();
	});
	enabled.id = 'contrast-enabled';
	body.append(
		el('p', "Adds strength × (mean activation on the first text − mean on the second) at the SAE's hook: contrastive activation addition, with the features above.", 'hint'),
		towards,
		away,
		strengthRow,
		enabled,
	);
	contrastBox.append(body);
}

root.replaceChildren(
	saeLine,
	section('Steer with', search, hitsBox, entriesHost, positionsRow, contrastBox, presetsHost),
	section('Prompt', prompt, samplingBox, problemsBox, actions, notice, inlineBox),
	resultsHost,
	sweepBox,
);
renderSamplingFields();

// ---- features ----

function renderEntries(): void {
	entriesHost.replaceChildren(
		entriesView(state.setup.entries, {
			changed: () => setupChanged(),
			remove: (entry) => {
				state.setup.entries = state.setup.entries.filter((e) => e !== entry);
				renderEntries();
				setupChanged();
			},
			openDashboard: (featureIndex) => post({ type: 'openDashboard', featureIndex }),
		}),
	);
	renderSweepControls();
	renderPresets();
}

function addEntry(featureIndex: number, label: string): void {
	if (sae && featureIndex >= sae.dSae) {
		showNotice(`This SAE has ${sae.dSae} features: 0 to ${sae.dSae - 1}.`, true);
		return;
	}
	const existing = state.setup.entries.find((e) => e.featureIndex === featureIndex);
	if (!existing) {
		const entry: SteeringEntry = { featureIndex, label, mode: 'add', strength: DEFAULT_STRENGTH, enabled: true };
		state.setup.entries.push(entry);
		if (!label) post({ type: 'lookupLabel', featureIndex });
		renderEntries();
		setupChanged();
	} else if (label && !existing.label) {
		existing.label = label;
		renderEntries();
		saveState();
	}
	// Drop the pending search and any answer still on its way.
	clearTimeout(searchTimer);
	lastQuery = '';
	search.value = '';
	hitsBox.replaceChildren();
	const box = entriesHost.querySelector<HTMLElement>(`li.entry[data-feature="${featureIndex}"] .strength-box`);
	box?.focus();
}

let searchTimer: ReturnType<typeof setTimeout> | undefined;
function queueSearch(query: string): void {
	clearTimeout(searchTimer);
	lastQuery = query;
	if (!query.trim()) {
		hitsBox.replaceChildren();
		return;
	}
	// A typed number is offered at once; the host's answer adds its label and any label matches.
	const number = typedFeatureNumber(query);
	if (number !== undefined) renderHits([{ featureIndex: number, label: '', detail: 'press Enter to add' }]);
	searchTimer = setTimeout(() => post({ type: 'search', query }), 200);
}

function renderHits(hits: readonly PickerHit[], note?: string): void {
	hitsBox.replaceChildren();
	for (const hit of hits) {
		const item = el('button', undefined, 'hit');
		item.type = 'button';
		item.setAttribute('role', 'listitem');
		item.append(el('span', `#${hit.featureIndex}`, 'hit-number'), el('span', hit.label || 'no label', hit.label ? 'hit-label' : 'hit-label empty'));
		if (hit.detail) item.append(el('span', hit.detail, 'hit-detail'));
		item.setAttribute('aria-label', `Add feature ${hit.featureIndex}${hit.label ? `, ${hit.label}` : ''}`);
		item.addEventListener('click', () => addEntry(hit.featureIndex, hit.label));
		hitsBox.append(item);
	}
	if (note) hitsBox.append(el('p', note, 'hint'));
}

function renderPresets(): void {
	presetsHost.replaceChildren();
	let chosen = presetNames[0] ?? '';
	const row = el('div', undefined, 'preset-row');
	if (presetNames.length) {
		const pick = dropdown(
			presetNames.map((n) => ({ value: n, label: n })),
			chosen,
			'Saved presets',
			(v) => {
				chosen = v;
			},
		);
		row.append(
			pick,
			button(
				'Load',
				() => {
					if (chosen) post({ type: 'loadPreset', name: chosen });
				},
				{ appearance: 'secondary', ariaLabel: 'Load the chosen preset' },
			),
			button(
				'Delete',
				() => {
					if (chosen) post({ type: 'deletePreset', name: chosen });
				},
				{ appearance: 'secondary', ariaLabel: 'Delete the chosen preset' },
			),
		);
	}
	row.append(
		button('Save preset…', () => post({ type: 'savePreset', setup: state.setup }), {
			appearance: 'secondary',
			ariaLabel: 'Save these features as a preset',
			disabled: state.setup.entries.length === 0,
		}),
	);
	presetsHost.append(row);
}

// ---- generation ----

function currentProblems(): string[] {
	return [...setupProblems(state.setup, sae?.dSae), ...samplingProblems(state.sampling, sae?.nCtx)];
}

function updateProblems(): void {
	const problems = currentProblems();
	problemsBox.textContent = problems.join('; ');
	generateButton.disabled = running || problems.length > 0 || state.prompt.length === 0;
	renderSamplingSummary();
}

function generate(): void {
	if (currentProblems().length || !state.prompt) return;
	post({ type: 'generate', prompt: state.prompt, setup: state.setup, sampling: state.sampling });
}

function setRunning(value: boolean): void {
	running = value;
	cancelButton.disabled = !value;
	renderSweepControls();
	updateProblems();
}

let renderQueued = false;
/** Renders the run at most once per frame while tokens stream in. */
function renderResults(): void {
	if (renderQueued) return;
	renderQueued = true;
	requestAnimationFrame(() => {
		renderQueued = false;
		resultsHost.replaceChildren();
		if (!state.run) return;
		resultsHost.append(
			renderRun(state.run, {
				insert: (text) => post({ type: 'insert', text }),
				copy: (text) => post({ type: 'copy', text }),
				trace: (runId, which) => post({ type: 'traceToken', runId, which }),
			}),
		);
	});
}

function renderSweepControls(): void {
	sweepBody.replaceChildren();
	const entries = state.setup.entries;
	if (entries.length === 0) {
		sweepBody.append(el('p', 'Add a feature first; the sweep varies one of them and keeps the others as they are.', 'hint'));
		return;
	}
	if (!entries.some((e) => e.featureIndex === state.sweepFeature)) state.sweepFeature = entries[0]!.featureIndex;
	const feature = dropdown(
		entries.map((e) => ({ value: String(e.featureIndex), label: `#${e.featureIndex} ${e.mode}${e.label ? ` · ${e.label.slice(0, 30)}` : ''}` })),
		String(state.sweepFeature),
		'Feature to sweep',
		(v) => {
			state.sweepFeature = Number(v);
			saveState();
		},
	);
	const strengthsError = el('span', '', 'error');
	const strengths = textField({
		label: 'Strengths',
		value: state.sweepStrengths,
		placeholder: '-40, 0, 20, 40',
		onInput: (v) => {
			state.sweepStrengths = v;
			saveState();
			const parsed = parseStrengths(v);
			strengthsError.textContent = 'error' in parsed ? parsed.error : '';
		},
	});
	strengths.id = 'sweep-strengths';
	const run = button(
		'Run sweep',
		() => {
			const parsed = parseStrengths(state.sweepStrengths);
			if ('error' in parsed) {
				strengthsError.textContent = parsed.error;
				return;
			}
			if (currentProblems().length || !state.prompt) {
				showNotice(state.prompt ? currentProblems().join('; ') : 'Type a prompt first.', true);
				return;
			}
			post({ type: 'sweep', prompt: state.prompt, setup: state.setup, sampling: state.sampling, featureIndex: state.sweepFeature, strengths: parsed.strengths });
		},
		{ appearance: 'secondary', disabled: running },
	);
	run.id = 'run-sweep';
	const row = el('div', undefined, 'sweep-row');
	row.append(feature, strengths);
	sweepBody.append(row, strengthsError, run);
}

function showNotice(message: string, error = false): void {
	notice.textContent = message;
	notice.classList.toggle('error', error);
}

function findColumn(run: RunView, which: 'baseline' | 'steered', sweepIndex: number | undefined) {
	if (run.kind === 'compare') return sweepIndex === undefined ? run[which] : undefined;
	return sweepIndex === undefined ? undefined : run.entries[sweepIndex];
}

window.addEventListener('message', (event: MessageEvent<ToSteeringView>) => {
	const message = event.data;
	if (typeof message !== 'object' || message === null) return;
	switch (message.type) {
		case 'context':
			sae = message.sae;
			inlineEnabled = message.inlineEnabled;
			inlineBox.checked = inlineEnabled;
			saeLine.textContent = sae ? `${sae.modelName} · SAE at ${sae.hookName} · ${sae.dSae.toLocaleString('en-US')} features` : 'No SAE loaded yet: it loads on first use.';
			saeLine.title = sae?.source ?? '';
			updateProblems();
			break;
		case 'setup': {
			const setup = parseSetup(message.setup);
			// The webview's own saved setup wins over the host's copy unless it is empty (first open) or a preset loads.
			if (setup && (state.setup.entries.length === 0 || !message.sampling)) {
				state.setup = setup;
				positions.value = setup.positions;
			}
			const sampling = parseSampling(message.sampling);
			if (sampling && !saved.sampling) {
				state.sampling = sampling;
				renderSamplingFields();
			}
			renderEntries();
			renderContrast();
			setupChanged();
			break;
		}
		case 'prompt':
			state.prompt = message.prompt;
			prompt.value = message.prompt;
			saveState();
			updateProblems();
			prompt.focus();
			break;
		case 'addFeature':
			addEntry(message.featureIndex, message.label);
			break;
		case 'searchResults':
			if (message.query === lastQuery) renderHits(message.hits, message.note);
			break;
		case 'featureLabel': {
			const entry = state.setup.entries.find((e) => e.featureIndex === message.featureIndex);
			if (entry && !entry.label) {
				entry.label = message.label;
				showLabel(entriesHost, message.featureIndex, message.label);
				saveState();
			}
			break;
		}
		case 'presets':
			presetNames = message.names;
			renderPresets();
			break;
		case 'runStarted':
			state.run = message.run;
			setRunning(true);
			showNotice('');
			renderResults();
			break;
		case 'tokens': {
			const run = state.run;
			if (!run || run.runId !== message.runId) break;
			findColumn(run, message.which, message.sweepIndex)?.push(...message.tokens);
			renderResults();
			break;
		}
		case 'runEnded':
			if (state.run && running && state.run.runId !== message.run.runId) break;
			state.run = message.run;
			setRunning(false);
			saveState();
			renderResults();
			if (message.run.error) showNotice(message.run.error, true);
			break;
		case 'notice':
			showNotice(message.message, message.error === true);
			break;
	}
});

renderEntries();
renderContrast();
if (state.run) renderResults();
updateProblems();
post({ type: 'ready' });
