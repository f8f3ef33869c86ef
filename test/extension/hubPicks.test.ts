// What the Hub commands show: model completions from the shipped release registry, release and
// SAE items, progress lines, typed references, and the licence page in a gated model's error.

import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseHubRef } from '../../src/engine/hub/hubRef';
import { HubService } from '../../src/engine/hub/hubService';
import { hubRefFromInput, licenceUrl, modelCompletions, progressText, releaseItems, saeItems } from '../../src/extension/hub/hubPicks';
import { neuronpediaFeatureUrl } from '../../src/extension/hub/neuronpedia';
import { testDataDir } from '../helpers';

// An empty data folder: the shipped release registry.
const dataDir = testDataDir();
const service = new HubService(
	() => {},
	() => {},
	() => dataDir,
);

describe('Hub quick picks', () => {
	it('offers the Hub repositories of the models the shipped releases cover, TransformerLens names mapped to them', () => {
		const models = modelCompletions(service.listReleases()).map((m) => m.label);
		assert.ok(models.includes('openai-community/gpt2'), 'gpt2-small releases offer openai-community/gpt2');
		assert.ok(models.includes('meta-llama/Llama-3.1-8B'), 'Llama Scope');
		assert.ok(models.includes('google/gemma-2-2b'), 'Gemma Scope (gemma-2-2b in the registry)');
		assert.ok(models.includes('Qwen/Qwen2.5-7B-Instruct'), 'a repository id in the registry as is');
		assert.ok(models.every((m) => m.includes('/')));
	});

	it('lists releases for a model and their loadable SAEs by hook, width and L0', () => {
		const items = releaseItems(service.listReleases('google/gemma-2-2b'));
		const res = items.find((i) => i.label === 'gemma-scope-2b-pt-res')!;
		assert.equal(res.description, 'google/gemma-scope-2b-pt-res');
		const sae = saeItems(res.release).find((s) => s.label === 'layer_12/width_16k/average_l0_82')!;
		assert.equal(sae.description, 'blocks.12.hook_resid_post · width 16384 · L0 82');
		// Per-layer transcoders in a format the engine reads are offered; a cross-layer transcoder's layers are not.
		const gemma = releaseItems(service.listReleases('gemma-2-2b'));
		const transcoders = gemma.find((i) => i.label === 'gemma-scope-2b-pt-transcoders')!;
		assert.equal(saeItems(transcoders.release).length, 26, 'one transcoder per layer');
		const clt = gemma.find((i) => i.label === 'mntss-gemma-2-2b-2.5m-clt-as-per-layer')!;
		assert.equal(saeItems(clt.release).length, 0, 'a CLT is not offered layer by layer');
		assert.match(clt.detail!, /, 0 loadable/);
	});

	it('turns typed references into hf: ones and refuses what is not a repository', () => {
		assert.equal(hubRefFromInput(' openai-community/gpt2@main '), 'hf:openai-community/gpt2@main');
		assert.equal(hubRefFromInput('hf:org/name/folder'), 'hf:org/name/folder');
		// What is not a repository the engine refuses when it fetches.
		assert.throws(() => parseHubRef(hubRefFromInput('gpt2')), /not a Hub repository id/);
	});

	it("describes progress, and finds the licence page in a gated model's error", () => {
		assert.equal(
			progressText({ requestId: 'r', ref: 'hf:a/b', phase: 'downloading', bytesDone: 12_345_678, bytesTotal: 548_000_000, filesDone: 1, filesTotal: 3, file: 'model.safetensors' }),
			'12 of 548 MB · file 2 of 3 (model.safetensors)',
		);
		assert.equal(
			licenceUrl('google/gemma-2-2b is gated: accept the licence at https://huggingface.co/google/gemma-2-2b (then set HF_TOKEN, or put a token in $HF_HOME/token)'),
			'https://huggingface.co/google/gemma-2-2b',
		);
		assert.equal(licenceUrl('no such thing'), undefined);
		assert.equal(neuronpediaFeatureUrl('gpt2-small/8-res-jb', 1132), 'https://www.neuronpedia.org/gpt2-small/8-res-jb/1132');
	});
});
