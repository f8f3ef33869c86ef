// The attribution panel's parts that decide things, in plain Node: the message guard, the
// prompt Trace Completion takes, the features, layer files and steering of graph nodes, and
// where the webview draws each node.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { parseGraphJson } from '../../src/protocol/graphJson';
import { MAX_ID_LENGTH, parseFromAttributionPanel, restoredGraph } from '../../src/extension/attribution/attributionPanelMessageGuard';
import { graphFeature, graphSteering, layerTranscoder, withSubgraph } from '../../src/extension/attribution/graphFeatures';
import { tracePrompt } from '../../src/extension/attribution/tracePrompt';
import { layoutGraph, nodeName, visibleToken } from '../../webview-ui/attribution/graphLayout';

const ROOT = path.join(__dirname, '..', '..');
const graph = parseGraphJson(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'attribution', 'demo-with-open.json'), 'utf8'));
const node = (id: string) => graph.nodes.find((n) => n.node_id === id)!;

describe('attribution panel message guard', () => {
	it('accepts each message the panel sends', () => {
		assert.deepEqual(parseFromAttributionPanel({ type: 'ready' }), { type: 'ready' });
		assert.deepEqual(parseFromAttributionPanel({ type: 'prune', nodeThreshold: 0.5 }), { type: 'prune', nodeThreshold: 0.5 });
		assert.deepEqual(parseFromAttributionPanel({ type: 'openFeature', nodeId: '2_1122_1' }), { type: 'openFeature', nodeId: '2_1122_1' });
		assert.deepEqual(parseFromAttributionPanel({ type: 'save', pinnedIds: ['a', 'b'], supernodes: [['name', 'a', 'b']] }), { type: 'save', pinnedIds: ['a', 'b'], supernodes: [['name', 'a', 'b']] });
		assert.deepEqual(parseFromAttributionPanel({ type: 'steer', nodeIds: ['a'], mode: 'scale', strength: -2 }), { type: 'steer', nodeIds: ['a'], mode: 'scale', strength: -2 });
	});

	it('refuses anything else', () => {
		for (const bad of [
			null,
			'ready',
			{ type: 'nope' },
			{ type: 'prune', nodeThreshold: 1.5 },
			{ type: 'prune', nodeThreshold: '0.5' },
			{ type: 'prune', nodeThreshold: NaN },
			{ type: 'openFeature', nodeId: '' },
			{ type: 'openFeature', nodeId: 'x'.repeat(MAX_ID_LENGTH + 1) },
			{ type: 'openFeature', nodeId: 3 },
			{ type: 'save', pinnedIds: [1], supernodes: [] },
			{ type: 'save', pinnedIds: [], supernodes: [['only-a-name']] },
			{ type: 'save', pinnedIds: [] },
			{ type: 'steer', nodeIds: [], mode: 'clamp', strength: 1 },
			{ type: 'steer', nodeIds: ['a'], mode: 'add', strength: 1 },
			{ type: 'steer', nodeIds: ['a'], mode: 'clamp', strength: Infinity },
			{ type: 'steer', nodeIds: ['a'], mode: 'clamp', strength: '1' },
		])
			assert.equal(parseFromAttributionPanel(bad), undefined, JSON.stringify(bad));
	});
});

describe('the panel restored after a window reload', () => {
	it('shows the graph its webview kept, pins included, no longer prunable', () => {
		const kept = withSubgraph(graph, ['2_1122_1'], [['open', '2_1122_1', '2_753_6']]);
		const message = restoredGraph(JSON.parse(JSON.stringify({ graph: kept, nodeThreshold: 0.6, featureCount: 40, edgeCount: 900 })));
		assert.deepEqual(message, { type: 'graph', graph: kept, nodeThreshold: 0.6, featureCount: 40, edgeCount: 900, prunable: false });
	});

	it('restores nothing from state that is not a graph', () => {
		for (const bad of [
			undefined,
			null,
			{},
			{ graph, nodeThreshold: 2, featureCount: 1, edgeCount: 1 },
			{ graph, nodeThreshold: 0.8, featureCount: -1, edgeCount: 1 },
			{ graph: { ...graph, nodes: 'x' }, nodeThreshold: 0.8, featureCount: 1, edgeCount: 1 },
			{ graph: { metadata: {} }, nodeThreshold: 0.8, featureCount: 1, edgeCount: 1 },
		])
			assert.equal(restoredGraph(bad), undefined, JSON.stringify(bad)?.slice(0, 80));
	});
});

describe('Trace Completion prompt', () => {
	const text = 'import os\nwith open(path) as f:\n';
	it('is the selection when there is one', () => {
		assert.equal(tracePrompt(text, 10, 19), 'with open');
	});
	it('is the line up to the cursor without one', () => {
		assert.equal(tracePrompt(text, 19, 19), 'with open');
		assert.equal(tracePrompt(text, 4, 4), 'impo');
		assert.equal(tracePrompt(text, 10, 10), '');
	});
});

describe('graph nodes as transcoder features', () => {
	it('unpairs schema_version 1 feature ids into layer and index', () => {
		assert.deepEqual(graphFeature(graph, node('0_305_1')), { layer: 0, index: 305 });
		assert.deepEqual(graphFeature(graph, node('2_1884_3')), { layer: 2, index: 1884 });
		for (const id of ['E_259_0', '0_error_mlp_6', '5_287_6']) assert.equal(graphFeature(graph, node(id)), undefined, id);
	});

	it("reads older graphs' features as plain indices", () => {
		const old = { ...graph, metadata: { ...graph.metadata, schema_version: null } };
		assert.deepEqual(graphFeature(old, { ...node('2_1884_3'), feature: 1884 }), { layer: 2, index: 1884 });
	});

	it("finds a layer's transcoder in circuit-tracer's layout, or says why not", () => {
		const demo = path.join(ROOT, 'models', 'pycode', 'transcoders');
		assert.deepEqual(layerTranscoder(demo, 2), { path: path.join(demo, 'layer_2.safetensors') });
		const missing = layerTranscoder(demo, 9);
		assert.ok('why' in missing && missing.why.includes('layer_9.safetensors'));
		const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-set-'));
		assert.ok('why' in layerTranscoder(empty, 0));
	});

	const file = (layer: number) => `/sets/demo/layer_${layer}.safetensors`;

	it("clamps pinned features once each, naming their layer's transcoder", () => {
		const s = graphSteering(graph, ['2_1122_1', '2_1884_3', 'E_259_0', '2_error_mlp_6'], 'clamp', 5, file);
		assert.deepEqual(s.features, [
			{ featureIndex: 1122, mode: 'clamp', strength: 5, sae: file(2) },
			{ featureIndex: 1884, mode: 'clamp', strength: 5, sae: file(2) },
		]);
		assert.match(s.description, /clamp L2\/1122, L2\/1884 to 5/);
	});

	it('scales each feature from its activation in the graph', () => {
		const s = graphSteering(graph, ['2_1122_1', '2_753_6'], 'scale', 2, file);
		assert.deepEqual(
			s.features.map((f) => [f.featureIndex, f.strength]),
			[
				[753, 2 * 11.94],
				[1122, 2 * 13.67],
			],
		);
	});

	it('steers features of several layers together, each with its own transcoder', () => {
		const s = graphSteering(graph, ['2_1122_1', '0_305_1'], 'clamp', 1, file);
		assert.deepEqual(
			s.features.map((f) => [f.sae, f.featureIndex]),
			[
				[file(0), 305],
				[file(2), 1122],
			],
		);
		assert.match(s.description, /clamp L0\/305, L2\/1122 to 1/);
	});

	it('refuses no features, unknown nodes, and a layer without a transcoder file', () => {
		assert.throws(() => graphSteering(graph, ['E_259_0'], 'clamp', 1, file), /none of the chosen nodes/);
		assert.throws(() => graphSteering(graph, ['nope'], 'clamp', 1, file), /nope is not in the graph/);
		const none = () => {
			throw new Error('no layer_0.safetensors');
		};
		assert.throws(() => graphSteering(graph, ['0_305_1'], 'clamp', 1, none), /no layer_0/);
	});

	it('saves pins and supernodes in qParams, as Neuronpedia does', () => {
		const saved = withSubgraph(graph, ['2_1122_1', '2_753_6'], [['open', '2_1122_1', '2_753_6']]);
		assert.deepEqual(saved.qParams.pinnedIds, ['2_1122_1', '2_753_6']);
		assert.deepEqual(saved.qParams.supernodes, [['open', '2_1122_1', '2_753_6']]);
		assert.deepEqual(saved.nodes, graph.nodes);
	});
});

describe('graph layout', () => {
	const layout = layoutGraph(graph);
	const at = (id: string) => layout.byId.get(id)!;

	it('puts embeddings at the bottom, layers in order, logits at the top', () => {
		assert.ok(at('E_439_6').y > at('0_88_6').y);
		assert.ok(at('0_88_6').y > at('1_412_6').y);
		assert.ok(at('3_2001_6').y > at('5_287_6').y);
		assert.equal(at('0_error_mlp_6').row, at('0_88_6').row);
		assert.deepEqual(
			layout.rows.map((r) => r.name),
			['Emb', 'L0', 'L1', 'L2', 'L3', 'Logit'],
		);
	});

	it("puts nodes in their token's column, the tokens labelled along the bottom", () => {
		assert.equal(layout.columns.length, graph.metadata.prompt_tokens.length);
		assert.equal(layout.columns[2]!.token, ' open');
		assert.equal(at('1_1024_2').x, layout.columns[2]!.x);
		assert.ok(at('2_1122_1').x < at('2_1884_3').x);
		for (const p of layout.nodes) {
			assert.ok(p.x > 0 && p.x < layout.width && p.y > 0 && p.y < layout.height, p.node.node_id);
		}
	});

	it('keeps nodes of one cell apart and tells kinds apart', () => {
		const cell = layout.nodes.filter((p) => p.row === at('2_753_6').row && p.node.ctx_idx === 6);
		assert.equal(new Set(cell.map((p) => p.x)).size, cell.length);
		assert.equal(at('0_error_mlp_6').kind, 'error');
		assert.equal(at('5_287_6').kind, 'logit');
		assert.match(nodeName(at('E_259_0'), graph.metadata.prompt_tokens), /^Embedding of/);
	});

	it('labels whitespace tokens visibly', () => {
		assert.equal(visibleToken('\n'), '↵');
		assert.equal(visibleToken('   '), '···');
		assert.equal(visibleToken(' open'), ' open');
		assert.equal(visibleToken('\t'), '→');
	});

	it('wraps a crowded cell onto more lines, every node apart and inside the drawing', () => {
		const base = node('2_753_6');
		const crowded = { ...graph, nodes: [...graph.nodes, ...Array.from({ length: 30 }, (_, i) => ({ ...base, node_id: `2_${5000 + i}_6`, jsNodeId: `2_${5000 + i}_6`, influence: i / 30 }))] };
		const l = layoutGraph(crowded);
		const cell = l.nodes.filter((p) => p.row === 3 && p.node.ctx_idx === 6);
		assert.equal(cell.length, 32); // with the layer-2 error node at that position
		assert.equal(new Set(cell.map((p) => `${p.x},${p.y}`)).size, 32);
		assert.ok(new Set(cell.map((p) => p.y)).size > 1);
		for (const p of l.nodes) assert.ok(p.x > 0 && p.x < l.width && p.y > 0 && p.y < l.height, p.node.node_id);
		// Rows stay in order: the crowded layer-2 cell stays between layers 1 and 3.
		const ys = cell.map((p) => p.y);
		assert.ok(Math.max(...ys) < l.byId.get('1_412_6')!.y && Math.min(...ys) > l.byId.get('3_2001_6')!.y);
	});
});
