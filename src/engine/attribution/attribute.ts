// Attribution (circuit tracing) on one prompt: the graph of direct effects between the nodes of
// the local replacement model, as circuit-tracer's attribute() computes it
// (circuit_tracer/attribution.py, replacement_model.py setup_attribution):
//
// 1. One forward pass of the real model records what the replacement model freezes (every
//    block's residual stream before attention and before the MLP, whose norm scales are frozen;
//    the attention patterns; the final residual stream) and what its nodes are: the transcoders'
//    active features on their input hooks, the error vectors (MLP output − transcoder output, per
//    layer and position), the token embeddings (hook_embed), and the logits at the last position
//    with the highest probabilities (up to a cumulative 0.95, at most 10, circuit-tracer's
//    compute_salient_logits), plus a target token when one is asked for. With a BOS token first,
//    its features and error are zeroed (circuit-tracer's zero_bos): its MLP outputs become constants.
// 2. The vectors graph: each feature's scaled decoder row, encoder column and pre-activation;
//    each logit's demeaned unembedding row and demeaned logit.
// 3. The backward graph, in batches of targets (logits first, then every active feature): one
//    row of direct effects per target. The row of a feature is the contribution of each source to
//    its encoder pre-activation (edge weight = source activation × its decoder row pushed to the
//    target's encoder through the frozen linear model; errors and tokens with their vectors); a
//    logit's row, to its demeaned logit. What the rows leave out of a node's input is its bias
//    term: every constant of the replacement model (attention and norm biases, transcoders' b_dec
//    and b_enc, position embeddings, the zeroed BOS MLP outputs).
//
// Node order is circuit-tracer's: features (by layer, position, index), error nodes (by layer,
// then position), tokens, logits; a row's columns are the first three, in the same order.

import * as ort from 'onnxruntime-node';
import { Cancelled } from '../cancelled';
import { ModelConfigError } from '../models/decoderConfig';
import type { LanguageModel } from '../models/languageModel';
import { topIndices } from '../models/sampling';
import { createSession } from '../onnx/session';
import type { SessionSettings } from '../onnx/session';
import type { Token } from '../tokenize/tokenizer';
import { canonicalNodeId } from './attributionGraph';
import type { AttributionGraph, GraphEdges, GraphNode, UnnamedGraphNode } from './attributionGraph';
import * as G from './attributionGraphs';
import { featureSource } from './featureSource';
import { influence, normalizedWeights } from './influence';
import { normsAttentionOutput } from './linearBlocks';
import type { AttributionFeatures, EncodedPrompt, FeatureSource } from './featureSource';
import type { CallInputs } from '../models/generate';

export class AttributionCancelled extends Cancelled {
	constructor() {
		super('attribution cancelled');
	}
}

export interface AttributeOptions {
	settings: SessionSettings;
	/** At most this many logits (circuit-tracer's max_n_logits, 10). */
	maxLogits?: number;
	/** Logits until their cumulative probability reaches this (desired_logit_prob, DESIRED_LOGIT_PROBABILITY). */
	logitProbability?: number;
	/** A token id whose logit is attributed from whatever its probability. */
	targetToken?: number;
	/** Targets per backward pass. */
	batchSize?: number;
	/**
	 * At most this many features, the most influential on the logits (circuit-tracer's
	 * max_feature_nodes: chosen by their influence through the rows computed so far, in rounds
	 * of 4 batches); the others leave the graph. Default: every active feature.
	 */
	maxFeatureNodes?: number;
	/** Where the features come from (folders or references), stored in the graph. */
	featureSources?: string[];
	/** The steering a traced completion was generated with: the forward pass the replacement model freezes runs steered. */
	steering?: AttributionSteering;
	onProgress?: (done: number, total: number) => void;
	signal?: AbortSignal;
}

export interface Attribution {
	graph: AttributionGraph;
	/**
	 * Per node, its input in the replacement model: a feature's encoder pre-activation, a logit's
	 * demeaned logit; NaN for errors and tokens, which have no input. Each target's incoming edges
	 * plus its bias term add up to it.
	 */
	nodeInputs: Float64Array;
	/** The frozen values and vectors, for checks against a model run outside (tests). */
	frozen: FrozenPrompt;
}

/**
 * A steered completion's token traced under its steering. The forward pass runs steered, so the
 * frozen attention patterns, norm scales and every feature's activation are the steered model's.
 * A clamped or added feature of the set's own transcoders is a node at its steered activation
 * (its error unchanged: the steering's write is that feature's decoder row); any other steering
 * (residual SAEs, vectors, caps) is a constant of the linear model, in its nodes' bias terms, or
 * at hook_mlp_out in that layer's error nodes.
 */
export interface AttributionSteering {
	/** The forward pass's steering inputs (CompiledSteering.callInputsAt over the traced tokens). */
	callInputs: CallInputs;
	/** Per position, whether it is steered ([seq]). */
	steered: readonly boolean[];
	/** The steered features: `file` is their SAE's (matched against the set's transcoders). */
	features: readonly { file: string; featureIndex: number; mode: 'add' | 'clamp' | 'cap'; strength: number }[];
	/** For people, stored in the graph: what the steering was. */
	description: string;
}

/** What the forward pass recorded, row-major as the backward graph reads it. */
export interface FrozenPrompt {
	ids: number[];
	/** Whether position 0 is BOS, whose features and errors are zeroed. */
	zeroFirst: boolean;
	/** [n_layers, seq, d_model] each: hook_resid_pre, and what the MLP's norm reads (hook_resid_mid; hook_resid_pre for parallel blocks). */
	residPre: Float32Array;
	residMid: Float32Array;
	/** [seq, d_model]. */
	residFinal: Float32Array;
	/** [n_layers, n_heads, seq, seq]. */
	patterns: Float32Array;
	/** [n_layers · seq, d_model], zero at BOS. */
	errors: Float32Array;
	/** [seq, d_model] (hook_embed). */
	tokens: Float32Array;
	/** [n_layers · seq, d_in]: the transcoders' inputs. */
	transcoderInputs: Float32Array;
	/** [n_layers, seq, n_heads · d_head]: hook_z, for families that norm the attention output. */
	attnZ?: Float32Array;
}

/** circuit-tracer's desired_logit_prob. */
export const DESIRED_LOGIT_PROBABILITY = 0.95;
/** Batches per round of influence ranking under maxFeatureNodes (circuit-tracer's update_interval). */
const UPDATE_INTERVAL = 4;
/** Targets per backward pass, by default (fewer when their gradients would pass BATCH_MEMORY). */
export const DEFAULT_BATCH = 256;
const BATCH_MEMORY = 512 * 2 ** 20;

/**
 * Targets per backward pass on a prompt of `seq` tokens: the gradients a batch keeps,
 * [n_layers, seq, batch, d_model] float32, stay within BATCH_MEMORY (a 26-layer, 2304-wide model
 * at 64 tokens: 15 MB per target, 34 targets).
 */
export function defaultBatchSize(model: LanguageModel, seq: number): number {
	const { nLayers, dModel } = model.cfg;
	return Math.max(1, Math.min(DEFAULT_BATCH, Math.floor(BATCH_MEMORY / (4 * nLayers * seq * dModel))));
}

/** The attribution graph of the prompt's next token with `transcoders` (one per layer, or a cross-layer transcoder). */
export async function attribute(model: LanguageModel, transcoders: AttributionFeatures, prompt: string, tokens: readonly Token[], options: AttributeOptions): Promise<Attribution> {
	const { cfg } = model;
	const T = tokens.length;
	const checkCancelled = () => {
		if (options.signal?.aborted) throw new AttributionCancelled();
	};
	if (T === 0) throw new ModelConfigError('the prompt has no tokens');
	if (options.targetToken !== undefined && !(Number.isInteger(options.targetToken) && options.targetToken >= 0 && options.targetToken < cfg.dVocab)) {
		throw new ModelConfigError(`target token ${options.targetToken} is not in the vocabulary (0 … ${cfg.dVocab - 1})`);
	}

	// 1. The forward pass.
	const features = featureSource(model, transcoders, options.settings);
	try {
		return await attributeWith(model, features, prompt, tokens, options, checkCancelled);
	} finally {
		await features.dispose();
	}
}

async function attributeWith(model: LanguageModel, features: FeatureSource, prompt: string, tokens: readonly Token[], options: AttributeOptions, checkCancelled: () => void): Promise<Attribution> {
	const { cfg } = model;
	const N = cfg.nLayers;
	const d = cfg.dModel;
	const T = tokens.length;
	const ids = tokens.map((t) => t.id);
	const hooks = ['hook_embed', `blocks.${N - 1}.hook_resid_post`, 'ln_final.hook_normalized'];
	const zs = normsAttentionOutput(cfg.modelType);
	if (zs) for (let l = 0; l < N; l++) hooks.push(`blocks.${l}.attn.hook_z`);
	// What the MLP's norm reads: hook_resid_mid, or hook_resid_pre where attention and MLP run in parallel (Pythia).
	const mlpResid = (l: number) => (cfg.parallelAttnMlp ? `blocks.${l}.hook_resid_pre` : `blocks.${l}.hook_resid_mid`);
	for (let l = 0; l < N; l++) hooks.push(`blocks.${l}.hook_resid_pre`, mlpResid(l), `blocks.${l}.attn.hook_pattern`, features.inputHooks[l]!, `blocks.${l}.hook_mlp_out`);
	const steering = options.steering;
	if (steering && steering.steered.length !== T) throw new Error(`internal: steering mask of ${steering.steered.length} positions for ${T} tokens`);
	const run = await model.forward({ ids: [ids], hooks: [...new Set(hooks)], logits: 'last', ...steering?.callInputs });
	checkCancelled();
	const hook = (name: string) => run.hooks[name]!.data as Float32Array;
	const stack = (name: (l: number) => string, size: number) => {
		const out = new Float32Array(N * size);
		for (let l = 0; l < N; l++) out.set(hook(name(l)), l * size);
		return out;
	};
	const zeroFirst = cfg.bosTokenId !== undefined && ids[0] === cfg.bosTokenId;
	const frozen: FrozenPrompt = {
		ids,
		zeroFirst,
		residPre: stack((l) => `blocks.${l}.hook_resid_pre`, T * d),
		residMid: stack(mlpResid, T * d),
		residFinal: hook(`blocks.${N - 1}.hook_resid_post`),
		patterns: stack((l) => `blocks.${l}.attn.hook_pattern`, cfg.nHeads * T * T),
		errors: new Float32Array(N * T * d),
		tokens: hook('hook_embed'),
		transcoderInputs: stack((l) => features.inputHooks[l]!, T * d),
		...(zs ? { attnZ: stack((l) => `blocks.${l}.attn.hook_z`, T * cfg.nHeads * cfg.dHead) } : {}),
	};
	const encoded = await features.encode(
		frozen.transcoderInputs,
		stack((l) => `blocks.${l}.hook_mlp_out`, T * d),
		T,
	);
	frozen.errors = encoded.errors;
	const steeredLabels = steering ? steerSetFeatures(features, steering, encoded, T, d) : new Map<string, string>();
	if (zeroFirst) for (let l = 0; l < N; l++) frozen.errors.fill(0, l * T * d, l * T * d + d);
	checkCancelled();

	// Active features, in circuit-tracer's order (layer, position, index).
	const featureIds: number[] = [];
	const featureActs: number[] = [];
	const featureSlots: number[] = [];
	const unnamed: UnnamedGraphNode[] = [];
	let offset = 0;
	for (let l = 0; l < N; l++) {
		const dSae = features.dSae[l]!;
		const acts = encoded.acts[l]!;
		for (let p = zeroFirst ? 1 : 0; p < T; p++) {
			for (let f = 0; f < dSae; f++) {
				const a = acts[p * dSae + f]!;
				if (a === 0) continue;
				featureIds.push(offset + f);
				featureActs.push(a);
				featureSlots.push(l * T + p);
				const label = steeredLabels.get(`${l}/${p}/${f}`);
				unnamed.push({ kind: 'feature', layer: l, feature: f, position: p, activation: a, ...(label ? { label } : {}) });
			}
		}
		offset += dSae;
	}
	const n = featureIds.length;
	for (let l = 0; l < N; l++) for (let p = 0; p < T; p++) unnamed.push({ kind: 'error', layer: l, position: p });
	tokens.forEach((t, p) => unnamed.push({ kind: 'embedding', token: t.text, tokenId: t.id, position: p }));

	// 2. The vectors graphs; the candidate logits are the most probable ones (and the target).
	const lastLogits = run.logits!.data as Float32Array;
	const maxLogits = Math.min(options.maxLogits ?? 10, cfg.dVocab);
	const candidates = topIndices(lastLogits, maxLogits); // most probable first
	const target = options.targetToken;
	if (target !== undefined && !candidates.includes(target)) candidates.push(target);
	const int64 = (xs: readonly number[]) =>
		new ort.Tensor(
			'int64',
			BigInt64Array.from(xs, (x) => BigInt(x)),
			[xs.length],
		);
	const vectors = await runOnce(G.buildLogitVectorsGraph(model), options.settings, {
		[G.LOGIT_IDS]: int64(candidates),
		[G.LAST_LOGITS]: new ort.Tensor('float32', lastLogits, [cfg.dVocab]),
		[G.FINAL_NORMALIZED]: new ort.Tensor('float32', hook('ln_final.hook_normalized').subarray((T - 1) * d, T * d), [d]),
	});
	const featureVectors =
		n === 0
			? undefined
			: await runOnce(G.buildFeatureVectorsGraph(model, features), options.settings, {
					[G.FEATURE_IDS]: int64(featureIds),
					[G.FEATURE_ACTS]: new ort.Tensor('float32', Float32Array.from(featureActs), [n]),
					[G.FEATURE_SLOTS]: int64(featureSlots),
					[G.TRANSCODER_INPUTS]: new ort.Tensor('float32', frozen.transcoderInputs, [N * T, d]),
				});
	const featureOutput = (name: string) => (featureVectors ? (featureVectors[name]!.data as Float32Array) : new Float32Array(0));
	const probabilities = vectors[G.PROBABILITIES]!.data as Float32Array;
	// compute_salient_logits: the most probable, until their cumulative probability reaches the threshold.
	const kept: number[] = [];
	let cumulative = 0;
	for (let i = 0; i < maxLogits; i++) {
		kept.push(i);
		cumulative += probabilities[candidates[i]!]!;
		if (cumulative >= (options.logitProbability ?? DESIRED_LOGIT_PROBABILITY)) break;
	}
	const targetIndex = target === undefined ? -1 : candidates.indexOf(target);
	if (targetIndex >= 0 && !kept.includes(targetIndex)) kept.push(targetIndex);
	const logitVectorsAll = vectors[G.LOGIT_VECTORS]!.data as Float32Array;
	const demeanedAll = vectors[G.DEMEANED_LOGITS]!.data as Float32Array;
	for (const i of kept) {
		const id = candidates[i]!;
		const text = model.tokenizer && id < model.tokenizer.vocabSize ? await model.tokenizer.decode([id]) : String(id);
		unnamed.push({ kind: 'logit', token: text, tokenId: id, position: T - 1, probability: probabilities[id]! });
	}
	const nodes: GraphNode[] = unnamed.map((u) => ({ ...u, id: canonicalNodeId(u, N) }));
	const columns = n + N * T + T;
	const nodeInputs = new Float64Array(nodes.length).fill(NaN);
	const preActivations = featureOutput(G.PRE_ACTIVATIONS);
	for (let i = 0; i < n; i++) nodeInputs[i] = preActivations[i]!;
	kept.forEach((i, j) => {
		nodeInputs[columns + j] = demeanedAll[i]!;
	});

	// 3. The backward passes: logits first, then features by layer and position, so that a batch
	// holds one layer's targets at neighbouring positions (its graph runs the blocks up to that
	// layer, on the positions up to the last target's).
	const encoders = featureOutput(G.ENCODER_VECTORS);
	const sourceVectors = featureOutput(G.SOURCE_VECTORS);
	// Each feature's slot: its layer and position, and its rank there; the node in every slot.
	const perSlot = new Int32Array(N * T);
	const slotOf = featureSlots.map((slot) => perSlot[slot]!++);
	const K = Math.max(1, ...perSlot);
	const slotNodes = new Int32Array(N * T * K).fill(-1);
	featureSlots.forEach((slot, i) => {
		slotNodes[slot * K + slotOf[i]!] = i;
	});
	// Per layer [n_layers, seq, K, d]; a CLT's [n_layers written, n_layers, seq, K, d], from each feature's [n_layers written, d].
	const written = features.crossLayer ? N : 1;
	const slotVectors = new Float32Array(written * N * T * K * d);
	featureSlots.forEach((slot, i) => {
		for (let w = 0; w < written; w++) {
			const from = (i * written + w) * d;
			slotVectors.set(sourceVectors.subarray(from, from + d), ((w * N * T + slot) * K + slotOf[i]!) * d);
		}
	});
	interface Target {
		node: number;
		layer: number;
		position: number;
		vector: Float32Array;
	}
	const targets: Target[] = [];
	kept.forEach((i, j) => targets.push({ node: columns + j, layer: N, position: T - 1, vector: logitVectorsAll.subarray(i * d, (i + 1) * d) }));
	for (let i = 0; i < n; i++) {
		const slot = featureSlots[i]!;
		targets.push({ node: i, layer: Math.floor(slot / T), position: slot % T, vector: encoders.subarray(i * d, (i + 1) * d) });
	}
	const batchSize = options.batchSize ?? defaultBatchSize(model, T);
	/** Targets in batches of one top layer each, in the order given (features come in (layer, position) order). */
	const toBatches = (ts: readonly Target[]): Target[][] => {
		const batches: Target[][] = [];
		for (const t of ts) {
			const last = batches[batches.length - 1];
			if (last && last.length < batchSize && last[0]!.layer === t.layer) last.push(t);
			else batches.push([t]);
		}
		return batches;
	};
	const maxFeatures = Math.min(options.maxFeatureNodes ?? n, n);
	/** The features attributed (all of them unless maxFeatureNodes is fewer). */
	const visited = new Uint8Array(n).fill(maxFeatures === n ? 1 : 0);
	const totalTargets = kept.length + maxFeatures;
	// One backward session at a time: batches come grouped by top layer (logits, then layer 0, 1,
	// …), and each session holds its own float32 copy of the blocks it runs.
	let current: { top: number; session: ort.InferenceSession } | undefined;
	const sessionFor = async (top: number): Promise<ort.InferenceSession> => {
		if (current?.top === top) return current.session;
		await current?.session.release();
		current = undefined;
		const { session } = await createSession(G.buildBackwardGraph(model, features, top, K), options.settings, () => {});
		current = { top, session };
		return session;
	};
	const edges = new EdgeBuffer();
	try {
		const fixed: Record<string, ort.Tensor> = {
			[G.RESID_PRE]: new ort.Tensor('float32', frozen.residPre, [N, T, d]),
			[G.RESID_MID]: new ort.Tensor('float32', frozen.residMid, [N, T, d]),
			[G.RESID_FINAL]: new ort.Tensor('float32', frozen.residFinal, [T, d]),
			[G.PATTERNS]: new ort.Tensor('float32', frozen.patterns, [N, cfg.nHeads, T, T]),
			[G.SLOT_VECTORS]: new ort.Tensor('float32', slotVectors, features.crossLayer ? [N, N, T, K, d] : [N, T, K, d]),
			[G.ERROR_VECTORS]: new ort.Tensor('float32', frozen.errors, [N, T, d]),
			[G.TOKEN_VECTORS]: new ort.Tensor('float32', frozen.tokens, [T, d]),
			...(frozen.attnZ ? { [G.ATTN_Z]: new ort.Tensor('float32', frozen.attnZ, [N, T, cfg.nHeads * cfg.dHead]) } : {}),
		};
		let done = 0;
		const runBatch = async (batch: readonly Target[]): Promise<void> => {
			checkCancelled();
			const top = batch[0]!.layer;
			const B = batch.length;
			const seen = Math.max(...batch.map((t) => t.position)) + 1;
			const vectorsIn = new Float32Array(B * d);
			batch.forEach((t, i) => vectorsIn.set(t.vector, i * d));
			const session = await sessionFor(top);
			const out = await session.run({
				...fixed,
				[G.SEQ_LIMIT]: int64([seen]),
				[G.TARGET_POSITIONS]: int64(batch.map((t) => t.position)),
				[G.TARGET_VECTORS]: new ort.Tensor('float32', vectorsIn, [B, d]),
			});
			// Feature rows [top, seen, B, K] (a CLT: [seen, B, N, K]), error rows [top, seen, B], token rows [seen, B].
			const featureRows = top > 0 ? (out[G.FEATURE_ROWS]!.data as Float32Array) : new Float32Array(0);
			const errorRows = top > 0 ? (out[G.ERROR_ROWS]!.data as Float32Array) : new Float32Array(0);
			const tokenRows = out[G.TOKEN_ROWS]!.data as Float32Array;
			const layers = Math.min(top, N);
			for (let l = 0; l < layers; l++) {
				for (let p = 0; p < seen; p++) {
					const nodeAt = (l * T + p) * K;
					for (let i = 0; i < B; i++) {
						const target = batch[i]!.node;
						const rowAt = features.crossLayer ? ((p * B + i) * N + l) * K : ((l * seen + p) * B + i) * K;
						for (let k = 0; k < K; k++) {
							const source = slotNodes[nodeAt + k]!;
							if (source < 0) break; // slots fill from the first
							const w = featureRows[rowAt + k]!;
							if (w !== 0) edges.push(source, target, w);
						}
						const we = errorRows[(l * seen + p) * B + i]!;
						if (we !== 0) edges.push(n + l * T + p, target, we);
					}
				}
			}
			for (let p = 0; p < seen; p++) {
				for (let i = 0; i < B; i++) {
					const wt = tokenRows[p * B + i]!;
					if (wt !== 0) edges.push(n + N * T + p, batch[i]!.node, wt);
				}
			}
			done += B;
			options.onProgress?.(done, totalTargets);
		};
		for (const batch of toBatches(targets.slice(0, kept.length))) await runBatch(batch);
		if (maxFeatures === n) {
			for (const batch of toBatches(targets.slice(kept.length))) await runBatch(batch);
		} else {
			// circuit-tracer's max_feature_nodes: rank the features by their influence on the logits
			// through the rows computed so far, attribute the most influential unvisited ones, repeat.
			const weights = new Float64Array(nodes.length);
			kept.forEach((i, j) => {
				weights[columns + j] = probabilities[candidates[i]!]!;
			});
			let nVisited = 0;
			while (nVisited < maxFeatures) {
				const sofar = edges.view();
				const influences = influence(nodes.length, sofar, normalizedWeights(nodes.length, sofar), weights);
				const ranked = Array.from({ length: n }, (_, i) => i)
					.filter((i) => !visited[i])
					.sort((x, y) => influences[y]! - influences[x]! || x - y);
				const queue = ranked.slice(0, Math.min(UPDATE_INTERVAL * batchSize, maxFeatures - nVisited)).sort((x, y) => x - y);
				for (const i of queue) visited[i] = 1;
				nVisited += queue.length;
				for (const batch of toBatches(queue.map((i) => targets[kept.length + i]!))) await runBatch(batch);
			}
		}
	} finally {
		await current?.session.release();
	}

	// Features left unvisited leave the graph with their edges (circuit-tracer's selected_features).
	const keep = (i: number) => i >= n || visited[i] === 1;
	const index = new Int32Array(nodes.length).fill(-1);
	let next = 0;
	nodes.forEach((_, i) => {
		if (keep(i)) index[i] = next++;
	});
	const graph: AttributionGraph = {
		prompt,
		promptTokens: tokens.map((t) => t.text),
		nLayers: N,
		nodes: nodes.filter((_, i) => keep(i)),
		edges: maxFeatures === n ? edges.finish() : edges.finish((s, t) => (keep(s) && keep(t) ? [index[s]!, index[t]!] : undefined)),
		featureSources: options.featureSources ?? [],
		...(target !== undefined ? { targetToken: target } : {}),
		...(steering ? { steering: steering.description } : {}),
	};
	return { graph, nodeInputs: maxFeatures === n ? nodeInputs : nodeInputs.filter((_, i) => keep(i)), frozen };
}

/**
 * Steered features of the set's own transcoders take their steered activation at the steered
 * positions (clamp: the value; add: activation + strength), and their layer's error gives back
 * what the steering wrote through that feature's decoder row, so the error is the unsteered one
 * and the feature node carries the steering. Returns a label per changed node ("layer/pos/index").
 */
function steerSetFeatures(features: FeatureSource, steering: AttributionSteering, encoded: EncodedPrompt, T: number, d: number): Map<string, string> {
	const labels = new Map<string, string>();
	for (const f of steering.features) {
		if (f.mode === 'cap') continue; // a projection cap is no activation of the feature: a constant
		const l = features.layerOfFile(f.file);
		if (l === undefined) continue;
		const dSae = features.dSae[l]!;
		const acts = encoded.acts[l]!;
		const row = features.decoderRow(l, f.featureIndex);
		for (let p = 0; p < T; p++) {
			if (!steering.steered[p]) continue;
			const before = acts[p * dSae + f.featureIndex]!;
			const after = f.mode === 'clamp' ? f.strength : before + f.strength;
			acts[p * dSae + f.featureIndex] = after;
			const at = (l * T + p) * d;
			for (let j = 0; j < d; j++) encoded.errors[at + j]! -= (after - before) * row[j]!;
			labels.set(`${l}/${p}/${f.featureIndex}`, f.mode === 'clamp' ? `steered: clamped to ${f.strength}` : `steered: ${before.toPrecision(4)} + ${f.strength}`);
		}
	}
	return labels;
}

/** Edges appended one at a time into typed arrays that double as they fill. */
class EdgeBuffer {
	private source = new Int32Array(1 << 16);
	private target = new Int32Array(1 << 16);
	private weight = new Float64Array(1 << 16);
	private length = 0;

	push(source: number, target: number, weight: number): void {
		if (this.length === this.source.length) {
			const grow = <A extends Int32Array | Float64Array>(a: A, make: (n: number) => A): A => {
				const bigger = make(a.length * 2);
				bigger.set(a);
				return bigger;
			};
			this.source = grow(this.source, (k) => new Int32Array(k));
			this.target = grow(this.target, (k) => new Int32Array(k));
			this.weight = grow(this.weight, (k) => new Float64Array(k));
		}
		this.source[this.length] = source;
		this.target[this.length] = target;
		this.weight[this.length++] = weight;
	}

	/** The edges so far, as views (valid until the next push). */
	view(): GraphEdges {
		const m = this.length;
		return { source: this.source.subarray(0, m), target: this.target.subarray(0, m), weight: this.weight.subarray(0, m) };
	}

	/** The edges, trimmed; `remap` renumbers an edge's nodes or drops it (undefined). */
	finish(remap?: (source: number, target: number) => [number, number] | undefined): GraphEdges {
		if (!remap) {
			const m = this.length;
			return { source: this.source.slice(0, m), target: this.target.slice(0, m), weight: this.weight.slice(0, m) };
		}
		const out = new EdgeBuffer();
		for (let i = 0; i < this.length; i++) {
			const st = remap(this.source[i]!, this.target[i]!);
			if (st) out.push(st[0], st[1], this.weight[i]!);
		}
		return out.finish();
	}
}

async function runOnce(bytes: Buffer, settings: SessionSettings, feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.ReturnType> {
	const { session } = await createSession(bytes, settings, () => {});
	try {
		return await session.run(feeds);
	} finally {
		await session.release();
	}
}
