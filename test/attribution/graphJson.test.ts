// Neuronpedia's graph JSON: the hand-written fixtures (test/fixtures/attribution/README.md) load;
// a file written and read back is the file read (unknown keys included), and a graph written as
// JSON and read back is the same graph; the JSON a graph becomes is the pruned graph with
// circuit-tracer's fields; bad input is refused naming the field; what a graph cannot use is left
// out with a warning.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import type { AttributionGraph, GraphEdge, GraphNode } from '../../src/engine/attribution/attributionGraph';
import { canonicalNodeId, edgeList, edgesOf } from '../../src/engine/attribution/attributionGraph';
import type { UnnamedGraphNode } from '../../src/engine/attribution/attributionGraph';
import { cantorPair } from '../../src/protocol/featureIds';
import { graphFromJson } from '../../src/engine/attribution/graphFromJson';
import { FEATURE_TYPES, GraphJsonError, formatGraphJson, parseGraphJson, validateGraphJson } from '../../src/protocol/graphJson';
import type { GraphJson } from '../../src/protocol/graphJson';
import { graphScores } from '../../src/engine/attribution/graphScores';
import { graphToJson } from '../../src/engine/attribution/graphToJson';
import { pruneGraph } from '../../src/engine/attribution/pruneGraph';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'attribution');
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name), 'utf8');
const FILES = ['circuit-tracer-style.json', 'neuronpedia-server-style.json', 'demo-with-open.json'];

function seeded(seed: number): () => number {
	let s = seed >>> 0;
	return () => {
		s = (s * 1664525 + 1013904223) >>> 0;
		return s / 2 ** 32;
	};
}

/** A random graph in which every feature and error node has an edge out and every feature one in, so no pruning drops a node at thresholds 1. */
function connectedGraph(random: () => number): AttributionGraph {
	const nPos = 3 + Math.floor(random() * 4);
	const nLayers = 2 + Math.floor(random() * 3);
	const unnamed: UnnamedGraphNode[] = [];
	for (let position = 0; position < nPos; position++) unnamed.push({ kind: 'embedding', position, token: `tok ${position} "quoted" <b>`, tokenId: 100 + position, label: position ? '' : 'first' });
	for (let layer = 0; layer < nLayers; layer++) {
		for (let position = 0; position < nPos; position++) {
			for (let k = Math.floor(random() * 3); k > 0; k--)
				unnamed.push({ kind: 'feature', layer, position, feature: k * 1000 + Math.floor(random() * 1000), activation: random() * 10 - 1, label: `feature ${k}` });
			if (random() < 0.5) unnamed.push({ kind: 'error', layer, position });
		}
	}
	unnamed.push({ kind: 'logit', position: nPos - 1, token: ' x', tokenId: 7, probability: 0.6 }, { kind: 'logit', position: nPos - 1, token: '"y"', tokenId: 8, probability: 0.25 });
	const nodes = unnamed.map((n) => ({ ...n, id: canonicalNodeId(n, nLayers) }));
	const edges: GraphEdge[] = [];
	const logits = nodes.flatMap((n, i) => (n.kind === 'logit' ? [i] : []));
	nodes.forEach((n, i) => {
		if (n.kind === 'feature') {
			// In from a token at or before it, out to a logit.
			edges.push({ source: Math.floor(random() * (n.position + 1)), target: i, weight: random() * 4 - 1 });
			edges.push({ source: i, target: logits[Math.floor(random() * logits.length)]!, weight: random() * 4 - 2 });
		} else if (n.kind === 'error') {
			edges.push({ source: i, target: logits[0]!, weight: random() - 0.5 });
		}
	});
	for (const l of logits) edges.push({ source: 0, target: l, weight: 0.5 });
	return { prompt: 'a prompt', promptTokens: Array.from({ length: nPos }, (_, i) => `tok ${i} "quoted" <b>`), nLayers, nodes, edges: edgesOf(edges), featureSources: ['/saes/tc'] };
}

describe('graph JSON: fixtures and round trips', () => {
	for (const name of FILES) {
		it(`${name} loads, and written and read back is the same file`, () => {
			const json = parseGraphJson(fixture(name));
			const written = formatGraphJson(json);
			assert.deepStrictEqual(parseGraphJson(written), JSON.parse(fixture(name)));
			// Written again, byte for byte the same.
			assert.equal(formatGraphJson(parseGraphJson(written)), written);
		});
	}

	it('the circuit-tracer-style fixture as a graph: kinds, layers, Cantor-decoded features, probabilities from token_prob', () => {
		const { graph, warnings } = graphFromJson(parseGraphJson(fixture('circuit-tracer-style.json')));
		assert.deepEqual(warnings, []);
		assert.equal(graph.nLayers, 21, 'the highest layer holding a feature or an error node, plus one');
		assert.deepEqual(graph.promptTokens, ['<bos>', 'The', ' capital', ' of', ' Texas', ' is']);
		const byId = new Map(graph.nodes.map((n) => [n.id, n]));
		assert.deepEqual(byId.get('4_16093_4'), { id: '4_16093_4', position: 4, storedInfluence: 0.41, kind: 'feature', layer: 4, feature: 16093, activation: 23.5 });
		assert.deepEqual(byId.get('0_7_4'), { id: '0_7_4', position: 4, storedInfluence: 0.71, kind: 'error', layer: 7 });
		assert.deepEqual(byId.get('E_9447_4'), { id: 'E_9447_4', position: 4, storedInfluence: 0.33, kind: 'embedding', token: ' Texas' });
		assert.deepEqual(byId.get('27_22605_5'), { id: '27_22605_5', position: 5, label: 'Output " Austin" (p=0.610)', kind: 'logit', token: ' Austin', probability: 0.61, tokenId: 22605 });
		assert.equal(graph.edges.source.length, 18);
		assert.deepEqual(graph.featureSources, []);
	});

	it('the Neuronpedia-server-style fixture: lorsa nodes as features and errors, the bias node and a dangling link left out, the saved subgraph', () => {
		const read = graphFromJson(parseGraphJson(fixture('neuronpedia-server-style.json')));
		assert.deepEqual(read.warnings, ['1 node of type "bias" left out: they have no place in the replacement model\'s graph.', '2 links to or from nodes not in the graph left out.']);
		const byId = new Map(read.graph.nodes.map((n) => [n.id, n]));
		assert.equal(byId.get('9_lor_77_6')?.kind, 'feature');
		assert.equal((byId.get('9_lor_77_6') as { feature: number }).feature, 77);
		assert.equal(byId.get('9_error_attn_6')?.kind, 'error');
		assert.deepEqual(byId.get('28_12095_6'), {
			id: '28_12095_6',
			position: 6,
			label: 'Logit " Paris" (p=0.734)',
			storedInfluence: 1,
			kind: 'logit',
			token: ' Paris',
			probability: 0.734,
			tokenId: 12095,
		});
		assert.equal(read.graph.nLayers, 13);
		assert.deepEqual(read.graph.featureSources, ['hf:example/qwen3-1.7b-transcoders', 'hf:example/qwen3-1.7b-lorsa']);
		assert.deepEqual(read.pinnedIds, ['5_cro_1201_4', '12_cro_3305_6']);
		assert.deepEqual(read.supernodes, [
			{ name: 'Eiffel Tower', members: ['5_cro_1201_4', '9_lor_77_6'] },
			{ name: 'say Paris', members: ['12_cro_3305_6'] },
		]);
	});

	it('a graph written as JSON (thresholds 1) and read back is the same graph', () => {
		const random = seeded(7);
		for (let trial = 0; trial < 20; trial++) {
			const graph = connectedGraph(random);
			const text = formatGraphJson(graphToJson(graph, { slug: 'round-trip', scan: 'tiny', nodeThreshold: 1, edgeThreshold: 1 }));
			const read = graphFromJson(parseGraphJson(text));
			assert.deepEqual(read.warnings, []);
			const strip = (n: GraphNode) => {
				const { storedInfluence: _, ...rest } = n;
				// A logit's label is written from its token and probability (Neuronpedia parses it).
				if (rest.kind === 'logit') delete rest.label;
				if (rest.kind === 'embedding') delete rest.tokenId;
				if (rest.label === '') delete rest.label;
				return rest;
			};
			const sortEdges = (g: AttributionGraph) =>
				edgeList(g.edges)
					.map((e) => `${g.nodes[e.source]!.id}>${g.nodes[e.target]!.id}:${e.weight}`)
					.sort();
			assert.deepEqual({ ...read.graph, nodes: read.graph.nodes.map(strip), edges: sortEdges(read.graph) }, { ...graph, nodes: graph.nodes.map(strip), edges: sortEdges(graph) }, `trial ${trial}`);
		}
	});

	it("the JSON of a graph: the pruned nodes and edges with circuit-tracer's fields, scores and thresholds in the metadata", () => {
		const graph = connectedGraph(seeded(3));
		const json = graphToJson(graph, { slug: 's', scan: 'pycode', nodeThreshold: 0.7, edgeThreshold: 0.9, info: { description: 'd' } });
		const pruned = pruneGraph(graph, { nodeThreshold: 0.7, edgeThreshold: 0.9 });
		const keptEdges = edgeList(graph.edges).filter((_, i) => pruned.edgeKept[i]);
		assert.deepEqual(
			json.links,
			keptEdges.map((e) => ({ source: graph.nodes[e.source]!.id, target: graph.nodes[e.target]!.id, weight: e.weight })),
		);
		const linked = new Set(keptEdges.flatMap((e) => [e.source, e.target]));
		const expectedNodes = graph.nodes.flatMap((n, i) => (pruned.nodeKept[i] && (linked.has(i) || n.kind === 'embedding' || n.kind === 'logit') ? [n.id] : []));
		assert.deepEqual(
			json.nodes.map((n) => n.node_id),
			expectedNodes,
		);
		assert.ok(expectedNodes.length < graph.nodes.length, 'the thresholds pruned something');
		for (const n of json.nodes) {
			const i = graph.nodes.findIndex((g) => g.id === n.node_id);
			const node = graph.nodes[i]!;
			assert.equal(n.influence, pruned.cumulativeInfluence[i]);
			assert.equal(n.feature_type, FEATURE_TYPES[node.kind]);
			if (node.kind === 'feature') assert.deepEqual([n.feature, n.layer, n.activation, n.clerp], [cantorPair(node.layer, node.feature), String(node.layer), node.activation, node.label]);
			if (node.kind === 'logit')
				assert.deepEqual([n.feature, n.layer, n.token_prob, n.clerp], [node.tokenId, String(graph.nLayers + 1), node.probability, `Output "${node.token}" (p=${node.probability.toFixed(3)})`]);
			if (node.kind === 'embedding') assert.equal(n.layer, 'E');
		}
		assert.deepEqual(
			json.nodes.filter((n) => n.is_target_logit).map((n) => n.clerp),
			['Output " x" (p=0.600)'],
		);
		const scores = graphScores(graph);
		assert.deepEqual([json.metadata.replacement_score, json.metadata.completeness_score], [scores.replacementScore, scores.completenessScore]);
		assert.deepEqual(json.metadata.pruning_settings, { node_threshold: 0.7, edge_threshold: 0.9 });
		assert.deepEqual([json.metadata.node_threshold, json.metadata.schema_version, json.metadata.prompt_tokens], [0.7, 1, graph.promptTokens]);
		assert.deepEqual(json.metadata.info, { source_urls: ['/saes/tc'], description: 'd' });
		assert.deepEqual(json.qParams, { pinnedIds: [], supernodes: [], linkType: 'both', clickedId: '', sg_pos: '' });
		validateGraphJson(json);
	});
});

describe('graph JSON: bad input names the field', () => {
	// Each case mutates the parsed fixture at one field, as a hostile or broken file would have it:
	// the mutations are untyped on purpose.
	/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access */
	const base = () => JSON.parse(fixture('circuit-tracer-style.json')) as Record<string, unknown> & GraphJson;
	const cases: [string, (g: Record<string, any>) => void, RegExp][] = [
		[
			'metadata missing',
			(g) => {
				delete g['metadata'];
			},
			/^metadata: missing \(required\)$/,
		],
		[
			'prompt missing',
			(g) => {
				delete g['metadata'].prompt;
			},
			/^metadata\.prompt: missing \(required\)$/,
		],
		[
			'a prompt token not a string',
			(g) => {
				g['metadata'].prompt_tokens[2] = 7;
			},
			/^metadata\.prompt_tokens\[2\]: expected a string, got 7$/,
		],
		[
			'scan null',
			(g) => {
				g['metadata'].scan = null;
			},
			/^metadata\.scan: expected a string, got null$/,
		],
		[
			'node_threshold a string',
			(g) => {
				g['metadata'].node_threshold = '0.8';
			},
			/^metadata\.node_threshold: expected a finite number, got "0\.8"$/,
		],
		[
			'schema_version fractional',
			(g) => {
				g['metadata'].schema_version = 1.5;
			},
			/^metadata\.schema_version: expected an integer, got 1\.5$/,
		],
		[
			'generator name',
			(g) => {
				g['metadata'].info = { generator: { name: 3 } };
			},
			/^metadata\.info\.generator\.name: expected a string, got 3$/,
		],
		[
			'max_n_logits fractional',
			(g) => {
				g['metadata'].generation_settings = { max_n_logits: 2.5 };
			},
			/^metadata\.generation_settings\.max_n_logits: expected an integer/,
		],
		[
			'edge_threshold',
			(g) => {
				g['metadata'].pruning_settings = { edge_threshold: true };
			},
			/^metadata\.pruning_settings\.edge_threshold: expected a finite number, got true$/,
		],
		[
			'qParams missing',
			(g) => {
				delete g['qParams'];
			},
			/^qParams: missing \(required\)$/,
		],
		[
			'pinned id a number',
			(g) => {
				g['qParams'].pinnedIds = ['a', 5];
			},
			/^qParams\.pinnedIds\[1\]: expected a string, got 5$/,
		],
		[
			'supernodes an object',
			(g) => {
				g['qParams'].supernodes = {};
			},
			/^qParams\.supernodes: expected an array, got an object$/,
		],
		[
			'nodes an object',
			(g) => {
				g['nodes'] = {};
			},
			/^nodes: expected an array, got an object$/,
		],
		[
			'ctx_idx a string',
			(g) => {
				g['nodes'][12].ctx_idx = '3';
			},
			/^nodes\[12\]\.ctx_idx: expected an integer, got "3"$/,
		],
		[
			'feature missing',
			(g) => {
				delete g['nodes'][0].feature;
			},
			/^nodes\[0\]\.feature: missing \(required\)$/,
		],
		[
			'feature fractional',
			(g) => {
				g['nodes'][0].feature = 1.5;
			},
			/^nodes\[0\]\.feature: expected an integer, got 1\.5$/,
		],
		[
			'layer a boolean',
			(g) => {
				g['nodes'][3].layer = false;
			},
			/^nodes\[3\]\.layer: expected a string or an integer, got false$/,
		],
		[
			'clerp null',
			(g) => {
				g['nodes'][5].clerp = null;
			},
			/^nodes\[5\]\.clerp: expected a string, got null$/,
		],
		[
			'jsNodeId missing',
			(g) => {
				delete g['nodes'][5].jsNodeId;
			},
			/^nodes\[5\]\.jsNodeId: missing \(required\)$/,
		],
		[
			'is_target_logit a string',
			(g) => {
				g['nodes'][13].is_target_logit = 'yes';
			},
			/^nodes\[13\]\.is_target_logit: expected true or false, got "yes"$/,
		],
		[
			'a qk triple too short',
			(g) => {
				g['nodes'][0].qk_tracing_results = { pair_wise_contributors: [['a', 'b']], top_q_marginal_contributors: [], top_k_marginal_contributors: [] };
			},
			/^nodes\[0\]\.qk_tracing_results\.pair_wise_contributors\[0\]: expected an array of 3, got an array of 2$/,
		],
		[
			'a qk list missing',
			(g) => {
				g['nodes'][0].qk_tracing_results = { pair_wise_contributors: [], top_q_marginal_contributors: [] };
			},
			/^nodes\[0\]\.qk_tracing_results\.top_k_marginal_contributors: missing \(required\)$/,
		],
		[
			'link weight a string',
			(g) => {
				g['links'][4].weight = '1';
			},
			/^links\[4\]\.weight: expected a finite number, got "1"$/,
		],
		[
			'link target missing',
			(g) => {
				delete g['links'][0].target;
			},
			/^links\[0\]\.target: missing \(required\)$/,
		],
		[
			'qk_only_nodes entry',
			(g) => {
				g['qk_only_nodes'] = { 'x"y': { node_id: 'x', feature_type: 'lorsa', jsNodeId: 'x', clerp: '', layer: 1 } };
			},
			/^qk_only_nodes\["x\\"y"\]\.ctx_idx: missing \(required\)$/,
		],
	];
	for (const [what, mutate, expected] of cases) {
		it(what, () => {
			const g = base();
			mutate(g);
			assert.throws(
				() => parseGraphJson(JSON.stringify(g)),
				(err: unknown) => err instanceof GraphJsonError && expected.test(err.message),
			);
		});
	}

	it('not JSON, and a number too large for a double', () => {
		assert.throws(() => parseGraphJson('{"metadata": '), { message: /^not JSON \(/ });
		assert.throws(() => parseGraphJson('[{}]'), { message: /^expected an object, got an array$/ });
		const g = base();
		const text = JSON.stringify(g).replace('"weight":18.25', '"weight":1e400');
		assert.throws(() => parseGraphJson(text), { message: /^links\[0\]\.weight: expected a finite number, got Infinity$/ });
	});

	it('optional fields may be null (pydantic writes unset ones so), required ones may not', () => {
		const g = base();
		Object.assign(g.metadata, { node_threshold: null, schema_version: null, info: null });
		Object.assign(g.nodes[0]!, { influence: null, activation: null, token_prob: null });
		assert.doesNotThrow(() => parseGraphJson(JSON.stringify(g)));
	});

	it('the writer refuses NaN anywhere, naming where, and an invalid graph', () => {
		const g = base();
		(g as unknown as Record<string, unknown>)['extra'] = { deep: [1, Number.NaN] };
		assert.throws(() => formatGraphJson(g), { message: /^extra\.deep\[1\]: NaN cannot be written as JSON$/ });
		const h = base();
		h.links[0]!.weight = Number.POSITIVE_INFINITY;
		assert.throws(() => formatGraphJson(h), { message: /^links\[0\]\.weight: expected a finite number, got Infinity$/ });
	});
	/* eslint-enable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access */
});

describe('graph JSON read as a graph: what cannot be used', () => {
	const minimal = (): GraphJson => ({
		metadata: { slug: 's', scan: 'm', prompt_tokens: ['a', 'b'], prompt: 'ab' },
		qParams: {},
		nodes: [
			{ node_id: 'E_1_0', feature: 0, layer: 'E', ctx_idx: 0, feature_type: 'embedding', jsNodeId: 'E_1-0', clerp: '' },
			{ node_id: '0_3_1', feature: 3, layer: '0', ctx_idx: 1, feature_type: 'cross layer transcoder', jsNodeId: '0_3-0', clerp: '' },
			{ node_id: '2_9_1', feature: 9, layer: '2', ctx_idx: 1, feature_type: 'logit', jsNodeId: 'L_9-1', clerp: 'Output "b" (p=0.500)' },
		],
		links: [
			{ source: 'E_1_0', target: '0_3_1', weight: 1 },
			{ source: '0_3_1', target: '2_9_1', weight: 2 },
		],
	});

	it("without schema_version 1 a feature number is read as the index; a logit without token_prob takes the label's (p=…)", () => {
		const { graph } = graphFromJson(minimal());
		assert.equal((graph.nodes[1] as { feature: number }).feature, 3);
		assert.equal((graph.nodes[2] as { probability: number; token: string }).probability, 0.5);
		assert.equal((graph.nodes[2] as { token: string }).token, 'b');
	});

	it("circuit-tracer's error id can name a layer-0 feature too: the last node is kept, with a warning", () => {
		const g = minimal();
		g.nodes.push({ node_id: '0_3_1', feature: -1, layer: '3', ctx_idx: 1, feature_type: 'mlp reconstruction error', jsNodeId: '3_1-0', clerp: '' });
		const { graph, warnings } = graphFromJson(g);
		assert.deepEqual(warnings, ['1 node id is used twice ("0_3_1"); the last node with each id is kept, and links to it are ambiguous.']);
		assert.deepEqual(
			graph.nodes.map((n) => n.kind),
			['embedding', 'error', 'logit'],
		);
	});

	it('a repeated link keeps the last weight; a link to itself is left out', () => {
		const g = minimal();
		g.links.push({ source: 'E_1_0', target: '0_3_1', weight: 5 }, { source: '0_3_1', target: '0_3_1', weight: 1 });
		const { graph, warnings } = graphFromJson(g);
		assert.deepEqual(edgeList(graph.edges), [
			{ source: 0, target: 1, weight: 5 },
			{ source: 1, target: 2, weight: 2 },
		]);
		assert.deepEqual(warnings, ['1 link from a node to itself left out.', '1 link repeat an earlier source and target; the last weight is kept.']);
	});

	it('refused: a position outside the prompt, a layer that is not a number, a feature without its number, a cycle', () => {
		const outside = minimal();
		outside.nodes[1]!.ctx_idx = 2;
		assert.throws(() => graphFromJson(outside), { message: /^nodes\[1\]\.ctx_idx: position 2 is outside the prompt's 2 tokens/ });
		const layer = minimal();
		layer.nodes[1]!.layer = 'L3';
		assert.throws(() => graphFromJson(layer), { message: /^nodes\[1\]\.layer: expected a layer number for a cross layer transcoder node, got "L3"$/ });
		const feature = minimal();
		feature.nodes[1]!.feature = null;
		assert.throws(() => graphFromJson(feature), { message: /^nodes\[1\]\.feature: a feature node needs its feature number/ });
		const cycle = minimal();
		cycle.nodes.push({ node_id: '1_4_1', feature: 4, layer: 1, ctx_idx: 1, feature_type: 'cross layer transcoder', jsNodeId: 'x', clerp: '' });
		cycle.links.push({ source: '0_3_1', target: '1_4_1', weight: 1 }, { source: '1_4_1', target: '0_3_1', weight: 1 });
		assert.throws(
			() => graphFromJson(cycle),
			(err: unknown) => err instanceof GraphJsonError && err.field === 'links' && /cycle/.test(err.message),
		);
	});
});
