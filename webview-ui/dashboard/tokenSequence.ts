// One example drawn as a row of tokens, each shaded by the feature's activation on it, the focus
// token outlined and bold, the activation in each token's tooltip. Keyboard: the row is one tab
// stop; arrow keys, Home and End move between tokens; Enter or Space reads the token's
// activation out in the row's live region (the same text the mouse tooltip shows).
// Token text is untrusted model output: it only ever goes in through textContent.

import { el } from '../components/dom';
import { activationStrength, formatActivation } from './shading';
import { quotedToken, tokenLines } from './tokenText';

export interface SequenceOptions {
	/** Top of the shading scale. */
	scaleMax: number;
	showBreaks: boolean;
	/** Index (into `tokens`) of the token the example was chosen for. */
	focusIndex?: number;
	/** Shown tokens are tokens[start, end); the rest is elided with "…". */
	start?: number;
	end?: number;
	/** Describes the row for screen readers, e.g. "Example 3, max activation 4.2". */
	ariaLabel: string;
}

export function tokenSequence(tokens: readonly string[], activations: readonly number[], options: SequenceOptions): HTMLElement {
	const start = options.start ?? 0;
	const end = options.end ?? tokens.length;
	const row = el('div', undefined, 'sequence');
	const text = el('div', undefined, 'tokens');
	text.setAttribute('role', 'group');
	text.setAttribute('aria-label', options.ariaLabel);
	const detail = el('div', undefined, 'token-detail');
	detail.setAttribute('aria-live', 'polite');
	if (start > 0) text.append(el('span', '…', 'elided'));
	const spans: HTMLElement[] = [];
	for (let i = start; i < end; i++) {
		const token = tokens[i] ?? '';
		const activation = activations[i] ?? 0;
		const span = el('span', undefined, 'token');
		tokenLines(token, options.showBreaks).forEach((line, j) => {
			if (j > 0) span.append(el('br'));
			span.append(document.createTextNode(line));
		});
		const strength = activationStrength(activation, options.scaleMax);
		if (strength > 0) {
			span.classList.add('active');
			span.style.setProperty('--strength', strength.toFixed(3));
		}
		if (i === options.focusIndex) span.classList.add('focus');
		const description = `${quotedToken(token)} · activation ${formatActivation(activation)}${i === options.focusIndex ? ' · the token this example was chosen for' : ''}`;
		span.title = description;
		span.setAttribute('aria-label', description);
		span.tabIndex = -1;
		span.dataset['activation'] = String(activation);
		spans.push(span);
		text.append(span);
	}
	if (end < tokens.length) text.append(el('span', '…', 'elided'));
	// One tab stop per row: the focus token (or the first shown).
	const entry = spans[(options.focusIndex ?? start) - start] ?? spans[0];
	if (entry) entry.tabIndex = 0;
	text.addEventListener('keydown', (event) => {
		const current = spans.indexOf(event.target as HTMLElement);
		if (current < 0) return;
		let next = current;
		if (event.key === 'ArrowRight') next = Math.min(spans.length - 1, current + 1);
		else if (event.key === 'ArrowLeft') next = Math.max(0, current - 1);
		else if (event.key === 'Home') next = 0;
		else if (event.key === 'End') next = spans.length - 1;
		else if (event.key === 'Enter' || event.key === ' ') {
			event.preventDefault();
			detail.textContent = spans[current]!.title;
			return;
		} else return;
		event.preventDefault();
		spans[current]!.tabIndex = -1;
		spans[next]!.tabIndex = 0;
		spans[next]!.focus();
	});
	text.addEventListener('click', (event) => {
		const span = (event.target as HTMLElement).closest('.token');
		if (span instanceof HTMLElement && spans.includes(span)) detail.textContent = span.title;
	});
	row.append(text, detail);
	return row;
}
