// Editor-side inspection logic: offset mapping, intensity levels, hovers, escaping.

import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LEVELS, computeHighlights, escapeMarkdown, hoverLines, summarizeFeatures, tokenAt, tokenActivation } from '../../src/extension/inspection/highlights';
import type { InspectedTokenInfo } from '../../src/protocol/engineProtocol';

const tok = (start: number, end: number, text: string, features: [number, number][]): InspectedTokenInfo => ({ id: 0, start, end, text, features });

// "def f(x): 😀" with the emoji split into two byte tokens sharing its UTF-16 range.
const TOKENS = [
	tok(0, 3, 'def', [
		[7, 4],
		[2, 1],
	]),
	tok(3, 5, ' f', [[2, 2]]),
	tok(5, 6, '(', []),
	tok(6, 7, 'x', [[7, 0.1]]),
	tok(7, 9, '):', [[9, 1]]),
	tok(9, 10, ' ', []),
	tok(10, 12, '😀', [[7, 3]]),
	tok(10, 12, '😀', [[7, 3.5]]),
];

describe('inspection highlights', () => {
	it('colour by the strongest feature: levels relative to the largest activation, offset by the selection start', () => {
		const h = computeHighlights(TOKENS, 100, { kind: 'strongest' });
		assert.deepEqual(
			h.map((x) => [x.start, x.end, x.level]),
			[
				[100, 103, LEVELS],
				[103, 105, 3],
				[107, 109, 2],
				[110, 112, 5],
			],
		);
	});

	it('strongest-feature colouring can skip dense features', () => {
		const h = computeHighlights(TOKENS, 0, { kind: 'strongest', ignore: new Set([7]) });
		// Without feature 7, "def" is coloured by feature 2 and the emoji (only 7) stays plain.
		assert.deepEqual(
			h.map((x) => [x.start, x.end, x.level]),
			[
				[0, 3, 3],
				[3, 5, 5],
				[7, 9, 3],
			],
		);
	});

	it('colour by one feature leaves tokens where it did not fire plain', () => {
		const h = computeHighlights(TOKENS, 0, { kind: 'feature', featureIndex: 2 });
		assert.deepEqual(
			h.map((x) => [x.start, x.end, x.level]),
			[
				[0, 3, 3],
				[3, 5, 5],
			],
		);
		assert.equal(tokenActivation(TOKENS[0]!, { kind: 'feature', featureIndex: 9 }), 0);
	});

	it('tokens below the minimum fraction stay plain; nothing fires, nothing is highlighted', () => {
		assert.ok(!computeHighlights(TOKENS, 0, { kind: 'feature', featureIndex: 7 }, 0.05).some((x) => x.start === 6));
		assert.deepEqual(computeHighlights(TOKENS, 0, { kind: 'feature', featureIndex: 42 }), []);
	});

	it('finds the token under the cursor, including inside a surrogate pair', () => {
		assert.equal(tokenAt(TOKENS, 100, 101), 0);
		assert.equal(tokenAt(TOKENS, 100, 104), 1);
		assert.equal(tokenAt(TOKENS, 100, 111), 6, 'first of the tokens sharing the emoji');
		assert.equal(tokenAt(TOKENS, 100, 112), undefined);
		assert.equal(tokenAt(TOKENS, 100, 99), undefined);
	});

	it('hover rows give each feature its share of the token total and its label', () => {
		const rows = hoverLines(TOKENS[0]!, new Map([[7, 'def keyword']]));
		assert.deepEqual(
			rows.map((r) => [r.featureIndex, r.activation, Number(r.share.toFixed(2)), r.label]),
			[
				[7, 4, 0.8, 'def keyword'],
				[2, 1, 0.2, undefined],
			],
		);
	});

	it('model text is escaped so it cannot become Markdown links, HTML or code', () => {
		const nasty = '<img src=x onerror=alert(1)>](command:evil) `x` *y*\n';
		const escaped = escapeMarkdown(nasty);
		assert.doesNotMatch(escaped, /(^|[^\\])[<>\[\]()`*]/);
		assert.ok(escaped.endsWith('⏎'));
		assert.equal(escapeMarkdown('\x1b[2J\u009b'), '\\x1b\\[2J\\x9b', 'control characters (terminal escapes) show as codes');
	});

	it('the Features view lists each active feature once, by its largest activation, with its token count', () => {
		const summary = summarizeFeatures({ hookName: 'h', tokens: TOKENS, labels: {} });
		assert.deepEqual(
			summary.map((f) => [f.featureIndex, f.max, f.tokens]),
			[
				[7, 4, 4],
				[2, 2, 2],
				[9, 1, 1],
			],
		);
	});
});
