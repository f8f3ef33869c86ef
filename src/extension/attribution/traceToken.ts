// Tracing a token of a completion the editor already shows (the steering sidebar's baseline or
// steered completion, a steered inline completion): which token, picked from the completion's
// tokens, and the attribution request that traces it exactly as it was generated (the prompt's
// token ids, the completion's tokens before it, the steering, the first generated position).
// Free of `vscode`, unit-tested.

import type { SteerSpec } from '../../protocol/steerProtocol';

/** A finished completion whose tokens can be traced. */
export interface TraceableCompletion {
	/** For people: "steered completion", "baseline completion", "inline completion". */
	what: string;
	/** The prompt's text. */
	prompt: string;
	/** The ids generation continued (SteeredGenerateResult.promptIds: token-healed). */
	promptIds: number[];
	/** Its tokens, each with its streamed text (they add up to the completion's text). */
	tokens: { id: number; text: string }[];
	/** The steering it was generated with; absent for an unsteered completion. */
	steer?: SteerSpec;
}

/** What AttributeRequest gets to trace token `index` of a completion. */
export interface TokenTrace {
	/** The text before the token, for people (the graph's prompt). */
	prompt: string;
	promptIds: number[];
	targetToken: number;
	steer?: SteerSpec;
	steerFrom?: number;
}

export function tokenTrace(c: TraceableCompletion, index: number): TokenTrace {
	const token = c.tokens[index];
	if (!token) throw new Error(`the ${c.what} has no token ${index + 1} (it has ${c.tokens.length})`);
	const before = c.tokens.slice(0, index);
	return {
		prompt: c.prompt + before.map((t) => t.text).join(''),
		promptIds: [...c.promptIds, ...before.map((t) => t.id)],
		targetToken: token.id,
		...(c.steer ? { steer: c.steer, steerFrom: c.promptIds.length } : {}),
	};
}

/**
 * A token's text with its whitespace made visible (a space ·, a tab →, a line break ⏎). A first
 * token with no text of its own regenerates the prompt's end (token healing).
 */
export function visibleToken(text: string, index = 1): string {
	if (text === '') return index === 0 ? "(the prompt's last token, generated again)" : '(part of a character)';
	return text.replace(/ /g, '·').replace(/\t/g, '→').replace(/\r?\n/g, '⏎');
}

export interface TokenPick {
	label: string;
	description: string;
	/** The text just before the token, so a repeated token can be told apart. */
	detail: string;
	index: number;
}

/** One pick per token, in order. */
export function tokenPicks(c: TraceableCompletion): TokenPick[] {
	let sofar = c.prompt;
	return c.tokens.map((t, index) => {
		const pick = {
			label: visibleToken(t.text, index),
			description: `token ${index + 1} of ${c.tokens.length} · id ${t.id}`,
			detail: `…${sofar.slice(-40).replace(/\s+/g, ' ')}`,
			index,
		};
		sofar += t.text;
		return pick;
	});
}

/** The tokens of a completion that an inline suggestion shows: those that start inside `shown` characters. */
export function shownTokens(tokens: readonly { id: number; text: string }[], shown: number): { id: number; text: string }[] {
	const out: { id: number; text: string }[] = [];
	let at = 0;
	for (const t of tokens) {
		if (at >= shown) break;
		out.push(t);
		at += t.text.length;
	}
	return out;
}

/** `steer` with every feature naming its SAE (`source`, the SAE loaded when it ran), so a later trace steers the same features whatever is loaded then. */
export function pinnedToSae(steer: SteerSpec, source: string | undefined): SteerSpec {
	if (source === undefined) return steer;
	return { ...steer, features: steer.features.map((f) => (f.sae === undefined ? { ...f, sae: source } : f)) };
}
