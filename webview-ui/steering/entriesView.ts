// The list of features being steered: each shows its number (a link to its dashboard) and
// label, an on/off box, a mode selector, a strength slider with a numeric box kept in step,
// and Remove. Labels are untrusted text (textContent only).

import { button, checkbox, dropdown, numberField, slider } from '../components/controls';
import { el } from '../components/dom';
import type { SteeringEntry } from '../../src/protocol/steeringViewMessages';
import { STEER_MODES } from '../../src/protocol/steerModes';
import type { SteerMode } from '../../src/protocol/steerModes';
import { parseStrength } from '../../src/protocol/steeringSetup';

/** The slider's reach; the box takes any strength (the slider then rests at its end). */
export const SLIDER_RANGE = 100;

const MODE_CHOICES: { value: SteerMode; label: string }[] = STEER_MODES.map((mode) => ({ value: mode, label: mode }));

const MODE_HELP: Record<SteerMode, string> = {
	add: "add: adds strength × the feature's decoder direction at every steered position",
	clamp: 'clamp: the SAE reads exactly this activation for the feature (its error term is kept)',
	cap: "cap: the projection on the feature's direction is capped at this value",
};

export interface EntryCallbacks {
	/** A field changed (strength, mode, on/off): the entry object was updated in place. */
	changed(entry: SteeringEntry): void;
	remove(entry: SteeringEntry): void;
	openDashboard(featureIndex: number): void;
}

export function entriesView(entries: readonly SteeringEntry[], callbacks: EntryCallbacks): HTMLElement {
	const list = el('ul', undefined, 'entries');
	list.setAttribute('aria-label', 'Features being steered');
	if (entries.length === 0) {
		const empty = el('li', 'No features yet: find one above by label or number.', 'empty');
		list.append(empty);
		return list;
	}
	for (const entry of entries) list.append(entryRow(entry, callbacks));
	return list;
}

function entryRow(entry: SteeringEntry, callbacks: EntryCallbacks): HTMLElement {
	const row = el('li', undefined, 'entry');
	row.dataset['feature'] = String(entry.featureIndex);
	const head = el('div', undefined, 'entry-head');
	const on = checkbox('', entry.enabled, (checked) => {
		entry.enabled = checked;
		row.classList.toggle('off', !checked);
		callbacks.changed(entry);
	});
	on.setAttribute('aria-label', `Steer with feature ${entry.featureIndex}`);
	on.title = 'Steer with this feature (untick to keep it listed but off)';
	const name = el('button', `#${entry.featureIndex}`, 'link feature-link');
	name.title = `Open the dashboard of feature ${entry.featureIndex}`;
	name.addEventListener('click', () => callbacks.openDashboard(entry.featureIndex));
	const label = el('span', entry.label || 'no label', entry.label ? 'label' : 'label empty');
	label.title = entry.label;
	const remove = button('✕', () => callbacks.remove(entry), { appearance: 'secondary', ariaLabel: `Remove feature ${entry.featureIndex}`, title: 'Remove' });
	remove.classList.add('remove');
	head.append(on, name, label, remove);

	const controls = el('div', undefined, 'entry-controls');
	const mode = dropdown(MODE_CHOICES, entry.mode, `Mode for feature ${entry.featureIndex}`, (value) => {
		entry.mode = value as SteerMode;
		mode.title = MODE_HELP[entry.mode];
		callbacks.changed(entry);
	});
	mode.title = MODE_HELP[entry.mode];
	mode.classList.add('mode');
	let box: ReturnType<typeof numberField> | undefined;
	const range = slider({
		min: -SLIDER_RANGE,
		max: SLIDER_RANGE,
		step: 1,
		value: entry.strength,
		ariaLabel: `Strength of feature ${entry.featureIndex}`,
		onInput: (value) => {
			entry.strength = value;
			if (box) box.value = String(value);
			callbacks.changed(entry);
		},
	});
	box = numberField({
		value: entry.strength,
		ariaLabel: `Strength of feature ${entry.featureIndex} (number)`,
		step: 1,
		size: 5,
		parse: parseStrength,
		onChange: (value) => {
			entry.strength = value;
			range.value = String(Math.min(SLIDER_RANGE, Math.max(-SLIDER_RANGE, value)));
			callbacks.changed(entry);
		},
	});
	box.classList.add('strength-box');
	controls.append(mode, range, box);
	row.append(head, controls);
	if (!entry.enabled) row.classList.add('off');
	return row;
}

/** Updates a rendered row's label once the host has learnt it. */
export function showLabel(list: HTMLElement, featureIndex: number, label: string): void {
	const node = list.querySelector(`li.entry[data-feature="${featureIndex}"] .label`);
	if (!node) return;
	node.textContent = label;
	node.classList.remove('empty');
	(node as HTMLElement).title = label;
}
