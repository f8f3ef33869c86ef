// Pruning and the graph scores: on a six-node graph against values worked out by hand (in the
// comments), and on random layered graphs against a dense float64 re-implementation of
// circuit-tracer's prune_graph and compute_graph_scores (circuit_tracer/graph.py) whose
// influence is w·((I − A)⁻¹ − I) by Gaussian elimination rather than the series the module sums.

import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AttributionGraph, GraphEdge, GraphNode } from '../../src/engine/attribution/attributionGraph';
import { canonicalNodeId, edgeList, edgesOf } from '../../src/engine/attribution/attributionGraph';
import type { UnnamedGraphNode } from '../../src/engine/attribution/attributionGraph';
import { cantorPair, cantorUnpair } from '../../src/protocol/featureIds';
import { graphScores } from '../../src/engine/attribution/graphScores';
import { influence, logitWeights, normalizedWeights } from '../../src/engine/attribution/influence';
import { DEFAULT_EDGE_THRESHOLD, DEFAULT_NODE_THRESHOLD, cumulativeShares, pruneGraph, threshold } from '../../src/engine/attribution/pruneGraph';

function named(nodes: UnnamedGraphNode[], nLayers: number): GraphNode[] {
	return nodes.map((n) => ({ ...n, id: canonicalNodeId(n, nLayers) }));
}

/**
 * t0, t1: tokens; f: a feature at layer 0, position 1; e: the error node there; la, lb: logits
 * with probabilities 0.75 and 0.25. Edges (source → target: weight):
 *   t0 → f: 3, t1 → f: −1            f's row normalized: 0.75, 0.25
 *   f → la: 2, e → la: −2, t1 → la: 4  la's row: 0.25, 0.25, 0.5
 *   f → lb: −1, e → lb: 3             lb's row: 0.25, 0.75
 * Influence w·A: f = 0.75·0.25 + 0.25·0.25 = 0.25, e = 0.75·0.25 + 0.25·0.75 = 0.375,
 * t1 = 0.75·0.5 = 0.375; w·A²: t0 = 0.25·0.75 = 0.1875, t1 += 0.25·0.25 = 0.0625.
 * So t0 0.1875, t1 0.4375, f 0.25, e 0.375, logits 0; total 1.25.
 */
function tinyGraph(): AttributionGraph {
	const nodes = named(
		[
			{ kind: 'embedding', position: 0, token: 'def', tokenId: 10 },
			{ kind: 'embedding', position: 1, token: ' f', tokenId: 11 },
			{ kind: 'feature', layer: 0, position: 1, feature: 7, activation: 2 },
			{ kind: 'error', layer: 0, position: 1 },
			{ kind: 'logit', position: 1, token: '(', tokenId: 12, probability: 0.75 },
			{ kind: 'logit', position: 1, token: ':', tokenId: 13, probability: 0.25 },
		],
		1,
	);
	const edges: GraphEdge[] = [
		{ source: 0, target: 2, weight: 3 },
		{ source: 1, target: 2, weight: -1 },
		{ source: 2, target: 4, weight: 2 },
		{ source: 3, target: 4, weight: -2 },
		{ source: 1, target: 4, weight: 4 },
		{ source: 2, target: 5, weight: -1 },
		{ source: 3, target: 5, weight: 3 },
	];
	return { prompt: 'def f', promptTokens: ['def', ' f'], nLayers: 1, nodes, edges: edgesOf(edges), featureSources: [] };
}

const close = (actual: ArrayLike<number>, expected: readonly number[], tolerance = 1e-12, what = '') => {
	assert.equal(actual.length, expected.length, what);
	// NaN only where both are (scores of a graph where nothing reaches the logits are 0/0).
	for (let i = 0; i < expected.length; i++)
		assert.ok(Math.abs(actual[i]! - expected[i]!) <= tolerance || (Number.isNaN(actual[i]) && Number.isNaN(expected[i])), `${what}[${i}]: ${actual[i]} ≠ ${expected[i]}`);
};

describe('influence, pruning and scores on a graph worked out by hand', () => {
	it('node influence on the logits', () => {
		const g = tinyGraph();
		close(influence(6, g.edges, normalizedWeights(6, g.edges), logitWeights(g)), [0.1875, 0.4375, 0.25, 0.375, 0, 0]);
	});

	it('the defaults keep everything; cumulative influence ranks t1, e, f, t0', () => {
		const r = pruneGraph(tinyGraph(), { nodeThreshold: DEFAULT_NODE_THRESHOLD, edgeThreshold: DEFAULT_EDGE_THRESHOLD });
		// Ranked: t1 0.4375 (0.35 of 1.25), e (0.65), f (0.85), t0 (1), then the logits at 0 (1).
		close(r.cumulativeInfluence, [1, 0.35, 0.85, 0.65, 1, 1]);
		// Node cut: the first cumulative share ≥ 0.8 is f's, so every node with influence ≥ 0.25 stays, t0 as a token.
		assert.deepEqual(r.nodeKept, [true, true, true, true, true, true]);
		// Edge scores a·(influence + w) of the target: t0→f 0.1875, t1→f 0.0625, f→la 0.1875,
		// e→la 0.1875, t1→la 0.375, f→lb 0.0625, e→lb 0.1875; total 1.25, so 0.98 needs all.
		assert.deepEqual(Array.from(r.edgeKept, Boolean), [true, true, true, true, true, true, true]);
	});

	it('an edge threshold of 0.9 drops the two edges scoring 0.0625', () => {
		// Sorted shares 0.3, 0.45, 0.6, 0.75, 0.9: the cut is at the fourth 0.1875.
		const r = pruneGraph(tinyGraph(), { nodeThreshold: 0.8, edgeThreshold: 0.9 });
		assert.deepEqual(Array.from(r.edgeKept, Boolean), [true, false, true, true, true, false, true]);
		assert.deepEqual(r.nodeKept, [true, true, true, true, true, true]);
	});

	it('a node threshold of 0.6 drops f, re-normalizes, and an edge threshold of 0.5 then strands e', () => {
		// Node cut at e (shares 0.35, 0.65 ≥ 0.6): f (0.25 < 0.375) goes. Pruned rows: la from t1 4/6
		// and e 2/6, lb from e alone; influence t1 0.75·2/3 = 0.5, e 0.75·1/3 + 0.25 = 0.5; edge
		// scores t1→la 2/3·0.75 = 0.5, e→la 0.25, e→lb 0.25.
		const keepAll = pruneGraph(tinyGraph(), { nodeThreshold: 0.6, edgeThreshold: 0.98 });
		assert.deepEqual(keepAll.nodeKept, [true, true, false, true, true, true]);
		assert.deepEqual(Array.from(keepAll.edgeKept, Boolean), [false, false, false, true, true, false, true]);
		// At 0.5 only t1→la (0.5 of 1) stays; e has no kept outgoing edge left and goes.
		const r = pruneGraph(tinyGraph(), { nodeThreshold: 0.6, edgeThreshold: 0.5 });
		assert.deepEqual(Array.from(r.edgeKept, Boolean), [false, false, false, false, true, false, false]);
		assert.deepEqual(r.nodeKept, [true, true, false, false, true, true]);
	});

	it('replacement score 0.625 and completeness score 5/6', () => {
		// Tokens 0.625 against errors 0.375. Non-error shares: la 0.75, lb 0.25, the rest 1;
		// weights influence + w: 0.1875, 0.4375, 0.25, 0.375, 0.75, 0.25 (sum 2.25);
		// (1.25 + 0.75·0.75 + 0.25·0.25) / 2.25 = 1.875 / 2.25.
		const s = graphScores(tinyGraph());
		close([s.replacementScore, s.completenessScore], [0.625, 5 / 6]);
	});

	it('thresholds outside [0, 1] are refused, a threshold of 1 keeps everything, a cycle is refused', () => {
		assert.throws(() => pruneGraph(tinyGraph(), { nodeThreshold: 1.2, edgeThreshold: 0.9 }), /nodeThreshold must be between 0 and 1/);
		assert.throws(() => pruneGraph(tinyGraph(), { nodeThreshold: 0.8, edgeThreshold: Number.NaN }), /edgeThreshold/);
		const all = pruneGraph(tinyGraph(), { nodeThreshold: 1, edgeThreshold: 1 });
		assert.ok(all.nodeKept.every(Boolean) && all.edgeKept.every((k) => k === 1));
		const g = tinyGraph();
		g.edges = edgesOf([...edgeList(g.edges), { source: 2, target: 1, weight: 1 }, { source: 1, target: 0, weight: 1 }, { source: 0, target: 2, weight: 1 }]);
		assert.throws(() => pruneGraph(g, { nodeThreshold: 0.8, edgeThreshold: 0.98 }), /cycle/);
	});

	it('a graph whose logits have no probability is kept whole', () => {
		const g = tinyGraph();
		for (const n of g.nodes) if (n.kind === 'logit') n.probability = 0;
		const r = pruneGraph(g, { nodeThreshold: 0.5, edgeThreshold: 0.5 });
		assert.ok(r.nodeKept.every(Boolean) && r.edgeKept.every((k) => k === 1));
	});

	it('find_threshold and the cumulative shares', () => {
		assert.equal(threshold([1, 3, 2, 4], 0.5), 3); // 0.4, 0.7: the second largest
		assert.equal(threshold([1, 3, 2, 4], 0.4), 4);
		assert.equal(threshold([1, 3, 2, 4], 0.41), 3);
		assert.equal(threshold([], 0.5), 0);
		close(cumulativeShares(Float64Array.from([1, 3, 2, 4])), [1, 0.7, 0.9, 0.4]);
	});

	it('Cantor pairs of layer and index, as Neuronpedia reads them', () => {
		assert.equal(cantorPair(0, 41), 902); // the example in Neuronpedia's notes: layer 0, feature 41
		for (const [layer, index] of [
			[0, 0],
			[3, 0],
			[0, 3],
			[25, 16383],
			[61, 262143],
			[80, 1_000_000],
		] as const) {
			assert.deepEqual(cantorUnpair(cantorPair(layer, index)), { layer, index });
		}
	});
});

// ---- The dense reference ----

type Matrix = Float64Array[];

function dense(g: AttributionGraph): Matrix {
	const n = g.nodes.length;
	const m = Array.from({ length: n }, () => new Float64Array(n));
	for (const e of edgeList(g.edges)) m[e.target]![e.source] = e.weight;
	return m;
}

function normalizeMatrix(m: Matrix): Matrix {
	return m.map((row) => {
		const sum = Math.max(
			row.reduce((s, v) => s + Math.abs(v), 0),
			1e-10,
		);
		return row.map((v) => Math.abs(v) / sum);
	});
}

/** w·((I − A)⁻¹ − I), solving (I − A)ᵀ x = w by Gaussian elimination with partial pivoting. */
function denseInfluence(a: Matrix, w: Float64Array): Float64Array {
	const n = w.length;
	// Row i of the system: Σ_j (I − A)[j][i] x_j = w_i.
	const m = Array.from({ length: n }, (_, i) => Float64Array.from({ length: n + 1 }, (_, j) => (j === n ? w[i]! : (i === j ? 1 : 0) - a[j]![i]!)));
	for (let col = 0; col < n; col++) {
		let pivot = col;
		for (let r = col + 1; r < n; r++) if (Math.abs(m[r]![col]!) > Math.abs(m[pivot]![col]!)) pivot = r;
		[m[col], m[pivot]] = [m[pivot]!, m[col]!];
		for (let r = 0; r < n; r++) {
			if (r === col) continue;
			const f = m[r]![col]! / m[col]![col]!;
			if (f !== 0) for (let c = col; c <= n; c++) m[r]![c]! -= f * m[col]![c]!;
		}
	}
	return Float64Array.from({ length: n }, (_, i) => m[i]![n]! / m[i]![i]! - w[i]!);
}

function findThreshold(scores: readonly number[], t: number): number {
	const sorted = [...scores].sort((a, b) => b - a);
	const total = sorted.reduce((s, v) => s + v, 0);
	let c = 0;
	const cumulative = sorted.map((v) => (c += v) / total);
	let index = cumulative.findIndex((v) => v >= t);
	if (index < 0) index = sorted.length;
	return sorted[Math.min(index, sorted.length - 1)]!;
}

/** circuit-tracer's prune_graph line by line, on dense matrices; nodes in its order (features, errors, tokens, logits). */
function densePrune(g: AttributionGraph, nodeThreshold: number, edgeThreshold: number) {
	const n = g.nodes.length;
	const w = logitWeights(g);
	const isKind = (k: GraphNode['kind']) => g.nodes.map((x) => x.kind === k);
	const [feature, error, token, logit] = (['feature', 'error', 'embedding', 'logit'] as const).map(isKind);
	const nodeInfluence = denseInfluence(normalizeMatrix(dense(g)), w);
	const cut = findThreshold([...nodeInfluence], nodeThreshold);
	const nodeMask = [...nodeInfluence].map((v, i) => v >= cut || token![i]! || logit![i]!);
	const pruned = dense(g).map((row, t) => row.map((v, s) => (nodeMask[t] && nodeMask[s] ? v : 0)));
	const normalized = normalizeMatrix(pruned);
	const prunedInfluence = denseInfluence(normalized, w);
	const edgeScores = normalized.map((row, t) => row.map((v) => v * (prunedInfluence[t]! + w[t]!)));
	const edgeCut = findThreshold(
		edgeScores.flatMap((row) => [...row]),
		edgeThreshold,
	);
	const edgeMask = edgeScores.map((row) => [...row].map((v) => v >= edgeCut));
	const check = () => {
		for (let j = 0; j < n; j++) {
			if ((feature![j] || error![j]) && !edgeMask.some((row) => row[j])) nodeMask[j] = false;
			if (feature![j] && !edgeMask[j]!.some(Boolean)) nodeMask[j] = false;
		}
	};
	let old = [...nodeMask];
	check();
	while (nodeMask.some((v, i) => v !== old[i])) {
		old = [...nodeMask];
		for (let t = 0; t < n; t++) for (let s = 0; s < n; s++) if (!nodeMask[t] || !nodeMask[s]) edgeMask[t]![s] = false;
		check();
	}
	const edgeKept = edgeList(g.edges).map((e) => edgeMask[e.target]![e.source]!);
	const normalizedFull = normalizeMatrix(dense(g));
	let tokens = 0;
	let errors = 0;
	nodeInfluence.forEach((v, i) => {
		if (token![i]) tokens += v;
		else if (error![i]) errors += v;
	});
	const nonError = normalizedFull.map((row) => 1 - row.reduce((s, v, j) => s + (error![j] ? v : 0), 0));
	const output = [...nodeInfluence].map((v, i) => v + w[i]!);
	const completeness = nonError.reduce((s, v, i) => s + v * output[i]!, 0) / output.reduce((s, v) => s + v, 0);
	return { nodeMask, edgeKept, nodeInfluence, replacement: tokens / (tokens + errors), completeness };
}

function seeded(seed: number): () => number {
	let s = seed >>> 0;
	return () => {
		s = (s * 1664525 + 1013904223) >>> 0;
		return s / 2 ** 32;
	};
}

/** A random graph shaped like an attribution graph: tokens and errors feed features of later layers and the logits. */
function randomGraph(random: () => number): AttributionGraph {
	const nPos = 2 + Math.floor(random() * 5);
	const nLayers = 1 + Math.floor(random() * 4);
	const unnamed: UnnamedGraphNode[] = [];
	for (let layer = 0; layer < nLayers; layer++) {
		for (let position = 0; position < nPos; position++) {
			const count = Math.floor(random() * 4);
			for (let k = 0; k < count; k++) unnamed.push({ kind: 'feature', layer, position, feature: 100 * k + Math.floor(random() * 100), activation: random() * 5 });
		}
	}
	for (let layer = 0; layer < nLayers; layer++) for (let position = 0; position < nPos; position++) unnamed.push({ kind: 'error', layer, position });
	for (let position = 0; position < nPos; position++) unnamed.push({ kind: 'embedding', position, token: `t${position}`, tokenId: position });
	const nLogits = 1 + Math.floor(random() * 4);
	let left = 0.95;
	for (let k = 0; k < nLogits; k++) {
		const p = k === nLogits - 1 ? left : left * (0.3 + 0.5 * random());
		left -= p;
		unnamed.push({ kind: 'logit', position: nPos - 1, token: `o${k}`, tokenId: 1000 + k, probability: p });
	}
	const nodes = named(unnamed, nLayers);
	const edges: GraphEdge[] = [];
	// Sources of a feature at layer L, position p: tokens at ≤ p, errors and features below L at ≤ p.
	const feeds = (s: GraphNode, t: GraphNode) => {
		if (t.kind === 'logit') return s.kind !== 'logit';
		if (t.kind !== 'feature' || s.position > t.position) return false;
		return s.kind === 'embedding' || ((s.kind === 'feature' || s.kind === 'error') && s.layer < t.layer);
	};
	nodes.forEach((t, ti) =>
		nodes.forEach((s, si) => {
			if (feeds(s, t) && random() < 0.45) edges.push({ source: si, target: ti, weight: (random() - 0.4) * 4 });
		}),
	);
	return { prompt: '', promptTokens: Array.from({ length: nPos }, (_, i) => `t${i}`), nLayers, nodes, edges: edgesOf(edges), featureSources: [] };
}

describe('pruning and scores against the dense float64 reference on random graphs', () => {
	it('200 graphs, random thresholds: the same nodes and edges, influence and scores within 1e-9', () => {
		const random = seeded(18);
		let prunedSome = 0;
		for (let trial = 0; trial < 200; trial++) {
			const g = randomGraph(random);
			const nodeThreshold = trial % 4 === 0 ? DEFAULT_NODE_THRESHOLD : 0.3 + 0.69 * random();
			const edgeThreshold = trial % 4 === 0 ? DEFAULT_EDGE_THRESHOLD : 0.3 + 0.69 * random();
			const ours = pruneGraph(g, { nodeThreshold, edgeThreshold });
			const ref = densePrune(g, nodeThreshold, edgeThreshold);
			const what = `trial ${trial} (${g.nodes.length} nodes, ${g.edges.source.length} edges, thresholds ${nodeThreshold.toFixed(3)}/${edgeThreshold.toFixed(3)})`;
			close(ours.nodeInfluence, [...ref.nodeInfluence], 1e-9, `${what} influence`);
			assert.deepEqual(ours.nodeKept, ref.nodeMask, `${what}: kept nodes`);
			assert.deepEqual(Array.from(ours.edgeKept, Boolean), ref.edgeKept, `${what}: kept edges`);
			const scores = graphScores(g);
			close([scores.replacementScore, scores.completenessScore], [ref.replacement, ref.completeness], 1e-9, `${what} scores`);
			if (ours.nodeKept.some((k) => !k) && ours.edgeKept.some((k) => !k)) prunedSome++;
		}
		assert.ok(prunedSome > 100, `only ${prunedSome} of 200 graphs lost nodes and edges: the comparison is too easy`);
	});
});
