// "Which features fire on this text": the model runs to the SAE's hook only, the SAE encodes
// each token, and the strongest features per token come back with the token's exact offsets.
// Long texts go through in windows of the model's context, so memory stays bounded.

import type { Token } from '../tokenize/tokenizer';
import type { LanguageModel } from '../models/languageModel';
import { ModelConfigError } from '../models/decoderConfig';
import type { SaeRunner } from './saeRunner';
import { Cancelled } from '../cancelled';

export interface InspectedToken extends Token {
	/** Active features, strongest first: [featureIndex, activation]. */
	features: [number, number][];
}

export interface InspectOptions {
	topFeatures: number;
	/** Tokens of preceding text each later window re-reads as context (their outputs are dropped). */
	contextOverlap?: number;
	signal?: AbortSignal;
	onProgress?: (done: number, total: number) => void;
}

export class InspectCancelled extends Cancelled {
	constructor() {
		super('inspection cancelled');
	}
}

export async function inspectText(model: LanguageModel, runner: SaeRunner, text: string, options: InspectOptions): Promise<InspectedToken[]> {
	if (!model.tokenizer) throw new ModelConfigError(`${model.dir} has no tokenizer.json, so text cannot be inspected`);
	const tokens = await model.tokenizer.encode(text);
	if (tokens.length === 0) throw new ModelConfigError('nothing to inspect: the text is empty');
	return inspectTokens(model, runner, tokens, options);
}

export async function inspectTokens(model: LanguageModel, runner: SaeRunner, tokens: readonly Token[], options: InspectOptions): Promise<InspectedToken[]> {
	const bos = runner.sae.cfg.metadata.prepend_bos !== false ? model.cfg.bosTokenId : undefined;
	const window = model.cfg.nCtx - (bos === undefined ? 0 : 1);
	const overlap = Math.min(options.contextOverlap ?? Math.floor(window / 4), window - 1);
	const result: InspectedToken[] = [];
	for (let start = 0; start < tokens.length;) {
		if (options.signal?.aborted) throw new InspectCancelled();
		const context = start === 0 ? 0 : overlap;
		const end = Math.min(tokens.length, start - context + window);
		const ids = tokens.slice(start - context, end).map((t) => t.id);
		const skip = context + (bos === undefined ? 0 : 1);
		const input = bos === undefined ? ids : [bos, ...ids];
		const out = await model.forward({ ids: [input], hooks: [runner.hookName], logits: 'none' });
		const act = out.hooks[runner.hookName]!.data as Float32Array;
		const rows = input.length - skip;
		const dIn = runner.sae.cfg.d_in;
		const sae = await runner.run(act.subarray(skip * dIn), rows, { acts: false, topFeatures: options.topFeatures, recons: false, error: false });
		const k = Math.min(options.topFeatures, runner.sae.cfg.d_sae);
		for (let r = 0; r < rows; r++) {
			const features: [number, number][] = [];
			for (let j = 0; j < k; j++) {
				const v = sae.topValues![r * k + j]!;
				if (v > 0) features.push([sae.topIndices![r * k + j]!, v]);
			}
			result.push({ ...tokens[start + r]!, features });
		}
		start = end;
		options.onProgress?.(start, tokens.length);
		// Let cancellation and other messages through between windows.
		await new Promise((resolve) => setImmediate(resolve));
	}
	return result;
}
