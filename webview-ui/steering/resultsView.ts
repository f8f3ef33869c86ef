// The steering sidebar's results: baseline and steered completions side by side with the tokens
// that differ marked, or a sweep's completions one per strength; each with Insert and Copy.
// Model text is untrusted: every token goes in through textContent.

import { button } from '../components/controls';
import { el } from '../components/dom';
import type { RunView, StreamedToken } from '../../src/protocol/steeringViewMessages';
import type { Completion } from '../../src/protocol/steerProtocol';
import { countChanged, tokenDiff } from './tokenDiff';

export interface ResultActions {
	insert(text: string): void;
	copy(text: string): void;
	/** Pick a token of a comparison's column and trace it (an attribution graph). */
	trace(runId: string, which: 'baseline' | 'steered'): void;
}

export function completionText(tokens: readonly StreamedToken[]): string {
	return tokens.map((t) => t.text).join('');
}

function stopCaption(stop: Completion['stopReason'] | undefined, running: boolean, cancelled: boolean): string {
	if (running) return 'generating…';
	if (cancelled) return 'cancelled';
	if (stop === 'eos') return 'end of text';
	if (stop === 'context') return 'context full';
	return '';
}

/** Token spans; `changed[i]` marks token i with `mark` ("added"/"removed"). */
function tokenSpans(tokens: readonly StreamedToken[], changed: readonly boolean[] | undefined, mark: string): HTMLElement {
	const box = el('div', undefined, 'tokens');
	box.tabIndex = 0;
	tokens.forEach((t, i) => {
		if (!t.text) return;
		const changedHere = changed?.[i] === true;
		const span = el('span', t.text, changedHere ? `tok ${mark}` : 'tok');
		if (changedHere) span.title = 'differs from the other completion';
		box.append(span);
	});
	if (tokens.length === 0) box.append(el('span', '…', 'placeholder'));
	return box;
}

function column(
	title: string,
	className: string,
	tokens: readonly StreamedToken[],
	changed: readonly boolean[] | undefined,
	mark: string,
	caption: string,
	actions: ResultActions,
	running: boolean,
	trace?: () => void,
): HTMLElement {
	const section = el('section', undefined, `column ${className}`);
	section.setAttribute('aria-label', `${title} completion`);
	const head = el('div', undefined, 'column-head');
	const text = completionText(tokens);
	head.append(el('h3', title), el('span', caption, 'caption'));
	const buttons = el('div', undefined, 'column-buttons');
	buttons.append(
		button('Insert', () => actions.insert(completionText(tokens)), {
			appearance: 'secondary',
			ariaLabel: `Insert the ${title.toLowerCase()} completion at the cursor`,
			title: 'Insert at the cursor of the last editor',
			disabled: running || !text,
		}),
		button('Copy', () => actions.copy(completionText(tokens)), { appearance: 'secondary', ariaLabel: `Copy the ${title.toLowerCase()} completion`, disabled: running || !text }),
	);
	if (trace)
		buttons.append(
			button('Trace…', trace, {
				appearance: 'secondary',
				ariaLabel: `Trace a token of the ${title.toLowerCase()} completion`,
				title: 'Pick one of its tokens and see which features made the model write it (an attribution graph)',
				disabled: running || tokens.length === 0,
			}),
		);
	head.append(buttons);
	section.append(head, tokenSpans(tokens, changed, mark));
	return section;
}

export function renderRun(run: RunView, actions: ResultActions): HTMLElement {
	return run.kind === 'compare' ? renderCompare(run, actions) : renderSweep(run, actions);
}

function renderCompare(run: Extract<RunView, { kind: 'compare' }>, actions: ResultActions): HTMLElement {
	const root = el('div', undefined, 'results compare');
	const running = !run.done && !run.error;
	const diff = tokenDiff(
		run.baseline.map((t) => t.id),
		run.steered.map((t) => t.id),
	);
	const cancelled = run.done?.cancelled === true;
	const columns = el('div', undefined, 'columns');
	columns.append(
		column('Baseline', 'baseline', run.baseline, diff.a, 'removed', stopCaption(run.done?.baselineStop, running, cancelled), actions, running, () => actions.trace(run.runId, 'baseline')),
		column('Steered', 'steered', run.steered, diff.b, 'added', stopCaption(run.done?.steeredStop, running, cancelled), actions, running, () => actions.trace(run.runId, 'steered')),
	);
	const changed = countChanged(diff.b);
	const summary =
		run.steered.length === 0 ? '' : changed === 0 ? 'The steered completion is the same as the baseline.' : `${changed} of ${run.steered.length} steered tokens differ from the baseline.`;
	root.append(columns);
	if (summary) {
		const p = el('p', summary, 'diff-summary');
		p.setAttribute('aria-live', 'polite');
		root.append(p);
	}
	if (run.error) root.append(el('p', run.error, 'error'));
	return root;
}

function renderSweep(run: Extract<RunView, { kind: 'sweep' }>, actions: ResultActions): HTMLElement {
	const root = el('div', undefined, 'results sweep');
	const running = !run.done && !run.error;
	root.append(el('h3', `Sweep of feature ${run.featureIndex} (${run.mode})`));
	const first = run.entries[0]?.map((t) => t.id) ?? [];
	// The engine runs the strengths in turn: the first empty entry is the one generating (or the last with tokens).
	const firstEmpty = run.entries.findIndex((e) => e.length === 0);
	const active = firstEmpty < 0 ? run.entries.length - 1 : Math.max(0, firstEmpty - (firstEmpty > 0 ? 1 : 0));
	run.strengths.forEach((strength, i) => {
		const tokens = run.entries[i] ?? [];
		// Each row is marked against the first strength, so the effect of turning the feature up reads down the list.
		const changed =
			i === 0
				? undefined
				: tokenDiff(
						first,
						tokens.map((t) => t.id),
					).b;
		const caption = running ? (i > active && tokens.length === 0 ? 'waiting' : i < active ? '' : 'generating…') : run.done?.cancelled ? 'cancelled' : '';
		root.append(column(`Strength ${strength}`, 'sweep-entry', tokens, changed, 'added', caption, actions, running));
	});
	if (run.error) root.append(el('p', run.error, 'error'));
	return root;
}
