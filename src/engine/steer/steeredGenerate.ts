// Steered completions: the steered run and its unsteered baseline from the same prompt and the
// same sampling seed, streamed token by token (interleaved, so both columns fill together) and
// cancellable; and sweeps over one feature's strength. The baseline runs the ordinary graph;
// the steered run the graph with steering inputs, so the two differ only by the steering
// (a zero-strength spec reproduces the baseline bit for bit).

import { ModelConfigError } from '../models/decoderConfig';
import { GenerationCancelled, generate } from '../models/generate';
import type { GenerateOptions, GeneratedToken } from '../models/generate';
import type { LanguageModel } from '../models/languageModel';
import { tokensFor } from '../models/textInput';
import { healPrompt } from '../models/tokenHealing';
import type { SaeRunner } from '../sae/saeRunner';
import type { Completion, FeatureSteer, SamplingSettings, SteerSpec, SteeredGenerateResult } from '../../protocol/steerProtocol';
import { compileSteering } from './steering';
import type { CompiledSteering } from './steering';
import { validateSampling } from './steerSpec';

/** A text prompt (token-healed) or explicit token ids (kept as given). */
export type SteerPrompt = { text: string } | { ids: readonly number[] };

export interface SteerToken {
	which: 'baseline' | 'steered';
	sweepIndex?: number;
	id: number;
	/**
	 * The text this token adds to its completion: the pieces concatenate to `Completion.text`
	 * (a token that ends inside a multi-byte character adds '' and the next one the character).
	 */
	text: string;
}

export interface SteerRunOptions {
	signal?: AbortSignal;
	onToken?: (token: SteerToken) => void;
	/** Also keep only the k most likely tokens (the protocol's settings have no top-k; 0 = off). */
	topK?: number;
	/** The SAEs that steered features name by path (`FeatureSteer.sae`), loaded beforehand (SteeringSaes). */
	featureSaes?: ReadonlyMap<string, SaeRunner>;
}

export interface SteeredGenerateInput extends SamplingSettings {
	prompt: SteerPrompt;
	steer: SteerSpec;
	/** Also generate the unsteered baseline (default true). */
	baseline?: boolean;
}

export interface SweepInput extends SamplingSettings {
	prompt: SteerPrompt;
	feature: Omit<FeatureSteer, 'strength'>;
	strengths: readonly number[];
	steer: SteerSpec;
}

interface PreparedPrompt {
	ids: number[];
	allowedFirst?: ReadonlySet<number>;
	/** What the user's prompt decodes to; completions are the text after it. */
	text: string;
}

async function preparePrompt(model: LanguageModel, prompt: SteerPrompt): Promise<PreparedPrompt> {
	if ('text' in prompt) {
		if (!model.tokenizer) throw new ModelConfigError(`${model.dir} has no tokenizer.json; pass token ids instead of text`);
		if (prompt.text.length === 0) throw new ModelConfigError('the prompt is empty: give the model some text to continue');
		const healed = await healPrompt(model, prompt.text);
		return { ids: healed.ids, allowedFirst: healed.allowedFirst, text: prompt.text };
	}
	const tokens = await tokensFor(model, prompt);
	return { ids: tokens.map((t) => t.id), text: tokens.map((t) => t.text).join('') };
}

/** One completion being generated: its ids, its text after the prompt, and the streamed pieces. */
class CompletionStream {
	readonly ids: number[] = [];
	/** The streamed text of each token. */
	private readonly pieces: string[] = [];
	private printed = '';

	constructor(
		private readonly model: LanguageModel,
		private readonly prompt: PreparedPrompt,
		private readonly maxNewTokens: number,
		private readonly which: SteerToken['which'],
		private readonly sweepIndex: number | undefined,
		private readonly onToken: SteerRunOptions['onToken'],
	) {}

	async push(token: GeneratedToken): Promise<void> {
		this.ids.push(token.id);
		let piece = '';
		if (this.model.tokenizer) {
			const text = await this.text();
			// A character split across tokens is held back until it is whole, except after the last
			// token (the budget or EOS), so the pieces always add up to the completion's text.
			const last = this.ids.length >= this.maxNewTokens || this.model.cfg.eosTokenIds.includes(token.id);
			if ((last || !text.endsWith('\uFFFD')) && text.startsWith(this.printed)) {
				piece = text.slice(this.printed.length);
				this.printed = text;
			}
		}
		this.pieces.push(piece);
		this.onToken?.({ which: this.which, ...(this.sweepIndex !== undefined ? { sweepIndex: this.sweepIndex } : {}), id: token.id, text: piece });
	}

	async completion(): Promise<Completion> {
		const last = this.ids.at(-1);
		const stopReason: Completion['stopReason'] = last !== undefined && this.model.cfg.eosTokenIds.includes(last) ? 'eos' : this.ids.length < this.maxNewTokens ? 'context' : 'maxTokens';
		return { ids: [...this.ids], text: this.model.tokenizer ? await this.text() : '', pieces: [...this.pieces], stopReason };
	}

	/** The text after the prompt: decoded with the prompt so healed and multi-byte tokens come out whole. */
	private async text(): Promise<string> {
		const tokenizer = this.model.tokenizer!;
		const full = await tokenizer.decode([...this.prompt.ids, ...this.ids]);
		return full.startsWith(this.prompt.text) ? full.slice(this.prompt.text.length) : tokenizer.decode(this.ids);
	}
}

function generateOptions(s: SamplingSettings, prompt: PreparedPrompt, options: SteerRunOptions, steering?: CompiledSteering): GenerateOptions {
	return {
		maxNewTokens: s.maxNewTokens,
		temperature: s.temperature,
		topP: s.topP,
		topK: options.topK ?? 0,
		seed: s.seed,
		allowedFirst: prompt.allowedFirst,
		signal: options.signal,
		...(steering ? { callInputs: (call) => steering.callInputs(call) } : {}),
	};
}

/** Steps several generations in turn, one token each, until all finish. */
async function interleave(runs: { stream: CompletionStream; tokens: AsyncGenerator<GeneratedToken> }[]): Promise<void> {
	let active = runs;
	try {
		while (active.length > 0) {
			const still: typeof active = [];
			for (const run of active) {
				const next = await run.tokens.next();
				if (next.done) continue;
				await run.stream.push(next.value);
				still.push(run);
			}
			active = still;
			// Let a cancellation (or any other message) through between tokens.
			await new Promise((resolve) => setImmediate(resolve));
		}
	} finally {
		for (const run of active) await run.tokens.return(undefined);
	}
}

/**
 * The steered completion and (unless `baseline` is false) the baseline with the same seed.
 * A cancel returns what was generated so far with `cancelled: true`.
 */
export async function steeredGenerate(model: LanguageModel, runner: SaeRunner | undefined, input: SteeredGenerateInput, options: SteerRunOptions = {}): Promise<SteeredGenerateResult> {
	validateSampling(input);
	const steering = compileSteering(model, runner, input.steer, options.featureSaes);
	const prompt = await preparePrompt(model, input.prompt);
	const steered = new CompletionStream(model, prompt, input.maxNewTokens, 'steered', undefined, options.onToken);
	const runs = [{ stream: steered, tokens: generate(model, prompt.ids, generateOptions(input, prompt, options, steering)) }];
	let baseline: CompletionStream | undefined;
	if (input.baseline !== false) {
		baseline = new CompletionStream(model, prompt, input.maxNewTokens, 'baseline', undefined, options.onToken);
		runs.unshift({ stream: baseline, tokens: generate(model, prompt.ids, generateOptions(input, prompt, options)) });
	}
	let cancelled = false;
	try {
		await interleave(runs);
	} catch (err) {
		if (!(err instanceof GenerationCancelled)) throw err;
		cancelled = true;
	}
	return { promptIds: [...prompt.ids], steered: await steered.completion(), ...(baseline ? { baseline: await baseline.completion() } : {}), cancelled };
}

/** The steering of a sweep entry: `steer` with the swept feature (replacing any entry for it) at `strength`. */
export function sweepSpec(steer: SteerSpec, feature: Omit<FeatureSteer, 'strength'>, strength: number): SteerSpec {
	return { ...steer, features: [...steer.features.filter((f) => f.featureIndex !== feature.featureIndex || f.sae !== feature.sae), { ...feature, strength }] };
}

/** Completions for several strengths of one feature, each from the same seed; a cancel throws GenerationCancelled. */
export async function steerSweep(model: LanguageModel, runner: SaeRunner | undefined, input: SweepInput, options: SteerRunOptions = {}): Promise<{ strength: number; completion: Completion }[]> {
	validateSampling(input);
	if (input.strengths.length === 0) throw new ModelConfigError('a sweep needs at least one strength');
	// Compile every entry first, so a bad spec fails before any generation.
	const steerings = input.strengths.map((s) => compileSteering(model, runner, sweepSpec(input.steer, input.feature, s), options.featureSaes));
	const prompt = await preparePrompt(model, input.prompt);
	const results: { strength: number; completion: Completion }[] = [];
	for (const [i, steering] of steerings.entries()) {
		const stream = new CompletionStream(model, prompt, input.maxNewTokens, 'steered', i, options.onToken);
		await interleave([{ stream, tokens: generate(model, prompt.ids, generateOptions(input, prompt, options, steering)) }]);
		results.push({ strength: input.strengths[i]!, completion: await stream.completion() });
	}
	return results;
}
