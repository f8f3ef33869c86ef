// The model session against the real engine process: it loads what the settings name (the demo
// SAE for the demo model, which the engine resolves), loads what the user chooses first and
// writes the setting only after that succeeded, so a failed or cancelled load changes no
// setting, and it tells its listeners what is loaded. Needs dist/engine.js (node esbuild.mjs).

import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import { ModelSession } from '../../src/extension/modelSession';
import type { Loaded, ModelLoadUi, SessionSettings } from '../../src/extension/modelSession';
import { InspectProgressNotification, InspectRequest } from '../../src/protocol/engineProtocol';
import { isCancelled } from '../../src/protocol/errors';
import { fixtureModel, testEngine } from '../helpers';

/** Settings held in memory, with every write recorded. */
class MemorySettings implements SessionSettings {
	readonly writes: string[] = [];
	constructor(private values: { model: string; sae: string }) {}
	read() {
		return { ...this.values };
	}
	async write(key: 'model' | 'sae', value: string): Promise<void> {
		this.writes.push(`${key}=${value}`);
		this.values = { ...this.values, [key]: value };
	}
}

const TOPK_SAE = path.join(__dirname, '..', 'fixtures', 'sae', 'topk-v6');
/** Loads with no UI, recording the progress phases. */
const phases: string[] = [];
const quietly: ModelLoadUi = (_model, load) => load((p) => phases.push(p.phase), new CancellationTokenSource().token);

describe('model session (engine process)', () => {
	const engine = testEngine();
	after(() => engine.stop());
	const settings = new MemorySettings({ model: 'demo', sae: '' });
	const session = new ModelSession(engine, settings, quietly);
	const events: (Loaded | undefined)[] = [];
	session.onDidChange((loaded) => events.push(loaded));

	it('loads the model and SAE the settings name, the demo SAE for the demo model, and writes no setting', async () => {
		const ready = await session.ensureReady();
		assert.equal(ready.model.name, 'demo');
		assert.equal(ready.sae.hookName, 'blocks.2.hook_resid_pre');
		assert.equal(ready.sae.dSae, 3072);
		assert.ok(phases.includes('packing'), 'the model load reported its progress');
		assert.deepEqual(
			events.map((e) => [e?.model.name, e?.sae?.hookName]),
			[
				['demo', undefined],
				['demo', 'blocks.2.hook_resid_pre'],
			],
		);
		assert.deepEqual(session.current, ready);
		assert.equal(session.describe(), 'demo · topk 3072 @ blocks.2.hook_resid_pre');
		assert.deepEqual(settings.writes, []);
		// Loaded once: asking again changes nothing.
		assert.deepEqual(await session.ensureReady(), ready);
		assert.equal(events.length, 2);
	});

	it('a model that fails to load changes no setting, and the next use loads what the settings name', async () => {
		await assert.rejects(session.loadModel('/nonexistent/model'), /no such folder/);
		assert.deepEqual(settings.writes, []);
		assert.equal(session.current, undefined, 'after a failed load the host assumes nothing is loaded');
		assert.equal(events.at(-1), undefined);
		assert.equal((await session.ensureReady()).model.name, 'demo');
	});

	it('a cancelled model load changes no setting', async () => {
		const cancelling: ModelLoadUi = (_model, load) => {
			const source = new CancellationTokenSource();
			source.cancel();
			return load(() => {}, source.token);
		};
		const impatient = new ModelSession(engine, settings, cancelling);
		await assert.rejects(impatient.loadModel(fixtureModel('gpt2-tiny')), (err: unknown) => isCancelled(err));
		assert.deepEqual(settings.writes, []);
	});

	it('an SAE that fails to load changes no setting and leaves the loaded SAE in place', async () => {
		const before = await session.ensureReady();
		const count = events.length;
		await assert.rejects(session.loadSae('/nonexistent/sae'), /nonexistent/);
		// An SAE for another model (gpt2-tiny's hook and width) is refused too.
		await assert.rejects(session.loadSae(TOPK_SAE), /blocks\.1\.hook_resid_post/);
		assert.deepEqual(settings.writes, []);
		assert.deepEqual(session.current, before);
		assert.equal(events.length, count, 'nothing changed, so nobody was told');
		// The engine still inspects with the SAE it had.
		const result = await engine.requestWithProgress(InspectRequest, { text: 'import os\n', topFeatures: 2 }, InspectProgressNotification, () => {});
		assert.equal(result.hookName, 'blocks.2.hook_resid_pre');
	});

	it('a model and an SAE the user chose are loaded first, then written to the settings', async () => {
		const model = await session.loadModel(fixtureModel('gpt2-tiny'));
		assert.equal(model.name, 'gpt2-tiny');
		assert.deepEqual(settings.writes, [`model=${fixtureModel('gpt2-tiny')}`]);
		assert.deepEqual(session.current, { model });
		assert.equal(session.describe(), 'gpt2-tiny');
		// The demo SAE setting was empty, and this is not the demo model.
		await assert.rejects(session.ensureReady(), /no SAE is set for this model/);
		const ready = await session.loadSae(TOPK_SAE);
		assert.equal(ready.sae.hookName, 'blocks.1.hook_resid_post');
		assert.deepEqual(settings.writes, [`model=${fixtureModel('gpt2-tiny')}`, `sae=${TOPK_SAE}`]);
		assert.deepEqual(events.at(-1), ready);
		assert.deepEqual(await session.ensureReady(), ready);
	});

	it("after the engine restarts nothing is loaded, and the next use loads the settings' model and SAE again", async () => {
		await engine.restart();
		assert.equal(session.current, undefined);
		const ready = await session.ensureReady();
		assert.equal(ready.model.name, 'gpt2-tiny');
		assert.equal(ready.sae.hookName, 'blocks.1.hook_resid_post');
	});
});
