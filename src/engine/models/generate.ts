// Autoregressive generation with a KV cache: one prefill over the prompt, then one token per
// call, streaming each token as it is chosen.

import type { ForwardOptions, Intervention, LanguageModel } from './languageModel';
import { sampleToken, seededRandom } from './sampling';
import type { SamplingOptions } from './sampling';
import { Cancelled } from '../cancelled';

export interface GenerateOptions extends Partial<SamplingOptions> {
	maxNewTokens: number;
	seed?: number;
	/** Stop at the model's end-of-sequence token (default true). */
	stopAtEos?: boolean;
	/** Tokens the first generated one must be among (token healing). */
	allowedFirst?: ReadonlySet<number>;
	/** Additive interventions applied at every position, prompt and generated. */
	interventions?: Readonly<Record<string, Intervention>>;
	/**
	 * Inputs that differ between calls (steering only generated positions): called before each
	 * forward with `prompt` true for the prefill over the prompt and false for each generated
	 * token fed back; replaces `interventions`.
	 */
	callInputs?: (call: { prompt: boolean; seq: number }) => CallInputs;
	signal?: AbortSignal;
}

export type CallInputs = Pick<ForwardOptions, 'interventions' | 'extensions' | 'extensionInputs'>;

export interface GeneratedToken {
	id: number;
	/** 0-based index among the new tokens. */
	index: number;
}

export class GenerationCancelled extends Cancelled {
	constructor() {
		super('generation cancelled');
	}
}

export async function* generate(model: LanguageModel, promptIds: readonly number[], options: GenerateOptions): AsyncGenerator<GeneratedToken> {
	const sampling: SamplingOptions = { temperature: options.temperature ?? 0, topK: options.topK ?? 0, topP: options.topP ?? 1 };
	const random = seededRandom(options.seed ?? 0);
	const eos = new Set(options.stopAtEos === false ? [] : model.cfg.eosTokenIds);
	const budget = Math.min(options.maxNewTokens, model.cfg.nCtx - promptIds.length);
	let past = model.emptyCache(1);
	let input: readonly number[] = promptIds;
	for (let index = 0; index < budget; index++) {
		if (options.signal?.aborted) throw new GenerationCancelled();
		const extra: CallInputs = options.callInputs ? options.callInputs({ prompt: index === 0, seq: input.length }) : { interventions: options.interventions };
		const out = await model.forward({ ids: [input], past, logits: 'last', ...extra });
		past = out.present!;
		let logits = out.logits!.data as Float32Array;
		if (index === 0 && options.allowedFirst) logits = logits.map((v, id) => (options.allowedFirst!.has(id) ? v : -Infinity));
		const id = sampleToken(logits, sampling, random);
		yield { id, index };
		if (eos.has(id)) return;
		input = [id];
	}
}
