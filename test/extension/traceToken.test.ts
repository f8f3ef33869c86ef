// Tracing a token of a completion the editor shows: the request reproduces how the token was
// generated (prompt ids, the tokens before it, the steering from the first generated position);
// the picks make whitespace visible; an inline suggestion offers only the tokens it showed.

import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pinnedToSae, shownTokens, tokenPicks, tokenTrace, visibleToken } from '../../src/extension/attribution/traceToken';
import type { TraceableCompletion } from '../../src/extension/attribution/traceToken';

const steer = { features: [{ featureIndex: 7, mode: 'clamp' as const, strength: 3 }], vectors: [], positions: 'generated' as const };
const completion: TraceableCompletion = {
	what: 'steered completion',
	prompt: 'def f(x):\n',
	promptIds: [10, 11, 12],
	tokens: [
		{ id: 20, text: '    ' },
		{ id: 21, text: 'return' },
		{ id: 22, text: ' x' },
	],
	steer,
};

describe('tracing a token of a completion', () => {
	it('traces token k from the prompt ids and the k tokens before it, steered from the first generated position', () => {
		assert.deepEqual(tokenTrace(completion, 2), {
			prompt: 'def f(x):\n    return',
			promptIds: [10, 11, 12, 20, 21],
			targetToken: 22,
			steer,
			steerFrom: 3,
		});
		const first = tokenTrace({ ...completion, steer: undefined }, 0);
		assert.deepEqual(first, { prompt: 'def f(x):\n', promptIds: [10, 11, 12], targetToken: 20 });
		assert.throws(() => tokenTrace(completion, 3), /has no token 4 \(it has 3\)/);
	});

	it('offers each token with its whitespace visible and the text before it', () => {
		const picks = tokenPicks(completion);
		assert.deepEqual(
			picks.map((p) => [p.label, p.description, p.index]),
			[
				['····', 'token 1 of 3 · id 20', 0],
				['return', 'token 2 of 3 · id 21', 1],
				['·x', 'token 3 of 3 · id 22', 2],
			],
		);
		assert.equal(picks[2]!.detail, '…def f(x): return');
		assert.equal(visibleToken('\t\n'), '→⏎');
		assert.equal(visibleToken(''), '(part of a character)');
		assert.equal(visibleToken('', 0), "(the prompt's last token, generated again)");
	});

	it('offers only the tokens an inline suggestion showed', () => {
		assert.deepEqual(
			shownTokens(completion.tokens, 10).map((t) => t.id),
			[20, 21],
		);
		assert.deepEqual(
			shownTokens(completion.tokens, 11).map((t) => t.id),
			[20, 21, 22],
		);
		assert.deepEqual(shownTokens(completion.tokens, 0), []);
	});

	it('pins features without an SAE to the one loaded when they ran, keeping those that name theirs', () => {
		const mixed = { ...steer, features: [...steer.features, { featureIndex: 1, mode: 'add' as const, strength: 1, sae: '/t/layer_0.safetensors' }] };
		assert.deepEqual(
			pinnedToSae(mixed, '/saes/demo').features.map((f) => f.sae),
			['/saes/demo', '/t/layer_0.safetensors'],
		);
		assert.equal(pinnedToSae(mixed, undefined), mixed);
	});
});
