// Attribution against brute force, on the tiny GPT-2 fixture with random transcoders. The test
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
import { after, before, describe, it } from 'node:test';
import { LanguageModel } from '../../src/engine/models/languageModel';
import type { Sae } from '../../src/engine/sae/saeTypes';
import { attribute } from '../../src/engine/attribution/attribute';
import type { Attribution } from '../../src/engine/attribution/attribute';
import { edgeList } from '../../src/engine/attribution/attributionGraph';
import type { FeatureNode } from '../../src/engine/attribution/attributionGraph';
import { f32, inMemoryTranscoder } from '../saeFixtures';
import { fixtureModel } from '../helpers';

const CPU = { executionProvider: 'cpu' as const, threads: 1 };

/** The test's replacement model: float64, from the checkpoint and the frozen values. */
class ReferenceModel {
	private readonly w = new Map<string, Float64Array>();
	readonly N: number;
	readonly d: number;
	readonly H: number;
	readonly T: number;

	constructor(private readonly model: LanguageModel, private readonly transcoders: readonly Sae[], private readonly a: Attribution, private readonly realMlpOut: Float32Array[], private readonly view: 'normalized' | 'normed') {
		const { cfg } = model;
		[this.N, this.d, this.H, this.T] = [cfg.nLayers, cfg.dModel, cfg.nHeads, a.frozen.ids.length];
	}

	weight(name: string, shape: number[]): Float64Array {
		let v = this.w.get(name);
		if (!v) this.w.set(name, (v = Float64Array.from(this.model.readWeight(name, shape))));
		return v;
	}

	sae(l: number, name: string): Float64Array {
		const key = `sae${l}.${name}`;
		let v = this.w.get(key);
		if (!v) this.w.set(key, (v = Float64Array.from(f32(this.transcoders[l]!, name))));
		return v;
	}

	/** A frozen LayerNorm: (x − mean x) / σ · gain + bias, σ from the frozen residual `frozenX`. */
	private norm(x: Float64Array, frozenX: ArrayLike<number>, gain?: Float64Array, bias?: Float64Array): Float64Array {
		const { d } = this;
		const out = new Float64Array(x.length);
		for (let p = 0; p < x.length / d; p++) {
			let m = 0;
			let fm = 0;
			for (let i = 0; i < d; i++) [m, fm] = [m + x[p * d + i]!, fm + frozenX[p * d + i]!];
			m /= d;
			fm /= d;
			let v = 0;
			for (let i = 0; i < d; i++) v += (frozenX[p * d + i]! - fm) ** 2;
			const sigma = Math.sqrt(v / d + this.model.cfg.normEps);
			for (let i = 0; i < d; i++) out[p * d + i] = ((x[p * d + i]! - m) / sigma) * (gain ? gain[i]! : 1) + (bias ? bias[i]! : 0);
		}
		return out;
	}

	/** x [T, in] @ W [in, out] (+ bias) with W's columns from `c0` to `c0 + out` of a [in, cols] matrix. */
	private matmul(x: Float64Array, w: Float64Array, cols: number, c0: number, out: number, bias?: Float64Array): Float64Array {
		const inn = w.length / cols;
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

	/**
	 * Runs the replacement model with the given source values (features by node index; error and
	 * token vectors scaled by `errorScale` / `tokenScale` per node) and returns every node's input.
	 */
	run(featureScale: (node: number) => number, errorScale: (layer: number, p: number) => number, tokenScale: (p: number) => number): { inputs: Float64Array; residFinal: Float64Array } {
		const { N, d, H, T, a } = this;
		const fz = a.frozen;
		const dh = d / H;
		const nodes = a.graph.nodes;
		const inputs = new Float64Array(nodes.length).fill(NaN);
		const wpe = this.weight('wpe.weight', [this.model.cfg.nCtx, d]);
		let resid = new Float64Array(T * d);
		for (let p = 0; p < T; p++) for (let i = 0; i < d; i++) resid[p * d + i] = fz.tokens[p * d + i]! * tokenScale(p) + wpe[p * d + i]!;
		for (let l = 0; l < N; l++) {
			const pre = `h.${l}.`;
			const x1 = this.norm(resid, fz.residPre.subarray(l * T * d, (l + 1) * T * d), this.weight(`${pre}ln_1.weight`, [d]), this.weight(`${pre}ln_1.bias`, [d]));
			const v = this.matmul(x1, this.weight(`${pre}attn.c_attn.weight`, [d, 3 * d]), 3 * d, 2 * d, d, this.weight(`${pre}attn.c_attn.bias`, [3 * d]));
			const z = new Float64Array(T * d);
			for (let h = 0; h < H; h++) {
				for (let p = 0; p < T; p++) {
					for (let k = 0; k < T; k++) {
						const pat = fz.patterns[((l * H + h) * T + p) * T + k]!;
						for (let j = 0; j < dh; j++) z[p * d + h * dh + j]! += pat * v[k * d + h * dh + j]!;
					}
				}
			}
			const attn = this.matmul(z, this.weight(`${pre}attn.c_proj.weight`, [d, d]), d, 0, d, this.weight(`${pre}attn.c_proj.bias`, [d]));
			const mid = resid.map((x, i) => x + attn[i]!);
			const frozenMid = fz.residMid.subarray(l * T * d, (l + 1) * T * d);
			const tin = this.view === 'normalized' ? this.norm(mid, frozenMid) : this.norm(mid, frozenMid, this.weight(`${pre}ln_2.weight`, [d]), this.weight(`${pre}ln_2.bias`, [d]));
			const sae = this.transcoders[l]!;
			const dSae = sae.cfg.d_sae;
			const wEnc = this.sae(l, 'W_enc');
			const bEnc = this.sae(l, 'b_enc');
			const wDec = this.sae(l, 'W_dec');
			const bDec = this.sae(l, 'b_dec');
			// The skip term x · W_skipᵀ, on the frozen model's input and on the real one.
			const skipOf = (x: ArrayLike<number>, p: number, i: number): number => {
				if (!sae.cfg.transcoder!.skip) return 0;
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
				for (let i = 0; i < d; i++) mlpOut[p * d + i] = bDec[i]! + fz.errors[(l * T + p) * d + i]! * errorScale(l, p) + skipOf(tin, p, i);
			}
			nodes.forEach((node, idx) => {
				if (node.kind !== 'feature' || node.layer !== l) return;
				let s = bEnc[node.feature]!;
				for (let i = 0; i < d; i++) s += tin[node.position * d + i]! * wEnc[i * dSae + node.feature]!;
				inputs[idx] = s;
				const act = node.activation! * featureScale(idx);
				for (let i = 0; i < d; i++) mlpOut[node.position * d + i]! += act * wDec[node.feature * d + i]!;
			});
			resid = mid.map((x, i) => x + mlpOut[i]!);
		}
		const xf = this.norm(resid, fz.residFinal, this.weight('ln_f.weight', [d]), this.weight('ln_f.bias', [d]));
		const wte = this.weight('wte.weight', [this.model.cfg.dVocab, d]);
		const V = this.model.cfg.dVocab;
		nodes.forEach((node, idx) => {
			if (node.kind !== 'logit') return;
			let s = 0;
			for (let i = 0; i < d; i++) {
				let m = 0;
				for (let t = 0; t < V; t++) m += wte[t * d + i]!;
				s += (wte[node.tokenId! * d + i]! - m / V) * xf[(T - 1) * d + i]!;
			}
			inputs[idx] = s;
		});
		return { inputs, residFinal: resid };
	}
}

describe('attribution on the tiny GPT-2 with random transcoders', () => {
	let model: LanguageModel;
	before(async () => {
		model = LanguageModel.load(fixtureModel('gpt2-tiny'), CPU);
		await model.prepare();
	});
	after(async () => model.dispose());

	const cases = [
		{ name: 'TopK transcoders on ln2.hook_normalized, BOS first', architecture: 'topk', view: 'normalized', skip: false, ids: [0, 5, 17, 42, 100, 7, 250, 33] },
		{ name: 'JumpReLU skip transcoders on mlp.hook_in, no BOS', architecture: 'jumprelu', view: 'normed', skip: true, ids: [12, 5, 17, 42, 100, 7] },
		{ name: 'ReLU transcoders on mlp.hook_in, BOS first, a target token', architecture: 'standard', view: 'normed', skip: true, ids: [0, 9, 99, 199, 3], target: 123 },
	] as const;

	for (const c of cases) {
		it(c.name, async () => {
			const d = model.cfg.dModel;
			const hook = c.view === 'normalized' ? 'ln2.hook_normalized' : 'mlp.hook_in';
			const transcoders = [0, 1].map((l) => inMemoryTranscoder(c.architecture, { input: `blocks.${l}.${hook}`, output: `blocks.${l}.hook_mlp_out`, dModel: d, dSae: 48, k: 5, skip: c.skip, seed: 7 * l + 1 }));
			const tokens = c.ids.map((id, i) => ({ id, text: `t${id}`, start: i, end: i + 1 }));
			const a = await attribute(model, transcoders, 'prompt', tokens, { settings: CPU, batchSize: 16, ...('target' in c ? { targetToken: c.target } : {}) });
			const nodes = a.graph.nodes;
			const features = nodes.filter((n): n is FeatureNode => n.kind === 'feature');
			assert.ok(features.length > 10, `${features.length} active features`);
			const logits = nodes.filter((n) => n.kind === 'logit');
			assert.ok(logits.length >= 1 && logits.length <= 11);
			if ('target' in c) assert.ok(logits.some((n) => n.tokenId === c.target));
			const real = await model.forward({ ids: [[...c.ids]], hooks: [0, 1].map((l) => `blocks.${l}.hook_mlp_out`), logits: 'none' });
			const ref = new ReferenceModel(model, transcoders, a, [0, 1].map((l) => real.hooks[`blocks.${l}.hook_mlp_out`]!.data as Float32Array), c.view);

			// The linear model reproduces the real model and the engine's node inputs.
			const one = () => 1;
			const full = ref.run(one, one, one);
			let maxResid = 0;
			full.residFinal.forEach((x, i) => { maxResid = Math.max(maxResid, Math.abs(x - a.frozen.residFinal[i]!)); });
			assert.ok(maxResid < 1e-4, `the replacement model's final residual differs from the real model's by ${maxResid}`);
			let maxInput = 0;
			nodes.forEach((_, i) => { if (!Number.isNaN(a.nodeInputs[i]!)) maxInput = Math.max(maxInput, Math.abs(full.inputs[i]! - a.nodeInputs[i]!)); });
			assert.ok(maxInput < 1e-4, `node inputs differ by ${maxInput}`);

			// Every edge against brute force: zero one source, measure every target.
			const weights = new Map<string, number>();
			for (const e of edgeList(a.graph.edges)) weights.set(`${e.source}>${e.target}`, e.weight);
			const targets = nodes.flatMap((n, i) => (n.kind === 'feature' || n.kind === 'logit' ? [i] : []));
			let maxEdgeError = 0;
			let checked = 0;
			nodes.forEach((source, s) => {
				if (source.kind === 'logit') return;
				const without = source.kind === 'feature'
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
			console.log(`${c.name}: ${features.length} features, ${logits.length} logits, ${a.graph.edges.source.length} edges, ${checked} source-target pairs; max edge error ${maxEdgeError.toExponential(2)}, max input error ${maxInput.toExponential(2)}, final residual ${maxResid.toExponential(2)}`);

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
		});
	}
});
