// Evaluation of a set of per-layer transcoders over held-out tokens: per layer, how well each
// reconstructs its MLP's output from its MLP's input in the clean model (explained variance,
// MSE, cosine, L0, dead and dense features, as SAELens defines them for SAEs, measured against
// the output hook); and the model with every MLP replaced by its transcoder at once (the
// replacement model): the CE-loss score (CE_ablated − CE_replaced) / (CE_ablated − CE_clean),
// where the ablation zeroes every MLP's output, and the KL score likewise. BOS (position 0) is
// neither measured nor replaced, as in the SAE evaluation.

import type { LanguageModel } from '../models/languageModel';
import { ModelConfigError } from '../models/decoderConfig';
import { TokenLoss } from '../models/tokenLoss';
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

export async function evaluateTranscoderSet(model: LanguageModel, runners: readonly SaeRunner[], windows: AsyncIterable<number[]>, options: EvalOptions): Promise<TranscoderSetMetrics> {
	if (runners.length === 0) throw new ModelConfigError('no transcoders to evaluate');
	for (const r of runners) if (!r.sae.cfg.transcoder) throw new ModelConfigError(`${r.sae.source} is not a transcoder`);
	const outputs = new Set(runners.map((r) => r.outputHookName));
	if (outputs.size !== runners.length) throw new ModelConfigError('two transcoders of the set write the same hook');
	const first = model.cfg.bosTokenId === undefined ? 0 : 1;
	const keepFirstPosition = first === 1;
	const replace = runners.map((r) => transcoderReplacement(r, { keepFirstPosition }));
	const ablate = runners.map((r) => zeroAblation(r.outputHookName, { keepFirstPosition }));
	const hooks = runners.flatMap((r) => [r.hookName, r.outputHookName]);
	const sums: LayerSums[] = runners.map((r) => ({ l0: 0, sqError: 0, cosine: 0, sqNorm: 0, sumY: new Float64Array(r.dOut), fireCounts: new Float64Array(r.sae.cfg.d_sae) }));
	const total = { rows: 0, nllClean: 0, nllReplaced: 0, nllAblated: 0, klReplaced: 0, klAblated: 0, predictions: 0 };
	const losses = await TokenLoss.create();

	/** Rows of a hook's [B, T, w] values, BOS left out. */
	const tokenRows = (data: Float32Array, B: number, T: number, w: number): Float32Array => {
		const out = new Float32Array(B * (T - first) * w);
		for (let b = 0; b < B; b++) out.set(data.subarray((b * T + first) * w, (b + 1) * T * w), b * (T - first) * w);
		return out;
	};
	const evaluateBatch = async (ids: number[][]) => {
		const B = ids.length;
		const T = ids[0]!.length;
		const rows = B * (T - first);
		const clean = await model.forward({ ids, hooks, logits: 'all' });
		for (const [i, r] of runners.entries()) {
			const x = tokenRows(clean.hooks[r.hookName]!.data as Float32Array, B, T, r.sae.cfg.d_in);
			const y = tokenRows(clean.hooks[r.outputHookName]!.data as Float32Array, B, T, r.dOut);
			const { stats } = await r.run(x, rows, { acts: false, topFeatures: 0, recons: false, error: false, stats: true }, y);
			const s = sums[i]!;
			for (let k = 0; k < rows; k++) {
				s.l0 += stats!.l0[k]!;
				s.sqError += stats!.sqError[k]!;
				s.cosine += stats!.cosine[k]!;
				s.sqNorm += stats!.sqNorm[k]!;
			}
			stats!.sumX.forEach((v, j) => { s.sumY[j]! += v; });
			stats!.fireCounts.forEach((v, j) => { s.fireCounts[j]! += v; });
		}
		total.rows += rows;
		const replaced = await model.forward({ ids, logits: 'all', extensions: replace });
		const ablated = await model.forward({ ids, logits: 'all', extensions: ablate });
		const c = await losses.run(clean.logits!, clean.logits!, ids);
		const s = await losses.run(replaced.logits!, clean.logits!, ids);
		const a = await losses.run(ablated.logits!, clean.logits!, ids);
		for (let i = 0; i < c.nll.length; i++) {
			total.nllClean += c.nll[i]!;
			total.nllReplaced += s.nll[i]!;
			total.nllAblated += a.nll[i]!;
			total.klReplaced += s.kl[i]!;
			total.klAblated += a.kl[i]!;
		}
		total.predictions += c.nll.length;
	};

	let batch: number[][] = [];
	try {
		for await (const window of windows) {
			if (options.signal?.aborted) throw new EvalCancelled();
			batch.push(window);
			if (batch.length === options.batchContexts) {
				await evaluateBatch(batch);
				batch = [];
				options.onProgress?.(Math.min(total.rows, options.tokens), options.tokens);
			}
			if (total.rows >= options.tokens) break;
		}
		if (batch.length > 0) await evaluateBatch(batch);
	} finally {
		await losses.dispose();
	}
	if (total.rows === 0) throw new ModelConfigError('the corpus gave no tokens to evaluate on');
	const n = total.rows;
	const layers = runners.map((r, i): TranscoderLayerMetrics => {
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
	const ce = { clean: total.nllClean / total.predictions, replaced: total.nllReplaced / total.predictions, ablated: total.nllAblated / total.predictions };
	const kl = { replaced: total.klReplaced / total.predictions, ablated: total.klAblated / total.predictions };
	return {
		tokens: n,
		ce_loss_without_transcoders: ce.clean,
		ce_loss_with_transcoders: ce.replaced,
		ce_loss_with_ablation: ce.ablated,
		ce_loss_score: (ce.ablated - ce.replaced) / (ce.ablated - ce.clean),
		kl_div_with_transcoders: kl.replaced,
		kl_div_with_ablation: kl.ablated,
		kl_div_score: (kl.ablated - kl.replaced) / kl.ablated,
		layers,
	};
}
