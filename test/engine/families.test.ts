// What the architecture families add beyond parity with the reference (golden.test.ts): KV-cache
// decoding across a sliding window equals full recomputation, also in a block variant that reads
// a hook; each family's hook list; configs read as Hugging Face reads them; the logit lens through
// Gemma's (1 + w) final-norm gain and uncapped logits, and through Pythia's untied, centred
// unembedding.

import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { DecoderViews } from '../../src/engine/features/decoderGraphs';
import { toFloat32 } from '../../src/engine/io/halfFloats';
import type { StoredFloat } from '../../src/engine/io/halfFloats';
import { readSafetensorsHeader, readTensor } from '../../src/engine/io/safetensors';
import { architectureFor } from '../../src/engine/models/architectures';
import { LanguageModel } from '../../src/engine/models/languageModel';
import { inverseFrequencies } from '../../src/engine/models/rotary';
import type { Sae } from '../../src/engine/sae/saeTypes';
import { fixtureModel, maxAbsDiff } from '../helpers';
import { gaussianArray, inMemorySae, tensor } from '../saeFixtures';

const CPU = { executionProvider: 'cpu', threads: 1 } as const;
const IDS = [5, 61, 200, 17, 33, 256, 101, 7, 299, 42, 11, 150];
const FAMILIES = ['mistral-tiny', 'llama3-tiny', 'qwen3-tiny', 'gemma2-tiny', 'gemma3-tiny', 'gemma3-mm-tiny', 'pythia-tiny', 'pythia-seq-tiny'];

/** A checkpoint tensor by its full name, as float32. */
function checkpointTensor(name: string, tensorName: string): Float32Array {
	const entry = readSafetensorsHeader(path.join(fixtureModel(name), 'model.safetensors')).tensors.find((t) => t.name === tensorName);
	if (!entry) throw new Error(`${name} has no ${tensorName}`);
	return toFloat32(entry.dtype as StoredFloat, readTensor(entry).data);
}

for (const name of FAMILIES) {
	describe(`${name}: KV cache across the sliding window`, () => {
		const model = LanguageModel.load(fixtureModel(name), CPU);
		after(() => model.dispose());

		it('decoding from 2 tokens to 12 through the cache equals a full recompute at every step, in the trunk and in a block variant', async () => {
			const V = model.cfg.dVocab;
			const H = model.cfg.nHeads;
			const pattern = 'blocks.0.attn.hook_pattern';
			const full = await model.forward({ ids: [IDS], hooks: [pattern], logits: 'all' });
			const fullPattern = full.hooks[pattern]!.data as Float32Array; // [1, H, 12, 12]
			const window = model.cfg.layers[0]!.window;
			let step = await model.forward({ ids: [IDS.slice(0, 2)], logits: 'last', past: model.emptyCache(1) });
			for (let pos = 2; pos < IDS.length; pos++) {
				// Every other step reads a hook inside block 0, so that block runs as a variant with the cache.
				const withHook = pos % 2 === 0;
				step = await model.forward({ ids: [[IDS[pos]!]], logits: 'last', past: step.present!, hooks: withHook ? [pattern] : [] });
				const want = (full.logits!.data as Float32Array).subarray(pos * V, (pos + 1) * V);
				const diff = maxAbsDiff(step.logits!.data as Float32Array, want);
				assert.ok(diff < 5e-5, `position ${pos}: max |Δlogit| = ${diff}`);
				if (!withHook) continue;
				const got = step.hooks[pattern]!; // [1, H, 1, pos + 1]
				assert.deepEqual(got.dims, [1, H, 1, pos + 1]);
				for (let h = 0; h < H; h++) {
					const row = (got.data as Float32Array).subarray(h * (pos + 1), (h + 1) * (pos + 1));
					const wantRow = fullPattern.subarray((h * 12 + pos) * 12, (h * 12 + pos) * 12 + pos + 1);
					assert.ok(maxAbsDiff(row, wantRow) < 1e-5, `head ${h} at ${pos}`);
					// Outside a sliding window the pattern is exactly zero.
					if (window !== undefined) for (let k = 0; k <= pos - window; k++) assert.equal(row[k], 0, `key ${k} outside the window of ${pos}`);
				}
			}
		});
	});
}

describe('hook points per family', () => {
	const hooksOf = (name: string) => {
		const model = LanguageModel.load(fixtureModel(name), CPU);
		return new Map(model.hookPoints.map((h) => [h.name, h.shape]));
	};

	it('a parallel-residual Pythia block has no hook_resid_mid; a sequential one does; neither has hook_pre_linear', async () => {
		const parallel = hooksOf('pythia-tiny');
		assert.equal(parallel.has('blocks.0.hook_resid_mid'), false);
		assert.ok(parallel.has('blocks.0.ln2.hook_normalized') && parallel.has('blocks.1.hook_resid_post'));
		assert.equal(parallel.has('blocks.0.mlp.hook_pre_linear'), false);
		const model = LanguageModel.load(fixtureModel('pythia-tiny'), CPU);
		await assert.rejects(model.forward({ ids: [IDS], hooks: ['blocks.0.hook_resid_mid'] }), /unknown hook "blocks.0.hook_resid_mid" for this gpt_neox model/);
		await model.dispose();
		assert.ok(hooksOf('pythia-seq-tiny').has('blocks.1.hook_resid_mid'));
	});

	it('shapes follow each config: explicit head_dim, GQA, gated MLPs', () => {
		const qwen3 = hooksOf('qwen3-tiny');
		assert.deepEqual(qwen3.get('blocks.0.attn.hook_q'), ['pos', 4, 16]);
		assert.deepEqual(qwen3.get('blocks.0.attn.hook_k'), ['pos', 2, 16]);
		assert.deepEqual(qwen3.get('blocks.0.mlp.hook_pre_linear'), ['pos', 96]);
		const gemma3mm = hooksOf('gemma3-mm-tiny');
		assert.deepEqual(gemma3mm.get('blocks.1.attn.hook_z'), ['pos', 8, 256]);
		assert.deepEqual(gemma3mm.get('blocks.1.attn.hook_pattern'), [8, 'pos', 'kpos']);
		assert.deepEqual(gemma3mm.get('blocks.1.hook_resid_post'), ['pos', 8]);
		assert.deepEqual(hooksOf('pythia-tiny').get('blocks.0.attn.hook_v'), ['pos', 2, 16]);
	});
});

describe('configs as Hugging Face reads them', () => {
	it('Gemma 2: query_pre_attn_scalar, both soft-caps, a window on layers 0 and 2', () => {
		const { cfg } = LanguageModel.load(fixtureModel('gemma2-tiny'), CPU);
		assert.equal(cfg.attnScale, 24 ** -0.5);
		assert.equal(cfg.attnSoftcap, 5);
		assert.equal(cfg.finalSoftcap, 1);
		assert.deepEqual(
			cfg.layers.map((l) => l.window),
			[4, undefined, 4],
		);
		assert.equal(cfg.dtype, 'BF16');
	});

	it('Gemma 3: local rope base on sliding layers, linear scaling on the global one only; the multimodal folder takes the text defaults and no final cap', () => {
		const { cfg } = LanguageModel.load(fixtureModel('gemma3-tiny'), CPU);
		assert.deepEqual(
			cfg.layers.map((l) => [l.window, l.rope]),
			[
				[4, { theta: 10000, dims: 16 }],
				[4, { theta: 10000, dims: 16 }],
				[undefined, { theta: 1e6, dims: 16, scaling: { type: 'linear', factor: 8 } }],
				[4, { theta: 10000, dims: 16 }],
			],
		);
		assert.equal(cfg.attnSoftcap, undefined);
		const mm = LanguageModel.load(fixtureModel('gemma3-mm-tiny'), CPU).cfg;
		assert.deepEqual([mm.modelType, mm.nHeads, mm.nKvHeads, mm.dHead, mm.attnScale, mm.finalSoftcap, mm.tiedEmbeddings], ['gemma3', 8, 4, 256, 1 / 16, undefined, true]);
		assert.deepEqual(mm.eosTokenIds, [1, 106]);
		assert.deepEqual(
			mm.layers.map((l) => l.window),
			[4, 4],
		);
	});

	it('Pythia: rotary on rotary_pct of each head, parallel or not', () => {
		const { cfg } = LanguageModel.load(fixtureModel('pythia-tiny'), CPU);
		assert.deepEqual(cfg.layers[0]!.rope, { theta: 10000, dims: 4 });
		assert.equal(cfg.parallelAttnMlp, true);
		assert.equal(LanguageModel.load(fixtureModel('pythia-seq-tiny'), CPU).cfg.parallelAttnMlp, false);
	});

	it("llama3 rope: long wavelengths ÷ factor, short ones kept, the band between interpolated (transformers' formula in float64)", () => {
		const { cfg } = LanguageModel.load(fixtureModel('llama3-tiny'), CPU);
		const rope = cfg.layers[0]!.rope!;
		assert.deepEqual(rope.scaling, { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 64 });
		const got = inverseFrequencies(rope);
		const bands = new Set<string>();
		got.forEach((inv, i) => {
			const base = 1 / 500000 ** ((2 * i) / 16);
			const wavelen = (2 * Math.PI) / base;
			let want = base;
			if (wavelen > 64) want = base / 32;
			else if (wavelen >= 16) {
				const smooth = (64 / wavelen - 1) / 3;
				want = ((1 - smooth) * base) / 32 + smooth * base;
			}
			bands.add(wavelen < 16 ? 'high' : wavelen > 64 ? 'low' : 'medium');
			assert.ok(Math.abs(inv - want) <= 1e-6 * want, `frequency ${i}: ${inv} vs ${want}`);
		});
		assert.equal(bands.size, 3);
	});
});

describe('config rules, from config.json alone', () => {
	const base = { hidden_size: 32, intermediate_size: 48, num_hidden_layers: 3, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 300, max_position_embeddings: 128 };
	const windows = (raw: Record<string, unknown>) =>
		architectureFor(raw.model_type as string)!
			.config(raw)
			.layers.map((l) => l.window);

	it('sliding windows as transformers assigns them: Mistral everywhere, Qwen only with use_sliding_window from max_window_layers on, layer_types first, none as long as the context', () => {
		assert.deepEqual(windows({ ...base, model_type: 'mistral', sliding_window: 8 }), [8, 8, 8]);
		assert.deepEqual(windows({ ...base, model_type: 'mistral', sliding_window: null }), [undefined, undefined, undefined]);
		assert.deepEqual(windows({ ...base, model_type: 'mistral', sliding_window: 128 }), [undefined, undefined, undefined]);
		assert.deepEqual(windows({ ...base, model_type: 'qwen2', sliding_window: 8, use_sliding_window: false, max_window_layers: 1 }), [undefined, undefined, undefined]);
		assert.deepEqual(windows({ ...base, model_type: 'qwen2', sliding_window: 8, use_sliding_window: true, max_window_layers: 1 }), [undefined, 8, 8]);
		assert.deepEqual(windows({ ...base, model_type: 'qwen3', sliding_window: 8, use_sliding_window: true, max_window_layers: 0 }), [8, 8, 8]);
		assert.deepEqual(windows({ ...base, model_type: 'llama', sliding_window: 8, layer_types: ['full_attention', 'sliding_attention', 'full_attention'] }), [undefined, 8, undefined]);
		assert.deepEqual(windows({ ...base, model_type: 'gemma2', head_dim: 8, sliding_window: 8 }), [8, undefined, 8]);
		assert.deepEqual(windows({ ...base, model_type: 'gemma3_text', head_dim: 8, sliding_window: 8, sliding_window_pattern: 2 }), [8, undefined, 8]);
	});

	it('refuses what it cannot compute, naming config.json and the field', () => {
		const refuse = (raw: Record<string, unknown>, message: RegExp) => assert.throws(() => architectureFor(raw.model_type as string)!.config(raw), message);
		refuse(
			{ ...base, model_type: 'llama', rope_parameters: { rope_type: 'yarn', rope_theta: 1e4, factor: 4 } },
			/config\.json: "rope_parameters\.rope_type" "yarn" is not supported \(supported: default, linear, llama3\)/,
		);
		refuse({ ...base, model_type: 'llama', rope_scaling: { rope_type: 'llama3', factor: 8 } }, /config\.json: "rope_scaling\.low_freq_factor" must be a positive number/);
		refuse({ ...base, model_type: 'gemma2', head_dim: 8, layer_types: ['full_attention'] }, /config\.json: "layer_types" must list 3 of full_attention \/ sliding_attention/);
		refuse({ ...base, model_type: 'gemma2', head_dim: 8, hidden_activation: 'gelu_quick' }, /config\.json: hidden_activation "gelu_quick" is not supported/);
		refuse({ model_type: 'gemma3' }, /config\.json: a "gemma3" config needs its language model's "text_config"/);
		refuse({ ...base, model_type: 'gemma3_text', use_bidirectional_attention: true }, /config\.json: "use_bidirectional_attention" \(an embedding model\) is not supported/);
		refuse({ ...base, model_type: 'gpt_neox', rotary_pct: 0.1 }, /config\.json: a rotary fraction of 0\.1 \(rotary_pct \/ partial_rotary_factor\) rotates 0 of each head's 8 dims/);
	});
});

describe('logit lens per family', () => {
	/** An SAE at blocks.1.hook_resid_post whose decoder rows are large, so that soft-capping would show. */
	const bigDecoderSae = (): Sae => {
		const sae = inMemorySae('topk', { hookName: 'blocks.1.hook_resid_post', dSae: 16, k: 4, encoderStd: 0.3 });
		sae.weights.W_dec = tensor(gaussianArray(16 * 32, 9, 30), [16, 32]);
		return sae;
	};

	/** W_dec[i] (centred for LayerNorm) × gain through W_U [d_vocab, 32], minus the mean over the vocabulary. */
	const direct = (sae: Sae, i: number, gain: Float32Array, wU: Float32Array, centre: boolean): number[] => {
		const wDec = new Float32Array(new Uint8Array(sae.weights.W_dec!.data).buffer);
		const dir = Array.from(wDec.subarray(i * 32, (i + 1) * 32));
		const mu = centre ? dir.reduce((s, v) => s + v, 0) / 32 : 0;
		const g = dir.map((v, j) => (v - mu) * gain[j]!);
		const logits = Array.from({ length: wU.length / 32 }, (_, t) => g.reduce((s, x, j) => s + x * wU[t * 32 + j]!, 0));
		const mean = logits.reduce((s, v) => s + v, 0) / logits.length;
		return logits.map((v) => v - mean);
	};

	const check = async (name: string, gain: Float32Array, wU: Float32Array, centre: boolean) => {
		const model = LanguageModel.load(fixtureModel(name), CPU);
		const sae = bigDecoderSae();
		const views = new DecoderViews(model, sae, CPU);
		try {
			for (const i of [0, 7, 15]) {
				const want = direct(sae, i, gain, wU, centre);
				const lens = (await views.logitLens(i))!;
				const diff = maxAbsDiff(lens.all, want);
				assert.ok(diff < 1e-4, `feature ${i}: max |Δ| = ${diff}`);
				// The directions reach far past the cap, so a capped lens could not match.
				assert.ok(Math.max(...want.map(Math.abs)) > 3 * (model.cfg.finalSoftcap ?? 0));
			}
		} finally {
			await views.dispose();
			await model.dispose();
		}
	};

	it('Gemma 2: through the (1 + w) final-norm gain and the tied embedding, before final soft-capping', async () => {
		const gain = checkpointTensor('gemma2-tiny', 'model.norm.weight').map((w) => 1 + w);
		await check('gemma2-tiny', gain, checkpointTensor('gemma2-tiny', 'model.embed_tokens.weight'), false);
	});

	it('Pythia: centred, through the LayerNorm gain and the untied embed_out', async () => {
		await check('pythia-tiny', checkpointTensor('pythia-tiny', 'gpt_neox.final_layer_norm.weight'), checkpointTensor('pythia-tiny', 'embed_out.weight'), true);
	});
});
