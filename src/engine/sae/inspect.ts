// "Which features fire on this text": the model runs to the SAE's hook only, the SAE encodes
// each token, and the strongest features per token come back with the token's exact offsets; a
// cross-layer transcoder reads every layer's input hook and names each feature by its source
// layer. Long texts go through in windows of the model's context, so memory stays bounded.

import type { Token } from '../tokenize/tokenizer';
import type { LanguageModel } from '../models/languageModel';
import { ModelConfigError } from '../models/decoderConfig';
import type { SaeRunner } from './saeRunner';
import type { CltRunner } from './cltReplacement';
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
	return inspectTokens(model, runner, await inspectionTokens(model, text), options);
}

/** Tokenizes `text` for inspection, refusing a model without a tokenizer or an empty text. */
async function inspectionTokens(model: LanguageModel, text: string): Promise<Token[]> {
	if (!model.tokenizer) throw new ModelConfigError(`${model.dir} has no tokenizer.json, so text cannot be inspected`);
	const tokens = await model.tokenizer.encode(text);
	if (tokens.length === 0) throw new ModelConfigError('nothing to inspect: the text is empty');
	return tokens;
}

export async function inspectTextWithClt(model: LanguageModel, runner: CltRunner, text: string, options: InspectOptions): Promise<InspectedCltToken[]> {
	return inspectTokensWithClt(model, runner, await inspectionTokens(model, text), options);
}

export async function inspectTokens(model: LanguageModel, runner: SaeRunner, tokens: readonly Token[], options: InspectOptions): Promise<InspectedToken[]> {
	const bos = runner.sae.cfg.metadata.prepend_bos !== false ? model.cfg.bosTokenId : undefined;
	return inWindows(model, bos, tokens, options, async (input, skip) => {
		const out = await model.forward({ ids: [input], hooks: [runner.hookName], logits: 'none' });
		const act = out.hooks[runner.hookName]!.data as Float32Array;
		const rows = input.length - skip;
		const sae = await runner.run(act.subarray(skip * runner.sae.cfg.d_in), rows, { acts: false, topFeatures: options.topFeatures, recons: false, error: false });
		return topPerRow(sae.topValues!, sae.topIndices!, rows, Math.min(options.topFeatures, runner.sae.cfg.d_sae), (i, v) => [i, v]);
	});
}

/** A token's active cross-layer transcoder features, strongest first over every layer: [sourceLayer, featureIndex, activation]. */
export interface InspectedCltToken extends Token {
	features: [number, number, number][];
}

/**
 * Features per token of a cross-layer transcoder on the clean model: each layer's features read
 * from that layer's input hook, the strongest over all layers, each named by its source layer.
 */
export async function inspectTokensWithClt(model: LanguageModel, runner: CltRunner, tokens: readonly Token[], options: InspectOptions): Promise<InspectedCltToken[]> {
	const { nLayers: n, dModel: d, dSae: s } = runner.clt;
	return inWindows(model, model.cfg.bosTokenId, tokens, options, async (input, skip) => {
		const out = await model.forward({ ids: [input], hooks: runner.inputHooks, logits: 'none' });
		const rows = input.length - skip;
		const x = new Float32Array(n * rows * d); // [n, rows, d]
		runner.inputHooks.forEach((h, l) => x.set((out.hooks[h]!.data as Float32Array).subarray(skip * d), l * rows * d));
		const clt = await runner.run(x, rows, options.topFeatures);
		return topPerRow(clt.topValues!, clt.topIndices!, rows, Math.min(options.topFeatures, n * s), (i, v): [number, number, number] => [Math.floor(i / s), i % s, v]);
	});
}

/** Rows of TopK outputs [rows, k] as each row's positive entries, strongest first. */
function topPerRow<F>(values: Float32Array, indices: Int32Array, rows: number, k: number, entry: (index: number, value: number) => F): F[][] {
	const result: F[][] = [];
	for (let r = 0; r < rows; r++) {
		const features: F[] = [];
		for (let j = 0; j < k; j++) {
			const v = values[r * k + j]!;
			if (v > 0) features.push(entry(indices[r * k + j]!, v));
		}
		result.push(features);
	}
	return result;
}

/**
 * Runs `perWindow` over the tokens in windows of the model's context (BOS first when given), each
 * later window re-reading `contextOverlap` tokens as context; it returns each token's features
 * from position `skip` of its input on.
 */
async function inWindows<F>(
	model: LanguageModel,
	bos: number | undefined,
	tokens: readonly Token[],
	options: InspectOptions,
	perWindow: (input: number[], skip: number) => Promise<F[][]>,
): Promise<(Token & { features: F[] })[]> {
	const window = model.cfg.nCtx - (bos === undefined ? 0 : 1);
	const overlap = Math.min(options.contextOverlap ?? Math.floor(window / 4), window - 1);
	const result: (Token & { features: F[] })[] = [];
	for (let start = 0; start < tokens.length;) {
		if (options.signal?.aborted) throw new InspectCancelled();
		const context = start === 0 ? 0 : overlap;
		const end = Math.min(tokens.length, start - context + window);
		const ids = tokens.slice(start - context, end).map((t) => t.id);
		const skip = context + (bos === undefined ? 0 : 1);
		const input = bos === undefined ? ids : [bos, ...ids];
		const features = await perWindow(input, skip);
		features.forEach((f, r) => result.push({ ...tokens[start + r]!, features: f }));
		start = end;
		options.onProgress?.(start, tokens.length);
		// Let cancellation and other messages through between windows.
		await new Promise((resolve) => setImmediate(resolve));
	}
	return result;
}
