// How strongly a token or table cell is shaded, and how numbers are written on the dashboard.
// Pure functions (no DOM), unit-tested; the CSS turns a strength into a theme colour mix.

/** The faintest shading a firing token gets, so a small but nonzero activation stays visible. */
export const MIN_VISIBLE = 0.12;

/**
 * Background strength in [0, 1] for an activation on a scale whose top is `max` (the feature's
 * largest activation, as Neuronpedia and sae_vis shade every example on one scale): 0 where the
 * feature does not fire, then linear from MIN_VISIBLE up to 1 at `max` and above.
 */
export function activationStrength(value: number, max: number): number {
	if (!(value > 0) || !(max > 0)) return 0;
	return MIN_VISIBLE + (1 - MIN_VISIBLE) * Math.min(1, value / max);
}

/** Strength in [0, 1] of a logit-lens weight relative to the largest magnitude shown. */
export function logitStrength(value: number, maxAbs: number): number {
	if (!(maxAbs > 0) || !Number.isFinite(value)) return 0;
	return Math.min(1, Math.abs(value) / maxAbs);
}

/** The scale top for shading a set of examples: the feature's max, or the examples' own max if larger (or if the feature has no statistics). */
export function shadingMax(featureMax: number, activations: Iterable<number>): number {
	let max = featureMax > 0 ? featureMax : 0;
	for (const a of activations) if (a > max) max = a;
	return max;
}

/** An activation with about three significant digits: 12.3, 1.23, 0.123, 0 for exactly zero. */
export function formatActivation(value: number): string {
	if (!Number.isFinite(value)) return String(value);
	if (value === 0) return '0';
	const abs = Math.abs(value);
	if (abs >= 100) return value.toFixed(0);
	if (abs >= 10) return value.toFixed(1);
	if (abs >= 0.01) return value.toFixed(abs >= 1 ? 2 : 3);
	return value.toExponential(1);
}

/** A density (fraction of tokens) as a percentage with enough digits to tell rare features apart. */
export function formatDensity(fraction: number): string {
	if (!Number.isFinite(fraction) || fraction <= 0) return '0%';
	const pct = 100 * fraction;
	if (pct >= 10) return `${pct.toFixed(1)}%`;
	if (pct >= 0.01) return `${pct.toPrecision(3)}%`;
	return `${pct.toExponential(2)}%`;
}

/** A token count in words people read quickly: 1,234 · 12.3k · 4.56M. */
export function formatCount(n: number): string {
	if (n >= 1e6) return `${(n / 1e6).toPrecision(3)}M`;
	if (n >= 1e4) return `${(n / 1e3).toPrecision(3)}k`;
	return n.toLocaleString('en-US');
}

/** sae_vis's quantile group title. */
export function bandTitle(band: { min: number; max: number; contains: number }): string {
	return `INTERVAL ${formatActivation(band.min)} – ${formatActivation(band.max)}, CONTAINS ${formatShare(band.contains)}`;
}

function formatShare(fraction: number): string {
	const pct = 100 * fraction;
	if (pct === 0) return '0%';
	return pct >= 1 ? `${pct.toFixed(1)}%` : `${pct.toPrecision(2)}%`;
}
