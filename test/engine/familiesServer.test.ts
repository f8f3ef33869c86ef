// Every architecture family through the engine process, as the extension drives it: load the
// model and an SAE at one of its hooks, inspect a text, analyse a corpus and open a feature's
// dashboard (logit lens included), steer a completion, and train a few SAE steps on a hook.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { saveSae } from '../../src/engine/sae/saeFormat';
import { InspectRequest, LoadModelRequest, LoadSaeRequest, TrainSaeRequest } from '../../src/protocol/engineProtocol';
import { AnalyzeFeaturesRequest, FeatureDashboardRequest } from '../../src/protocol/featureProtocol';
import { SteeredGenerateRequest } from '../../src/protocol/steerProtocol';
import { fixtureModel, testEngine } from '../helpers';
import { inMemorySae } from '../saeFixtures';

const CORPUS = path.join(__dirname, '..', '..', 'src', 'engine', 'models', '*.ts');
const TEXT = 'def parse(self, text):\n    return text.split()\n';

/** The d_model-32 fixture of each family, with a hook inside its blocks that the family shapes its own way to train on. */
const FAMILIES: [string, string][] = [
	['llama3-tiny', 'blocks.0.hook_mlp_out'],
	['qwen3-tiny', 'blocks.0.hook_attn_out'],
	['gemma2-tiny', 'blocks.0.hook_attn_out'], // after post_attention_layernorm
	['gemma3-tiny', 'blocks.1.hook_mlp_out'], // after post_feedforward_layernorm
	['pythia-tiny', 'blocks.1.hook_resid_pre'],
];

describe('every family through the engine process', () => {
	const engine = testEngine();
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-families-'));
	after(async () => {
		await engine.stop();
		fs.rmSync(tmp, { recursive: true, force: true });
	});

	for (const [name, trainHook] of FAMILIES) {
		it(`${name}: inspect, dashboard, steered completion and SAE training`, async () => {
			const info = await engine.request(LoadModelRequest, { model: fixtureModel(name) });
			assert.equal(info.dModel, 32);
			const saeDir = path.join(tmp, `${name}-sae`);
			const sae = inMemorySae('topk', { hookName: 'blocks.1.hook_resid_post', dSae: 64, k: 4, encoderStd: 0.5 });
			sae.cfg.metadata.model_name = name;
			saveSae(saeDir, sae);
			await engine.request(LoadSaeRequest, { path: saeDir });

			const inspected = await engine.request(InspectRequest, { requestId: `i-${name}`, text: TEXT, topFeatures: 3 });
			assert.equal(inspected.hookName, 'blocks.1.hook_resid_post');
			assert.equal(inspected.tokens.map((t) => TEXT.slice(t.start, t.end)).join(''), TEXT);
			const fired = inspected.tokens.flatMap((t) => t.features);
			assert.ok(fired.length > 0 && fired.every(([, a]) => Number.isFinite(a) && a > 0));
			const feature = fired[0]![0];

			const analysis = await engine.request(AnalyzeFeaturesRequest, { requestId: `a-${name}`, corpus: CORPUS, tokens: 600 });
			assert.equal(analysis.cancelled, false);
			const dashboard = await engine.request(FeatureDashboardRequest, { featureIndex: feature });
			assert.equal(dashboard.analysed, true);
			assert.ok(dashboard.topExamples.length > 0, 'the feature fired in the corpus');
			assert.equal(dashboard.logitLens.positive.length, 10);
			assert.ok(dashboard.logitLens.positive[0]!.value > dashboard.logitLens.negative[0]!.value);
			assert.equal(dashboard.neighbours.length, 10);

			const steered = await engine.request(SteeredGenerateRequest, {
				requestId: `s-${name}`,
				prompt: TEXT,
				maxNewTokens: 8,
				temperature: 0,
				topP: 1,
				seed: 16,
				steer: { features: [{ featureIndex: feature, mode: 'add', strength: 200 }], vectors: [], positions: 'all' },
			});
			assert.equal(steered.cancelled, false);
			assert.equal(steered.baseline!.ids.length, 8);
			assert.notDeepEqual(steered.steered.ids, steered.baseline!.ids);

			const trained = await engine.request(TrainSaeRequest, {
				requestId: `t-${name}`,
				hookName: trainHook,
				architecture: 'topk',
				dSae: 64,
				k: 4,
				tokens: 4096 * 2,
				corpus: CORPUS,
				out: path.join(tmp, `${name}-run`),
				resume: false,
			});
			assert.equal(trained.steps, 2);
			assert.ok(Number.isFinite(trained.final!.loss) && trained.final!.l0 <= 4);
		});
	}
});
