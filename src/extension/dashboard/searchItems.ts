// What the Search Features quick pick asks and shows, free of `vscode` (unit-tested): which
// typed values become a label/number query and which offer a "fires on this text" search, and
// how a hit reads.

import type { FeatureSearchHit } from '../../protocol/featureProtocol';

export interface SearchPlan {
	/** Sent as `query` (labels and feature numbers); undefined for an empty value. */
	query?: string;
	/** Offer "features that fire on <value>" (any non-empty value that is not just a number). */
	textItem: boolean;
}

export function searchPlan(value: string): SearchPlan {
	const v = value.trim();
	if (!v) return { textItem: false };
	return { query: v.replace(/^#(?=\d+$)/, ''), textItem: !/^#?\d+$/.test(v) };
}

function percent(fraction: number): string {
	if (!(fraction > 0)) return '0%';
	const p = 100 * fraction;
	return p >= 0.01 ? `${p.toPrecision(2)}%` : `${p.toExponential(1)}%`;
}

/** Quick-pick texts for a hit: `text` hits lead with the activation on the text. */
export function describeHit(hit: FeatureSearchHit, kind: 'label' | 'text'): { label: string; description: string; detail: string } {
	const flags = [hit.dead ? 'dead' : '', hit.dense ? 'dense' : ''].filter(Boolean);
	const stats = hit.density > 0 || hit.maxActivation > 0 ? `density ${percent(hit.density)} · mean ${hit.meanActivation.toFixed(2)} · max ${hit.maxActivation.toFixed(2)}` : 'no corpus statistics yet';
	return {
		label: `$(symbol-event) Feature ${hit.featureIndex}`,
		description: hit.label,
		detail: [kind === 'text' ? `fires at ${hit.score.toFixed(2)} on this text` : '', stats, ...flags].filter(Boolean).join(' · '),
	};
}
