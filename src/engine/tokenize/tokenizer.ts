// tokenizer.json through the Hugging Face tokenizers library, with character offsets in
// UTF-16 code units (what JS strings and the VS Code editor index by).

import * as fs from 'node:fs';
import { Tokenizer as HfTokenizer } from 'tokenizers';
import { errorMessage } from '../../protocol/errors';

export interface Token {
	id: number;
	/** The exact source text this token covers (empty for special tokens). */
	text: string;
	/** UTF-16 offsets into the input string, end exclusive. */
	start: number;
	end: number;
}

export class TokenizerError extends Error {}

export class Tokenizer {
	private constructor(private readonly hf: HfTokenizer, readonly vocabSize: number) {}

	static fromFile(file: string): Tokenizer {
		if (!fs.existsSync(file)) throw new TokenizerError(`${file}: tokenizer.json not found`);
		let hf: HfTokenizer;
		try {
			hf = HfTokenizer.fromFile(file);
		} catch (err) {
			throw new TokenizerError(`${file}: cannot load tokenizer (${errorMessage(err).split('\n')[0]})`);
		}
		return new Tokenizer(hf, hf.getVocabSize(true));
	}

	/** Tokenizes without adding special tokens, so ids map one-to-one onto text spans. */
	async encode(text: string): Promise<Token[]> {
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
