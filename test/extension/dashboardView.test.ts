// Feature dashboard webview logic that runs without a DOM: token shading and number formats,
// whitespace and invisible characters in tokens, context windows, histogram geometry.

import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MARGIN, MIN_BAR_HEIGHT, layoutHistogram, logTicks, niceTicks } from '../../webview-ui/dashboard/histogramLayout';
import { MIN_VISIBLE, activationStrength, bandTitle, formatActivation, formatCount, formatDensity, logitStrength, shadingMax } from '../../webview-ui/dashboard/shading';
import { EMPTY_TOKEN, contextWindow, quotedToken, tokenLines, visibleToken } from '../../webview-ui/dashboard/tokenText';

const close = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps, `${a} ≉ ${b}`);

describe('dashboard shading', () => {
	it('activation strength: none for zero or negative, a visible floor, linear to 1 at the scale top, clamped above', () => {
		assert.equal(activationStrength(0, 10), 0);
		assert.equal(activationStrength(-1, 10), 0);
		assert.equal(activationStrength(Number.NaN, 10), 0);
		assert.equal(activationStrength(5, 0), 0);
		close(activationStrength(1e-6, 10), MIN_VISIBLE + (1 - MIN_VISIBLE) * 1e-7);
		close(activationStrength(5, 10), MIN_VISIBLE + (1 - MIN_VISIBLE) * 0.5);
		assert.equal(activationStrength(10, 10), 1);
		assert.equal(activationStrength(25, 10), 1);
		// Monotone in the activation.
		const s = [0.5, 1, 2, 4, 8].map((v) => activationStrength(v, 8));
		assert.deepEqual(
			[...s].sort((a, b) => a - b),
			s,
		);
	});

	it('logit strength is |value| over the largest magnitude, for either sign', () => {
		assert.equal(logitStrength(-0.5, 1), 0.5);
		assert.equal(logitStrength(0.25, 0.5), 0.5);
		assert.equal(logitStrength(2, 1), 1);
		assert.equal(logitStrength(1, 0), 0);
	});

	it("the shading scale is the feature max, or the examples' max when larger or when the feature has no statistics", () => {
		assert.equal(shadingMax(10, [3, 4]), 10);
		assert.equal(shadingMax(10, [12]), 12);
		assert.equal(shadingMax(0, [2, 5]), 5);
		assert.equal(shadingMax(0, []), 0);
	});

	it('numbers: activations to about three digits, densities as percentages that keep rare features apart, counts', () => {
		assert.deepEqual([0, 0.004, 0.0123, 0.5, 1.234, 12.34, 123.4].map(formatActivation), ['0', '4.0e-3', '0.012', '0.500', '1.23', '12.3', '123']);
		assert.deepEqual([0, 1e-7, 0.000123, 0.0123, 0.25].map(formatDensity), ['0%', '1.00e-5%', '0.0123%', '1.23%', '25.0%']);
		assert.deepEqual([999, 12_345, 4_560_000].map(formatCount), ['999', '12.3k', '4.56M']);
		assert.equal(bandTitle({ min: 0, max: 4.62, contains: 0.4337 }), 'INTERVAL 0 – 4.62, CONTAINS 43.4%');
		assert.equal(bandTitle({ min: 18.5, max: 23.13, contains: 0.0037 }), 'INTERVAL 18.5 – 23.1, CONTAINS 0.37%');
	});
});

describe('dashboard token text', () => {
	it('whitespace is visible: newline ↵, tab ⇥, carriage return ␍; spaces stay spaces; empty tokens show ∅', () => {
		assert.equal(visibleToken(' def'), ' def');
		assert.equal(visibleToken('\n'), '↵');
		assert.equal(visibleToken('\r\n\t  x'), '␍↵⇥  x');
		assert.equal(visibleToken(''), EMPTY_TOKEN);
	});

	it('bidi controls, zero-width and other invisible characters are shown by code point, so they cannot hide or reorder text', () => {
		assert.equal(visibleToken('\u202Egnp.exe'), '⟨U+202E⟩gnp.exe');
		assert.equal(visibleToken('a\u200Bb\uFEFF'), 'a⟨U+200B⟩b⟨U+FEFF⟩');
		assert.equal(visibleToken('\u0000\u001b[31m'), '⟨U+0000⟩⟨U+001B⟩[31m');
		assert.equal(visibleToken('\u2066x\u2069'), '⟨U+2066⟩x⟨U+2069⟩');
		// Ordinary non-ASCII text is untouched.
		assert.equal(visibleToken('π 😀 é'), 'π 😀 é');
	});

	it('HTML in a token is kept verbatim (it is set as text, never parsed)', () => {
		const payload = '<img src=x onerror=window.__pwned=1>';
		assert.equal(visibleToken(payload), payload);
		assert.equal(quotedToken('</script>'), '“</script>”');
	});

	it('with line breaks shown, each newline ends a display line after its ↵, so indentation starts the next line', () => {
		assert.deepEqual(tokenLines('\n    ', true), ['↵', '    ']);
		assert.deepEqual(tokenLines('a\n', true), ['a↵']);
		assert.deepEqual(tokenLines('\n\n', true), ['↵', '↵']);
		assert.deepEqual(tokenLines(':\n\tx', true), [':↵', '⇥x']);
		assert.deepEqual(tokenLines('\n    ', false), ['↵    ']);
		assert.deepEqual(tokenLines('def', true), ['def']);
	});

	it('context windows: 5 or 16 tokens each side of the focus, clipped to the example; full shows everything', () => {
		assert.deepEqual(contextWindow(33, 16, 'snippet'), [11, 22]);
		assert.deepEqual(contextWindow(33, 2, 'snippet'), [0, 8]);
		assert.deepEqual(contextWindow(33, 31, 'snippet'), [26, 33]);
		assert.deepEqual(contextWindow(33, 16, 'wide'), [0, 33]);
		assert.deepEqual(contextWindow(100, 50, 'wide'), [34, 67]);
		assert.deepEqual(contextWindow(100, 50, 'full'), [0, 100]);
		// A focus index outside the example is clamped rather than producing an empty window.
		assert.deepEqual(contextWindow(10, 99, 'snippet'), [4, 10]);
		assert.deepEqual(contextWindow(0, 0, 'snippet'), [0, 0]);
	});
});

describe('dashboard histogram layout', () => {
	const width = 340;
	const height = 120;
	const plotW = width - MARGIN.left - MARGIN.right;
	const plotH = height - MARGIN.top - MARGIN.bottom;

	it('linear bins: bar x and width follow the edges, heights follow counts relative to the largest, empty bins draw nothing', () => {
		const l = layoutHistogram({ edges: [0, 1, 2, 3, 4], counts: [2, 0, 8, 4], scale: 'linear' }, width, height);
		assert.deepEqual(
			l.bars.map((b) => b.count),
			[2, 8, 4],
		);
		const [a, b, c] = l.bars;
		close(a!.x, MARGIN.left);
		close(a!.width, plotW / 4);
		close(b!.x, MARGIN.left + plotW / 2);
		close(b!.height, plotH);
		close(b!.y, MARGIN.top);
		close(c!.height, plotH / 2);
		close(c!.y + c!.height, MARGIN.top + plotH);
		assert.deepEqual([b!.from, b!.to], [2, 3]);
		close(l.xOf(1)!, MARGIN.left + plotW / 4);
		// Out-of-range values are clamped to the plot.
		close(l.xOf(-5)!, MARGIN.left);
		close(l.xOf(9)!, MARGIN.left + plotW);
	});

	it('log bins: equal ratios get equal widths; a log axis cannot place zero', () => {
		const l = layoutHistogram({ edges: [0.1, 1, 10, 100], counts: [1, 1, 1], scale: 'log' }, width, height);
		for (const bar of l.bars) close(bar.width, plotW / 3, 1e-9);
		close(l.xOf(Math.sqrt(10))!, MARGIN.left + plotW / 2, 1e-9);
		assert.equal(l.xOf(0), undefined);
		assert.deepEqual(
			l.xTicks.map((t) => t.label),
			['0.1', '1', '10', '100'],
		);
	});

	it('a log histogram whose first edge is not positive is drawn linearly', () => {
		const l = layoutHistogram({ edges: [0, 5, 10], counts: [1, 1], scale: 'log' }, width, height);
		close(l.bars[1]!.x, MARGIN.left + plotW / 2);
		assert.notEqual(l.xOf(0), undefined);
	});

	it('a single count among thousands is still a visible bar', () => {
		const l = layoutHistogram({ edges: [0, 1, 2], counts: [100_000, 1], scale: 'linear' }, width, height);
		assert.equal(l.bars[1]!.height, MIN_BAR_HEIGHT);
		assert.equal(l.maxCount, 100_000);
	});

	it('empty histograms lay out nothing', () => {
		const l = layoutHistogram({ edges: [], counts: [], scale: 'log' }, width, height);
		assert.deepEqual(l.bars, []);
		assert.deepEqual(l.yTicks, []);
	});

	it('ticks: round 1-2-5 steps inside the range; powers of ten on log axes (1-2-5 when the range is under a decade)', () => {
		assert.deepEqual(niceTicks(0, 23.1, 4), [0, 5, 10, 15, 20]);
		assert.deepEqual(niceTicks(-0.47, 0.6, 4), [-0.4, -0.2, 0, 0.2, 0.4, 0.6]);
		assert.deepEqual(niceTicks(-0.61, 0.5, 5), [-0.6, -0.4, -0.2, 0, 0.2, 0.4], 'zero is exactly 0, not a rounding residue');
		assert.deepEqual(niceTicks(0, 30, 3), [0, 10, 20, 30]);
		assert.deepEqual(logTicks(0.05, 250), [0.1, 1, 10, 100]);
		assert.deepEqual(logTicks(1.5, 9), [2, 5]);
	});
});
