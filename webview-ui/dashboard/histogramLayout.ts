// Geometry of a histogram drawn as SVG: bar rectangles, axis ticks and a value → x mapping,
// for linear or log-spaced bins. Pure (no DOM), unit-tested.

import type { ActivationHistogram } from '../../src/protocol/featureProtocol';

export interface HistogramBar {
	x: number;
	width: number;
	y: number;
	height: number;
	count: number;
	/** The bin's value interval [from, to). */
	from: number;
	to: number;
}

export interface Tick {
	/** Position along the axis in pixels (x for the value axis, y for the count axis). */
	at: number;
	label: string;
}

export interface HistogramLayout {
	/** Bins with a nonzero count (empty bins draw nothing). */
	bars: HistogramBar[];
	xTicks: Tick[];
	yTicks: Tick[];
	/** The plot area inside the margins. */
	plot: { left: number; top: number; width: number; height: number };
	/** x of a value, clamped to the plot; undefined for values a log axis cannot place. */
	xOf(value: number): number | undefined;
	maxCount: number;
}

export const MARGIN = { left: 40, right: 8, top: 6, bottom: 20 };

/** Bars whose count is nonzero are at least this tall, so a single example is still visible. */
export const MIN_BAR_HEIGHT = 1;

/** Lays out `h` in a `width` × `height` box (margins for the axes included). */
export function layoutHistogram(h: ActivationHistogram, width: number, height: number): HistogramLayout {
	const plot = { left: MARGIN.left, top: MARGIN.top, width: Math.max(1, width - MARGIN.left - MARGIN.right), height: Math.max(1, height - MARGIN.top - MARGIN.bottom) };
	const edges = h.edges;
	const lo = edges[0] ?? 0;
	const hi = edges[edges.length - 1] ?? 1;
	// A log axis needs positive edges; anything else is drawn linearly.
	const log = h.scale === 'log' && lo > 0 && hi > lo;
	const t = log ? Math.log10 : (v: number) => v;
	const t0 = t(lo);
	const span = t(hi) - t0 || 1;
	const raw = (v: number) => plot.left + ((t(v) - t0) / span) * plot.width;
	const xOf = (v: number): number | undefined => {
		if (log && !(v > 0)) return undefined;
		return Math.min(plot.left + plot.width, Math.max(plot.left, raw(v)));
	};
	const maxCount = Math.max(0, ...h.counts);
	const bars: HistogramBar[] = [];
	h.counts.forEach((count, i) => {
		const from = edges[i];
		const to = edges[i + 1];
		if (count <= 0 || from === undefined || to === undefined) return;
		const x0 = raw(from);
		const x1 = raw(to);
		const barHeight = Math.max(MIN_BAR_HEIGHT, (count / maxCount) * plot.height);
		bars.push({ x: x0, width: Math.max(0.5, x1 - x0), y: plot.top + plot.height - barHeight, height: barHeight, count, from, to });
	});
	const xTicks = (log ? logTicks(lo, hi) : niceTicks(lo, hi, 4)).map((v) => ({ at: raw(v), label: formatTick(v) }));
	const yTicks =
		maxCount > 0
			? niceTicks(0, maxCount, 3)
					.filter((v) => Number.isInteger(v))
					.map((v) => ({ at: plot.top + plot.height - (v / maxCount) * plot.height, label: formatTick(v) }))
			: [];
	return { bars, xTicks, yTicks, plot, xOf, maxCount };
}

/** About `count` round values (1, 2 or 5 × 10^n steps) covering [min, max]. */
export function niceTicks(min: number, max: number, count: number): number[] {
	if (!(max > min)) return Number.isFinite(min) ? [min] : [];
	// d3's tickIncrement: the 1-2-5 step nearest (in ratio) to range / count.
	const rough = (max - min) / Math.max(1, count);
	const pow = 10 ** Math.floor(Math.log10(rough));
	const error = rough / pow;
	const step = pow * (error >= Math.sqrt(50) ? 10 : error >= Math.sqrt(10) ? 5 : error >= Math.sqrt(2) ? 2 : 1);
	const out: number[] = [];
	// Multiples of the step, not a running sum, so 0 is exactly 0 (a sum from -0.6 reaches -6e-17).
	for (let i = Math.ceil(min / step); i * step <= max + step * 1e-9; i++) out.push(Number((i * step).toPrecision(12)));
	return out;
}

/** Powers of ten inside [min, max]; with fewer than two, the 1-2-5 values inside it. */
export function logTicks(min: number, max: number): number[] {
	const out: number[] = [];
	for (let e = Math.ceil(Math.log10(min)); 10 ** e <= max * (1 + 1e-9); e++) out.push(Number((10 ** e).toPrecision(12)));
	if (out.length >= 2) return out;
	const dense: number[] = [];
	for (let e = Math.floor(Math.log10(min)); 10 ** e <= max; e++) {
		for (const m of [1, 2, 5]) {
			const v = Number((m * 10 ** e).toPrecision(12));
			if (v >= min * (1 - 1e-9) && v <= max * (1 + 1e-9)) dense.push(v);
		}
	}
	return dense;
}

function formatTick(v: number): string {
	const abs = Math.abs(v);
	if (abs === 0) return '0';
	if (abs >= 1e4) return `${Number((v / 1e3).toPrecision(3))}k`;
	if (abs >= 0.01) return String(Number(v.toPrecision(3)));
	return v.toExponential(0);
}
