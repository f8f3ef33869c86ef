// Evaluation of a set of per-layer transcoders over held-out tokens: per layer, how well each
// reconstructs its MLP's output from its MLP's input in the clean model (explained variance,
// MSE, cosine, L0, dead and dense features, as SAELens defines them for SAEs, measured against
// the output hook); and the model with every MLP replaced by its transcoder at once (the
// replacement model): the CE-loss score (CE_ablated − CE_replaced) / (CE_ablated − CE_clean),
// where the ablation zeroes every MLP's output, and the KL score likewise. BOS (position 0) is
// neither measured nor replaced, as in the SAE evaluation. A cross-layer transcoder is evaluated
// the same way, each layer's output ŷ_L standing for that layer's transcoder.

import type { LanguageModel } from '../models/languageModel';
import { ModelConfigError } from '../models/decoderConfig';
import { LossTotals, TokenLoss } from '../models/tokenLoss';
import type * as ort from 'onnxruntime-node';
import type { ForwardResult } from '../models/languageModel';
import type { CltRunner } from './cltReplacement';
import type { SaeRunner } from './saeRunner';
import { transcoderReplacement, zeroAblation } from './transcoderSplice';
import { EvalCancelled } from './evaluate';
import type { EvalOptions } from './evaluate';

export interface TranscoderLayerMetrics {
	hook_name: string;
	hook_name_out: string;
	l0: number;
	/** Of the output hook (the MLP's output). */
	explained_variance: number;
	mse: number;
	cossim: number;
	dead_fraction: number;
	dense_fraction: number;
}

export interface TranscoderSetMetrics {
	tokens: number;
	ce_loss_without_transcoders: number;
	ce_loss_with_transcoders: number;
	ce_loss_with_ablation: number;
	/** With every MLP replaced at once. */
	ce_loss_score: number;
	kl_div_with_transcoders: number;
	kl_div_with_ablation: number;
	kl_div_score: number;
	layers: TranscoderLayerMetrics[];
}

interface LayerSums {
	l0: number;
	sqError: number;
	cosine: number;
	sqNorm: number;
	sumY: Float64Array;
	fireCounts: Float64Array;
}

/** One batch's per-layer statistics, summed over its rows (BOS left out). */
interface LayerStats {
	l0: number;
	sqError: number;
	cosine: number;
	sqNorm: number;
	/** Per output dimension, the sum of the output hook's values. */
	sumY: ArrayLike<number>;
	fireCounts: ArrayLike<number>;
}

/** What the set evaluation needs of a set of transcoders: its layers, their statistics in the clean model, and the logits with every MLP replaced. */
interface ReplacementSet {
	layers: readonly { hookName: string; outputHookName: string; dOut: number; dSae: number }[];
	/** Per layer, from the clean model's forward of `ids` (which read every layer's input and output hook). */
	measure(clean: ForwardResult, ids: number[][], first: number): Promise<LayerStats[]>;
	/** The logits [batch, seq, d_vocab] with every MLP replaced, BOS kept when keepFirstPosition. */
	replacedLogits(ids: number[][], keepFirstPosition: boolean): Promise<ort.Tensor>;
}

/** Rows of a hook's [B, T, w] values, the first `first` positions of each window left out. */
function tokenRows(data: Float32Array, B: number, T: number, w: number, first: number): Float32Array {
	const out = new Float32Array(B * (T - first) * w);
	for (let b = 0; b < B; b++) out.set(data.subarray((b * T + first) * w, (b + 1) * T * w), b * (T - first) * w);
	return out;
}

export async function evaluateTranscoderSet(model: LanguageModel, runners: readonly SaeRunner[], windows: AsyncIterable<number[]>, options: EvalOptions): Promise<TranscoderSetMetrics> {
	if (runners.length === 0) throw new ModelConfigError('no transcoders to evaluate');
	for (const r of runners) if (!r.sae.cfg.transcoder) throw new ModelConfigError(`${r.sae.source} is not a transcoder`);
	const outputs = new Set(runners.map((r) => r.outputHookName));
	if (outputs.size !== runners.length) throw new ModelConfigError('two transcoders of the set write the same hook');
	return evaluateReplacement(
		model,
		{
			layers: runners.map((r) => ({ hookName: r.hookName, outputHookName: r.outputHookName, dOut: r.dOut, dSae: r.sae.cfg.d_sae })),
			measure: async (clean, ids, first) => {
				const B = ids.length;
				const T = ids[0]!.length;
				const rows = B * (T - first);
				const stats: LayerStats[] = [];
				for (const r of runners) {
					const x = tokenRows(clean.hooks[r.hookName]!.data as Float32Array, B, T, r.sae.cfg.d_in, first);
					const y = tokenRows(clean.hooks[r.outputHookName]!.data as Float32Array, B, T, r.dOut, first);
					const s = (await r.run(x, rows, { acts: false, topFeatures: 0, recons: false, error: false, stats: true }, y)).stats!;
					const sum = (v: Float32Array) => v.reduce((t, u) => t + u, 0);
					stats.push({ l0: sum(s.l0), sqError: sum(s.sqError), cosine: sum(s.cosine), sqNorm: sum(s.sqNorm), sumY: s.sumX, fireCounts: s.fireCounts });
				}
				return stats;
			},
			replacedLogits: async (ids, keepFirstPosition) => (await model.forward({ ids, logits: 'all', extensions: runners.map((r) => transcoderReplacement(r, { keepFirstPosition })) })).logits!,
		},
		windows,
		options,
	);
}

/**
 * A cross-layer transcoder evaluated as a transcoder set: per layer, its output ŷ_L from the clean
 * model's input hooks against the clean MLP output, L0 of that layer's features; and the model
 * with every MLP replaced by the CLT (CltRunner.replace).
 */
export async function evaluateCrossLayerTranscoder(model: LanguageModel, runner: CltRunner, windows: AsyncIterable<number[]>, options: EvalOptions): Promise<TranscoderSetMetrics> {
	const { dModel: d, dSae: s } = runner.clt;
	return evaluateReplacement(
		model,
		{
			layers: runner.inputHooks.map((h, l) => ({ hookName: h, outputHookName: runner.outputHooks[l]!, dOut: d, dSae: s })),
			measure: async (clean, ids, first) => {
				const B = ids.length;
				const T = ids[0]!.length;
				const rows = B * (T - first);
				const n = runner.clt.nLayers;
				const x = new Float32Array(n * rows * d); // [n, rows, d]
				runner.inputHooks.forEach((h, l) => x.set(tokenRows(clean.hooks[h]!.data as Float32Array, B, T, d, first), l * rows * d));
				const out = await runner.run(x, rows);
				return runner.outputHooks.map((h, l): LayerStats => {
					const y = tokenRows(clean.hooks[h]!.data as Float32Array, B, T, d, first); // [rows, d]
					const stats = { l0: 0, sqError: 0, cosine: 0, sqNorm: 0, sumY: new Float64Array(d), fireCounts: new Float64Array(s) };
					for (let r = 0; r < rows; r++) {
						let dot = 0;
						let yy = 0;
						let rr = 0;
						for (let i = 0; i < d; i++) {
							const yv = y[r * d + i]!;
							const rv = out.recons[(l * rows + r) * d + i]!;
							stats.sqError += (yv - rv) ** 2;
							dot += yv * rv;
							yy += yv * yv;
							rr += rv * rv;
							stats.sumY[i]! += yv;
						}
						stats.sqNorm += yy;
						stats.cosine += dot / (Math.sqrt(yy) * Math.sqrt(rr) + 1e-12);
						for (let j = 0; j < s; j++) {
							if (out.acts[(l * rows + r) * s + j]! > 0) {
								stats.l0++;
								stats.fireCounts[j]! += 1;
							}
						}
					}
					return stats;
				});
			},
			replacedLogits: async (ids, keepFirstPosition) => (await runner.replace(model, ids, { keepFirstPosition, logits: 'all' })).logits!,
		},
		windows,
		options,
	);
}

async function evaluateReplacement(model: LanguageModel, set: ReplacementSet, windows: AsyncIterable<number[]>, options: EvalOptions): Promise<TranscoderSetMetrics> {
	const first = model.cfg.bosTokenId === undefined ? 0 : 1;
	const keepFirstPosition = first === 1;
	const ablate = set.layers.map((r) => zeroAblation(r.outputHookName, { keepFirstPosition }));
	const hooks = set.layers.flatMap((r) => [r.hookName, r.outputHookName]);
	const sums: LayerSums[] = set.layers.map((r) => ({ l0: 0, sqError: 0, cosine: 0, sqNorm: 0, sumY: new Float64Array(r.dOut), fireCounts: new Float64Array(r.dSae) }));
	let totalRows = 0;
	const lossTotals = new LossTotals();
	const losses = await TokenLoss.create();

	const evaluateBatch = async (ids: number[][]) => {
		const B = ids.length;
		const T = ids[0]!.length;
		const rows = B * (T - first);
		const clean = await model.forward({ ids, hooks, logits: 'all' });
		for (const [i, stats] of (await set.measure(clean, ids, first)).entries()) {
			const s = sums[i]!;
			s.l0 += stats.l0;
			s.sqError += stats.sqError;
			s.cosine += stats.cosine;
			s.sqNorm += stats.sqNorm;
			for (let j = 0; j < s.sumY.length; j++) s.sumY[j]! += stats.sumY[j]!;
			for (let j = 0; j < s.fireCounts.length; j++) s.fireCounts[j]! += stats.fireCounts[j]!;
		}
		totalRows += rows;
		const replaced = await set.replacedLogits(ids, keepFirstPosition);
		const ablated = await model.forward({ ids, logits: 'all', extensions: ablate });
		await lossTotals.add(losses, clean.logits!, replaced, ablated.logits!, ids);
	};

	let batch: number[][] = [];
	try {
		for await (const window of windows) {
			if (options.signal?.aborted) throw new EvalCancelled();
			batch.push(window);
			if (batch.length === options.batchContexts) {
				await evaluateBatch(batch);
				batch = [];
				options.onProgress?.(Math.min(totalRows, options.tokens), options.tokens);
			}
			if (totalRows >= options.tokens) break;
		}
		if (batch.length > 0) await evaluateBatch(batch);
	} finally {
		await losses.dispose();
	}
	if (totalRows === 0) throw new ModelConfigError('the corpus gave no tokens to evaluate on');
	const n = totalRows;
	const layers = set.layers.map((r, i): TranscoderLayerMetrics => {
		const s = sums[i]!;
		let meanSq = 0;
		for (const v of s.sumY) meanSq += (v / n) ** 2;
		const density = Array.from(s.fireCounts, (c) => c / n);
		return {
			hook_name: r.hookName,
			hook_name_out: r.outputHookName,
			l0: s.l0 / n,
			explained_variance: 1 - s.sqError / (s.sqNorm - n * meanSq),
			mse: s.sqError / (n * r.dOut),
			cossim: s.cosine / n,
			dead_fraction: density.filter((d) => d === 0).length / density.length,
			dense_fraction: density.filter((d) => d > 0.1).length / density.length,
		};
	});
	const loss = lossTotals.means();
	return {
		tokens: n,
		ce_loss_without_transcoders: loss.ceClean,
		ce_loss_with_transcoders: loss.ceReplaced,
		ce_loss_with_ablation: loss.ceAblated,
		ce_loss_score: loss.ceScore,
		kl_div_with_transcoders: loss.klReplaced,
		kl_div_with_ablation: loss.klAblated,
		kl_div_score: loss.klScore,
		layers,
	};
}
