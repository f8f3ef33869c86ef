// The onnxruntime graphs of attribution (attribute.ts runs them):
//
// - the vectors graphs, run once per prompt: each active feature's decoder row scaled by its
//   activation (what it writes into the residual stream), its encoder column (what a feature
//   target injects) and its pre-activation (its input); the demeaned unembedding rows of the
//   logits attributed from, their demeaned logits, and the next-token probabilities;
// - the backward graph, run once per batch of targets: the transpose of the replacement model,
//   linear once attention patterns and norm scales are frozen at their values on the prompt.
//   Each target injects its vector at its layer and position (a feature at the input hook of its
//   layer's transcoder, a logit after the final norm); the pass runs down through the frozen
//   norms and the frozen attention (values and output projections only: the MLP is replaced by
//   features and errors, which are nodes, so only a skip transcoder's linear term lets the
//   gradient through it), and contracts the gradient at each layer's MLP output with every
//   feature's scaled decoder row and every error vector, and at the embedding with every token
//   vector. What comes out is, per target, the direct effect of every source: circuit-tracer's
//   adjacency rows (circuit_tracer/attribution.py: AttributionContext, compute_batch), in its
//   column order: features, errors by layer then position, tokens.

import { DataType } from '../onnx/onnxProto';
import { GraphBuilder, attr } from '../onnx/graphBuilder';
import type { Value } from '../onnx/graphBuilder';
import type { LanguageModel } from '../models/languageModel';
import type { FeatureSource } from './featureSource';
import { finalNorm, linearModel, normsAttentionOutput, unembedRows } from './linearBlocks';

/** What the transcoders read, relative to the residual stream between attention and MLP (hook_resid_mid). */
export type InputView = 'normalized' | 'normed' | 'resid';

/** The view of a transcoder input hook `blocks.L.<suffix>`, or undefined for one attribution cannot push gradients to. */
export function inputView(hookName: string): InputView | undefined {
	const suffix = hookName.replace(/^blocks\.\d+\./, '');
	// ln2.hook_normalized sits before the gain (TransformerLens's LayerNormPre); mlp.hook_in after gain and bias.
	return suffix === 'ln2.hook_normalized' ? 'normalized' : suffix === 'mlp.hook_in' ? 'normed' : suffix === 'hook_resid_mid' ? 'resid' : undefined;
}

// Vectors graph inputs and outputs.
/** int64 [n]: each active feature's row in the transcoders' concatenated features (layer offset + index). */
export const FEATURE_IDS = 'feature_ids';
/** [n]: each active feature's activation. */
export const FEATURE_ACTS = 'feature_acts';
/** int64 [n]: each active feature's slot, layer · seq + position. */
export const FEATURE_SLOTS = 'feature_slots';
/** [n_layers · seq, d_in]: the transcoders' inputs, by slot. */
export const TRANSCODER_INPUTS = 'transcoder_inputs';
/** int64 [k]: the token ids of the logits attributed from. */
export const LOGIT_IDS = 'logit_ids';
/** [d_vocab]: the logits at the last position. */
export const LAST_LOGITS = 'last_logits';
/** [d_model]: the final norm's normalized residual at the last position (ln_final.hook_normalized, before its gain). */
export const FINAL_NORMALIZED = 'final_normalized';
/** [n, d_model]: decoder rows × activations ([n, n_layers, d_model] for a CLT: what each feature writes to every layer). */
export const SOURCE_VECTORS = 'source_vectors';
/** [n, d_in]: encoder columns. */
export const ENCODER_VECTORS = 'encoder_vectors';
/** [n]: encoder pre-activations, the features' inputs. */
export const PRE_ACTIVATIONS = 'pre_activations';
/** [k, d_model]: unembedding rows minus their mean over the vocabulary. */
export const LOGIT_VECTORS = 'logit_vectors';
/** [k]: the logits minus their mean over the vocabulary, before any soft-capping: the logit nodes' inputs. */
export const DEMEANED_LOGITS = 'demeaned_logits';
/** [d_vocab]: next-token probabilities. */
export const PROBABILITIES = 'probabilities';

// Backward graph inputs and outputs. The per-prompt inputs cover the whole prompt; the graph
// crops them to the first SEQ_LIMIT positions, the most a batch's targets can see (attention is
// causal), and runs only the blocks below its top target layer.
/** [n_layers, seq, d_model]: hook_resid_pre of every block (their norm scales are frozen). */
export const RESID_PRE = 'resid_pre';
/** [n_layers, seq, d_model]: hook_resid_mid of every block. */
export const RESID_MID = 'resid_mid';
/** [seq, d_model]: the last block's hook_resid_post, which the final norm reads. */
export const RESID_FINAL = 'resid_final';
/** [n_layers, n_heads, seq, seq]: every block's attention pattern. */
export const PATTERNS = 'patterns';
/** [n_layers, seq, n_heads · d_head]: every block's hook_z, for families that norm the attention output (its scale is frozen). */
export const ATTN_Z = 'attn_z';
/**
 * [n_layers, seq, slot_size, d_model]: each active feature's decoder row × activation, in its
 * layer and position's slot (zero rows pad); a CLT's [n_layers (written), n_layers (the
 * feature's), seq, slot_size, d_model].
 */
export const SLOT_VECTORS = 'slot_vectors';
/** [n_layers, seq, d_model]: the error vectors (zero where there is none, e.g. BOS). */
export const ERROR_VECTORS = 'error_vectors';
/** [seq, d_model]: the token embeddings (hook_embed). */
export const TOKEN_VECTORS = 'token_vectors';
/** int64 [1]: the positions the batch's targets can see (the last target position + 1). */
export const SEQ_LIMIT = 'seq_limit';
/** int64 [batch]: each target's position. */
export const TARGET_POSITIONS = 'target_positions';
/** [batch, d_model]: each target's vector (encoder column, or demeaned unembedding row). */
export const TARGET_VECTORS = 'target_vectors';
/** [top · seq_limit, batch, slot_size] (a CLT: [seq_limit, batch, n_layers · slot_size]): per target, the direct effect of each slot's feature. */
export const FEATURE_ROWS = 'feature_rows';
/** [top, seq_limit, batch]: per target, the direct effect of each error node. */
export const ERROR_ROWS = 'error_rows';
/** [seq_limit, batch]: per target, the direct effect of each token. */
export const TOKEN_ROWS = 'token_rows';

/** The features' vectors graph (run only when some feature is active: onnxruntime's broadcasts refuse empty tensors here). */
export function buildFeatureVectorsGraph(model: LanguageModel, features: FeatureSource): Buffer {
	const { cfg } = model;
	const b = new GraphBuilder('attribution_feature_vectors');
	const F = DataType.FLOAT;
	const I = DataType.INT64;
	const d = cfg.dModel;
	// Every layer's features in one table, so one Gather serves all layers: [Σ d_sae, ·].
	const decoders = features.decoders(b); // [Σ d_sae, d_model] or [Σ d_sae, n_layers, d_model]
	const { columns, biases } = features.encoders(b); // [Σ d_sae, d_in], [Σ d_sae]
	const ids = b.input(FEATURE_IDS, I, ['n']);
	const acts = b.input(FEATURE_ACTS, F, ['n']);
	const slots = b.input(FEATURE_SLOTS, I, ['n']);
	const inputs = b.input(TRANSCODER_INPUTS, F, ['slots', d]);
	const scaled = features.crossLayer ? b.unsqueeze(acts, [1, 2]) : b.unsqueeze(acts, [1]);
	b.output(b.mul(b.gather(decoders, ids), scaled), F, features.crossLayer ? ['n', cfg.nLayers, d] : ['n', d], SOURCE_VECTORS);
	const enc = b.gather(columns, ids); // [n, d_in]
	b.output(enc, F, ['n', d], ENCODER_VECTORS);
	b.output(b.add(reduceSum(b, b.mul(enc, b.gather(inputs, slots)), -1), b.gather(biases, ids)), F, ['n'], PRE_ACTIVATIONS);
	return b.build({ graph: 'attribution_feature_vectors' });
}

/** The logits' vectors graph. */
export function buildLogitVectorsGraph(model: LanguageModel): Buffer {
	const { cfg } = model;
	const b = new GraphBuilder('attribution_logit_vectors');
	const F = DataType.FLOAT;
	const I = DataType.INT64;
	const unembed = unembedRows(b, model); // [d_vocab, d_model]
	const logitIds = b.input(LOGIT_IDS, I, ['k']);
	const logits = b.input(LAST_LOGITS, F, [cfg.dVocab]);
	const meanRow = b.op('ReduceMean', [unembed], { axes: attr.ints([0]), keepdims: attr.int(1) }); // [1, d_model]
	b.output(b.sub(b.gather(unembed, logitIds), meanRow), F, ['k', cfg.dModel], LOGIT_VECTORS);
	// Demeaned rows · the final norm's output: the logits minus their mean, uncapped (Gemma 2 caps its logits).
	const { finalGain, finalBias } = finalNorm(b, model);
	const gained = b.mul(b.input(FINAL_NORMALIZED, F, [cfg.dModel]), finalGain);
	const normed = finalBias === undefined ? gained : b.add(gained, finalBias); // [d_model]
	b.output(reduceSum(b, b.mul(b.sub(b.gather(unembed, logitIds), meanRow), normed), -1), F, ['k'], DEMEANED_LOGITS);
	b.output(b.softmax(logits, -1), F, [cfg.dVocab], PROBABILITIES);
	return b.build({ graph: 'attribution_logit_vectors' });
}

/**
 * The backward graph for a batch of targets at layer `top` (n_layers: logits), with per-layer
 * transcoders reading `view` (skip transcoders' W_skip let the gradient through their MLP);
 * `slotSize` is the most features active at one layer and position.
 *
 * Gradients are laid out position-major, [seq', batch, d], so that the frozen attention is one
 * matrix product per head over every target at once, and the contraction with the features is
 * one product per (layer, position) slot. A target's gradient starts as one row (its position):
 * the first attention step reads that row of the pattern instead of a product with zeros.
 */
export function buildBackwardGraph(model: LanguageModel, features: FeatureSource, top: number, slotSize: number): Buffer {
	const view = features.view;
	const { cfg } = model;
	const N = cfg.nLayers;
	const d = cfg.dModel;
	const H = cfg.nHeads;
	const KV = cfg.nKvHeads;
	const dh = cfg.dHead;
	const K = slotSize;
	const b = new GraphBuilder(`attribution_backward_${top}`);
	const F = DataType.FLOAT;
	const I = DataType.INT64;
	const lm = linearModel(b, model);

	const limit = b.input(SEQ_LIMIT, I, [1]);
	const zero = b.constInt64([0]);
	/** x cropped to the first seq_limit positions along `axes`. */
	const crop = (x: Value, axes: readonly number[]): Value =>
		b.op('Slice', [
			x,
			b.constInt64(axes.map(() => 0)),
			b.concat(
				axes.map(() => limit),
				0,
			),
			b.constInt64(axes),
		]);
	/** The first `top` layers (axis 0). */
	const below = (x: Value): Value => b.slice(x, zero, b.constInt64([top]), [0]);
	const residPre = crop(b.input(RESID_PRE, F, [N, 'seq', d]), [1]); // [N, seq', d]
	const residMid = crop(b.input(RESID_MID, F, [N, 'seq', d]), [1]);
	const residFinal = crop(b.input(RESID_FINAL, F, ['seq', d]), [0]); // [seq', d]
	const patterns = crop(b.input(PATTERNS, F, [N, H, 'seq', 'seq']), [2, 3]); // [N, H, seq', seq']
	const attnZ = normsAttentionOutput(cfg.modelType) ? crop(b.input(ATTN_Z, F, [N, 'seq', H * dh]), [1]) : undefined; // [N, seq', H·dh]
	const slotVectors = features.crossLayer
		? below(crop(b.input(SLOT_VECTORS, F, [N, N, 'seq', K, d]), [2])) // [top, N, seq', K, d]
		: below(crop(b.input(SLOT_VECTORS, F, [N, 'seq', K, d]), [1])); // [top, seq', K, d]
	const errors = below(crop(b.input(ERROR_VECTORS, F, [N, 'seq', d]), [1])); // [top, seq', d]
	const tokens = crop(b.input(TOKEN_VECTORS, F, ['seq', d]), [0]); // [seq', d]
	const targetPositions = b.input(TARGET_POSITIONS, I, ['batch']);
	const targetVectors = b.input(TARGET_VECTORS, F, ['batch', d]);

	// The frozen norm scales √(var + eps) (LayerNorm) or √(mean x² + eps) (RMSNorm): [.., seq', 1].
	const scale = (x: Value): Value => {
		const centred = lm.norm === 'layer' ? b.sub(x, mean(b, x)) : x;
		return b.sqrt(b.add(mean(b, b.mul(centred, centred)), b.constFloat([cfg.normEps])));
	};
	const atLayer = (x: Value, l: number): Value => b.gather(x, b.constInt64([l], []));
	/** [seq', 1, 1] scales of layer l, for gradients [seq', batch, d]. */
	const scales1 = b.unsqueeze(scale(residPre), [2]); // [N, seq', 1, 1]
	const scales2 = b.unsqueeze(scale(residMid), [2]);
	/** The transpose of a frozen norm's map from residual to output (× gain when given); sigma broadcasts against g. */
	const normBackward = (g: Value, sigma: Value, gain?: Value): Value => {
		const scaled = gain === undefined ? g : b.mul(g, gain);
		return b.div(lm.norm === 'layer' ? b.sub(scaled, mean(b, scaled)) : scaled, sigma);
	};
	const skips = Array.from({ length: N }, (_, l) => features.skip(b, l)); // [d_out, d_in]
	/** The transpose of the map from the residual stream at hook_resid_mid to the transcoder's input, with layer l's scales `sigma`. */
	const inputBackward = (g: Value, l: number, sigma: Value): Value => (view === 'resid' ? g : normBackward(g, sigma, view === 'normed' ? lm.blocks[l]!.ln2Gain() : undefined));

	// The start: each target's gradient, one row per target ([batch, d] at its position): a logit's
	// at the last block's hook_resid_post; a feature's where its transcoder's input norm reads the
	// residual stream, hook_resid_mid of the top block (or hook_resid_pre, when attention and MLP
	// run in parallel: then the top block's attention is not on the way, and the rows go straight
	// to the block below).
	// RESID_MID holds what the MLP's norm reads: hook_resid_mid, or hook_resid_pre for parallel blocks.
	const parallel = cfg.parallelAttnMlp;
	const scaleAt = (scales: Value): Value => b.reshape(b.gather(b.reshape(scales, [-1]), targetPositions), [-1, 1]); // [seq', …] → [batch, 1]
	const startLayer = top === N ? N - 1 : parallel ? top - 1 : top;
	let rowPost: Value | undefined; // at hook_resid_post (logits)
	let rowMid: Value | undefined; // at hook_resid_mid (sequential blocks)
	let rowPre: Value | undefined; // at hook_resid_pre of the top block (a feature of parallel blocks)
	if (top === N) {
		rowPost = normBackward(targetVectors, scaleAt(scale(residFinal)), lm.finalGain);
		const skip = skips[N - 1];
		rowMid = skip === undefined || parallel ? rowPost : b.add(rowPost, inputBackward(b.matMul(rowPost, skip), N - 1, scaleAt(atLayer(scales2, N - 1))));
	} else if (parallel) {
		rowPre = inputBackward(targetVectors, top, scaleAt(atLayer(scales2, top)));
	} else {
		rowMid = inputBackward(targetVectors, top, scaleAt(atLayer(scales2, top)));
	}
	const seqPositions = b.range(b.constInt64([0], []), b.op('Squeeze', [limit, zero]), b.constInt64([1], [])); // [seq']
	const atPosition = b.unsqueeze(b.cast(b.op('Equal', [b.unsqueeze(seqPositions, [1]), targetPositions]), F), [2]); // [seq', batch, 1]
	/** Rows [batch, d] placed at their targets' positions: [seq', batch, d]. */
	const spread = (r: Value): Value => b.mul(atPosition, b.unsqueeze(r, [0]));

	/** The attention's value path backward, from gv [H, key, batch·dh] (after the pattern) to the normed input [seq', batch, d]. */
	const valuesBackward = (l: number, gvHeads: Value): Value => {
		let gv = gvHeads;
		// Grouped-query attention: query head h reads key/value head ⌊h / rep⌋.
		if (H !== KV) gv = reduceSum(b, b.reshapeTo(gv, b.concat([b.constInt64([KV, H / KV]), b.shape(gv, 1)], 0)), 1); // [KV, rep, key, batch·dh] → [KV, key, batch·dh]
		gv = b.transpose(b.reshape(gv, [KV, 0, -1, dh]), [1, 2, 0, 3]); // [key, batch, KV, dh]
		return b.matMul(b.reshape(gv, [0, 0, KV * dh]), b.transpose(lm.blocks[l]!.wV, [1, 0])); // [seq', batch, d]
	};

	let g: Value | undefined = rowPre === undefined ? undefined : spread(rowPre); // at hook_resid_post of block l, then at its hook_resid_pre
	const atMlpOut: Value[] = [];
	for (let l = startLayer; l >= 0; l--) {
		b.scope(`/blocks.${l}`, () => {
			const block = lm.blocks[l]!;
			const pattern = atLayer(patterns, l); // [H, query, key]
			// Gemma's norm of the attention output, its scale frozen at z @ W_O's: [seq', 1].
			const attnOutScale = block.attnOutGain === undefined ? undefined : scale(b.matMul(atLayer(attnZ!, l), block.wO));
			let gMid: Value;
			let gv: Value; // [H, key, batch·dh]
			/** Parallel blocks: the MLP reads hook_resid_pre, so a skip term's gradient joins there. */
			let parallelSkip: Value | undefined;
			if (g === undefined) {
				// The first step: one row per target, so the pattern's row at its position.
				rowMid ??= rowPost!;
				if (rowPost !== undefined) atMlpOut[l] = spread(rowPost);
				gMid = spread(rowMid);
				if (parallel && skips[l] !== undefined) parallelSkip = inputBackward(spread(b.matMul(rowPost!, skips[l]!)), l, atLayer(scales2, l));
				const rowAttn = attnOutScale === undefined ? rowMid : normBackward(rowMid, scaleAt(attnOutScale), block.attnOutGain); // [batch, d]
				const gz = b.transpose(b.reshape(b.matMul(rowAttn, b.transpose(block.wO, [1, 0])), [-1, H, dh]), [1, 0, 2]); // [H, batch, dh]
				const patternRows = b.transpose(b.gather(pattern, targetPositions, 1), [0, 2, 1]); // [H, key, batch]: A_h[pos_b, k]
				gv = b.reshape(b.mul(b.unsqueeze(patternRows, [3]), b.unsqueeze(gz, [1])), [H, 0, -1]);
			} else {
				atMlpOut[l] = g;
				const skip = skips[l];
				// MLP out = in · W_skipᵀ + constants, the input normed from hook_resid_mid (or hook_resid_pre).
				const throughSkip = skip === undefined ? undefined : inputBackward(b.matMul(g, skip), l, atLayer(scales2, l));
				if (parallel) parallelSkip = throughSkip;
				gMid = throughSkip === undefined || parallel ? g : b.add(g, throughSkip);
				const gAttn = attnOutScale === undefined ? gMid : normBackward(gMid, b.unsqueeze(attnOutScale, [1]), block.attnOutGain); // [seq', batch, d]
				const gz = b.transpose(b.reshape(b.matMul(gAttn, b.transpose(block.wO, [1, 0])), [0, 0, H, dh]), [2, 0, 1, 3]); // [H, query, batch, dh]
				gv = b.matMul(b.transpose(pattern, [0, 2, 1]), b.reshape(gz, [H, 0, -1])); // [H, key, batch·dh]
			}
			g = b.add(gMid, normBackward(valuesBackward(l, gv), atLayer(scales1, l), block.ln1Gain));
			if (parallelSkip !== undefined) g = b.add(g, parallelSkip);
		});
	}

	// Contractions with every source below the top layer.
	if (top > 0) {
		const stacked = b.concat(
			atMlpOut.slice(0, top).map((x) => b.unsqueeze(x, [0])),
			0,
		); // [top, seq', batch, d]
		const bySlot = b.reshapeTo(stacked, b.concat([b.constInt64([-1]), b.shape(stacked, 2)], 0)); // [top·seq', batch, d]
		if (features.crossLayer) {
			// A feature's effect sums its writes to every layer below the top: per written layer,
			// one product per position over every feature, then the sum over the written layers.
			const slots = b.reshape(b.transpose(slotVectors, [0, 2, 4, 1, 3]), [-1, d, N * K]); // [top·seq', d, N·K]
			const perLayer = b.matMul(bySlot, slots); // [top·seq', batch, N·K]
			const split = b.reshapeTo(perLayer, b.concat([b.constInt64([top, -1]), b.shape(perLayer, 1)], 0)); // [top, seq', batch, N·K]
			b.output(reduceSum(b, split, 0), F, ['seq_limit', 'batch', N * K], FEATURE_ROWS);
		} else {
			const slots = b.transpose(b.reshape(slotVectors, [-1, K, d]), [0, 2, 1]); // [top·seq', d, K]
			b.output(b.matMul(bySlot, slots), F, ['slots', 'batch', K], FEATURE_ROWS);
		}
		b.output(reduceSum(b, b.mul(stacked, b.unsqueeze(errors, [2])), -1), F, [top, 'seq_limit', 'batch'], ERROR_ROWS);
	}
	b.output(reduceSum(b, b.mul(g!, b.unsqueeze(tokens, [1])), -1), F, ['seq_limit', 'batch'], TOKEN_ROWS);
	return b.build({ graph: `attribution_backward_${top}` });
}

/** Mean over the last axis, kept: [..., d] → [..., 1]. */
function mean(b: GraphBuilder, x: Value): Value {
	return b.op('ReduceMean', [x], { axes: attr.ints([-1]), keepdims: attr.int(1) });
}

function reduceSum(b: GraphBuilder, x: Value, axis: number, keepdims = false): Value {
	return b.op('ReduceSum', [x, b.constInt64([axis])], { keepdims: attr.int(keepdims ? 1 : 0) });
}
