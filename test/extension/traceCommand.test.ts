// Trace Completion as the user runs it, with the VS Code API at the edge (vscodeEdge.ts) and the
// real ModelSession and engine behind it, on the demo model with its transcoder set: the prompt
// from the editor, progress and Cancel, the graph panel's messages (ready, prune, open a
// feature, steer) answered through the engine. Needs dist/engine.js (node esbuild.mjs).

import { FakeWebviewPanel, edge, fakeContext, fakeLog } from './vscodeEdge';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import type * as vscode from 'vscode';
import { parseGraphJson } from '../../src/protocol/graphJson';
import type { GraphJson } from '../../src/protocol/graphJson';
import { registerAttribution } from '../../src/extension/attribution/traceCommands';
import { COMMANDS } from '../../src/extension/commands';
import { ModelSession } from '../../src/extension/modelSession';
import type { ModelLoadUi, SessionSettings } from '../../src/extension/modelSession';
import type { ToAttributionPanel } from '../../src/protocol/attributionPanelMessages';
import { testEngine } from '../helpers';
import { SteeredGenerateRequest } from '../../src/protocol/steerProtocol';
import { tokenPicks } from '../../src/extension/attribution/traceToken';
import type { TraceableCompletion } from '../../src/extension/attribution/traceToken';

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const ROOT = path.join(__dirname, '..', '..');
const DEMO_SET = path.join(ROOT, 'models', 'pycode', 'transcoders');
const TEXT = 'import os\n\n\ndef read_lines(path):\n    with open(path) as f:\n        return [line.rstrip() for line in f]\n';
const quietly: ModelLoadUi = (_model, load) => load(() => {}, new CancellationTokenSource().token);

async function until<T>(check: () => T | undefined, what: string, ms = 120000): Promise<T> {
	const deadline = Date.now() + ms;
	for (;;) {
		const value = check();
		if (value !== undefined) return value;
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 20));
	}
}

describe('Trace Completion (VS Code API at the edge, real engine, demo transcoders)', () => {
	const engine = testEngine();
	after(() => engine.stop());
	const writes: string[] = [];
	let values = { model: 'demo', sae: '' };
	const settings: SessionSettings = {
		read: () => ({ ...values }),
		write: async (key, value) => {
			writes.push(`${key}=${value}`);
			values = { ...values, [key]: value };
		},
	};
	const session = new ModelSession(engine, settings, quietly);
	const log = fakeLog();
	const context = fakeContext();
	const posted = (type: ToAttributionPanel['type']) => edge.panels[0]!.posted.filter((m) => (m as ToAttributionPanel).type === type) as ToAttributionPanel[];

	before(() => {
		registerAttribution(context as unknown as vscode.ExtensionContext, engine, session, log as unknown as vscode.LogOutputChannel);
	});

	it('with no editor, or nothing before the cursor, traces nothing and says why', async () => {
		edge.reset();
		await edge.run(COMMANDS.traceCompletion);
		edge.editor = { text: TEXT, selectionStart: 10, selectionEnd: 10 };
		await edge.run(COMMANDS.traceCompletion);
		assert.equal(edge.panels.length, 0);
		assert.equal(edge.messages.length, 2);
		assert.ok(edge.messages.every((m) => m.kind === 'info'));
	});

	it('Cancel stops the trace in the engine: no panel, no error', async () => {
		edge.reset();
		edge.editor = { text: TEXT, selectionStart: 0, selectionEnd: TEXT.length };
		const source = new CancellationTokenSource();
		edge.progressToken = source.token;
		const running = edge.run(COMMANDS.traceCompletion);
		await until(() => (edge.progressReports.some((m) => m.startsWith('backward passes')) ? true : undefined), 'the first backward passes');
		source.cancel();
		await running;
		assert.equal(edge.panels.length, 0);
		assert.deepEqual(edge.messages, []);
	});

	it('traces the selection with the demo set and shows the graph once the panel is ready', async () => {
		edge.reset();
		const prompt = TEXT.slice(0, TEXT.indexOf('        return'));
		edge.editor = { text: TEXT, selectionStart: 0, selectionEnd: prompt.length };
		await edge.run(COMMANDS.traceCompletion);
		assert.deepEqual(edge.messages, []);
		assert.ok(edge.progressReports.some((m) => /^backward passes \d+\/\d+$/.test(m)));
		assert.equal(edge.panels.length, 1);
		const panel = edge.panels[0]!;
		assert.equal(panel.viewType, 'featureLens.attribution');
		assert.match(panel.webview.html, /attribution\.js/);
		assert.equal(panel.posted.length, 0, 'nothing is posted before the webview says it is ready');
		panel.fromWebview({ type: 'ready' });
		const shown = posted('graph')[0] as ToAttributionPanel & { type: 'graph' };
		assert.equal(shown.graph.metadata.prompt, prompt);
		assert.equal(shown.nodeThreshold, 0.8);
		assert.ok(shown.featureCount > 0 && shown.edgeCount > 0);
		assert.equal(typeof shown.graph.metadata.replacement_score, 'number');
		assert.equal(typeof shown.graph.metadata.completeness_score, 'number');
		assert.ok(shown.graph.nodes.some((n) => n.feature_type === 'logit'));
		// The transcoder set was the demo's, named in the graph.
		assert.deepEqual(shown.graph.metadata.info?.source_urls, [DEMO_SET]);
	});

	it('the slider re-prunes in the engine; messages the guard refuses do nothing', async () => {
		const panel = edge.panels[0]!;
		const full = (posted('graph')[0] as { graph: GraphJson }).graph;
		const before = panel.posted.length;
		panel.fromWebview({ type: 'prune', nodeThreshold: 7 });
		panel.fromWebview({ type: 'openFeature', nodeId: 42 });
		panel.fromWebview({ type: 'steer', nodeIds: [], mode: 'clamp', strength: 1 });
		await new Promise((r) => setTimeout(r, 200));
		assert.equal(panel.posted.length, before);
		panel.fromWebview({ type: 'prune', nodeThreshold: 0.4 });
		const pruned = await until(() => posted('pruned')[0] as (ToAttributionPanel & { type: 'pruned' }) | undefined, 'the pruned graph');
		assert.ok(pruned.graph.nodes.length < full.nodes.length);
		assert.equal(pruned.nodeThreshold, 0.4);
	});

	it("Save graph JSON writes Neuronpedia's format with the pins and supernodes; a dismissed dialog writes nothing", async () => {
		const panel = edge.panels[0]!;
		const shown = (posted('pruned').at(-1) as { graph: GraphJson }).graph;
		const ids = shown.nodes
			.filter((n) => n.feature_type === 'cross layer transcoder')
			.slice(0, 2)
			.map((n) => n.node_id);
		const target = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fl-graph-')), 'graph.json');
		edge.saveDialogs.push(undefined, target);
		panel.fromWebview({ type: 'save', pinnedIds: ids, supernodes: [['pair', ...ids]] });
		await new Promise((r) => setTimeout(r, 100));
		assert.equal(fs.existsSync(target), false);
		panel.fromWebview({ type: 'save', pinnedIds: ids, supernodes: [['pair', ...ids]] });
		await until(() => posted('notice').find((m) => (m as { message: string }).message === `Saved ${target}`), 'the saved notice');
		const saved = parseGraphJson(fs.readFileSync(target, 'utf8'));
		assert.deepEqual(saved.qParams.pinnedIds, ids);
		assert.deepEqual(saved.qParams.supernodes, [['pair', ...ids]]);
		// The graph as the panel shows it now (pruned at 0.4), scores included.
		assert.deepEqual(saved.nodes, shown.nodes);
		assert.equal(saved.metadata.replacement_score, shown.metadata.replacement_score);
	});

	it("a feature node opens its dashboard with its layer's transcoder loaded; other nodes say why not", async () => {
		const panel = edge.panels[0]!;
		const graph = (posted('graph')[0] as { graph: GraphJson }).graph;
		const embedding = graph.nodes.find((n) => n.feature_type === 'embedding')!;
		panel.fromWebview({ type: 'openFeature', nodeId: embedding.node_id });
		const notice = await until(
			() => posted('notice').find((m) => /not a transcoder feature/.test((m as { message: string }).message)) as (ToAttributionPanel & { type: 'notice' }) | undefined,
			'the notice',
		);
		assert.ok(notice.error);
		const feature = graph.nodes.find((n) => n.feature_type === 'cross layer transcoder')!;
		const [layer, index] = feature.node_id.split('_').map(Number);
		panel.fromWebview({ type: 'openFeature', nodeId: feature.node_id });
		await until(() => edge.executed.find((e) => e.command === COMMANDS.openFeatureDashboard), 'the dashboard command');
		assert.deepEqual(edge.executed.find((e) => e.command === COMMANDS.openFeatureDashboard)!.args, [index]);
		assert.equal(session.current?.sae?.source, path.join(DEMO_SET, `layer_${layer}.safetensors`));
		assert.deepEqual(writes, [`sae=${path.join(DEMO_SET, `layer_${layer}.safetensors`)}`]);
	});

	it('steers from pinned features of several layers at once, each through its own transcoder, the steered completion beside the baseline', async () => {
		const panel = edge.panels[0]!;
		const graph = (posted('graph')[0] as { graph: GraphJson }).graph;
		const features = graph.nodes.filter((n) => n.feature_type === 'cross layer transcoder').map((n) => n.node_id);
		const layerOf = (id: string) => id.split('_')[0];
		const two = features
			.filter((id) => layerOf(id) !== layerOf(features[0]!))
			.slice(0, 1)
			.concat(features[0]!);
		const saeBefore = session.current?.sae?.source;
		panel.fromWebview({ type: 'steer', nodeIds: two, mode: 'scale', strength: 3 });
		const steered = await until(() => posted('steered')[0] as (ToAttributionPanel & { type: 'steered' }) | undefined, 'the steered completion');
		assert.ok(posted('steering').length === 1);
		assert.match(steered.description, /^scale L\d+\/\d+, L\d+\/\d+ by 3×/);
		assert.equal(new Set(two.map(layerOf)).size, 2);
		assert.ok(steered.baseline.length > 0 && steered.steered.length > 0);
		assert.notEqual(steered.steered, steered.baseline);
		assert.equal(session.current?.sae?.source, saeBefore, 'steering loads no layer as the SAE');
	});
	it('traces a token of a steered completion: picked from its tokens, traced under its steering', async () => {
		const steer = {
			features: [{ featureIndex: 1132, mode: 'add' as const, strength: 30, sae: path.join(ROOT, 'models', 'pycode', 'saes', 'blocks.2.hook_resid_pre') }],
			vectors: [],
			positions: 'all' as const,
		};
		const prompt = 'def read_lines(path):\n';
		const result = await engine.request(SteeredGenerateRequest, { requestId: 'tt', prompt, steer, baseline: false, maxNewTokens: 6, temperature: 0, topP: 1, seed: 0 });
		const completion: TraceableCompletion = {
			what: 'steered completion',
			prompt,
			promptIds: result.promptIds,
			tokens: result.steered.ids.map((id, i) => ({ id, text: result.steered.pieces![i]! })),
			steer,
		};
		const graphsBefore = posted('graph').length;
		edge.quickPicks.push(new RegExp(`^${escapeRegExp(tokenPicks(completion)[2]!.label)}$`));
		await edge.run(COMMANDS.traceCompletionToken, completion);
		const traced = (await until(() => (posted('graph').length > graphsBefore ? (posted('graph').at(-1) as ToAttributionPanel & { type: 'graph' }) : undefined), 'the traced token')).graph;
		assert.equal(traced.metadata.prompt_tokens.length, result.promptIds.length + 2, 'the prompt ids and the two tokens before the traced one');
		assert.equal(traced.nodes.find((n) => n.is_target_logit)?.feature, result.steered.ids[2]);
		assert.match(traced.metadata.info?.description ?? '', /Traced under steering: 1132:add=30/);
		assert.equal(traced.metadata.prompt, prompt + result.steered.pieces!.slice(0, 2).join(''));
		// An argument that is not a completion is refused, not traced.
		await edge.run(COMMANDS.traceCompletionToken, { what: 'x' });
		assert.match(log.lines.at(-1) ?? '', /needs the completion to trace/);
	});
	// Last: the panel's backend is the opened file's from here on.
	it('Open Graph JSON shows a saved graph with its pins and says why it cannot be pruned again; a bad file names its field', async () => {
		const panel = edge.panels[0]!;
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-open-'));
		const good = path.join(dir, 'good.json');
		const shown = (posted('pruned').at(-1) as { graph: GraphJson }).graph;
		const ids = shown.nodes
			.filter((n) => n.feature_type === 'cross layer transcoder')
			.slice(0, 2)
			.map((n) => n.node_id);
		fs.writeFileSync(good, JSON.stringify({ ...shown, qParams: { ...shown.qParams, pinnedIds: ids } }));
		const bad = path.join(dir, 'bad.json');
		fs.writeFileSync(bad, JSON.stringify({ ...shown, nodes: [{ ...shown.nodes[0], ctx_idx: '3' }] }));
		const graphsBefore = posted('graph').length;
		edge.openDialogs.push(bad);
		await edge.run(COMMANDS.openGraphJson);
		assert.match(edge.messages.at(-1)?.text ?? '', /bad\.json: nodes\[0\]\.ctx_idx/);
		edge.openDialogs.push(good);
		await edge.run(COMMANDS.openGraphJson);
		assert.equal(edge.panels.length, 1, 'the one panel is reused');
		const opened = posted('graph').at(-1) as ToAttributionPanel & { type: 'graph' };
		assert.equal(posted('graph').length, graphsBefore + 1);
		assert.equal(opened.prunable, false);
		assert.equal(opened.nodeThreshold, 0.4);
		assert.deepEqual(opened.graph.qParams.pinnedIds, ids);
		panel.fromWebview({ type: 'prune', nodeThreshold: 0.6 });
		await until(() => posted('notice').find((m) => /cannot be pruned again/.test((m as { message: string }).message)), 'the refusal to prune');
	});
	it('a panel restored after a window reload shows the graph its webview kept, not prunable, and still steers', async () => {
		const kept = (posted('graph').at(-1) as ToAttributionPanel & { type: 'graph' }).graph;
		const restored = new FakeWebviewPanel('featureLens.attribution', 'Feature Lens: Attribution Graph');
		await edge.serializers.get('featureLens.attribution')!.deserializeWebviewPanel(restored, { graph: kept, nodeThreshold: 0.8, featureCount: 10, edgeCount: 20 });
		assert.ok(edge.panels[0]!.disposed, 'the old panel makes way');
		restored.fromWebview({ type: 'ready' });
		const shown = restored.posted as ToAttributionPanel[];
		const message = shown.find((m) => m.type === 'graph') as ToAttributionPanel & { type: 'graph' };
		assert.equal(message.prunable, false);
		assert.deepEqual(message.graph, kept);
		assert.ok(shown.some((m) => m.type === 'notice' && /Restored after a reload/.test(m.message)));
		restored.fromWebview({ type: 'prune', nodeThreshold: 0.5 });
		await until(() => shown.find((m) => m.type === 'notice' && /cannot be pruned again/.test(m.message)), 'the refusal to prune');
		// State that is not a graph restores nothing: the panel closes.
		const junk = new FakeWebviewPanel('featureLens.attribution', 'x');
		await edge.serializers.get('featureLens.attribution')!.deserializeWebviewPanel(junk, { graph: 'nope' });
		assert.ok(junk.disposed);
	});
});
