// The analysis bookkeeping against brute force on synthetic sparse batches: totals, histogram,
// top-N heaps, quantile-band reservoirs (membership, counts, uniformity), context windows
// clipped to documents and model windows, and the packed example table.

import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '../../src/engine/models/sampling';
import { ExampleCollector, bandOf, histogramEdges } from '../../src/engine/features/exampleCollector';
import type { BatchSources, ExampleOptions } from '../../src/engine/features/exampleCollector';
import { FeatureTotals } from '../../src/engine/features/featureTotals';
import type { SparseBatch } from '../../src/engine/features/featureTotals';
import { fromHalf, toHalf } from '../../src/engine/io/halfFloats';

const D_SAE = 12;
const WIDTH = 3;
const T = 16;

interface Synthetic {
	batches: { batch: SparseBatch; sources: BatchSources }[];
	/** Every firing event: feature, activation, global row, batch, row in batch. */
	events: { f: number; v: number; row: number; b: number; r: number }[];
	/** Dense activations per global row, [rows][d_sae]. */
	dense: Float32Array[];
	ids: number[];
	doc: number[];
	counted: number[];
}

/** Random sparse batches: windows of T tokens, documents of random length, token 0 = BOS/EOS (not counted). */
function synthetic(seed: number, windows: number, perBatch: number): Synthetic {
	const random = seededRandom(seed);
	const out: Synthetic = { batches: [], events: [], dense: [], ids: [], doc: [], counted: [] };
	let doc = 0;
	let docLeft = 5 + Math.floor(random() * 30);
	let position = 0;
	for (let w0 = 0; w0 < windows; w0 += perBatch) {
		const nw = Math.min(perBatch, windows - w0);
		const rows = nw * T;
		const values = new Float32Array(rows * WIDTH);
		const indices = new Int32Array(rows * WIDTH);
		const counted = new Uint8Array(rows);
		const ids: number[] = [];
		const docs: number[] = [];
		const positions: number[] = [];
		for (let r = 0; r < rows; r++) {
			let id: number;
			let d: number;
			let p: number;
			if (r % T === 0) {
				id = 0;
				d = -1;
				p = -1; // BOS
			} else if (docLeft === 0) {
				id = 0;
				d = -1;
				p = -1; // EOS between documents
				doc++;
				docLeft = 5 + Math.floor(random() * 30);
				position = 0;
			} else {
				id = 1 + Math.floor(random() * 50);
				d = doc;
				p = position++;
				docLeft--;
			}
			ids.push(id);
			docs.push(d);
			positions.push(p);
			counted[r] = id === 0 ? 0 : 1;
			// Distinct features per row, values sorted descending (like TopK), some not firing.
			const feats = new Set<number>();
			while (feats.size < WIDTH) feats.add(Math.floor(random() * D_SAE));
			const vals = [...feats].map(() => (random() < 0.3 ? 0 : random() * 10 ** (random() * 2 - 1))).sort((a, b) => b - a);
			const dense = new Float32Array(D_SAE);
			[...feats].forEach((f, j) => {
				indices[r * WIDTH + j] = f;
				values[r * WIDTH + j] = vals[j]!;
				dense[f] = Math.fround(vals[j]!);
				if (vals[j]! > 0 && counted[r]) out.events.push({ f, v: Math.fround(vals[j]!), row: w0 * T + r, b: out.batches.length, r });
			});
			out.dense.push(dense);
		}
		out.ids.push(...ids);
		out.doc.push(...docs);
		out.counted.push(...counted);
		out.batches.push({ batch: { rows, width: WIDTH, values, indices, counted }, sources: { windowLength: T, firstWindow: w0, ids, doc: docs, position: positions } });
	}
	return out;
}

const OPTIONS: ExampleOptions = { topExamples: 4, bands: 3, perBand: 2, histogramBins: 6, histogramScale: 'log', before: 3, after: 2, seed: 7 };

function collect(s: Synthetic, options: ExampleOptions) {
	const totals = new FeatureTotals(D_SAE);
	for (const { batch } of s.batches) totals.add(batch);
	const collector = new ExampleCollector(D_SAE, totals.max, totals.minPositive, options);
	for (const { batch, sources } of s.batches) collector.add(batch, sources);
	return { totals, collected: collector.finish() };
}

/** The context window of a firing token, by the rules: same model window, same document, before/after tokens. */
function bruteWindow(s: Synthetic, row: number, f: number, o: ExampleOptions): { ids: number[]; acts: number[]; focus: number } {
	const start = row - (row % T);
	let lo = row;
	while (lo > start && row - lo < o.before && s.doc[lo - 1] === s.doc[row]) lo--;
	let hi = row;
	while (hi + 1 < start + T && hi - row < o.after && s.doc[hi + 1] === s.doc[row]) hi++;
	const ids: number[] = [];
	const acts: number[] = [];
	for (let q = lo; q <= hi; q++) {
		ids.push(s.ids[q]!);
		acts.push(s.dense[q]![f]!);
	}
	return { ids, acts, focus: row - lo };
}

function exampleAt(table: ReturnType<typeof collect>['collected']['table'], e: number): { ids: number[]; acts: number[]; focus: number } {
	const ids = Array.from(table.tokens.subarray(table.start[e], table.start[e]! + table.length[e]!));
	const acts = new Array<number>(ids.length).fill(0);
	for (let j = table.actStart[e]!; j < table.actStart[e + 1]!; j++) acts[table.actOffset[j]!] = table.actValue[j]!;
	return { ids, acts, focus: table.focus[e]! };
}

describe('feature statistics bookkeeping', () => {
	const s = synthetic(1, 40, 3);
	const { totals, collected } = collect(s, OPTIONS);

	it('totals match brute force, ignoring special tokens', () => {
		assert.equal(totals.tokens, s.counted.filter(Boolean).length);
		for (let f = 0; f < D_SAE; f++) {
			const acts = s.events.filter((e) => e.f === f).map((e) => e.v);
			assert.equal(totals.fireCount[f], acts.length);
			assert.ok(Math.abs(totals.sum[f]! - acts.reduce((a, v) => a + v, 0)) < 1e-9);
			assert.equal(totals.max[f], Math.max(...acts));
			assert.equal(totals.minPositive[f], Math.min(...acts));
		}
	});

	it('histograms count every firing once, in the bin whose edges hold it', () => {
		const bins = OPTIONS.histogramBins;
		for (let f = 0; f < D_SAE; f++) {
			const edges = histogramEdges(collected.histogramLow[f]!, collected.histogramHigh[f]!, bins, 'log');
			assert.equal(edges.length, bins + 1);
			for (let i = 1; i < edges.length; i++) assert.ok(edges[i]! > edges[i - 1]!, 'log edges increase');
			const want = new Array<number>(bins).fill(0);
			for (const e of s.events.filter((x) => x.f === f)) {
				let i = edges.findIndex((edge, j) => j < bins && e.v >= edge && (e.v < edges[j + 1]! || j === bins - 1));
				if (i < 0) i = 0;
				want[i]!++;
			}
			assert.deepEqual(Array.from(collected.histogram.subarray(f * bins, (f + 1) * bins)), want, `feature ${f}`);
		}
	});

	it('top examples are the N strongest firings, strongest first, with their context windows', () => {
		const N = OPTIONS.topExamples;
		for (let f = 0; f < D_SAE; f++) {
			const want = s.events
				.filter((e) => e.f === f)
				.sort((a, b) => b.v - a.v)
				.slice(0, N);
			const got = Array.from(collected.table.top.subarray(f * N, (f + 1) * N)).filter((e) => e >= 0);
			assert.equal(got.length, want.length);
			got.forEach((e, i) => {
				const ex = exampleAt(collected.table, e);
				const brute = bruteWindow(s, want[i]!.row, f, OPTIONS);
				assert.deepEqual(ex.ids, brute.ids);
				assert.equal(ex.focus, brute.focus);
				assert.deepEqual(ex.acts, brute.acts);
				assert.equal(ex.acts[ex.focus], want[i]!.v);
			});
		}
	});

	it('quantile bands: exact counts, samples inside their band, all of a band when it has few firings', () => {
		const { bands, perBand } = OPTIONS;
		let smallBands = 0;
		for (let f = 0; f < D_SAE; f++) {
			const max = totals.max[f]!;
			for (let q = 0; q < bands; q++) {
				const inBand = s.events.filter((e) => e.f === f && bandOf(e.v, max, bands) === q);
				assert.equal(collected.bandCount[f * bands + q], inBand.length);
				for (const e of inBand) assert.ok(e.v >= (max * q) / bands && (e.v < (max * (q + 1)) / bands || (q === bands - 1 && e.v <= max)));
				const base = (f * bands + q) * perBand;
				const got = Array.from(collected.table.band.subarray(base, base + perBand))
					.filter((e) => e >= 0)
					.map((e) => exampleAt(collected.table, e));
				assert.equal(got.length, Math.min(perBand, inBand.length));
				const focusActs = got.map((x) => x.acts[x.focus]!);
				for (let i = 1; i < focusActs.length; i++) assert.ok(focusActs[i - 1]! >= focusActs[i]!, 'strongest first');
				for (const v of focusActs)
					assert.ok(
						inBand.some((e) => e.v === v),
						`a sampled activation ${v} is one of the band's`,
					);
				if (inBand.length <= perBand) {
					smallBands++;
					assert.deepEqual(focusActs.sort(), inBand.map((e) => e.v).sort());
				}
			}
		}
		assert.ok(smallBands > 0, 'the data exercises bands with few firings');
	});

	it('overlapping windows share their stored tokens; each (feature, token) is stored once', () => {
		const t = collected.table;
		const totalWindowTokens = Array.from(t.length).reduce((a, n) => a + n, 0);
		assert.ok(t.tokens.length < totalWindowTokens, `${t.tokens.length} stored for ${totalWindowTokens} window tokens`);
		const keys = new Set<string>();
		for (let f = 0; f < D_SAE; f++) {
			const refs = new Set(
				[...t.top.subarray(f * OPTIONS.topExamples, (f + 1) * OPTIONS.topExamples), ...t.band.subarray(f * OPTIONS.bands * OPTIONS.perBand, (f + 1) * OPTIONS.bands * OPTIONS.perBand)].filter(
					(e) => e >= 0,
				),
			);
			for (const e of refs) keys.add(`${f}:${e}`);
		}
		assert.equal(t.start.length, new Set([...keys].map((k) => k.split(':')[1])).size, 'examples are not duplicated');
	});

	it('reservoir sampling picks each firing of a band with equal probability', () => {
		// One feature firing 20 times in one band; 5 kept per band; 2000 seeds.
		const n = 20;
		const rows = n + 1;
		const values = new Float32Array(rows);
		const indices = new Int32Array(rows);
		const counted = new Uint8Array(rows).fill(1);
		for (let r = 0; r < n; r++) values[r] = 2 + r * 0.01;
		values[n] = 10; // the max, alone in the top band
		const batch: SparseBatch = { rows, width: 1, values, indices, counted };
		const sources: BatchSources = {
			windowLength: rows,
			firstWindow: 0,
			ids: Array.from({ length: rows }, (_, i) => i + 1),
			doc: new Array(rows).fill(0),
			position: Array.from({ length: rows }, (_, i) => i),
		};
		const hits = new Array<number>(n).fill(0);
		const trials = 2000;
		for (let seed = 0; seed < trials; seed++) {
			const o = { ...OPTIONS, bands: 2, perBand: 5, topExamples: 0, seed };
			const c = new ExampleCollector(1, Float32Array.of(10), Float32Array.of(2), o);
			c.add(batch, sources);
			const got = c.finish();
			for (let i = 0; i < 5; i++) {
				const e = got.table.band[i]!;
				hits[got.table.position[e]!]!++;
			}
		}
		// Each of the 20 is kept with probability 1/4: standard error √(¼·¾/2000) ≈ 0.0097; allow 6σ.
		for (const h of hits) assert.ok(Math.abs(h / trials - 0.25) < 0.06, `inclusion rate ${h / trials}`);
	});

	it('linear histograms and degenerate ranges', () => {
		assert.deepEqual(histogramEdges(0, 4, 4, 'linear'), [0, 1, 2, 3, 4]);
		const log = histogramEdges(1, 16, 4, 'log');
		[1, 2, 4, 8, 16].forEach((v, i) => assert.ok(Math.abs(log[i]! - v) < 1e-12));
		assert.deepEqual(histogramEdges(3, 3, 2, 'log'), [3, 3, 3]);
	});
});

describe('half-precision storage', () => {
	it('rounds to the nearest half and reads it back', () => {
		for (const [v, want] of [
			[1, 1],
			[0.1, 0.0999755859375],
			[65504, 65504],
			[1e-7, 1.1920928955078125e-7],
			[2.5e-8, 0],
			[-3.14159, -3.140625],
			[1e6, Infinity],
		] as const) {
			assert.equal(fromHalf(toHalf(v)), want, `${v}`);
		}
		assert.equal(toHalf(1), 0x3c00);
		assert.equal(toHalf(-2), 0xc000);
	});
});
