// tokenizer.json checked before the tokenizers library sees it. The library trusts some fields
// to hold what it assumes and panics otherwise (a Rust panic aborts the whole process: a BPE
// `continuing_subword_prefix` longer than a merge's second token made it slice out of range),
// so those are checked here, each error naming the file and the field; what validation cannot
// rule out is caught by the probe (tokenizerProbe.ts). Also reads what the engine needs to
// bound a text's token count before tokenizing it.

import * as fs from 'node:fs';

export class TokenizerError extends Error {}

/** What the engine learns from a valid tokenizer.json besides loading it. */
export interface TokenizerFacts {
	/** The model's kind (BPE, WordPiece, WordLevel, Unigram). */
	modelType: string;
	/**
	 * UTF-8 bytes of the longest token text (vocabulary and added tokens): every token covers at
	 * most this many bytes of (normalized) text, so a text of n bytes has at least n / this many
	 * tokens. Undefined when tokens can cover unbounded text (fused unknowns, WordPiece's [UNK]).
	 */
	maxTokenBytes?: number;
	/** The strings of the added tokens (the probe feeds them to the tokenizer). */
	addedTokens: string[];
}

const MODEL_TYPES = ['BPE', 'WordPiece', 'WordLevel', 'Unigram'];
/** Token ids are u32 in the library and int32 in the model graphs. */
const MAX_ID = 2 ** 31 - 1;

/** Reads and checks `file`; throws TokenizerError naming the file and the field. */
export function readTokenizerFile(file: string): TokenizerFacts {
	let text: string;
	try {
		text = fs.readFileSync(file, 'utf8');
	} catch (e) {
		throw new TokenizerError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
	}
	let raw: unknown;
	try {
		raw = JSON.parse(text);
	} catch (e) {
		throw new TokenizerError(`${file}: not valid JSON (${(e as Error).message})`);
	}
	return checkTokenizerJson(raw, file);
}

/** Checks a parsed tokenizer.json; `file` names it in errors. */
export function checkTokenizerJson(raw: unknown, file: string): TokenizerFacts {
	const fail = (field: string, expected: string, got?: unknown): never => {
		throw new TokenizerError(`${file}: "${field}" must be ${expected} (got ${preview(got)})`);
	};
	if (!isObject(raw)) fail('(top level)', 'a JSON object', raw);
	const root = raw as Record<string, unknown>;
	for (const key of ['normalizer', 'pre_tokenizer', 'post_processor', 'decoder']) {
		const v = root[key];
		if (v !== undefined && v !== null && !(isObject(v) && typeof v.type === 'string')) fail(key, 'null or an object with a "type"', v);
	}
	const model = root.model;
	if (!isObject(model)) return fail('model', 'an object', model);
	const type = model.type;
	if (typeof type !== 'string' || !MODEL_TYPES.includes(type)) fail('model.type', `one of ${MODEL_TYPES.join(', ')}`, type);

	const added = root.added_tokens ?? [];
	if (!Array.isArray(added)) fail('added_tokens', 'a list', added);
	const addedTokens: string[] = [];
	(added as unknown[]).forEach((t, i) => {
		if (!isObject(t)) return fail(`added_tokens[${i}]`, 'an object', t);
		if (!isId(t.id)) fail(`added_tokens[${i}].id`, `an integer from 0 to ${MAX_ID}`, t.id);
		if (typeof t.content !== 'string' || t.content === '') fail(`added_tokens[${i}].content`, 'a non-empty string', t.content);
		for (const flag of ['single_word', 'lstrip', 'rstrip', 'normalized', 'special']) {
			if (t[flag] !== undefined && typeof t[flag] !== 'boolean') fail(`added_tokens[${i}].${flag}`, 'true or false', t[flag]);
		}
		addedTokens.push(t.content as string);
	});
	const longestAdded = addedTokens.reduce((m, t) => Math.max(m, Buffer.byteLength(t)), 0);

	if (type !== 'BPE') {
		// Other models are loaded as the library loads them (the probe still guards the process),
		// and their tokens can cover unbounded text.
		return { modelType: type as string, addedTokens };
	}
	const longestVocab = checkBpe(model, fail);
	const unbounded = model.fuse_unk === true && typeof model.unk_token === 'string' && !(model.byte_fallback === true);
	return { modelType: 'BPE', addedTokens, ...(unbounded ? {} : { maxTokenBytes: Math.max(longestVocab, longestAdded, 4) }) };
}

/** Checks a BPE model's fields; returns the UTF-8 bytes of its longest vocabulary entry. */
function checkBpe(model: Record<string, unknown>, fail: (field: string, expected: string, got?: unknown) => never): number {
	const vocab = model.vocab;
	if (!isObject(vocab)) return fail('model.vocab', 'an object from token to id', vocab);
	let longest = 0;
	for (const [token, id] of Object.entries(vocab)) {
		if (!isId(id)) fail(`model.vocab[${JSON.stringify(token)}]`, `an integer id from 0 to ${MAX_ID}`, id);
		longest = Math.max(longest, Buffer.byteLength(token));
	}
	for (const key of ['unk_token', 'continuing_subword_prefix', 'end_of_word_suffix']) {
		if (model[key] !== undefined && model[key] !== null && typeof model[key] !== 'string') fail(`model.${key}`, 'null or a string', model[key]);
	}
	for (const key of ['fuse_unk', 'byte_fallback', 'ignore_merges']) {
		if (model[key] !== undefined && model[key] !== null && typeof model[key] !== 'boolean') fail(`model.${key}`, 'true or false', model[key]);
	}
	const dropout = model.dropout;
	if (dropout !== undefined && dropout !== null && !(typeof dropout === 'number' && dropout >= 0 && dropout <= 1)) fail('model.dropout', 'null or a number from 0 to 1', dropout);
	const merges = model.merges ?? [];
	if (!Array.isArray(merges)) return fail('model.merges', 'a list', merges);
	const prefix = typeof model.continuing_subword_prefix === 'string' ? Buffer.from(model.continuing_subword_prefix) : undefined;
	merges.forEach((m: unknown, i) => {
		const pair = typeof m === 'string' ? m.split(' ') : m;
		if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
			fail(`model.merges[${i}]`, 'a pair of tokens ("a b" or ["a", "b"])', m);
		}
		const [a, b] = pair as [string, string];
		for (const part of [a, b]) if (!Object.hasOwn(vocab, part)) fail(`model.merges[${i}]`, 'a pair of vocabulary tokens', m);
		if (prefix) {
			// The library builds each merge's token as a + b[prefix.length..] in bytes: b must be at
			// least that long and the cut must fall between characters, or it panics.
			const bb = Buffer.from(b);
			if (bb.length < prefix.length || (bb.length > prefix.length && (bb[prefix.length]! & 0xc0) === 0x80)) {
				fail(`model.merges[${i}]`, `a pair whose second token starts with continuing_subword_prefix ${JSON.stringify(model.continuing_subword_prefix)}`, m);
			}
			const merged = a + bb.subarray(prefix.length).toString('utf8');
			if (!Object.hasOwn(vocab, merged)) fail(`model.merges[${i}]`, `a pair whose merge ${JSON.stringify(merged)} is in the vocabulary`, m);
		} else if (!Object.hasOwn(vocab, a + b)) {
			fail(`model.merges[${i}]`, `a pair whose merge ${JSON.stringify(a + b)} is in the vocabulary`, m);
		}
	});
	return longest;
}

function isId(v: unknown): boolean {
	return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_ID;
}

function isObject(v: unknown): v is Record<string, unknown> {
	return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function preview(v: unknown): string {
	if (v === undefined) return 'nothing';
	const s = JSON.stringify(v) ?? typeof v;
	return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}
