// A cross-layer transcoder in the demo model: a random JumpReLU CLT written in circuit-tracer's
// layout (W_enc_L.safetensors: W_enc_L [d_sae, d_model], b_enc_L, b_dec_L, threshold_L;
// W_dec_L.safetensors: W_dec_L [d_sae, n − L, d_model]), loaded by our loader. With every MLP
// replaced, each layer's output is the CLT's output computed here in plain JS from the input hooks
// of the replaced model, and the logits are those of the model run with exactly those values put
// at hook_mlp_out by additive interventions (no splice, no CLT graph). Alongside, the error term
// is the clean MLP output minus the reconstruction.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type * as ort from 'onnxruntime-node';
import { LanguageModel } from '../../src/engine/models/languageModel';
import type { Intervention } from '../../src/engine/models/languageModel';
import { loadCrossLayerTranscoder } from '../../src/engine/sae/circuitTracerFormat';
import { CltRunner } from '../../src/engine/sae/cltReplacement';
import { inspectTokensWithClt } from '../../src/engine/sae/inspect';
import { evaluateCrossLayerTranscoder } from '../../src/engine/sae/evaluateTranscoders';
import { zeroAblation } from '../../src/engine/sae/transcoderSplice';
import { TokenLoss } from '../../src/engine/models/tokenLoss';
import { writeRandomClt } from '../saeFixtures';
import type { RawCltLayer } from '../saeFixtures';
import { maxAbsDiff } from '../helpers';

const CPU = { executionProvider: 'cpu' as const, threads: 1 };
const IDS = [0, 528, 519, 768, 587, 265, 12, 551, 490, 285, 199, 260];
const T = IDS.length;
const D = 192;
const S = 64;
const N = 4;

/** f_l = JumpReLU(x · W_enc_lᵀ + b_enc_l) for T rows, in plain JS: [T, S]. */
function encode(layer: RawCltLayer, x: Float32Array): Float64Array {
	const f = new Float64Array(T * S);
	for (let t = 0; t < T; t++) {
		for (let j = 0; j < S; j++) {
			let pre = layer.bEnc[j]!;
			for (let i = 0; i < D; i++) pre += x[t * D + i]! * layer.wEnc[j * D + i]!;
			f[t * S + j] = pre > layer.threshold[j]! ? pre : 0;
		}
	}
	return f;
}

/** ŷ_L = b_dec_L + Σ_{l ≤ L} f_l · W_dec_l[:, L − l, :], in plain JS: [T, D]. */
function decode(raw: RawCltLayer[], features: Float64Array[], target: number): Float32Array {
	const y = new Float32Array(T * D);
	for (let t = 0; t < T; t++) {
		for (let i = 0; i < D; i++) {
			let v = raw[target]!.bDec[i]!;
			for (let l = 0; l <= target; l++) {
				const w = raw[l]!.wDec;
				const width = N - l;
				for (let j = 0; j < S; j++) {
					const a = features[l]![t * S + j]!;
					if (a !== 0) v += a * w[(j * width + (target - l)) * D + i]!;
				}
			}
			y[t * D + i] = v;
		}
	}
	return y;
}

describe('a cross-layer transcoder in the demo model', () => {
	let model: LanguageModel;
	let dir: string;
	let raw: RawCltLayer[];
	let runner: CltRunner;
	before(async () => {
		model = LanguageModel.load('demo', CPU);
		await model.prepare();
		dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clt-'));
		raw = writeRandomClt(dir, { dModel: D, dSae: S, nLayers: N });
		runner = CltRunner.forModel(loadCrossLayerTranscoder(dir), model, CPU);
	});
	after(async () => {
		await runner.dispose();
		await model.dispose();
		fs.rmSync(dir, { recursive: true, force: true });
	});

	/** Layer by layer with additive interventions, the CLT in plain JS; BOS's MLP outputs left as the model computes them when keepBos. */
	const reference = async (ids: number[], keepBos: boolean) => {
		const interventions: Record<string, Intervention> = {};
		const features: Float64Array[] = [];
		const want: Float32Array[] = [];
		const inputs: Float32Array[] = [];
		for (let k = 0; k < N; k++) {
			const hooks = [`blocks.${k}.ln2.hook_normalized`, `blocks.${k}.hook_mlp_out`];
			const run = await model.forward({ ids: [ids], hooks, logits: 'none', interventions });
			const x = run.hooks[hooks[0]!]!.data as Float32Array;
			inputs.push(x);
			features.push(encode(raw[k]!, x));
			want.push(decode(raw, features, k));
			const mlp = run.hooks[hooks[1]!]!.data as Float32Array;
			interventions[hooks[1]!] = { values: want[k]!.map((v, i) => (keepBos && i < D ? 0 : v - mlp[i]!)), dims: [1, T, D] };
		}
		return { interventions, features, want, inputs };
	};

	it("every MLP replaced: each layer is the CLT output on the replaced model's inputs, and the logits match the model with those outputs put in place", async () => {
		const got = await runner.replace(model, [IDS]);
		const { interventions, features, want, inputs } = await reference(IDS, false);
		for (let k = 0; k < N; k++) assert.ok(maxAbsDiff(got.inputs[k]!, inputs[k]!) < 1e-5, `layer ${k}: input hook differs`);
		let fired = 0;
		for (let k = 0; k < N; k++) {
			const fdiff = maxAbsDiff(got.features[k]!, features[k]!);
			const ydiff = maxAbsDiff(got.outputs[k]!, want[k]!);
			assert.ok(fdiff < 1e-5 && ydiff < 1e-5, `layer ${k}: features differ by ${fdiff}, outputs by ${ydiff}`);
			fired += features[k]!.filter((v) => v !== 0).length;
		}
		assert.ok(fired > N * T * 4, `too few features fire (${fired}) for the test to mean anything`);
		const referenceRun = await model.forward({ ids: [IDS], logits: 'all', hooks: [`blocks.${N - 1}.hook_mlp_out`], interventions });
		const ldiff = maxAbsDiff(got.logits!.data as Float32Array, referenceRun.logits!.data as Float32Array);
		assert.ok(ldiff < 1e-4, `logits differ from the reference by ${ldiff}`);
		const clean = await model.forward({ ids: [IDS], logits: 'all' });
		assert.ok(maxAbsDiff(got.logits!.data as Float32Array, clean.logits!.data as Float32Array) > 1e-2, 'a random CLT should move the logits');
	});

	it('keepFirstPosition leaves BOS as the model computes it', async () => {
		const got = await runner.replace(model, [IDS], { keepFirstPosition: true });
		const clean = await model.forward({ ids: [IDS], logits: 'all' });
		const V = clean.logits!.dims[2] as number;
		const first = (t: { data: unknown }) => (t.data as Float32Array).subarray(0, V);
		assert.ok(maxAbsDiff(first(got.logits!), first(clean.logits!)) < 1e-5);
		const later = (t: { data: unknown }) => (t.data as Float32Array).subarray(V);
		assert.ok(maxAbsDiff(later(got.logits!), later(clean.logits!)) > 1e-2);
	});

	it('alongside: features from the clean inputs, error = MLP output − reconstruction', async () => {
		const got = await runner.alongside(model, [IDS]);
		const hooks = [0, 1, 2, 3].flatMap((l) => [`blocks.${l}.ln2.hook_normalized`, `blocks.${l}.hook_mlp_out`]);
		const clean = await model.forward({ ids: [IDS], hooks, logits: 'none' });
		const features = [0, 1, 2, 3].map((l) => encode(raw[l]!, clean.hooks[hooks[2 * l]!]!.data as Float32Array));
		for (let l = 0; l < N; l++) {
			const recons = decode(raw, features, l);
			const mlp = clean.hooks[hooks[2 * l + 1]!]!.data as Float32Array;
			assert.ok(maxAbsDiff(got.features[l]!, features[l]!) < 1e-5);
			assert.ok(
				maxAbsDiff(
					got.errors![l]!,
					mlp.map((v, i) => v - recons[i]!),
				) < 1e-5,
				`layer ${l}: error term differs`,
			);
		}
	});

	it('inspect with a CLT: the strongest features per token over every layer, each named by its source layer', async () => {
		const tokens = await model.tokenizer!.encode('def add(a, b):\n    return a + b\n');
		const got = await inspectTokensWithClt(model, runner, tokens, { topFeatures: 8 });
		assert.equal(got.length, tokens.length);
		// Reference: the alongside view's features of the same window (BOS first).
		const ref = await runner.alongside(model, [[model.cfg.bosTokenId!, ...tokens.map((t) => t.id)]]);
		const layers = new Set<number>();
		got.forEach((tok, r) => {
			assert.equal(tok.text, tokens[r]!.text);
			const row = (l: number) => ref.features[l]!.subarray((r + 1) * S, (r + 2) * S);
			const strongest = Math.max(...[0, 1, 2, 3].map((l) => Math.max(...row(l))));
			assert.ok(tok.features.length > 0 && Math.abs(tok.features[0]![2] - strongest) < 1e-5, `token ${r}: strongest ${tok.features[0]?.[2]}, want ${strongest}`);
			for (const [layer, index, value] of tok.features) {
				assert.ok(Math.abs(row(layer)[index]! - value) < 1e-5, `token ${r}: layer ${layer} feature ${index} is ${row(layer)[index]}, reported ${value}`);
				layers.add(layer);
			}
		});
		assert.ok(layers.size > 1, 'features of several layers should come back');
	});

	it('the set evaluation: per-layer EV and L0 on the clean model, CE with every MLP replaced (BOS kept) and ablated, by hand', async () => {
		const WINDOWS = [IDS, [0, 600, 535, 199, 600, 221, 541, 283, 321, 912, 8, 199]];
		const m = await evaluateCrossLayerTranscoder(
			model,
			runner,
			(async function* () {
				yield* WINDOWS;
			})(),
			{ tokens: 1000, contextSize: T, batchContexts: 2 },
		);
		assert.equal(m.tokens, 2 * (T - 1));
		const hooks = [0, 1, 2, 3].flatMap((l) => [`blocks.${l}.ln2.hook_normalized`, `blocks.${l}.hook_mlp_out`]);
		const perWindow = await Promise.all(
			WINDOWS.map(async (ids) => {
				const clean = await model.forward({ ids: [ids], hooks, logits: 'all' });
				const features = [0, 1, 2, 3].map((l) => encode(raw[l]!, clean.hooks[hooks[2 * l]!]!.data as Float32Array));
				return { clean, features, recons: [0, 1, 2, 3].map((l) => decode(raw, features, l)) };
			}),
		);
		for (let l = 0; l < N; l++) {
			const ys: number[][] = [];
			const rs: number[][] = [];
			let fired = 0;
			for (const w of perWindow) {
				const y = w.clean.hooks[hooks[2 * l + 1]!]!.data as Float32Array;
				for (let t = 1; t < T; t++) {
					ys.push([...y.subarray(t * D, (t + 1) * D)]);
					rs.push([...w.recons[l]!.subarray(t * D, (t + 1) * D)]);
					fired += w.features[l]!.subarray(t * S, (t + 1) * S).filter((v) => v > 0).length;
				}
			}
			const mean = Array.from({ length: D }, (_, i) => ys.reduce((a, y) => a + y[i]!, 0) / ys.length);
			let sqErr = 0;
			let variance = 0;
			ys.forEach((y, r) =>
				y.forEach((v, i) => {
					sqErr += (v - rs[r]![i]!) ** 2;
					variance += (v - mean[i]!) ** 2;
				}),
			);
			assert.ok(Math.abs(m.layers[l]!.explained_variance - (1 - sqErr / variance)) < 1e-4, `layer ${l} EV ${m.layers[l]!.explained_variance} vs ${1 - sqErr / variance}`);
			assert.ok(Math.abs(m.layers[l]!.l0 - fired / ys.length) < 1e-9, `layer ${l} L0`);
			assert.equal(m.layers[l]!.hook_name, `blocks.${l}.ln2.hook_normalized`);
		}
		const losses = await TokenLoss.create();
		const ce = { clean: 0, replaced: 0, ablated: 0, count: 0 };
		for (const [w, ids] of WINDOWS.entries()) {
			const clean = perWindow[w]!.clean.logits!;
			const mean = async (logits: Promise<ort.Tensor>) => (await losses.run(await logits, clean, [ids])).nll.reduce((a, b) => a + b, 0);
			const { interventions } = await reference(ids, true);
			ce.replaced += await mean(model.forward({ ids: [ids], logits: 'all', interventions }).then((o) => o.logits!));
			ce.ablated += await mean(
				model.forward({ ids: [ids], logits: 'all', extensions: [0, 1, 2, 3].map((l) => zeroAblation(`blocks.${l}.hook_mlp_out`, { keepFirstPosition: true })) }).then((o) => o.logits!),
			);
			ce.clean += await mean(Promise.resolve(clean));
			ce.count += T - 1;
		}
		await losses.dispose();
		const [clean, replaced, ablated] = [ce.clean / ce.count, ce.replaced / ce.count, ce.ablated / ce.count];
		assert.ok(Math.abs(m.ce_loss_with_transcoders - replaced) < 1e-4, `${m.ce_loss_with_transcoders} vs ${replaced}`);
		assert.ok(Math.abs(m.ce_loss_with_ablation - ablated) < 1e-4);
		assert.ok(Math.abs(m.ce_loss_without_transcoders - clean) < 1e-5);
		assert.ok(Math.abs(m.ce_loss_score - (ablated - replaced) / (ablated - clean)) < 1e-3);
	});

	it('refuses a CLT whose hooks the model lacks, naming the folder', async () => {
		const bad = fs.mkdtempSync(path.join(os.tmpdir(), 'clt-bad-'));
		try {
			writeRandomClt(bad, { dModel: D, dSae: S, nLayers: N });
			fs.writeFileSync(path.join(bad, 'config.yaml'), 'model_kind: cross_layer_transcoder\nfeature_input_hook: hook_nowhere\nfeature_output_hook: hook_mlp_out\n');
			assert.throws(
				() => CltRunner.forModel(loadCrossLayerTranscoder(bad), model, CPU),
				(e: Error) => e.message.includes(bad) && e.message.includes('blocks.0.hook_nowhere'),
			);
		} finally {
			fs.rmSync(bad, { recursive: true, force: true });
		}
	});
});
