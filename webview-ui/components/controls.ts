// Our controls for every webview: the only module that imports @vscode/webview-ui-toolkit. The
// toolkit was sunset upstream in 2025; swapping to @vscode-elements/elements means changing the
// registrations and tag names here and nothing else, because callers only see the small
// interfaces below (plain HTMLElements with the properties we use), never the toolkit's classes.
//
// Labels are set with textContent (the toolkit renders slotted text as the label), so no caller
// ever builds markup from a string.

import {
	provideVSCodeDesignSystem,
	vsCodeBadge,
	vsCodeButton,
	vsCodeCheckbox,
	vsCodeDivider,
	vsCodeDropdown,
	vsCodeOption,
	vsCodePanels,
	vsCodePanelTab,
	vsCodePanelView,
	vsCodeProgressRing,
	vsCodeTextArea,
	vsCodeTextField,
} from '@vscode/webview-ui-toolkit';

let registered = false;

/** Defines the custom elements once per webview; every helper calls it, so callers need not. */
export function registerControls(): void {
	if (registered) return;
	registered = true;
	provideVSCodeDesignSystem().register(
		vsCodeBadge(),
		vsCodeButton(),
		vsCodeCheckbox(),
		vsCodeDivider(),
		vsCodeDropdown(),
		vsCodeOption(),
		vsCodePanels(),
		vsCodePanelTab(),
		vsCodePanelView(),
		vsCodeProgressRing(),
		vsCodeTextArea(),
		vsCodeTextField(),
	);
}

export interface ButtonElement extends HTMLElement {
	disabled: boolean;
}

export interface ValueElement extends HTMLElement {
	value: string;
	disabled: boolean;
}

export interface CheckboxElement extends HTMLElement {
	checked: boolean;
}

function create<T extends HTMLElement>(tag: string, ariaLabel?: string): T {
	registerControls();
	const node = document.createElement(tag) as T;
	if (ariaLabel) node.setAttribute('aria-label', ariaLabel);
	return node;
}

export interface ButtonOptions {
	appearance?: 'primary' | 'secondary';
	ariaLabel?: string;
	disabled?: boolean;
	title?: string;
}

/** A push button; `onClick` also runs on Enter and Space (the toolkit button is focusable and keyboard-activated). */
export function button(label: string, onClick: () => void, options: ButtonOptions = {}): ButtonElement {
	const node = create<ButtonElement>('vscode-button', options.ariaLabel);
	node.textContent = label;
	node.setAttribute('appearance', options.appearance ?? 'primary');
	if (options.title) node.title = options.title;
	node.disabled = options.disabled ?? false;
	node.addEventListener('click', () => {
		if (!node.disabled) onClick();
	});
	return node;
}

export interface TextOptions {
	label: string;
	value?: string;
	placeholder?: string;
	maxLength?: number;
	/** Called on every edit with the current value. */
	onInput?: (value: string) => void;
}

/** A one-line text field with a visible label. */
export function textField(options: TextOptions): ValueElement {
	const node = create<ValueElement>('vscode-text-field');
	node.textContent = options.label;
	return withText(node, options);
}

/** A multi-line text area with a visible label. */
export function textArea(options: TextOptions & { rows?: number }): ValueElement {
	const node = create<ValueElement>('vscode-text-area');
	node.textContent = options.label;
	node.setAttribute('resize', 'vertical');
	node.setAttribute('rows', String(options.rows ?? 3));
	return withText(node, options);
}

function withText(node: ValueElement, options: TextOptions): ValueElement {
	if (options.placeholder) node.setAttribute('placeholder', options.placeholder);
	if (options.maxLength) node.setAttribute('maxlength', String(options.maxLength));
	node.value = options.value ?? '';
	const onInput = options.onInput;
	if (onInput) node.addEventListener('input', () => onInput(node.value));
	return node;
}

/** A drop-down of fixed choices; `onChange` gets the chosen value. */
export function dropdown(choices: readonly { value: string; label: string }[], value: string, ariaLabel: string, onChange: (value: string) => void): ValueElement {
	const node = create<ValueElement>('vscode-dropdown', ariaLabel);
	for (const choice of choices) {
		const option = create<ValueElement>('vscode-option');
		option.textContent = choice.label;
		option.setAttribute('value', choice.value);
		if (choice.value === value) option.setAttribute('selected', '');
		node.append(option);
	}
	node.addEventListener('change', () => onChange(node.value));
	return node;
}

export function checkbox(label: string, checked: boolean, onChange: (checked: boolean) => void): CheckboxElement {
	const node = create<CheckboxElement>('vscode-checkbox');
	node.textContent = label;
	node.checked = checked;
	node.addEventListener('change', () => onChange(node.checked));
	return node;
}

/** Tabs over panels; `onSelect` gets the index of the tab the user opened. */
export function tabs(items: readonly { title: string; content: HTMLElement }[], ariaLabel: string, active = 0, onSelect?: (index: number) => void): HTMLElement {
	const node = create<HTMLElement>('vscode-panels', ariaLabel);
	const ids = items.map((_, i) => `tab-${Math.random().toString(36).slice(2)}-${i}`);
	items.forEach((item, i) => {
		const tab = create<HTMLElement>('vscode-panel-tab');
		tab.id = ids[i]!;
		tab.textContent = item.title;
		node.append(tab);
	});
	for (const item of items) {
		const view = create<HTMLElement>('vscode-panel-view');
		view.append(item.content);
		node.append(view);
	}
	node.setAttribute('activeid', ids[active] ?? ids[0]!);
	if (onSelect)
		node.addEventListener('change', () => {
			const i = ids.indexOf(node.getAttribute('activeid') ?? '');
			if (i >= 0) onSelect(i);
		});
	return node;
}

/** An indeterminate spinner, announced to screen readers with `label`. */
export function progressRing(label: string): HTMLElement {
	const node = create<HTMLElement>('vscode-progress-ring', label);
	node.setAttribute('role', 'progressbar');
	return node;
}

export function divider(): HTMLElement {
	const node = create<HTMLElement>('vscode-divider');
	node.setAttribute('role', 'separator');
	return node;
}

/** A small pill with a short text (e.g. "dead", "dense"). */
export function badge(text: string, title?: string): HTMLElement {
	const node = create<HTMLElement>('vscode-badge');
	node.textContent = text;
	if (title) node.title = title;
	return node;
}

export interface SliderOptions {
	min: number;
	max: number;
	step: number;
	value: number;
	ariaLabel: string;
	/** Called while the thumb moves (and on arrow keys) with the new value. */
	onInput: (value: number) => void;
}

/**
 * A slider. The toolkit has none, so this is the native range input, coloured by the theme
 * (accent: the button colour) and keyboard-operable as browsers make it (arrows, Page Up/Down,
 * Home/End). Values outside [min, max] are shown at the nearest end.
 */
export function slider(options: SliderOptions): HTMLInputElement {
	const node = document.createElement('input');
	node.type = 'range';
	node.min = String(options.min);
	node.max = String(options.max);
	node.step = String(options.step);
	node.value = String(Math.min(options.max, Math.max(options.min, options.value)));
	node.setAttribute('aria-label', options.ariaLabel);
	node.className = 'fl-slider';
	// CSSOM, not a style attribute: the CSP allows the former only.
	node.style.accentColor = 'var(--vscode-button-background)';
	node.style.minWidth = '0';
	node.addEventListener('input', () => options.onInput(Number(node.value)));
	return node;
}

export interface NumberFieldOptions {
	value: number;
	ariaLabel: string;
	/** Arrow keys change the value by this much. */
	step: number;
	/** Width in characters. */
	size?: number;
	/** Called with every edit that is a finite number; other text marks the field invalid until fixed. */
	onChange: (value: number) => void;
	/** Parses the typed text (default: a finite decimal number). */
	parse?: (text: string) => number | undefined;
}

/** A compact numeric box without a visible label (the toolkit's text field, which has no number type). */
export function numberField(options: NumberFieldOptions): ValueElement {
	const node = create<ValueElement>('vscode-text-field', options.ariaLabel);
	node.setAttribute('inputmode', 'decimal');
	node.setAttribute('size', String(options.size ?? 6));
	node.value = String(options.value);
	const parse =
		options.parse ??
		((text: string) => {
			const v = text.trim() === '' ? Number.NaN : Number(text);
			return Number.isFinite(v) ? v : undefined;
		});
	const changed = () => {
		const v = parse(node.value);
		node.toggleAttribute('aria-invalid', v === undefined);
		node.classList.toggle('invalid', v === undefined);
		if (v !== undefined) options.onChange(v);
	};
	node.addEventListener('input', changed);
	node.addEventListener('keydown', (event) => {
		if (event.key !== 'ArrowUp' && event.key !== 'ArrowDown') return;
		const v = parse(node.value);
		if (v === undefined) return;
		event.preventDefault();
		const next = Number((v + (event.key === 'ArrowUp' ? options.step : -options.step)).toPrecision(12));
		node.value = String(next);
		changed();
	});
	return node;
}
