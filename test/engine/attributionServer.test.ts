// Attribution through the engine process, as the graph panel will drive it: AttributeRequest on
// the loaded model with a transcoder set returns Neuronpedia graph JSON with the scores, reports
// progress up to every target, and a request cancelled on its first progress rejects as cancelled;
// PruneAttributionRequest prunes the held graph again at other thresholds.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import { saveTranscoderSet } from '../../src/engine/sae/circuitTracerFormat';
import { AttributeProgressNotification, AttributeRequest, PruneAttributionRequest } from '../../src/protocol/attributionProtocol';
import { LoadModelRequest } from '../../src/protocol/engineProtocol';
import { SteeredGenerateRequest } from '../../src/protocol/steerProtocol';
import type { SteerSpec } from '../../src/protocol/steerProtocol';
import { fixtureModel, testEngine } from '../helpers';
import { inMemoryTranscoder } from '../saeFixtures';

describe('AttributeRequest through the engine process', () => {
	const engine = testEngine();
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-attribution-'));
	after(async () => {
		await engine.stop();
		fs.rmSync(tmp, { recursive: true, force: true });
	});

	it('returns the pruned graph JSON with its scores, with progress, and cancels', async () => {
		await engine.request(LoadModelRequest, { model: fixtureModel('gpt2-tiny') });
		const set = path.join(tmp, 'set');
		saveTranscoderSet(
			set,
			[0, 1].map((l) => inMemoryTranscoder('topk', { input: `blocks.${l}.ln2.hook_normalized`, output: `blocks.${l}.hook_mlp_out`, dModel: 32, dSae: 64, k: 8, seed: l })),
			{ inputHook: 'ln2.hook_normalized', outputHook: 'hook_mlp_out' },
		);
		const progress: [number, number][] = [];
		const prompt = 'def f(x):\n    return x + 1\n';
		const result = await engine.requestWithProgress(AttributeRequest, { prompt, transcoders: set, targetToken: 42 }, AttributeProgressNotification, (p) => progress.push([p.done, p.total]));
		const { metadata, nodes, links } = result.graph;
		assert.equal(metadata.prompt, prompt);
		assert.ok(metadata.replacement_score! > 0 && metadata.replacement_score! <= 1);
		assert.ok(metadata.completeness_score! > 0 && metadata.completeness_score! <= 1);
		assert.ok(result.featureCount > 0 && result.edgeCount > links.length && links.length > 0);
		assert.ok(
			nodes.some((n) => n.feature_type === 'logit' && n.feature === 42),
			'the target token is a logit',
		);
		const [done, total] = progress.at(-1)!;
		assert.equal(done, total);
		assert.ok(total >= result.featureCount);

		// The whole graph stays in the engine for a pruning slider: thresholds of 1 keep more (all
		// but the edges into nodes that reach no logit), lower ones less, the scores stay the graph's.
		const all = await engine.request(PruneAttributionRequest, { graphId: result.graphId, nodeThreshold: 1, edgeThreshold: 1 });
		assert.ok(all.links.length > links.length && all.links.length <= result.edgeCount);
		assert.equal(all.metadata.replacement_score, metadata.replacement_score);
		const fewer = await engine.request(PruneAttributionRequest, { graphId: result.graphId, nodeThreshold: 0.5, edgeThreshold: 0.9 });
		assert.ok(fewer.links.length < links.length && fewer.nodes.length <= nodes.length);
		await assert.rejects(engine.request(PruneAttributionRequest, { graphId: 'another', nodeThreshold: 0.8, edgeThreshold: 0.98 }), /no longer holds/);
		await assert.rejects(engine.request(PruneAttributionRequest, { graphId: result.graphId, nodeThreshold: 2, edgeThreshold: 0.98 }), /nodeThreshold/);

		const cancel = new CancellationTokenSource();
		const long = 'for item in items:\n    print(item)\n'.repeat(2);
		await assert.rejects(
			engine.requestWithProgress(AttributeRequest, { prompt: long, transcoders: set }, AttributeProgressNotification, () => cancel.cancel(), cancel.token),
			/cancelled/,
		);
		await assert.rejects(engine.request(AttributeRequest, { requestId: 'x', prompt, transcoders: 'relative/set' }), /absolute/);
	});

	it('traces a token of a steered completion: its ids, under its steering, the token as the target logit', async () => {
		await engine.request(LoadModelRequest, { model: fixtureModel('gpt2-tiny') });
		const set = path.join(tmp, 'steered-set');
		saveTranscoderSet(
			set,
			[0, 1].map((l) => inMemoryTranscoder('topk', { input: `blocks.${l}.ln2.hook_normalized`, output: `blocks.${l}.hook_mlp_out`, dModel: 32, dSae: 64, k: 8, seed: l })),
			{ inputHook: 'ln2.hook_normalized', outputHook: 'hook_mlp_out' },
		);
		// A steered completion of a layer-0 feature, clamped on the generated tokens only.
		const steer: SteerSpec = { features: [{ featureIndex: 5, mode: 'clamp', strength: 9, sae: path.join(set, 'layer_0.safetensors') }], vectors: [], positions: 'generated' };
		const prompt = 'def f(x):\n';
		const completion = await engine.request(SteeredGenerateRequest, { requestId: 'c', prompt, steer, maxNewTokens: 6, temperature: 0, topP: 1, seed: 0 });
		assert.ok(completion.promptIds.length > 0 && completion.steered.pieces!.join('') === completion.steered.text);
		// Its 4th token, traced: the prompt's ids and the 3 tokens before it.
		const k = 3;
		const traced = await engine.request(AttributeRequest, {
			requestId: 't',
			prompt: prompt + completion.steered.pieces!.slice(0, k).join(''),
			promptIds: [...completion.promptIds, ...completion.steered.ids.slice(0, k)],
			targetToken: completion.steered.ids[k]!,
			steer,
			steerFrom: completion.promptIds.length,
			transcoders: set,
			nodeThreshold: 1,
			edgeThreshold: 1,
		});
		const { nodes, metadata } = traced.graph;
		assert.equal(metadata.prompt_tokens.length, completion.promptIds.length + k);
		const target = nodes.find((n) => n.feature_type === 'logit' && n.is_target_logit);
		assert.equal(target?.feature, completion.steered.ids[k], 'the traced token is the target logit');
		const clamped = nodes.filter((n) => n.clerp === 'steered: clamped to 9');
		assert.ok(clamped.length > 0, 'the clamped feature is a node at its steered activation');
		for (const n of clamped) {
			assert.equal(n.activation, 9);
			assert.ok(n.ctx_idx >= completion.promptIds.length, 'only generated positions are steered');
		}
		assert.match(metadata.info!.description!, /Traced under steering: 5:clamp=9/);
	});
});
