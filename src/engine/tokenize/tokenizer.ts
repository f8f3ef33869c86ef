// tokenizer.json through the Hugging Face tokenizers library, with character offsets in
// UTF-16 code units (what JS strings and the VS Code editor index by). The file is checked
// (tokenizerFile.ts) and tried in a child process (tokenizerProbe.ts) before the library loads
// it here, so a malformed one is refused instead of aborting the engine.

import * as fs from 'node:fs';
import { Tokenizer as HfTokenizer } from 'tokenizers';
import { TokenizerError, readTokenizerFile } from './tokenizerFile';
import type { TokenizerFacts } from './tokenizerFile';
import { probeTokenizer } from './tokenizerProbe';
import { errorMessage } from '../../protocol/errors';

export interface Token {
	id: number;
	/** The exact source text this token covers (empty for special tokens). */
	text: string;
	/** UTF-16 offsets into the input string, end exclusive. */
	start: number;
	end: number;
}

/** A text that has more tokens than a caller can use, found before (or without) tokenizing all of it. */
export class TextTooLongError extends Error {}

export class Tokenizer {
	private constructor(
		private readonly hf: HfTokenizer,
		readonly vocabSize: number,
		private readonly facts: TokenizerFacts,
	) {}

	static fromFile(file: string): Tokenizer {
		if (!fs.existsSync(file)) throw new TokenizerError(`${file}: tokenizer.json not found`);
		const facts = readTokenizerFile(file);
		probeTokenizer(file, facts.addedTokens);
		let hf: HfTokenizer;
		try {
			hf = HfTokenizer.fromFile(file);
		} catch (err) {
			throw new TokenizerError(`${file}: cannot load tokenizer (${errorMessage(err).split('\n')[0]})`);
		}
		// A tokenizer.json may ask to truncate or pad every encoding: the engine needs every token of the text, unpadded.
		hf.disableTruncation();
		hf.disablePadding();
		return new Tokenizer(hf, hf.getVocabSize(true), facts);
	}

	/**
	 * A lower bound on the tokens of `text` without tokenizing it: every BPE token covers at most
	 * the longest token's bytes of normalized text. 0 when the tokenizer gives no bound.
	 */
	minTokens(text: string): number {
		const longest = this.facts.maxTokenBytes;
		if (longest === undefined) return 0;
		const normalizer = this.hf.getNormalizer();
		const bytes = Math.min(Buffer.byteLength(text), normalizer ? Buffer.byteLength(normalizer.normalizeString(text)) : Infinity);
		// Halved for what the bound does not model (added tokens matched before normalization).
		return Math.floor(bytes / longest / 2);
	}

	/**
	 * Tokenizes without adding special tokens, so ids map one-to-one onto text spans. With
	 * `maxTokens`, a text that is surely longer is refused before it is tokenized (a 4.5 MB text
	 * would otherwise take seconds to tokenize only to be refused).
	 */
	async encode(text: string, maxTokens?: number): Promise<Token[]> {
		if (maxTokens !== undefined) {
			const least = this.minTokens(text);
			if (least > maxTokens) throw new TextTooLongError(`the text is at least ${least} tokens (${text.length} characters), more than the ${maxTokens} tokens the model's context holds`);
		}
		const enc = await this.hf.encode(text, null, { addSpecialTokens: false });
		const ids = enc.getIds();
		const offsets = enc.getOffsets();
		const toUtf16 = codePointToUtf16(text);
		return ids.map((id, i) => {
			const [s, e] = offsets[i] as [number, number];
			const start = toUtf16[s] ?? text.length;
			const end = toUtf16[e] ?? text.length;
			return { id, text: text.slice(start, end), start, end };
		});
	}

	async decode(ids: readonly number[], skipSpecialTokens = false): Promise<string> {
		return this.hf.decode([...ids], skipSpecialTokens);
	}

	/** The vocabulary string of a token id (byte-level symbols, not decoded text). */
	idToToken(id: number): string | undefined {
		return this.hf.idToToken(id) ?? undefined;
	}
}

/** Maps each code-point index (0..n inclusive) of `text` to its UTF-16 offset. */
function codePointToUtf16(text: string): number[] {
	const map: number[] = [];
	let u = 0;
	for (const ch of text) {
		map.push(u);
		u += ch.length;
	}
	map.push(u);
	return map;
}
