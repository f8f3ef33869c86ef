// SAE evaluation over held-out tokens, as SAELens's evals define it: reconstruction (explained
// variance, MSE, cosine), sparsity (L0, dead and dense features, log10 density) and model
// performance with the SAE spliced in at its hook (CE-loss score, KL score). The splice is the
// additive intervention x → x + (x̂ − x) = x̂; zero-ablation is x → x − x. A transcoder is
// measured and spliced at its output hook (its MLP's output replaced by its reconstruction from
// the MLP's input, which the splice leaves unchanged); a set of them: evaluateTranscoders.ts.

import type { LanguageModel } from '../models/languageModel';
import { ModelConfigError } from '../models/decoderConfig';
import { LossTotals, TokenLoss } from '../models/tokenLoss';
import type { SaeRunner } from './saeRunner';
import { Cancelled } from '../cancelled';

export interface EvalOptions {
	/** Tokens to evaluate (BOS excluded). */
	tokens: number;
	contextSize: number;
	batchContexts: number;
	signal?: AbortSignal;
	onProgress?: (done: number, total: number) => void;
}

export interface EvalMetrics {
	tokens: number;
	l0: number;
	explained_variance: number;
	/** Mean squared error per element. */
	mse: number;
	cossim: number;
	dead_fraction: number;
	/** Features firing on more than 10% of tokens. */
	dense_fraction: number;
	mean_log10_density: number;
	ce_loss_without_sae: number;
	ce_loss_with_sae: number;
	ce_loss_with_ablation: number;
	/** (CE_ablation − CE_sae) / (CE_ablation − CE_clean). */
	ce_loss_score: number;
	kl_div_with_sae: number;
	kl_div_with_ablation: number;
	/** (KL_ablation − KL_sae) / KL_ablation. */
	kl_div_score: number;
	/** log10 density per feature, for sparsity.safetensors. */
	log10_density: Float32Array;
}

export class EvalCancelled extends Cancelled {
	constructor() {
		super('evaluation cancelled');
	}
}

export async function evaluateSae(model: LanguageModel, runner: SaeRunner, windows: AsyncIterable<number[]>, options: EvalOptions): Promise<EvalMetrics> {
	const hook = runner.hookName;
	// Where the reconstruction is measured and spliced: the hook, or a transcoder's output hook.
	const outHook = runner.outputHookName;
	const transcoder = runner.sae.cfg.transcoder !== undefined;
	const width = runner.dOut; // of what is reconstructed: d_in, or a transcoder's d_out
	const dInput = runner.sae.cfg.d_in;
	const dSae = runner.sae.cfg.d_sae;
	const losses = await TokenLoss.create();
	const fireCounts = new Float64Array(dSae);
	const sums = { rows: 0, l0: 0, sqError: 0, cosine: 0, sqNorm: 0 };
	const lossTotals = new LossTotals();
	// Explained variance needs Σ‖x − x̄‖² = Σ‖x‖² − N‖x̄‖²: keep Σx too.
	const sumX = new Float64Array(width);
	let batch: number[][] = [];
	const flush = async () => {
		if (batch.length === 0) return;
		await evaluateBatch(batch);
		batch = [];
		options.onProgress?.(Math.min(sums.rows, options.tokens), options.tokens);
	};
	const evaluateBatch = async (ids: number[][]) => {
		const B = ids.length;
		const T = ids[0]!.length;
		const clean = await model.forward({ ids, hooks: transcoder ? [hook, outHook] : [hook], logits: 'all' });
		const x = clean.hooks[outHook]!.data as Float32Array; // [B, T, d_out]: what is reconstructed
		// BOS (position 0) is neither measured nor spliced: its norm dwarfs every other token's.
		const first = model.cfg.bosTokenId === undefined ? 0 : 1;
		const rows = B * (T - first);
		const tokenRows = (v: Float32Array, w: number): Float32Array => {
			const out = new Float32Array(rows * w);
			for (let b = 0; b < B; b++) out.set(v.subarray((b * T + first) * w, (b + 1) * T * w), b * (T - first) * w);
			return out;
		};
		const xTokens = tokenRows(x, width);
		const sae = transcoder
			? await runner.run(tokenRows(clean.hooks[hook]!.data as Float32Array, dInput), rows, { acts: false, topFeatures: 0, recons: false, error: true, stats: true }, xTokens)
			: await runner.run(xTokens, rows, { acts: false, topFeatures: 0, recons: false, error: true, stats: true });
		const spliceDelta = new Float32Array(B * T * width);
		const ablateDelta = new Float32Array(B * T * width);
		for (let b = 0; b < B; b++) {
			const at = (b * T + first) * width;
			const from = b * (T - first) * width;
			const n = (T - first) * width;
			for (let i = 0; i < n; i++) {
				spliceDelta[at + i] = -sae.error![from + i]!;
				ablateDelta[at + i] = -x[at + i]!;
			}
		}
		for (let r = 0; r < rows; r++) {
			sums.l0 += sae.stats!.l0[r]!;
			sums.sqError += sae.stats!.sqError[r]!;
			sums.cosine += sae.stats!.cosine[r]!;
			sums.sqNorm += sae.stats!.sqNorm[r]!;
		}
		sums.rows += rows;
		for (let j = 0; j < dSae; j++) fireCounts[j]! += sae.stats!.fireCounts[j]!;
		for (let i = 0; i < width; i++) sumX[i]! += sae.stats!.sumX[i]!;
		const shape: [number, number, number] = [B, T, width];
		const spliced = await model.forward({ ids, logits: 'all', interventions: { [outHook]: { values: spliceDelta, dims: shape } } });
		const ablated = await model.forward({ ids, logits: 'all', interventions: { [outHook]: { values: ablateDelta, dims: shape } } });
		await lossTotals.add(losses, clean.logits!, spliced.logits!, ablated.logits!, ids);
	};
	try {
		for await (const window of windows) {
			if (options.signal?.aborted) throw new EvalCancelled();
			batch.push(window);
			if (batch.length === options.batchContexts) await flush();
			if (sums.rows >= options.tokens) break;
		}
		await flush();
	} finally {
		await losses.dispose();
	}
	if (sums.rows === 0) throw new ModelConfigError('the corpus gave no tokens to evaluate on');
	const n = sums.rows;
	let meanSq = 0;
	for (let i = 0; i < width; i++) meanSq += (sumX[i]! / n) ** 2;
	const totalVariance = sums.sqNorm - n * meanSq;
	const density = Float32Array.from(fireCounts, (count) => count / n);
	const loss = lossTotals.means();
	return {
		tokens: n,
		l0: sums.l0 / n,
		explained_variance: 1 - sums.sqError / totalVariance,
		mse: sums.sqError / (n * width),
		cossim: sums.cosine / n,
		dead_fraction: density.filter((d) => d === 0).length / dSae,
		dense_fraction: density.filter((d) => d > 0.1).length / dSae,
		mean_log10_density: density.reduce((acc, d) => acc + Math.log10(d + 1e-10), 0) / dSae,
		ce_loss_without_sae: loss.ceClean,
		ce_loss_with_sae: loss.ceReplaced,
		ce_loss_with_ablation: loss.ceAblated,
		ce_loss_score: loss.ceScore,
		kl_div_with_sae: loss.klReplaced,
		kl_div_with_ablation: loss.klAblated,
		kl_div_score: loss.klScore,
		log10_density: Float32Array.from(density, (d) => Math.log10(d + 1e-10)),
	};
}
