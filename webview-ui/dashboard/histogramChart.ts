// A histogram as an SVG chart (activation density, or logit weights over the vocabulary), built
// with createElementNS; each bar's tooltip gives its interval and count.

import { svg } from '../components/dom';
import type { ActivationHistogram } from '../../src/protocol/featureProtocol';
import { layoutHistogram } from './histogramLayout';
import { formatActivation } from './shading';

export interface ChartOptions {
	width: number;
	height: number;
	ariaLabel: string;
	/** What one count is, for tooltips ("tokens", "vocabulary tokens"). */
	unit: string;
	/** Colour bars below zero as negative (logit weights). */
	signed?: boolean;
	/** A value to mark with a vertical line (the test text's max activation). */
	marker?: { value: number; label: string };
}

export function histogramChart(h: ActivationHistogram, options: ChartOptions): SVGSVGElement {
	const { width, height } = options;
	const layout = layoutHistogram(h, width, height);
	const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, class: 'histogram', role: 'img', 'aria-label': options.ariaLabel });
	const { plot } = layout;
	for (const tick of layout.yTicks) {
		root.append(svg('line', { x1: plot.left, x2: plot.left + plot.width, y1: tick.at, y2: tick.at, class: 'grid' }));
		const label = svg('text', { x: plot.left - 4, y: tick.at + 3, 'text-anchor': 'end', class: 'tick' });
		label.textContent = tick.label;
		root.append(label);
	}
	for (const bar of layout.bars) {
		const sign = options.signed ? (bar.to <= 0 ? ' negative' : bar.from >= 0 ? ' positive' : '') : '';
		const rect = svg('rect', { x: bar.x, y: bar.y, width: bar.width, height: bar.height, class: `bar${sign}` });
		const title = svg('title');
		title.textContent = `${formatActivation(bar.from)} – ${formatActivation(bar.to)}: ${bar.count.toLocaleString('en-US')} ${options.unit}`;
		rect.append(title);
		root.append(rect);
	}
	root.append(svg('line', { x1: plot.left, x2: plot.left + plot.width, y1: plot.top + plot.height, y2: plot.top + plot.height, class: 'axis' }));
	for (const tick of layout.xTicks) {
		const label = svg('text', { x: tick.at, y: plot.top + plot.height + 14, 'text-anchor': 'middle', class: 'tick' });
		label.textContent = tick.label;
		root.append(label);
	}
	const markerX = options.marker ? layout.xOf(options.marker.value) : undefined;
	if (options.marker && markerX !== undefined) {
		const line = svg('line', { x1: markerX, x2: markerX, y1: plot.top, y2: plot.top + plot.height, class: 'marker' });
		const title = svg('title');
		title.textContent = options.marker.label;
		line.append(title);
		root.append(line);
	}
	return root;
}
