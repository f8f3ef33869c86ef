// What an inspection looks like in the editor, computed without `vscode` so it is unit-tested:
// which character ranges get which intensity level, and what each token's hover says.

import type { InspectResult, InspectedTokenInfo } from '../../protocol/engineProtocol';

/** Number of background intensities (theme colours featureLens.activation1 … 5). */
export const LEVELS = 5;

/**
 * Colour by each token's strongest feature (leaving out `ignore`d ones, e.g. dense features
 * that fire everywhere), or by one chosen feature.
 */
export type HighlightMode = { kind: 'strongest'; ignore?: ReadonlySet<number> } | { kind: 'feature'; featureIndex: number };

export interface Highlight {
	/** Offsets in the document (UTF-16), end exclusive. */
	start: number;
	end: number;
	/** 1 … LEVELS. */
	level: number;
	/** Index into the inspection's tokens. */
	token: number;
}

/** The activation a token is coloured by under `mode` (0 when the feature did not fire). */
export function tokenActivation(token: InspectedTokenInfo, mode: HighlightMode): number {
	if (mode.kind === 'strongest') return token.features.find(([i]) => !mode.ignore?.has(i))?.[1] ?? 0;
	return token.features.find(([i]) => i === mode.featureIndex)?.[1] ?? 0;
}

/**
 * Highlights for tokens inspected from text that starts at document offset `base`. Intensity
 * is relative to the largest activation shown, in LEVELS equal steps; tokens at or below
 * `minFraction` of it stay plain. Tokens sharing a range (bytes of one character) merge.
 */
export function computeHighlights(tokens: readonly InspectedTokenInfo[], base: number, mode: HighlightMode, minFraction = 0.05): Highlight[] {
	const activations = tokens.map((t) => tokenActivation(t, mode));
	const max = Math.max(0, ...activations);
	if (max <= 0) return [];
	const out: Highlight[] = [];
	tokens.forEach((t, i) => {
		const fraction = activations[i]! / max;
		if (fraction <= minFraction || t.end <= t.start) return;
		const level = Math.min(LEVELS, Math.max(1, Math.ceil(fraction * LEVELS)));
		const previous = out.at(-1);
		if (previous && previous.start === base + t.start && previous.end === base + t.end) {
			previous.level = Math.max(previous.level, level);
			return;
		}
		out.push({ start: base + t.start, end: base + t.end, level, token: i });
	});
	return out;
}

/**
 * Escapes text for a Markdown hover, so model-visible text can never become links or HTML;
 * newlines and tabs show as ⏎ and ⇥, other control characters (a crafted vocabulary's ESC) as \xHH.
 */
export function escapeMarkdown(text: string): string {
	return text
		.replace(/[\\`*_{}[\]()#+\-.!|<>&~]/g, (c) => `\\${c}`)
		.replace(/\n/g, '⏎')
		.replace(/\t/g, '⇥')
		.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export interface HoverLine {
	featureIndex: number;
	activation: number;
	/** Share of the token's total activation over its listed features. */
	share: number;
	label?: string;
}

/** The hover's rows for one token: its features, strongest first, with their share. */
export function hoverLines(token: InspectedTokenInfo, labels: ReadonlyMap<number, string> = new Map()): HoverLine[] {
	const total = token.features.reduce((a, [, v]) => a + v, 0);
	return token.features.map(([featureIndex, activation]) => ({
		featureIndex,
		activation,
		share: total > 0 ? activation / total : 0,
		label: labels.get(featureIndex),
	}));
}

/** Index of the inspected token whose range holds document offset `offset` (text started at `base`). */
export function tokenAt(tokens: readonly InspectedTokenInfo[], base: number, offset: number): number | undefined {
	let lo = 0;
	let hi = tokens.length - 1;
	const at = offset - base;
	while (lo <= hi) {
		const mid = (lo + hi) >> 1;
		const t = tokens[mid]!;
		if (at < t.start) hi = mid - 1;
		else if (at >= t.end) lo = mid + 1;
		else {
			// Several byte tokens can share one character's range; report the first.
			let first = mid;
			while (first > 0 && tokens[first - 1]!.start === t.start) first--;
			return first;
		}
	}
	return undefined;
}

export interface FeatureSummary {
	featureIndex: number;
	/** Largest activation over the inspected tokens. */
	max: number;
	/** Tokens it fired on. */
	tokens: number;
}

/** Active features of an inspection, strongest (by max activation) first. */
export function summarizeFeatures(result: InspectResult): FeatureSummary[] {
	const byIndex = new Map<number, FeatureSummary>();
	for (const token of result.tokens) {
		for (const [featureIndex, activation] of token.features) {
			const s = byIndex.get(featureIndex) ?? { featureIndex, max: 0, tokens: 0 };
			s.max = Math.max(s.max, activation);
			s.tokens++;
			byIndex.set(featureIndex, s);
		}
	}
	return [...byIndex.values()].sort((a, b) => b.max - a.max || a.featureIndex - b.featureIndex);
}
