// The onnxruntime graphs of attribution (attribute.ts runs them):
//
// - the vectors graph, run once per prompt: each active feature's decoder row scaled by its
//   activation (what it writes into the residual stream), its encoder column (what a feature
//   target injects) and its pre-activation (its input), the demeaned unembedding rows of the
//   logits attributed from and their demeaned logits, and the next-token probabilities;
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
import type { Sae } from '../sae/saeTypes';
import { saeWeights } from '../sae/saeGraph';
import { linearModel, unembedRows } from './linearBlocks';

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
/** [n, d_model]: decoder rows × activations. */
export const SOURCE_VECTORS = 'source_vectors';
/** [n, d_in]: encoder columns. */
export const ENCODER_VECTORS = 'encoder_vectors';
/** [n]: encoder pre-activations, the features' inputs. */
export const PRE_ACTIVATIONS = 'pre_activations';
/** [k, d_model]: unembedding rows minus their mean over the vocabulary. */
export const LOGIT_VECTORS = 'logit_vectors';
/** [k]: the logits minus their mean over the vocabulary, the logit nodes' inputs. */
export const DEMEANED_LOGITS = 'demeaned_logits';
/** [d_vocab]: next-token probabilities. */
export const PROBABILITIES = 'probabilities';

// Backward graph inputs and outputs.
/** [n_layers, seq, d_model]: hook_resid_pre of every block (their norm scales are frozen). */
export const RESID_PRE = 'resid_pre';
/** [n_layers, seq, d_model]: hook_resid_mid of every block. */
export const RESID_MID = 'resid_mid';
/** [seq, d_model]: the last block's hook_resid_post, which the final norm reads. */
export const RESID_FINAL = 'resid_final';
/** [n_layers, n_heads, seq, seq]: every block's attention pattern. */
export const PATTERNS = 'patterns';
/** [n_layers · seq, d_model]: the error vectors, by slot (zero where there is none, e.g. BOS). */
export const ERROR_VECTORS = 'error_vectors';
/** [seq, d_model]: the token embeddings (hook_embed). */
export const TOKEN_VECTORS = 'token_vectors';
/** int64 [batch]: each target's layer (n_layers for a logit). */
export const TARGET_LAYERS = 'target_layers';
/** int64 [batch]: each target's position. */
export const TARGET_POSITIONS = 'target_positions';
/** [batch, d_model]: each target's vector (encoder column, or demeaned unembedding row). */
export const TARGET_VECTORS = 'target_vectors';
/** [batch, n + n_layers · seq + seq]: per target, the direct effect of every source. */
export const ROWS = 'rows';

/** The vectors graph for a set of per-layer transcoders (one per layer, in layer order). */
export function buildVectorsGraph(model: LanguageModel, transcoders: readonly Sae[]): Buffer {
	const { cfg } = model;
	const b = new GraphBuilder('attribution_vectors');
	const F = DataType.FLOAT;
	const I = DataType.INT64;
	const dIn = transcoders[0]!.cfg.d_in;
	const weights = transcoders.map((sae, l) => saeWeights(b, sae, `transcoder.${l}.`));
	// Every layer's features in one table, so one Gather serves all layers: [Σ d_sae, ·].
	const decoders = b.concat(weights.map((w) => w('W_dec')), 0); // [Σ d_sae, d_model]
	const encoders = b.concat(weights.map((w) => b.transpose(w('W_enc'), [1, 0])), 0); // [Σ d_sae, d_in]
	const biases = b.concat(weights.map((w) => w('b_enc')), 0); // [Σ d_sae]
	const ids = b.input(FEATURE_IDS, I, ['n']);
	const acts = b.input(FEATURE_ACTS, F, ['n']);
	const slots = b.input(FEATURE_SLOTS, I, ['n']);
	const inputs = b.input(TRANSCODER_INPUTS, F, ['slots', dIn]);
	b.output(b.mul(b.gather(decoders, ids), b.unsqueeze(acts, [1])), F, ['n', cfg.dModel], SOURCE_VECTORS);
	const enc = b.gather(encoders, ids); // [n, d_in]
	b.output(enc, F, ['n', dIn], ENCODER_VECTORS);
	b.output(b.add(reduceSum(b, b.mul(enc, b.gather(inputs, slots)), -1), b.gather(biases, ids)), F, ['n'], PRE_ACTIVATIONS);

	const unembed = unembedRows(b, model); // [d_vocab, d_model]
	const logitIds = b.input(LOGIT_IDS, I, ['k']);
	const logits = b.input(LAST_LOGITS, F, [cfg.dVocab]);
	const meanRow = b.op('ReduceMean', [unembed], { axes: attr.ints([0]), keepdims: attr.int(1) }); // [1, d_model]
	b.output(b.sub(b.gather(unembed, logitIds), meanRow), F, ['k', cfg.dModel], LOGIT_VECTORS);
	const meanLogit = b.op('ReduceMean', [logits], { axes: attr.ints([0]), keepdims: attr.int(1) });
	b.output(b.sub(b.gather(logits, logitIds), meanLogit), F, ['k'], DEMEANED_LOGITS);
	b.output(b.softmax(logits, -1), F, [cfg.dVocab], PROBABILITIES);
	return b.build({ graph: 'attribution_vectors' });
}

/** The backward graph for `model` with per-layer transcoders reading `view` (skip transcoders' W_skip let the gradient through their MLP). */
export function buildBackwardGraph(model: LanguageModel, transcoders: readonly Sae[], view: InputView): Buffer {
	const { cfg } = model;
	const N = cfg.nLayers;
	const d = cfg.dModel;
	const H = cfg.nHeads;
	const KV = cfg.nKvHeads;
	const dh = cfg.dHead;
	const b = new GraphBuilder('attribution_backward');
	const F = DataType.FLOAT;
	const I = DataType.INT64;
	const lm = linearModel(b, model);

	const residPre = b.input(RESID_PRE, F, [N, 'seq', d]);
	const residMid = b.input(RESID_MID, F, [N, 'seq', d]);
	const residFinal = b.input(RESID_FINAL, F, ['seq', d]);
	const patterns = b.input(PATTERNS, F, [N, H, 'seq', 'seq']);
	const sources = b.input(SOURCE_VECTORS, F, ['n', d]);
	const slots = b.input(FEATURE_SLOTS, I, ['n']);
	const errors = b.input(ERROR_VECTORS, F, ['slots', d]);
	const tokens = b.input(TOKEN_VECTORS, F, ['seq', d]);
	const targetLayers = b.input(TARGET_LAYERS, I, ['batch']);
	const targetPositions = b.input(TARGET_POSITIONS, I, ['batch']);
	const targetVectors = b.input(TARGET_VECTORS, F, ['batch', d]);

	// The frozen norm scales √(var + eps) (LayerNorm) or √(mean x² + eps) (RMSNorm): [.., seq, 1].
	const scale = (x: Value): Value => {
		const centred = lm.norm === 'layer' ? b.sub(x, mean(b, x)) : x;
		return b.sqrt(b.add(mean(b, b.mul(centred, centred)), b.constFloat([cfg.normEps])));
	};
	const scales1 = scale(residPre); // [N, seq, 1]
	const scales2 = scale(residMid);
	const scaleFinal = scale(residFinal); // [seq, 1]
	const atLayer = (x: Value, l: number): Value => b.gather(x, b.constInt64([l], []));
	/** The transpose of a frozen norm's map from residual to output (× gain when given): g [batch, seq, d] → [batch, seq, d]. */
	const normBackward = (g: Value, sigma: Value, gain?: Value): Value => {
		const scaled = gain === undefined ? g : b.mul(g, gain);
		return b.div(lm.norm === 'layer' ? b.sub(scaled, mean(b, scaled)) : scaled, sigma);
	};

	// Each target's vector at its position, at the layer it belongs to: [batch, seq, d] per layer.
	const seqLength = b.gather(b.shape(residFinal), b.constInt64([0], []));
	const seqPositions = b.range(b.constInt64([0], []), seqLength, b.constInt64([1], [])); // [seq]
	const atPosition = b.cast(b.op('Equal', [b.unsqueeze(targetPositions, [1]), seqPositions]), F); // [batch, seq]
	const vectorsAt = b.unsqueeze(targetVectors, [1]); // [batch, 1, d]
	const injected = (l: number): Value => {
		const inLayer = b.cast(b.op('Equal', [targetLayers, b.constInt64([l], [])]), F); // [batch]
		return b.mul(b.unsqueeze(b.mul(atPosition, b.unsqueeze(inLayer, [1])), [2]), vectorsAt); // [batch, seq, d]
	};

	const skips = transcoders.map((sae, l) => (sae.cfg.transcoder?.skip ? saeWeights(b, sae, `transcoder.${l}.`)('W_skip') : undefined)); // [d_out, d_in]
	/** The transpose of the map from the residual stream at hook_resid_mid to the transcoder's input. */
	const inputBackward = (g: Value, l: number): Value =>
		view === 'resid' ? g : normBackward(g, atLayer(scales2, l), view === 'normed' ? lm.blocks[l]!.ln2Gain() : undefined);

	// Down from the logits: g is the gradient at hook_resid_post of layer l.
	let g = normBackward(injected(N), scaleFinal, lm.finalGain);
	const atMlpOut: Value[] = [];
	for (let l = N - 1; l >= 0; l--) {
		b.scope(`/blocks.${l}`, () => {
			atMlpOut[l] = g;
			const block = lm.blocks[l]!;
			let intoInput = injected(l);
			const skip = skips[l];
			if (skip !== undefined) intoInput = b.add(intoInput, b.matMul(g, skip)); // MLP out = in · W_skipᵀ + constants
			const gMid = b.add(g, inputBackward(intoInput, l));
			// Attention with a frozen pattern A: out[p] = Σ_h Σ_k A_h[p, k] · x1[k] W_V,h W_O,h (+ constants).
			let gz = b.matMul(gMid, b.transpose(block.wO, [1, 0])); // [batch, seq, H·dh]
			gz = b.transpose(b.reshape(gz, [0, 0, H, dh]), [0, 2, 1, 3]); // [batch, H, seq, dh]
			const patternT = b.transpose(atLayer(patterns, l), [0, 2, 1]); // [H, key, query]
			let gv = b.matMul(patternT, gz); // [batch, H, key, dh]
			// Grouped-query attention: query head h reads key/value head ⌊h / rep⌋.
			if (H !== KV) gv = reduceSum(b, b.reshape(gv, [0, KV, H / KV, -1, dh]), 2, false); // [batch, KV, key, dh]
			gv = b.reshape(b.transpose(gv, [0, 2, 1, 3]), [0, 0, KV * dh]); // [batch, seq, KV·dh]
			const gx1 = b.matMul(gv, b.transpose(block.wV, [1, 0])); // [batch, seq, d]
			g = b.add(gMid, normBackward(gx1, atLayer(scales1, l), block.ln1Gain));
		});
	}

	// Contractions with every source: [batch, n_layers · seq, d] by slot.
	const bySlot = b.reshape(b.concat(atMlpOut.map((x) => b.unsqueeze(x, [1])), 1), [0, -1, d]);
	const featureRows = reduceSum(b, b.mul(b.gather(bySlot, slots, 1), sources), -1); // [batch, n]
	const errorRows = reduceSum(b, b.mul(bySlot, errors), -1); // [batch, n_layers · seq]
	const tokenRows = reduceSum(b, b.mul(g, tokens), -1); // [batch, seq]
	b.output(b.concat([featureRows, errorRows, tokenRows], 1), F, ['batch', 'columns'], ROWS);
	return b.build({ graph: 'attribution_backward' });
}

/** Mean over the last axis, kept: [..., d] → [..., 1]. */
function mean(b: GraphBuilder, x: Value): Value {
	return b.op('ReduceMean', [x], { axes: attr.ints([-1]), keepdims: attr.int(1) });
}

function reduceSum(b: GraphBuilder, x: Value, axis: number, keepdims = false): Value {
	return b.op('ReduceSum', [x, b.constInt64([axis])], { keepdims: attr.int(keepdims ? 1 : 0) });
}
