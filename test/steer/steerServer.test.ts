// The steering protocol (src/protocol/steerProtocol.ts) through the real engine process:
// streamed baseline and steered tokens that add up to the completions, a baseline equal to
// ordinary generation with the same seed, sweeps, contrast vectors, cancellation, errors.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import { GenerateRequest, LoadModelRequest, LoadSaeRequest } from '../../src/protocol/engineProtocol';
import { ContrastVectorRequest, SteerTokenNotification, SteeredGenerateRequest, SweepRequest } from '../../src/protocol/steerProtocol';
import type { SteerSpec } from '../../src/protocol/steerProtocol';
import { saveTranscoderSet } from '../../src/engine/sae/circuitTracerFormat';
import { fixtureModel, testEngine } from '../helpers';
import { inMemoryTranscoder } from '../saeFixtures';

const SAMPLING = { maxNewTokens: 12, temperature: 0.5, topP: 1, seed: 16 };

describe('steering through the engine process', () => {
	const engine = testEngine();
	after(() => engine.stop());

	const collect = async (requestId: string) => {
		const running = await engine.ensureStarted();
		const tokens: { which: string; sweepIndex?: number; id: number; text: string }[] = [];
		const sub = running.connection.onNotification(SteerTokenNotification, (t) => {
			if (t.requestId === requestId) tokens.push(t);
		});
		return { tokens, dispose: () => sub.dispose() };
	};

	it('streams baseline and steered completions; the baseline is ordinary generation with the same seed', async () => {
		await engine.request(LoadModelRequest, { model: fixtureModel('gpt2-tiny') });
		await engine.request(LoadSaeRequest, { path: path.join(__dirname, '..', 'fixtures', 'sae', 'topk-v6') });
		const stream = await collect('s1');
		const steer: SteerSpec = {
			features: [
				{ featureIndex: 3, mode: 'clamp', strength: 40 },
				{ featureIndex: 9, mode: 'add', strength: 25 },
			],
			vectors: [],
			positions: 'all',
		};
		const result = await engine.request(SteeredGenerateRequest, { requestId: 's1', prompt: 'def f(self):\n', steer, ...SAMPLING });
		stream.dispose();
		assert.equal(result.cancelled, false);
		for (const which of ['baseline', 'steered'] as const) {
			const c = result[which]!;
			const mine = stream.tokens.filter((t) => t.which === which);
			assert.deepEqual(
				mine.map((t) => t.id),
				c.ids,
			);
			assert.equal(mine.map((t) => t.text).join(''), c.text);
			assert.equal(c.ids.length, 12);
		}
		assert.notDeepEqual(result.steered.ids, result.baseline!.ids);
		const plain = await engine.request(GenerateRequest, { requestId: 'g', prompt: 'def f(self):\n', ...SAMPLING });
		assert.deepEqual(plain.ids.slice(-12), result.baseline!.ids);
		assert.equal(plain.text, `def f(self):\n${result.baseline!.text}`);
		const only = await engine.request(SteeredGenerateRequest, { requestId: 's2', prompt: 'def f(self):\n', steer, baseline: false, ...SAMPLING });
		assert.equal(only.baseline, undefined);
		assert.deepEqual(only.steered, result.steered);
	});

	it("sweeps a feature's strength, tagging streamed tokens with the sweep index", async () => {
		const stream = await collect('w1');
		const sweep = await engine.request(SweepRequest, {
			requestId: 'w1',
			prompt: 'x = ',
			feature: { featureIndex: 5, mode: 'add' },
			strengths: [0, 30, 60],
			steer: { features: [], vectors: [], positions: 'generated' },
			...SAMPLING,
		});
		stream.dispose();
		assert.deepEqual(
			sweep.map((s) => s.strength),
			[0, 30, 60],
		);
		for (const [i, entry] of sweep.entries()) {
			assert.deepEqual(
				stream.tokens.filter((t) => t.sweepIndex === i).map((t) => t.id),
				entry.completion.ids,
			);
		}
		assert.ok(stream.tokens.every((t) => t.which === 'steered'));
	});

	it('makes a contrast vector and steers with it', async () => {
		const contrast = await engine.request(ContrastVectorRequest, { hookName: 'blocks.0.hook_resid_post', positive: 'def self', negative: '# comment' });
		assert.equal(contrast.vector.length, 32);
		assert.ok(Math.abs(Math.hypot(...contrast.vector) - contrast.norm) < 1e-4 && contrast.norm > 0);
		const steer: SteerSpec = { features: [], vectors: [{ hookName: 'blocks.0.hook_resid_post', vector: contrast.vector, strength: 8, label: 'self − comment' }], positions: 'all' };
		const result = await engine.request(SteeredGenerateRequest, { requestId: 'c1', prompt: 'x', steer, ...SAMPLING });
		assert.notDeepEqual(result.steered.ids, result.baseline!.ids);
	});

	it('a cancel answers with the tokens so far; bad specs get clear errors', async () => {
		const running = await engine.ensureStarted();
		const cancel = new CancellationTokenSource();
		const sub = running.connection.onNotification(SteerTokenNotification, (t) => {
			if (t.requestId === 'x1') cancel.cancel();
		});
		const steer: SteerSpec = { features: [{ featureIndex: 1, mode: 'cap', strength: 0 }], vectors: [], positions: 'all' };
		const result = await engine.request(SteeredGenerateRequest, { requestId: 'x1', prompt: 'def', steer, ...SAMPLING, maxNewTokens: 60 }, cancel.token);
		sub.dispose();
		assert.equal(result.cancelled, true);
		assert.ok(result.steered.ids.length < 60);
		await assert.rejects(
			engine.request(SteeredGenerateRequest, { requestId: 'x2', prompt: 'def', steer: { ...steer, features: [{ featureIndex: 64, mode: 'add', strength: 1 }] }, ...SAMPLING }),
			/feature 64 is not in the SAE \(feature indices run 0\.\.63\)/,
		);
		await assert.rejects(engine.request(ContrastVectorRequest, { hookName: 'blocks.5.hook_resid_pre', positive: 'a', negative: 'b' }), /unknown hook/);
		const cancelSweep = new CancellationTokenSource();
		const sub2 = running.connection.onNotification(SteerTokenNotification, (t) => {
			if (t.requestId === 'x3') cancelSweep.cancel();
		});
		await assert.rejects(
			engine.request(
				SweepRequest,
				{ requestId: 'x3', prompt: 'def', feature: { featureIndex: 1, mode: 'add' }, strengths: [1, 2, 3], steer: { features: [], vectors: [], positions: 'all' }, ...SAMPLING, maxNewTokens: 60 },
				cancelSweep.token,
			),
			/cancelled/,
		);
		sub2.dispose();
	});

	it("steers features of several layers' transcoders together, each named by its file, beside the loaded SAE", async () => {
		await engine.request(LoadModelRequest, { model: fixtureModel('gpt2-tiny') });
		const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-steer-set-'));
		try {
			saveTranscoderSet(
				tmp,
				[0, 1].map((l) => inMemoryTranscoder('topk', { input: `blocks.${l}.ln2.hook_normalized`, output: `blocks.${l}.hook_mlp_out`, dModel: 32, dSae: 64, k: 8, seed: l })),
				{ inputHook: 'ln2.hook_normalized', outputHook: 'hook_mlp_out' },
			);
			const layer = (l: number) => path.join(tmp, `layer_${l}.safetensors`);
			const prompt = 'def f(self):\n';
			const greedy = { ...SAMPLING, temperature: 0 };
			const both = await engine.request(SteeredGenerateRequest, {
				requestId: 'm1',
				prompt,
				steer: {
					features: [
						{ featureIndex: 4, mode: 'clamp', strength: 30, sae: layer(0) },
						{ featureIndex: 7, mode: 'clamp', strength: 30, sae: layer(1) },
					],
					vectors: [],
					positions: 'all',
				},
				...greedy,
			});
			assert.notDeepEqual(both.steered.ids, both.baseline!.ids, 'the steering changes the completion');
			// Named by its file or loaded as the SAE, layer 1's feature steers alike.
			const one = { featureIndex: 7, mode: 'clamp' as const, strength: 30 };
			const byPath = await engine.request(SteeredGenerateRequest, {
				requestId: 'm2',
				prompt,
				steer: { features: [{ ...one, sae: layer(1) }], vectors: [], positions: 'all' },
				baseline: false,
				...greedy,
			});
			await engine.request(LoadSaeRequest, { path: layer(1) });
			const loaded = await engine.request(SteeredGenerateRequest, { requestId: 'm3', prompt, steer: { features: [one], vectors: [], positions: 'all' }, baseline: false, ...greedy });
			assert.deepEqual(byPath.steered.ids, loaded.steered.ids);
			assert.notDeepEqual(byPath.steered.ids, both.steered.ids, 'the two layers together differ from one alone');
			await assert.rejects(
				engine.request(SteeredGenerateRequest, { requestId: 'm4', prompt, steer: { features: [{ ...one, sae: path.join(tmp, 'layer_9.safetensors') }], vectors: [], positions: 'all' }, ...greedy }),
				/layer_9\.safetensors/,
			);
		} finally {
			fs.rmSync(tmp, { recursive: true, force: true });
		}
	});
});
