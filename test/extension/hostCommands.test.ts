// The host's model and engine commands as the user runs them, with the VS Code API at the edge
// (vscodeEdge.ts) and the real ModelSession and engine process behind it: Select Model, Load SAE,
// Show Model, Analyse Features, Restart Engine, Show Log and the status menu. Needs dist/engine.js (node esbuild.mjs).

import { edge, fakeContext, fakeLog } from './vscodeEdge';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import type * as vscode from 'vscode';
import { COMMANDS } from '../../src/extension/commands';
import { registerFeatureDashboards } from '../../src/extension/dashboard/dashboardCommands';
import { registerEngineCommands, STATUS_MENU } from '../../src/extension/engineCommands';
import { registerModelCommands } from '../../src/extension/modelCommands';
import { ModelSession } from '../../src/extension/modelSession';
import type { ModelLoadUi, SessionSettings } from '../../src/extension/modelSession';
import { FeatureDashboardRequest } from '../../src/protocol/featureProtocol';
import { fixtureModel, testEngine } from '../helpers';

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
const quietly: ModelLoadUi = (_model, load) => load(() => {}, new CancellationTokenSource().token);

describe('host commands (VS Code API at the edge, real engine)', () => {
	const engine = testEngine();
	after(() => engine.stop());
	const settings = new MemorySettings({ model: 'demo', sae: '' });
	const session = new ModelSession(engine, settings, quietly);
	const log = fakeLog();
	const context = fakeContext();
	/** What the session holds now (a function, so an assertion on it does not narrow later reads). */
	const loadedModel = () => session.current?.model;

	before(() => {
		registerModelCommands(context as unknown as vscode.ExtensionContext, session, log as unknown as vscode.LogOutputChannel);
		registerEngineCommands(context as unknown as vscode.ExtensionContext, engine, log as unknown as vscode.LogOutputChannel);
		registerFeatureDashboards(context as unknown as vscode.ExtensionContext, engine, session, log as unknown as vscode.LogOutputChannel);
	});

	it('Select Model: a dismissed pick or dialog loads nothing; a checkpoint folder is loaded, then written to the setting', async () => {
		edge.reset();
		edge.quickPicks.push(undefined);
		await edge.run(COMMANDS.selectModel);
		edge.quickPicks.push(/^Choose a checkpoint folder/);
		edge.openDialogs.push(undefined);
		await edge.run(COMMANDS.selectModel);
		assert.deepEqual(settings.writes, []);
		assert.equal(loadedModel(), undefined);

		edge.quickPicks.push(/^Choose a checkpoint folder/);
		edge.openDialogs.push(fixtureModel('gpt2-tiny'));
		await edge.run(COMMANDS.selectModel);
		assert.equal(loadedModel()?.modelType, 'gpt2');
		assert.deepEqual(settings.writes, [`model=${fixtureModel('gpt2-tiny')}`]);
		assert.match(edge.messages.at(-1)!.text, /gpt2-tiny ready \(gpt2, 2 layers/);
	});

	it('Select Model: a folder that is no model is reported as an error and changes no setting', async () => {
		edge.reset();
		edge.quickPicks.push(/^Choose a checkpoint folder/);
		edge.openDialogs.push('/nonexistent/model');
		await edge.run(COMMANDS.selectModel);
		assert.equal(edge.messages.at(-1)?.kind, 'error');
		assert.match(edge.messages.at(-1)!.text, /no such folder/);
		assert.match(log.lines.at(-1)!, /^error: .*no such folder/);
		assert.deepEqual(settings.writes, [`model=${fixtureModel('gpt2-tiny')}`]);
	});

	it('Load SAE: a dismissed dialog loads nothing; a SAELens folder is loaded, then written to the setting', async () => {
		edge.reset();
		edge.openDialogs.push(undefined);
		await edge.run(COMMANDS.loadSae);
		assert.equal(settings.writes.length, 1);
		edge.openDialogs.push(TOPK_SAE);
		await edge.run(COMMANDS.loadSae);
		assert.equal(session.current?.sae?.hookName, 'blocks.1.hook_resid_post');
		assert.deepEqual(settings.writes.slice(1), [`sae=${TOPK_SAE}`]);
		assert.match(edge.messages.at(-1)!.text, /SAE ready \(topk, \d+ features at blocks\.1\.hook_resid_post\)/);
	});

	it('Load SAE: an SAE that does not load is an error and keeps the setting', async () => {
		edge.reset();
		edge.openDialogs.push('/nonexistent/sae');
		await edge.run(COMMANDS.loadSae);
		assert.equal(edge.messages.at(-1)?.kind, 'error');
		assert.deepEqual(settings.writes.slice(1), [`sae=${TOPK_SAE}`]);
	});

	it('Analyse Features: a dismissed corpus pick runs nothing; a file analysed for the loaded SAE gives its features dashboards', async () => {
		edge.reset();
		assert.equal((await engine.request(FeatureDashboardRequest, { featureIndex: 0 })).analysed, false);
		edge.quickPicks.push(undefined);
		await edge.run(COMMANDS.analyzeFeatures);
		assert.equal(edge.messages.length, 0);
		edge.quickPicks.push(/^A file/);
		edge.openDialogs.push(path.join(__dirname, '..', '..', 'src', 'engine', 'server.ts'));
		edge.inputBoxes.push('2048');
		await edge.run(COMMANDS.analyzeFeatures);
		assert.equal(edge.messages.length, 1, JSON.stringify(edge.messages));
		assert.match(edge.messages[0]!.text, /^Feature Lens: analysed [\d,]+ tokens at [\d,]+ tok\/s: \d+ dead and \d+ dense features\. Saved in /);
		// The engine now answers dashboards from that analysis.
		const dashboard = await engine.request(FeatureDashboardRequest, { featureIndex: 0 });
		assert.equal(dashboard.analysed, true);
		assert.equal(dashboard.corpus, path.join(__dirname, '..', '..', 'src', 'engine', 'server.ts'));
		assert.ok(dashboard.analysedTokens >= 2048);
	});

	it('Show Model: a panel with the loaded model, sent once its script is ready, and updated when the model changes', async () => {
		edge.reset();
		await edge.run(COMMANDS.showModel);
		assert.equal(edge.panels.length, 1);
		const panel = edge.panels[0]!;
		assert.match(panel.webview.html, /modelPanel\.js/);
		assert.equal(panel.posted.length, 0, 'nothing is posted before the webview says it is ready');
		panel.fromWebview({ type: 'ready' });
		assert.equal((panel.posted.at(-1) as { model: { modelType: string } }).model.modelType, 'gpt2');
		// Another model loaded: the open panel follows.
		edge.quickPicks.push(/^Choose a checkpoint folder/);
		edge.openDialogs.push(fixtureModel('llama-tiny'));
		await edge.run(COMMANDS.selectModel);
		assert.equal((panel.posted.at(-1) as { model: { modelType: string } }).model.modelType, 'llama');
		// Shown again: the same panel, revealed.
		await edge.run(COMMANDS.showModel);
		assert.equal(edge.panels.length, 1);
		assert.equal(panel.revealed, 2);
	});

	it('Restart Engine: a new engine process, logged', async () => {
		edge.reset();
		await engine.ensureStarted();
		const pid = engine.pid;
		await edge.run(COMMANDS.restartEngine);
		assert.notEqual(engine.pid, undefined);
		assert.notEqual(engine.pid, pid);
		assert.equal(engine.current.kind, 'ready');
		assert.equal(log.lines.at(-1), 'info: engine restarted by the user');
	});

	it('Show Log shows the log channel', async () => {
		edge.reset();
		await edge.run(COMMANDS.showLog);
		assert.equal(edge.logShown, 1);
	});

	it('the status menu offers its entries, runs the one picked, and nothing when dismissed', async () => {
		edge.reset();
		edge.quickPicks.push(undefined);
		await edge.run(COMMANDS.statusMenu);
		assert.deepEqual(
			edge.lastQuickPick,
			STATUS_MENU.map((e) => e.label),
		);
		assert.equal(edge.executed.length, 0);
		edge.quickPicks.push(/Show Log/);
		await edge.run(COMMANDS.statusMenu);
		assert.deepEqual(
			edge.executed.map((e) => e.command),
			[COMMANDS.showLog],
		);
		assert.equal(edge.logShown, 1);
		// Every entry names a command the extension registers.
		for (const entry of STATUS_MENU) assert.ok(Object.values(COMMANDS).includes(entry.command as never), entry.command);
	});
});
