// Token healing: a prompt that ends mid-token (typically a trailing space, which byte-level
// BPE merges into the next word) is backed off by its last token, and the first generated
// token is constrained to start with that token's text. Without it, "import " makes the model
// continue from a bare-space token it rarely saw in training.

import type { LanguageModel } from './languageModel';

export interface HealedPrompt {
	/** Prompt ids without the backed-off token. */
	ids: number[];
	/** Tokens allowed as the first generated one (undefined: no constraint). */
	allowedFirst?: ReadonlySet<number>;
	/** The text the ids decode to (the prompt minus the backed-off token's text). */
	text: string;
}

const vocabularies = new WeakMap<LanguageModel, Promise<string[]>>();

/** Decoded text of every token id, computed once per model. */
function vocabulary(model: LanguageModel): Promise<string[]> {
	let v = vocabularies.get(model);
	if (!v) {
		const tokenizer = model.tokenizer!;
		v = Promise.all(Array.from({ length: model.cfg.dVocab }, (_, id) => (id < tokenizer.vocabSize ? tokenizer.decode([id], true) : Promise.resolve(''))));
		vocabularies.set(model, v);
	}
	return v;
}

export async function healPrompt(model: LanguageModel, prompt: string): Promise<HealedPrompt> {
	const tokens = await model.tokenizer!.encode(prompt, model.cfg.nCtx);
	const ids = tokens.map((t) => t.id);
	const last = tokens.at(-1);
	if (!last || tokens.length < 2 || last.text.length === 0) return { ids, text: prompt };
	const words = await vocabulary(model);
	const allowed = new Set<number>();
	words.forEach((w, id) => { if (w.startsWith(last.text)) allowed.add(id); });
	if (allowed.size <= 1) return { ids, text: prompt };
	return { ids: ids.slice(0, -1), allowedFirst: allowed, text: prompt.slice(0, last.start) };
}
