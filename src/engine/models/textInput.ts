// Turning a CLI/protocol input (text or explicit ids) into tokens with character offsets.

import type { Token } from '../tokenize/tokenizer';
import { ModelConfigError } from './decoderConfig';
import type { LanguageModel } from './languageModel';

export type ModelInput = { text: string } | { ids: readonly number[] };

/** Tokens for text (offsets into it) or for ids (offsets into their concatenated decoding). */
export async function tokensFor(model: LanguageModel, input: ModelInput): Promise<Token[]> {
	if ('text' in input) {
		if (!model.tokenizer) throw new ModelConfigError(`${model.dir} has no tokenizer.json; pass token ids instead of text`);
		// The whole text must fit in the context: one that surely does not is refused before tokenizing.
		const tokens = await model.tokenizer.encode(input.text, model.cfg.nCtx);
		if (tokens.length === 0) throw new ModelConfigError('the text is empty: nothing to run');
		return tokens;
	}
	if (input.ids.length === 0) throw new ModelConfigError('no token ids given');
	if (input.ids.length > model.cfg.nCtx) throw new ModelConfigError(`${input.ids.length} token ids are more than the model's context of ${model.cfg.nCtx}`);
	let offset = 0;
	const tokens: Token[] = [];
	for (const id of input.ids) {
		const text = model.tokenizer && id >= 0 && id < model.tokenizer.vocabSize ? await model.tokenizer.decode([id]) : '';
		tokens.push({ id, text, start: offset, end: offset + text.length });
		offset += text.length;
	}
	return tokens;
}

/** Parses "1,2,3" into ids with a clear message for anything else. */
export function parseIds(list: string): number[] {
	const parts = list.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
	const ids = parts.map(Number);
	const bad = parts.find((s, i) => !/^\d+$/.test(s) || !Number.isSafeInteger(ids[i]));
	if (bad !== undefined) throw new ModelConfigError(`--ids: "${bad}" is not a token id (expected comma-separated non-negative integers)`);
	if (ids.length === 0) throw new ModelConfigError('--ids: no token ids given');
	return ids;
}
