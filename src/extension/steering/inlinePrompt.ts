// What a steered inline completion sends and shows: the prompt is the text before the cursor,
// cut to what fits the model's context with room for the completion; the ghost text is the
// completion up to the end of its first line of content. Free of `vscode`, unit-tested.

/**
 * Fewest characters a token of source text is assumed to cover. The host has no tokenizer, so
 * the character budget is a lower bound: BPE vocabularies average 3–4 characters per token on
 * code, and 2 leaves room for runs of short tokens (operators, digits, unusual identifiers).
 */
export const MIN_CHARS_PER_TOKEN = 2;

export interface PromptBudget {
	/** The model's context length in tokens. */
	nCtx: number;
	/** Tokens the completion may add. */
	maxNewTokens: number;
	charsPerToken?: number;
}

/**
 * The end of `textBefore` that fits the context with `maxNewTokens` to spare, starting at a line
 * start when the cut falls inside a line (a half identifier is a poor start for a prompt), or
 * undefined when there is nothing to continue (empty or only whitespace).
 */
export function inlinePrompt(textBefore: string, budget: PromptBudget): string | undefined {
	const tokens = budget.nCtx - budget.maxNewTokens - 1;
	if (tokens < 1) return undefined;
	const maxChars = tokens * (budget.charsPerToken ?? MIN_CHARS_PER_TOKEN);
	let prompt = textBefore;
	if (prompt.length > maxChars) {
		prompt = prompt.slice(prompt.length - maxChars);
		const lineStart = prompt.indexOf('\n');
		// Keep the partial first line when the window holds a single line.
		if (lineStart >= 0 && lineStart < prompt.length - 1) prompt = prompt.slice(lineStart + 1);
	}
	return prompt.trim().length > 0 ? prompt : undefined;
}

/**
 * The ghost text for a completion: everything up to the first line break that follows some
 * non-whitespace text (so a completion that starts on the next line still shows that line),
 * without trailing whitespace; "" when the completion has no content.
 */
export function ghostText(completion: string): string {
	const firstContent = completion.search(/\S/);
	if (firstContent < 0) return '';
	const lineEnd = completion.indexOf('\n', firstContent);
	const text = lineEnd < 0 ? completion : completion.slice(0, lineEnd);
	return text.replace(/\s+$/, '');
}
