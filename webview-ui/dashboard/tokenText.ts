// How a model token is written on the dashboard: whitespace and invisible characters made
// visible (a newline as ↵, a tab as ⇥, bidi controls and zero-width characters by code point,
// so a token can neither hide nor reorder the text around it), and which part of an example
// is shown around its focus token. Pure functions, unit-tested.

import type { ContextSize } from '../../src/protocol/dashboardMessages';

const NAMED: Record<string, string> = { '\n': '↵', '\t': '⇥', '\r': '␍' };

// C0/C1 controls (besides \n \t \r), zero-width and bidi formatting characters, BOM, and
// line/paragraph separators: each could hide text or change how neighbouring text is laid out.
const INVISIBLE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u00AD\u061C\u180E\u200B-\u200F\u2028-\u202E\u2060-\u206F\uFEFF]/g;

/** Marks a token shows when it covers no text (e.g. a special token). */
export const EMPTY_TOKEN = '∅';

/** The token on one line: newlines as ↵, tabs as ⇥, invisible characters as ⟨U+XXXX⟩. */
export function visibleToken(text: string): string {
	if (text.length === 0) return EMPTY_TOKEN;
	return text.replace(/[\n\t\r]/g, (c) => NAMED[c]!).replace(INVISIBLE, (c) => `⟨U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}⟩`);
}

/**
 * The token's display lines: with `showBreaks`, each newline ends a line (after its ↵), so the
 * indentation that follows a newline starts the next line as in the source; otherwise one line.
 */
export function tokenLines(text: string, showBreaks: boolean): string[] {
	if (!showBreaks || !text.includes('\n')) return [visibleToken(text)];
	const parts = text.split('\n');
	return parts.map((part, i) => (i < parts.length - 1 ? visibleToken(part + '\n') : visibleToken(part))).filter((line, i, all) => !(i === all.length - 1 && line === EMPTY_TOKEN));
}

/** A token quoted for a tooltip or screen reader: “def”. */
export function quotedToken(text: string): string {
	return `“${visibleToken(text)}”`;
}

/** Tokens shown on each side of the focus token for each context size (sae_vis buffer (5, 5); Neuronpedia Snippet). */
export const CONTEXT_TOKENS: Record<ContextSize, number> = { snippet: 5, wide: 16, full: Number.POSITIVE_INFINITY };

/** The [start, end) slice of an example shown at `size` around `focusIndex`. */
export function contextWindow(length: number, focusIndex: number, size: ContextSize): [number, number] {
	const radius = CONTEXT_TOKENS[size];
	const focus = Math.min(Math.max(0, focusIndex), Math.max(0, length - 1));
	return [Math.max(0, focus - radius), Math.min(length, focus + radius + 1)];
}
