// tokenizer.json through the Hugging Face tokenizers library: ids, exact UTF-16 offsets, decoding.

import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { Tokenizer } from '../../src/engine/tokenize/tokenizer';
import { fixtureModel } from '../helpers';

const tokenizer = Tokenizer.fromFile(path.join(fixtureModel('gpt2-tiny'), 'tokenizer.json'));

describe('tokenizer offsets', () => {
	it('every token covers exactly its text, and the tokens tile the input', async () => {
		const text = 'def f(self):\n    return the_value  # done';
		const tokens = await tokenizer.encode(text);
		let cursor = 0;
		for (const t of tokens) {
			assert.equal(t.start, cursor, `token ${JSON.stringify(t.text)} starts where the previous ended`);
			assert.equal(t.text, text.slice(t.start, t.end));
			cursor = t.end;
		}
		assert.equal(cursor, text.length);
		assert.ok(
			tokens.some((t) => t.text === ' return' || t.text === ' re'),
			'merges apply',
		);
	});

	it('offsets are UTF-16 code units across astral-plane characters', async () => {
		const text = 'a😀 é the';
		const tokens = await tokenizer.encode(text);
		// The emoji is 4 bytes (4 byte-level tokens) sharing one 2-code-unit range.
		const emoji = tokens.filter((t) => t.start === 1);
		assert.equal(emoji.length, 4);
		assert.ok(emoji.every((t) => t.end === 3 && t.text === '😀'));
		const the = tokens.find((t) => t.text === ' the' || t.text === 'the');
		assert.ok(the && text.slice(the.start, the.end) === the.text, 'offsets after the emoji line up');
		assert.equal(tokens.at(-1)!.end, text.length);
	});

	it('decodes back to the original text', async () => {
		const text = 'import os\n\tx = "ünïcödé"  # 😀\n';
		const tokens = await tokenizer.encode(text);
		assert.equal(await tokenizer.decode(tokens.map((t) => t.id)), text);
	});

	it('empty text gives no tokens', async () => {
		assert.deepEqual(await tokenizer.encode(''), []);
	});

	it('a missing or corrupt tokenizer.json is a clear error', () => {
		assert.throws(() => Tokenizer.fromFile('/nonexistent/tokenizer.json'), /tokenizer\.json not found/);
		assert.throws(() => Tokenizer.fromFile(path.join(fixtureModel('gpt2-tiny'), 'config.json')), /config\.json: "model" must be an object \(got nothing\)/);
	});
});
