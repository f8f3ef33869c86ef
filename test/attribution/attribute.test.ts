// Attribution against brute force, on the tiny GPT-2, Pythia, Llama 3, Qwen 2/3, Gemma 2/3 fixtures with random
// per-layer transcoders and cross-layer transcoders. The test
// has its own replacement model, written here in plain float64 JavaScript from the checkpoint's
// weights and nothing of the engine but the values it froze (attention patterns, the residual
// streams whose norm scales are frozen, error vectors): the features' activations, the error
// vectors and the token embeddings are its inputs. Then:
// - with every input at its value it reproduces the real model (its final residual stream) and
//   the engine's node inputs (feature pre-activations, demeaned logits): the residual stream is
//   linear in features, errors and tokens, and the errors make it exact;
// - every edge weight is the direct effect of its source on its target measured by zeroing the
//   source and running the model again (an absent edge, a zero one), within 1e-4;
// - each target's incoming edges plus its bias term (the model run with every source at zero)
//   add up to its input.

import * as assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { LanguageModel } from '../../src/engine/models/languageModel';
import type { Sae, SaeTensor } from '../../src/engine/sae/saeTypes';
import type { CrossLayerTranscoder } from '../../src/engine/sae/circuitTracerFormat';
import { isCrossLayer } from '../../src/engine/attribution/featureSource';
import type { AttributionFeatures } from '../../src/engine/attribution/featureSource';
import { attribute } from '../../src/engine/attribution/attribute';
import type { Attribution } from '../../src/engine/attribution/attribute';
import { edgeList, edgesOf } from '../../src/engine/attribution/attributionGraph';
import { influence, logitWeights, normalizedWeights } from '../../src/engine/attribution/influence';
import type { FeatureNode } from '../../src/engine/attribution/attributionGraph';
import { f32, gaussianArray, inMemoryTranscoder, tensor } from '../saeFixtures';
import { fixtureModel } from '../helpers';
import { SaeRunner } from '../../src/engine/sae/saeRunner';
import { compileSteering } from '../../src/engine/steer/steering';
import type { SteerSpec } from '../../src/protocol/steerProtocol';

const CPU = { executionProvider: 'cpu' as const, threads: 1 };

function tensorF32(t: SaeTensor): Float32Array {
	return new Float32Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength));
}

/** A random cross-layer transcoder (JumpReLU or ReLU) for a model of `nLayers` × `d`. */
function inMemoryClt(nLayers: number, d: number, dSae: number, inputHook: string, jumpRelu: boolean, seed: number): CrossLayerTranscoder {
	const layers = Array.from({ length: nLayers }, (_, l) => ({
		W_enc: tensor(gaussianArray(d * dSae, seed + 10 * l + 1, 1 / Math.sqrt(d)), [d, dSae]),
		b_enc: tensor(gaussianArray(dSae, seed + 10 * l + 2, 0.1), [dSae]),
		b_dec: tensor(gaussianArray(d, seed + 10 * l + 3, 0.1), [d]),
		W_dec: tensor(gaussianArray(dSae * (nLayers - l) * d, seed + 10 * l + 4, 0.2), [dSae, nLayers - l, d]),
		...(jumpRelu ? { threshold: tensor(Float32Array.from(gaussianArray(dSae, seed + 10 * l + 5, 0.3), Math.abs), [dSae]) } : {}),
	}));
	return {
		source: '/in-memory/clt',
		nLayers,
		dSae,
		dModel: d,
		architecture: jumpRelu ? 'jumprelu' : 'standard',
		layers,
		config: { model_kind: 'cross_layer_transcoder', feature_input_hook: inputHook, feature_output_hook: 'hook_mlp_out' },
	};
}

/** What differs between the families the reference runs: norms, weight names and layouts. */
interface Family {
	norm: 'layer' | 'rms';
	/** Added to each position's token embedding (GPT-2's position embedding), or none. */
	positionRow?: (p: number) => Float64Array;
	ln1: (l: number) => { gain: Float64Array; bias?: Float64Array };
	ln2: (l: number) => { gain: Float64Array; bias?: Float64Array };
	lnFinal: { gain: Float64Array; bias?: Float64Array };
	/** The value projection of normed input x [T, d] → [T, n_kv_heads · d_head], biases included. */
	values: (l: number, x: Float64Array) => Float64Array;
	/** The output projection of merged heads z [T, n_heads · d_head] → [T, d], biases included. */
	output: (l: number, z: Float64Array) => Float64Array;
	/** The unembedding as rows [d_vocab, d]. */
	unembed: Float64Array;
	/** Gemma's RMSNorm of the attention output: its gain (its scale frozen from the real z). */
	attnOutGain?: (l: number) => Float64Array;
	/** Pythia: attention and MLP both read hook_resid_pre. */
	parallel?: boolean;
}

/** x [rows, in] @ W [in, out] for W stored [in, cols] read from column c0 (Conv1D), plus bias[c0 + o]. */
function matmulIn(x: Float64Array, w: Float64Array, inn: number, cols: number, c0: number, out: number, bias?: Float64Array): Float64Array {
	const rows = x.length / inn;
	const y = new Float64Array(rows * out);
	for (let r = 0; r < rows; r++) {
		for (let o = 0; o < out; o++) {
			let s = bias ? bias[c0 + o]! : 0;
			for (let i = 0; i < inn; i++) s += x[r * inn + i]! * w[i * cols + c0 + o]!;
			y[r * out + o] = s;
		}
	}
	return y;
}

/** x [rows, in] @ Wᵀ for a torch Linear weight W [out, in], plus bias. */
function linear(x: Float64Array, w: Float64Array, inn: number, out: number, bias?: Float64Array): Float64Array {
	const rows = x.length / inn;
	const y = new Float64Array(rows * out);
	for (let r = 0; r < rows; r++) {
		for (let o = 0; o < out; o++) {
			let s = bias ? bias[o]! : 0;
			for (let i = 0; i < inn; i++) s += x[r * inn + i]! * w[o * inn + i]!;
			y[r * out + o] = s;
		}
	}
	return y;
}

function familyOf(model: LanguageModel): Family {
	const { cfg } = model;
	const d = cfg.dModel;
	const w = (name: string, shape: number[]) => Float64Array.from(model.readWeight(name, shape));
	const maybe = (name: string, shape: number[]) => (model.hasWeight(name) ? w(name, shape) : undefined);
	if (cfg.modelType === 'gpt2') {
		const wpe = w('wpe.weight', [cfg.nCtx, d]);
		const ln = (name: string) => ({ gain: w(`${name}.weight`, [d]), bias: w(`${name}.bias`, [d]) });
		return {
			norm: 'layer',
			positionRow: (p) => wpe.subarray(p * d, (p + 1) * d),
			ln1: (l) => ln(`h.${l}.ln_1`),
			ln2: (l) => ln(`h.${l}.ln_2`),
			lnFinal: ln('ln_f'),
			values: (l, x) => matmulIn(x, w(`h.${l}.attn.c_attn.weight`, [d, 3 * d]), d, 3 * d, 2 * d, d, w(`h.${l}.attn.c_attn.bias`, [3 * d])),
			output: (l, z) => matmulIn(z, w(`h.${l}.attn.c_proj.weight`, [d, d]), d, d, 0, d, w(`h.${l}.attn.c_proj.bias`, [d])),
			unembed: w('wte.weight', [cfg.dVocab, d]),
		};
	}
	const kv = cfg.nKvHeads * cfg.dHead;
	const q = cfg.nHeads * cfg.dHead;
	const p = (l: number) => `layers.${l}.`;
	if (cfg.modelType === 'gpt_neox') {
		const ln = (name: string) => ({ gain: w(`${name}.weight`, [d]), bias: w(`${name}.bias`, [d]) });
		const D = cfg.dHead;
		return {
			norm: 'layer',
			parallel: cfg.parallelAttnMlp,
			ln1: (l) => ln(`${p(l)}input_layernorm`),
			ln2: (l) => ln(`${p(l)}post_attention_layernorm`),
			lnFinal: ln('final_layer_norm'),
			values: (l, x) => {
				// Fused rows [head, (q, k, v), d_head]: keep each head's v.
				const qkv = linear(x, w(`${p(l)}attention.query_key_value.weight`, [3 * d, d]), d, 3 * d, w(`${p(l)}attention.query_key_value.bias`, [3 * d]));
				const rows = x.length / d;
				const v = new Float64Array(rows * d);
				for (let r = 0; r < rows; r++) for (let h = 0; h < cfg.nHeads; h++) for (let j = 0; j < D; j++) v[r * d + h * D + j] = qkv[r * 3 * d + (3 * h + 2) * D + j]!;
				return v;
			},
			output: (l, z) => linear(z, w(`${p(l)}attention.dense.weight`, [d, d]), d, d, w(`${p(l)}attention.dense.bias`, [d])),
			unembed: w(cfg.tiedEmbeddings ? 'embed_in.weight' : 'embed_out.weight', [cfg.dVocab, d]),
		};
	}
	if (cfg.modelType.startsWith('gemma')) {
		const gain = (name: string) => w(name, [d]).map((x) => 1 + x);
		return {
			norm: 'rms',
			ln1: (l) => ({ gain: gain(`${p(l)}input_layernorm.weight`) }),
			ln2: (l) => ({ gain: gain(`${p(l)}pre_feedforward_layernorm.weight`) }),
			lnFinal: { gain: gain('norm.weight') },
			values: (l, x) => linear(x, w(`${p(l)}self_attn.v_proj.weight`, [kv, d]), d, kv),
			output: (l, z) => linear(z, w(`${p(l)}self_attn.o_proj.weight`, [d, q]), q, d),
			unembed: w('embed_tokens.weight', [cfg.dVocab, d]),
			attnOutGain: (l) => gain(`${p(l)}post_attention_layernorm.weight`),
		};
	}
	return {
		norm: 'rms',
		ln1: (l) => ({ gain: w(`${p(l)}input_layernorm.weight`, [d]) }),
		ln2: (l) => ({ gain: w(`${p(l)}post_attention_layernorm.weight`, [d]) }),
		lnFinal: { gain: w('norm.weight', [d]) },
		values: (l, x) => linear(x, w(`${p(l)}self_attn.v_proj.weight`, [kv, d]), d, kv, maybe(`${p(l)}self_attn.v_proj.bias`, [kv])),
		output: (l, z) => linear(z, w(`${p(l)}self_attn.o_proj.weight`, [d, q]), q, d, maybe(`${p(l)}self_attn.o_proj.bias`, [d])),
		unembed: model.hasWeight('lm_head.weight') ? w('lm_head.weight', [cfg.dVocab, d]) : w('embed_tokens.weight', [cfg.dVocab, d]),
	};
}

/** The test's replacement model: float64, from the checkpoint and the frozen values. */
class ReferenceModel {
	private readonly w = new Map<string, Float64Array>();
	private readonly family: Family;
	readonly N: number;
	readonly d: number;
	readonly H: number;
	readonly KV: number;
	readonly T: number;

	constructor(
		private readonly model: LanguageModel,
		private readonly transcoders: AttributionFeatures,
		private readonly a: Attribution,
		private readonly realMlpOut: Float32Array[],
		private readonly view: 'normalized' | 'normed',
	) {
		const { cfg } = model;
		[this.N, this.d, this.H, this.KV, this.T] = [cfg.nLayers, cfg.dModel, cfg.nHeads, cfg.nKvHeads, a.frozen.ids.length];
		this.family = familyOf(model);
	}

	/**
	 * Layer l's transcoder weight: W_enc [d, d_sae], b_enc, b_dec, W_skip; W_dec [d_sae, layers
	 * written, d] (1 for a per-layer transcoder, n − l for a CLT).
	 */
	sae(l: number, name: string): Float64Array {
		const key = `sae${l}.${name}`;
		let v = this.w.get(key);
		if (!v) {
			const t = this.transcoders;
			const data = isCrossLayer(t) ? tensorF32(t.layers[l]![name as 'W_enc']) : f32(t[l]!, name);
			this.w.set(key, (v = Float64Array.from(data)));
		}
		return v;
	}

	private skips(l: number): boolean {
		const t = this.transcoders;
		return !isCrossLayer(t) && t[l]!.cfg.transcoder!.skip;
	}

	/** A frozen norm: (x − mean x) / σ · gain + bias (LayerNorm) or x / σ · gain (RMSNorm), σ from the frozen residual `frozenX`. */
	private norm(x: Float64Array, frozenX: ArrayLike<number>, o?: { gain: Float64Array; bias?: Float64Array }): Float64Array {
		const { d } = this;
		const centre = this.family.norm === 'layer';
		const out = new Float64Array(x.length);
		for (let p = 0; p < x.length / d; p++) {
			let m = 0;
			let fm = 0;
			for (let i = 0; i < d; i++) [m, fm] = [m + x[p * d + i]!, fm + frozenX[p * d + i]!];
			[m, fm] = centre ? [m / d, fm / d] : [0, 0];
			let v = 0;
			for (let i = 0; i < d; i++) v += (frozenX[p * d + i]! - fm) ** 2;
			const sigma = Math.sqrt(v / d + this.model.cfg.normEps);
			for (let i = 0; i < d; i++) out[p * d + i] = ((x[p * d + i]! - m) / sigma) * (o ? o.gain[i]! : 1) + (o?.bias ? o.bias[i]! : 0);
		}
		return out;
	}

	/**
	 * Runs the replacement model with the given source values (features by node index; error and
	 * token vectors scaled by `errorScale` / `tokenScale` per node) and returns every node's input.
	 */
	run(featureScale: (node: number) => number, errorScale: (layer: number, p: number) => number, tokenScale: (p: number) => number): { inputs: Float64Array; residFinal: Float64Array } {
		const { N, d, H, KV, T, a, family } = this;
		const fz = a.frozen;
		const dh = this.model.cfg.dHead;
		const nodes = a.graph.nodes;
		const inputs = new Float64Array(nodes.length).fill(NaN);
		let resid = new Float64Array(T * d);
		// What the features write to each layer's MLP output (a CLT's to its own and every later layer).
		const writes = Array.from({ length: N }, () => new Float64Array(T * d));
		for (let p = 0; p < T; p++) {
			const extra = family.positionRow?.(p);
			for (let i = 0; i < d; i++) resid[p * d + i] = fz.tokens[p * d + i]! * tokenScale(p) + (extra ? extra[i]! : 0);
		}
		for (let l = 0; l < N; l++) {
			const x1 = this.norm(resid, fz.residPre.subarray(l * T * d, (l + 1) * T * d), family.ln1(l));
			const v = family.values(l, x1); // [T, KV·dh]
			const z = new Float64Array(T * H * dh);
			for (let h = 0; h < H; h++) {
				const g = Math.floor(h / (H / KV)); // the key/value head query head h reads
				for (let p = 0; p < T; p++) {
					for (let k = 0; k < T; k++) {
						const pat = fz.patterns[((l * H + h) * T + p) * T + k]!;
						for (let j = 0; j < dh; j++) z[p * H * dh + h * dh + j]! += pat * v[k * KV * dh + g * dh + j]!;
					}
				}
			}
			let attn = family.output(l, z);
			if (family.attnOutGain) attn = this.norm(attn, family.output(l, Float64Array.from(fz.attnZ!.subarray(l * T * H * dh, (l + 1) * T * H * dh))), { gain: family.attnOutGain(l) });
			// Parallel blocks: the MLP reads resid_pre (and the engine froze its norm there).
			const mid = family.parallel ? resid : resid.map((x, i) => x + attn[i]!);
			const frozenMid = fz.residMid.subarray(l * T * d, (l + 1) * T * d);
			const tin = this.view === 'normalized' ? this.norm(mid, frozenMid) : this.norm(mid, frozenMid, family.ln2(l));
			const dSae = isCrossLayer(this.transcoders) ? this.transcoders.dSae : this.transcoders[l]!.cfg.d_sae;
			const written = isCrossLayer(this.transcoders) ? N - l : 1;
			const wEnc = this.sae(l, 'W_enc');
			const bEnc = this.sae(l, 'b_enc');
			const wDec = this.sae(l, 'W_dec');
			const bDec = this.sae(l, 'b_dec');
			nodes.forEach((node, idx) => {
				if (node.kind !== 'feature' || node.layer !== l) return;
				let s = bEnc[node.feature]!;
				for (let i = 0; i < d; i++) s += tin[node.position * d + i]! * wEnc[i * dSae + node.feature]!;
				inputs[idx] = s;
				const act = node.activation! * featureScale(idx);
				for (let w = 0; w < written; w++) {
					for (let i = 0; i < d; i++) writes[l + w]![node.position * d + i]! += act * wDec[(node.feature * written + w) * d + i]!;
				}
			});
			// The skip term x · W_skipᵀ, on the frozen model's input and on the real one.
			const skipOf = (x: ArrayLike<number>, p: number, i: number): number => {
				if (!this.skips(l)) return 0;
				const wSkip = this.sae(l, 'W_skip');
				let s = 0;
				for (let j = 0; j < d; j++) s += x[p * d + j]! * wSkip[i * d + j]!;
				return s;
			};
			const realIn = fz.transcoderInputs.subarray(l * T * d, (l + 1) * T * d);
			const mlpOut = new Float64Array(T * d);
			for (let p = 0; p < T; p++) {
				if (p === 0 && fz.zeroFirst) {
					// BOS: the MLP's output is a constant, but for the skip term's change.
					for (let i = 0; i < d; i++) mlpOut[i] = this.realMlpOut[l]![i]! + skipOf(tin, 0, i) - skipOf(realIn, 0, i);
					continue;
				}
				for (let i = 0; i < d; i++) mlpOut[p * d + i] = bDec[i]! + writes[l]![p * d + i]! + fz.errors[(l * T + p) * d + i]! * errorScale(l, p) + skipOf(tin, p, i);
			}
			resid = family.parallel ? resid.map((x, i) => x + attn[i]! + mlpOut[i]!) : mid.map((x, i) => x + mlpOut[i]!);
		}
		const xf = this.norm(resid, fz.residFinal, family.lnFinal);
		const V = this.model.cfg.dVocab;
		const rows = family.unembed;
		const meanRow = new Float64Array(d);
		for (let t = 0; t < V; t++) for (let i = 0; i < d; i++) meanRow[i]! += rows[t * d + i]! / V;
		nodes.forEach((node, idx) => {
			if (node.kind !== 'logit') return;
			let s = 0;
			for (let i = 0; i < d; i++) s += (rows[node.tokenId! * d + i]! - meanRow[i]!) * xf[(T - 1) * d + i]!;
			inputs[idx] = s;
		});
		return { inputs, residFinal: resid };
	}
}

/**
 * The checks every graph passes: the linear replacement model (written out in ReferenceModel)
 * reproduces the real model's final residual and the engine's node inputs; every edge equals the
 * direct effect measured by zeroing its source; incoming edges + bias = each node's input; no edge
 * runs backwards.
 */
function checkAgainstBruteForce(model: LanguageModel, transcoders: AttributionFeatures, a: Attribution, realMlpOuts: Float32Array[], view: 'normalized' | 'normed', name: string): void {
	const nodes = a.graph.nodes;
	const features = nodes.filter((n) => n.kind === 'feature');
	const logits = nodes.filter((n) => n.kind === 'logit');
	const ref = new ReferenceModel(model, transcoders, a, realMlpOuts, view);

	// The linear model reproduces the real model and the engine's node inputs.
	const one = () => 1;
	const full = ref.run(one, one, one);
	let maxResid = 0;
	full.residFinal.forEach((x, i) => {
		maxResid = Math.max(maxResid, Math.abs(x - a.frozen.residFinal[i]!));
	});
	assert.ok(maxResid < 1e-4, `the replacement model's final residual differs from the real model's by ${maxResid}`);
	let maxInput = 0;
	nodes.forEach((_, i) => {
		if (!Number.isNaN(a.nodeInputs[i]!)) maxInput = Math.max(maxInput, Math.abs(full.inputs[i]! - a.nodeInputs[i]!));
	});
	assert.ok(maxInput < 1e-4, `node inputs differ by ${maxInput}`);

	// Every edge against brute force: zero one source, measure every target.
	const weights = new Map<string, number>();
	for (const e of edgeList(a.graph.edges)) weights.set(`${e.source}>${e.target}`, e.weight);
	const targets = nodes.flatMap((n, i) => (n.kind === 'feature' || n.kind === 'logit' ? [i] : []));
	let maxEdgeError = 0;
	let checked = 0;
	nodes.forEach((source, s) => {
		if (source.kind === 'logit') return;
		const without =
			source.kind === 'feature'
				? ref.run((i) => (i === s ? 0 : 1), one, one)
				: source.kind === 'error'
					? ref.run(one, (l, p) => (l === source.layer && p === source.position ? 0 : 1), one)
					: ref.run(one, one, (p) => (p === source.position ? 0 : 1));
		for (const t of targets) {
			const effect = full.inputs[t]! - without.inputs[t]!;
			maxEdgeError = Math.max(maxEdgeError, Math.abs(effect - (weights.get(`${s}>${t}`) ?? 0)));
			checked++;
		}
	});
	assert.ok(maxEdgeError < 1e-4, `edge weights differ from brute force by up to ${maxEdgeError}`);
	console.log(
		`${name}: ${features.length} features, ${logits.length} logits, ${a.graph.edges.source.length} edges, ${checked} source-target pairs; max edge error ${maxEdgeError.toExponential(2)}, max input error ${maxInput.toExponential(2)}, final residual ${maxResid.toExponential(2)}`,
	);

	// Incoming edges + bias = input, the bias being the model with every source at zero.
	const zero = () => 0;
	const bias = ref.run(zero, zero, zero).inputs;
	const incoming = new Float64Array(nodes.length);
	for (const e of edgeList(a.graph.edges)) incoming[e.target]! += e.weight;
	let maxSumError = 0;
	for (const t of targets) maxSumError = Math.max(maxSumError, Math.abs(incoming[t]! + bias[t]! - a.nodeInputs[t]!));
	assert.ok(maxSumError < 1e-4, `incoming edges + bias miss the node input by ${maxSumError}`);
	// No edge runs backwards: from a later layer or a later position.
	for (const e of edgeList(a.graph.edges)) {
		const [src, tgt] = [nodes[e.source]!, nodes[e.target]!];
		assert.ok(src.position <= tgt.position);
		if (tgt.kind === 'feature' && (src.kind === 'feature' || src.kind === 'error')) assert.ok(src.layer < tgt.layer);
	}
}

describe('attribution against brute force, with random transcoders', () => {
	const models = new Map<string, LanguageModel>();
	const load = async (name: string): Promise<LanguageModel> => {
		let m = models.get(name);
		if (!m) {
			m = LanguageModel.load(fixtureModel(name), CPU);
			await m.prepare();
			models.set(name, m);
		}
		return m;
	};
	after(async () => {
		for (const m of models.values()) await m.dispose();
	});

	const cases = [
		{ model: 'gpt2-tiny', name: 'TopK transcoders on ln2.hook_normalized, BOS first', architecture: 'topk', view: 'normalized', skip: false, ids: [0, 5, 17, 42, 100, 7, 250, 33] },
		{ model: 'gpt2-tiny', name: 'JumpReLU skip transcoders on mlp.hook_in, no BOS', architecture: 'jumprelu', view: 'normed', skip: true, ids: [12, 5, 17, 42, 100, 7] },
		{ model: 'gpt2-tiny', name: 'ReLU transcoders on mlp.hook_in, BOS first, a target token', architecture: 'standard', view: 'normed', skip: true, ids: [0, 9, 99, 199, 3], target: 123 },
		{
			model: 'llama3-tiny',
			name: 'Llama 3 (RMSNorm, grouped-query attention): TopK skip transcoders on mlp.hook_in, BOS first',
			architecture: 'topk',
			view: 'normed',
			skip: true,
			ids: [299, 5, 17, 42, 100, 7, 250],
		},
		{
			model: 'qwen2-tiny',
			name: 'Qwen 2 (3 layers, 4 query heads per key/value head, biases): JumpReLU transcoders on ln2.hook_normalized',
			architecture: 'jumprelu',
			view: 'normalized',
			skip: false,
			ids: [1, 8, 80, 160, 240, 33],
		},
		{
			model: 'qwen3-tiny',
			name: 'Qwen 3 (q/k norms): ReLU skip transcoders on ln2.hook_normalized, a target token',
			architecture: 'standard',
			view: 'normalized',
			skip: true,
			ids: [299, 64, 128, 3, 77],
			target: 200,
		},
		{
			model: 'pythia-tiny',
			name: 'Pythia (attention and MLP in parallel): JumpReLU skip transcoders on mlp.hook_in, BOS first',
			architecture: 'jumprelu',
			view: 'normed',
			skip: true,
			ids: [0, 8, 80, 160, 240, 33],
		},
		{ model: 'pythia-tiny', name: 'Pythia: a JumpReLU cross-layer transcoder on ln2.hook_normalized', architecture: 'clt-jumprelu', view: 'normalized', skip: false, ids: [7, 8, 80, 160, 240] },
		{ model: 'pythia-seq-tiny', name: 'GPT-NeoX in sequence: TopK skip transcoders on ln2.hook_normalized', architecture: 'topk', view: 'normalized', skip: true, ids: [0, 18, 180, 60, 240, 3] },
		{
			model: 'gemma2-tiny',
			name: 'Gemma 2 (sandwich norms, 1 + w gains, capped logits): JumpReLU transcoders on mlp.hook_in, BOS first',
			architecture: 'jumprelu',
			view: 'normed',
			skip: false,
			ids: [2, 8, 80, 160, 240, 33],
		},
		{ model: 'gemma3-tiny', name: 'Gemma 3: a ReLU cross-layer transcoder on ln2.hook_normalized, BOS first', architecture: 'clt-relu', view: 'normalized', skip: false, ids: [2, 11, 111, 211, 5] },
		{ model: 'gpt2-tiny', name: 'no feature fires (b_enc −100): a graph of errors, tokens and logits', architecture: 'standard', view: 'normalized', skip: false, ids: [5, 6, 7], silent: true },
		{ model: 'gpt2-tiny', name: 'a one-token prompt', architecture: 'topk', view: 'normalized', skip: true, ids: [9] },
		{
			model: 'gpt2-tiny',
			name: 'a JumpReLU cross-layer transcoder on ln2.hook_normalized, BOS first',
			architecture: 'clt-jumprelu',
			view: 'normalized',
			skip: false,
			ids: [0, 5, 17, 42, 100, 7, 250],
		},
		{
			model: 'qwen2-tiny',
			name: 'a ReLU cross-layer transcoder on mlp.hook_in (3 layers: features write to 1 to 3 layers)',
			architecture: 'clt-relu',
			view: 'normed',
			skip: false,
			ids: [1, 8, 80, 160, 240, 33],
		},
	] as const;

	for (const c of cases) {
		it(`${c.model}: ${c.name}`, async () => {
			const model = await load(c.model);
			const d = model.cfg.dModel;
			const layers = Array.from({ length: model.cfg.nLayers }, (_, l) => l);
			const hook = c.view === 'normalized' ? 'ln2.hook_normalized' : 'mlp.hook_in';
			const transcoders: AttributionFeatures =
				c.architecture === 'clt-jumprelu' || c.architecture === 'clt-relu'
					? inMemoryClt(layers.length, d, 40, hook, c.architecture === 'clt-jumprelu', 5)
					: layers.map((l) => inMemoryTranscoder(c.architecture, { input: `blocks.${l}.${hook}`, output: `blocks.${l}.hook_mlp_out`, dModel: d, dSae: 48, k: 5, skip: c.skip, seed: 7 * l + 1 }));
			if ('silent' in c) for (const t of transcoders as Sae[]) t.weights.b_enc = tensor(new Float32Array(t.cfg.d_sae).fill(-100), [t.cfg.d_sae]);
			const tokens = c.ids.map((id, i) => ({ id, text: `t${id}`, start: i, end: i + 1 }));
			const a = await attribute(model, transcoders, 'prompt', tokens, { settings: CPU, batchSize: 16, ...('target' in c ? { targetToken: c.target } : {}) });
			const nodes = a.graph.nodes;
			const features = nodes.filter((n): n is FeatureNode => n.kind === 'feature');
			if ('silent' in c) assert.equal(features.length, 0);
			else assert.ok(features.length >= 3 * c.ids.length, `${features.length} active features`);
			const logits = nodes.filter((n) => n.kind === 'logit');
			assert.ok(logits.length >= 1 && logits.length <= 11);
			if ('target' in c) assert.ok(logits.some((n) => n.tokenId === c.target));
			const real = await model.forward({ ids: [[...c.ids]], hooks: layers.map((l) => `blocks.${l}.hook_mlp_out`), logits: 'none' });
			checkAgainstBruteForce(
				model,
				transcoders,
				a,
				layers.map((l) => real.hooks[`blocks.${l}.hook_mlp_out`]!.data as Float32Array),
				c.view,
				c.name,
			);
		});
	}
});

describe("maxFeatureNodes (circuit-tracer's max_feature_nodes)", () => {
	let model: LanguageModel;
	after(async () => model.dispose());

	it("keeps the features most influential on the logits, chosen round by round, with the full graph's edges among them", async () => {
		model = LanguageModel.load(fixtureModel('gpt2-tiny'), CPU);
		const transcoders = [0, 1].map((l) => inMemoryTranscoder('jumprelu', { input: `blocks.${l}.mlp.hook_in`, output: `blocks.${l}.hook_mlp_out`, dModel: 32, dSae: 48, skip: true, seed: 7 * l + 1 }));
		const tokens = [12, 5, 17, 42, 100, 7].map((id, i) => ({ id, text: `t${id}`, start: i, end: i + 1 }));
		const full = await attribute(model, transcoders, 'p', tokens, { settings: CPU, batchSize: 16 });
		const n = full.graph.nodes.filter((x) => x.kind === 'feature').length;
		const same = await attribute(model, transcoders, 'p', tokens, { settings: CPU, batchSize: 16, maxFeatureNodes: n });
		assert.deepEqual(edgeList(same.graph.edges), edgeList(full.graph.edges));

		const fullEdges = new Map(edgeList(full.graph.edges).map((e) => [`${full.graph.nodes[e.source]!.id}>${full.graph.nodes[e.target]!.id}`, e.weight]));
		// The first round (4 batches of 16) ranks by influence through the logits' rows alone.
		const logitRows = edgeList(full.graph.edges).filter((e) => full.graph.nodes[e.target]!.kind === 'logit');
		const fromLogits = edgesOf(logitRows);
		const rank = influence(full.graph.nodes.length, fromLogits, normalizedWeights(full.graph.nodes.length, fromLogits), logitWeights(full.graph));
		const byInfluence = full.graph.nodes.flatMap((x, i) => (x.kind === 'feature' ? [i] : [])).sort((x, y) => rank[y]! - rank[x]! || x - y);
		for (const max of [40, 100]) {
			const limited = await attribute(model, transcoders, 'p', tokens, { settings: CPU, batchSize: 16, maxFeatureNodes: max });
			const chosen = limited.graph.nodes.filter((x) => x.kind === 'feature').map((x) => x.id);
			assert.equal(chosen.length, max);
			const firstRound = byInfluence.slice(0, Math.min(max, 64)).map((i) => full.graph.nodes[i]!.id);
			assert.deepEqual(
				firstRound.filter((id) => !chosen.includes(id)),
				[],
				`max ${max}: the first round's features`,
			);
			// Every edge is the full graph's, and every full-graph edge between kept nodes is there.
			const ids = new Set(limited.graph.nodes.map((x) => x.id));
			let between = 0;
			for (const [key] of fullEdges) {
				const [s, t] = key.split('>') as [string, string];
				if (ids.has(s) && ids.has(t) && (full.graph.nodes.find((x) => x.id === t)!.kind === 'logit' || chosen.includes(t))) between++;
			}
			const got = edgeList(limited.graph.edges);
			assert.equal(got.length, between);
			for (const e of got) {
				const key = `${limited.graph.nodes[e.source]!.id}>${limited.graph.nodes[e.target]!.id}`;
				assert.ok(Math.abs(e.weight - fullEdges.get(key)!) < 1e-5, key);
			}
			assert.equal(limited.nodeInputs.length, limited.graph.nodes.length);
		}
	});
});

describe("a steered completion's token, traced under its steering", () => {
	it('steered features of the set are nodes at their steered activation, and the steered replacement model is exact', async () => {
		const model = LanguageModel.load(fixtureModel('gpt2-tiny'), CPU);
		await model.prepare();
		const runners: SaeRunner[] = [];
		try {
			const d = model.cfg.dModel;
			const layers = Array.from({ length: model.cfg.nLayers }, (_, l) => l);
			const transcoders = layers.map((l) => ({
				...inMemoryTranscoder('topk', { input: `blocks.${l}.ln2.hook_normalized`, output: `blocks.${l}.hook_mlp_out`, dModel: d, dSae: 48, k: 5, skip: false, seed: 7 * l + 1 }),
				source: `/sets/t/layer_${l}.safetensors`,
			}));
			const ids = [0, 5, 17, 42, 100, 7, 250, 33];
			const tokens = ids.map((id, i) => ({ id, text: `t${id}`, start: i, end: i + 1 }));
			const from = 4; // the prompt is 4 tokens; 4 generated ones follow, steered ("generated")
			const spec: SteerSpec = {
				features: [
					{ featureIndex: 11, mode: 'clamp', strength: 6.5, sae: transcoders[0]!.source },
					{ featureIndex: 3, mode: 'add', strength: 2, sae: transcoders[1]!.source },
				],
				vectors: [],
				positions: 'generated',
			};
			const others = new Map(transcoders.map((t) => [t.source, SaeRunner.forModel(t, model, CPU)]));
			runners.push(...others.values());
			const steered = ids.map((_, p) => p >= from);
			const callInputs = compileSteering(model, undefined, spec, others).callInputsAt(steered);
			const a = await attribute(model, transcoders, 'prompt', tokens, {
				settings: CPU,
				batchSize: 16,
				targetToken: 77,
				steering: { callInputs, steered, features: spec.features.map((f) => ({ file: f.sae!, featureIndex: f.featureIndex, mode: f.mode, strength: f.strength })), description: 'test' },
			});
			const nodes = a.graph.nodes.filter((n): n is FeatureNode => n.kind === 'feature');
			const at = (l: number, f: number, p: number) => nodes.find((n) => n.layer === l && n.feature === f && n.position === p);
			for (let p = from; p < ids.length; p++) {
				assert.equal(at(0, 11, p)?.activation, 6.5, `layer 0 feature 11 at ${p} is clamped`);
				assert.match(at(0, 11, p)!.label!, /steered: clamped to 6\.5/);
			}
			for (let p = 1; p < from; p++) assert.ok(!at(0, 11, p)?.label, 'the prompt is not steered');
			assert.equal(a.graph.targetToken, 77);
			assert.equal(a.graph.steering, 'test');
			// The same steering as generation applies it: the frozen forward is the steered model's.
			const real = await model.forward({ ids: [ids], hooks: layers.map((l) => `blocks.${l}.hook_mlp_out`).concat(`blocks.${layers.length - 1}.hook_resid_post`), logits: 'none', ...callInputs });
			const plain = await model.forward({ ids: [ids], hooks: [`blocks.${layers.length - 1}.hook_resid_post`], logits: 'none' });
			const final = `blocks.${layers.length - 1}.hook_resid_post`;
			assert.ok(maxAbs(a.frozen.residFinal, real.hooks[final]!.data as Float32Array) < 1e-5, "the frozen residual is the steered model's");
			assert.ok(maxAbs(a.frozen.residFinal, plain.hooks[final]!.data as Float32Array) > 1e-3, 'the steering changes the model');
			// The linear model with the steered nodes reproduces the steered model, and every edge is exact.
			checkAgainstBruteForce(
				model,
				transcoders,
				a,
				layers.map((l) => real.hooks[`blocks.${l}.hook_mlp_out`]!.data as Float32Array),
				'normalized',
				'steered',
			);
		} finally {
			for (const r of runners) await r.dispose();
			await model.dispose();
		}
	});
});

function maxAbs(x: Float32Array, y: Float32Array): number {
	let m = 0;
	for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!));
	return m;
}
