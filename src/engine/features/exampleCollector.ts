// The second analysis pass: for every feature, the top-N activating tokens (a min-heap per
// feature), a uniform sample of tokens from each of sae_vis's quantile bands (reservoir
// sampling per band), and an activation histogram. Bands and histogram edges come from the
// first pass (featureTotals.ts) over the same tokens, so both are exact. Each kept example
// stores its context window (token ids and this feature's activations) when it is captured,
// because the batch it came from is gone afterwards; memory is bounded by
// d_sae × (topN + bands × perBand) windows, whatever the corpus size.

import { seededRandom } from '../models/sampling';
import type { SparseBatch } from './featureTotals';

export interface ExampleOptions {
	/** Top activating examples kept per feature (sae_vis top_acts_group_size). */
	topExamples: number;
	/** Quantile bands: uniform intervals on (0, max] (sae_vis / SAEDashboard). */
	bands: number;
	/** Examples sampled per band. */
	perBand: number;
	histogramBins: number;
	histogramScale: 'log' | 'linear';
	/** Context tokens kept before and after the focus token (clipped to its document and model window). */
	before: number;
	after: number;
	seed: number;
}

export const DEFAULT_EXAMPLE_OPTIONS: ExampleOptions = {
	topExamples: 20,
	bands: 5,
	perBand: 5,
	histogramBins: 40,
	histogramScale: 'log',
	before: 8,
	after: 4,
	seed: 0,
};

/** Where each row of a batch came from: rows are `windows` model windows of `windowLength` tokens. */
export interface BatchSources {
	windowLength: number;
	/** Index of the batch's first window in the whole analysis (for positions in the token stream). */
	firstWindow: number;
	/** [rows] token ids. */
	ids: ArrayLike<number>;
	/** [rows] document index (−1 for tokens added between documents). */
	doc: ArrayLike<number>;
	/** [rows] token position within its document. */
	position: ArrayLike<number>;
}

/** A feature's kept examples and counts, after the pass. */
export interface ExampleTable {
	/** Token ids of all example windows, overlapping windows stored once. */
	tokens: Int32Array;
	/** Per example: offset of its window in `tokens`, its length, the focus token's index in it. */
	start: Int32Array;
	length: Uint8Array;
	focus: Uint8Array;
	/** Per example: document index (into the analysis's source names) and the focus token's position there. */
	doc: Int32Array;
	position: Int32Array;
	/** Per example: its nonzero activations are actOffset/actValue[actStart[e] … actStart[e+1]). */
	actStart: Int32Array;
	/** Index in the window of each nonzero activation. */
	actOffset: Uint8Array;
	actValue: Float32Array;
	/** [d_sae, topExamples]: example indices, strongest first, −1 past the end. */
	top: Int32Array;
	/** [d_sae, bands, perBand]: example indices, strongest first, −1 past the end. */
	band: Int32Array;
}

export interface CollectedExamples {
	table: ExampleTable;
	/** [d_sae, bins]. */
	histogram: Int32Array;
	/** [d_sae]: histogram range (the feature's smallest positive and largest activation). */
	histogramLow: Float32Array;
	histogramHigh: Float32Array;
	/** [d_sae, bands]: firing tokens per band. */
	bandCount: Int32Array;
}

/** Histogram edges for a range: `bins + 1` values, log- or linearly spaced. */
export function histogramEdges(low: number, high: number, bins: number, scale: 'log' | 'linear'): number[] {
	if (!(high > low)) return Array.from({ length: bins + 1 }, () => low);
	if (scale === 'log' && low > 0) {
		const ratio = Math.log(high / low);
		return Array.from({ length: bins + 1 }, (_, i) => (i === bins ? high : low * Math.exp((ratio * i) / bins)));
	}
	return Array.from({ length: bins + 1 }, (_, i) => (i === bins ? high : low + ((high - low) * i) / bins));
}

/** The histogram bin of `v` in [low, high] (clamped, so float rounding at the ends cannot escape). */
export function histogramBin(v: number, low: number, high: number, bins: number, scale: 'log' | 'linear'): number {
	if (!(high > low)) return 0;
	const t = scale === 'log' && low > 0 ? Math.log(v / low) / Math.log(high / low) : (v - low) / (high - low);
	return Math.min(bins - 1, Math.max(0, Math.floor(t * bins)));
}

/** The quantile band of activation `v` for a feature whose largest activation is `max`. */
export function bandOf(v: number, max: number, bands: number): number {
	return Math.min(bands - 1, Math.floor((v / max) * bands));
}

/** Fixed-size context windows for kept examples, recycled through a free list. */
class ExamplePool {
	ids: Int32Array;
	acts: Float32Array;
	length: Uint8Array;
	focus: Uint8Array;
	feature: Int32Array;
	focusAct: Float32Array;
	/** Position of the window's first token in the analysis's token stream (windows × windowLength). */
	stream: Float64Array;
	doc: Int32Array;
	position: Int32Array;
	private free: number[] = [];
	private used = 0;

	constructor(
		readonly width: number,
		private capacity = 1024,
	) {
		this.ids = new Int32Array(capacity * width);
		this.acts = new Float32Array(capacity * width);
		this.length = new Uint8Array(capacity);
		this.focus = new Uint8Array(capacity);
		this.feature = new Int32Array(capacity);
		this.focusAct = new Float32Array(capacity);
		this.stream = new Float64Array(capacity);
		this.doc = new Int32Array(capacity);
		this.position = new Int32Array(capacity);
	}

	alloc(): number {
		const slot = this.free.pop();
		if (slot !== undefined) return slot;
		if (this.used === this.capacity) this.grow();
		return this.used++;
	}

	release(slot: number): void {
		this.free.push(slot);
	}

	private grow(): void {
		const c = this.capacity * 2;
		const widen = <T extends Int32Array | Float32Array | Uint8Array | Float64Array>(a: T, n: number): T => {
			const b = new (a.constructor as new (n: number) => T)(n);
			b.set(a);
			return b;
		};
		this.ids = widen(this.ids, c * this.width);
		this.acts = widen(this.acts, c * this.width);
		this.length = widen(this.length, c);
		this.focus = widen(this.focus, c);
		this.feature = widen(this.feature, c);
		this.focusAct = widen(this.focusAct, c);
		this.stream = widen(this.stream, c);
		this.doc = widen(this.doc, c);
		this.position = widen(this.position, c);
		this.capacity = c;
	}
}

export class ExampleCollector {
	private readonly pool: ExamplePool;
	private readonly random: () => number;
	/** Min-heaps per feature, [d_sae, topExamples]: activation and pool slot. */
	private readonly heapAct: Float32Array;
	private readonly heapSlot: Int32Array;
	private readonly heapSize: Uint16Array;
	/** Reservoirs per feature and band, [d_sae, bands, perBand] pool slots, and tokens seen per band. */
	private readonly bandSlot: Int32Array;
	private readonly bandSeen: Float64Array;
	private readonly histogram: Int32Array;

	constructor(
		readonly dSae: number,
		private readonly max: Float32Array,
		private readonly minPositive: Float32Array,
		readonly options: ExampleOptions,
	) {
		const o = options;
		if (o.before + 1 + o.after > 255) throw new Error('example windows are limited to 255 tokens');
		this.pool = new ExamplePool(o.before + 1 + o.after);
		this.random = seededRandom(o.seed);
		this.heapAct = new Float32Array(dSae * o.topExamples);
		this.heapSlot = new Int32Array(dSae * o.topExamples).fill(-1);
		this.heapSize = new Uint16Array(dSae);
		this.bandSlot = new Int32Array(dSae * o.bands * o.perBand).fill(-1);
		this.bandSeen = new Float64Array(dSae * o.bands);
		this.histogram = new Int32Array(dSae * o.histogramBins);
	}

	add(batch: SparseBatch, sources: BatchSources): void {
		const { values, indices, width } = batch;
		const o = this.options;
		const N = o.topExamples;
		for (let r = 0; r < batch.rows; r++) {
			if (!batch.counted[r]) continue;
			for (let j = 0; j < width; j++) {
				const v = values[r * width + j]!;
				if (!(v > 0)) continue;
				const f = indices[r * width + j]!;
				const max = this.max[f]!;
				// Histogram over nonzero activations.
				this.histogram[f * o.histogramBins + histogramBin(v, this.minPositive[f]!, max, o.histogramBins, o.histogramScale)]!++;
				// Top N: a min-heap whose root is the weakest kept example.
				const h = f * N;
				const size = this.heapSize[f]!;
				if (size < N) {
					this.heapAct[h + size] = v;
					this.heapSlot[h + size] = this.capture(batch, sources, r, f, v);
					this.heapSize[f] = size + 1;
					this.siftUp(h, size);
				} else if (N > 0 && v > this.heapAct[h]!) {
					this.pool.release(this.heapSlot[h]!);
					this.heapAct[h] = v;
					this.heapSlot[h] = this.capture(batch, sources, r, f, v);
					this.siftDown(h, N);
				}
				// Quantile band reservoir (Algorithm R): every token of the band is kept with probability perBand / seen.
				const band = f * o.bands + bandOf(v, max, o.bands);
				const seen = ++this.bandSeen[band]!;
				const slots = band * o.perBand;
				if (seen <= o.perBand) {
					this.bandSlot[slots + seen - 1] = this.capture(batch, sources, r, f, v);
				} else {
					const pick = Math.floor(this.random() * seen);
					if (pick < o.perBand) {
						this.pool.release(this.bandSlot[slots + pick]!);
						this.bandSlot[slots + pick] = this.capture(batch, sources, r, f, v);
					}
				}
			}
		}
	}

	/** The kept examples with overlapping windows merged, and the per-feature counts. */
	finish(): CollectedExamples {
		const o = this.options;
		const { pool, dSae } = this;
		// One example per (feature, focus token): a top example that was also sampled in a band is stored once.
		const exampleOf = new Map<string, number>();
		const slots: number[] = [];
		const index = (slot: number): number => {
			const key = `${pool.feature[slot]}:${pool.stream[slot]! + pool.focus[slot]!}`;
			let e = exampleOf.get(key);
			if (e === undefined) {
				e = slots.length;
				slots.push(slot);
				exampleOf.set(key, e);
			}
			return e;
		};
		const top = new Int32Array(dSae * o.topExamples).fill(-1);
		const band = new Int32Array(dSae * o.bands * o.perBand).fill(-1);
		const byActivation = (a: number, b: number) => pool.focusAct[b]! - pool.focusAct[a]!;
		for (let f = 0; f < dSae; f++) {
			const kept = Array.from(this.heapSlot.subarray(f * o.topExamples, f * o.topExamples + this.heapSize[f]!)).sort(byActivation);
			kept.forEach((slot, i) => {
				top[f * o.topExamples + i] = index(slot);
			});
			for (let q = 0; q < o.bands; q++) {
				const base = (f * o.bands + q) * o.perBand;
				const sampled = Array.from(this.bandSlot.subarray(base, base + o.perBand))
					.filter((s) => s >= 0)
					.sort(byActivation);
				sampled.forEach((slot, i) => {
					band[base + i] = index(slot);
				});
			}
		}
		const table = this.table(slots);
		table.top = top;
		table.band = band;
		const bandCount = Int32Array.from(this.bandSeen);
		const histogramLow = Float32Array.from(this.minPositive, (v) => (Number.isFinite(v) ? v : 0));
		return { table, histogram: this.histogram, histogramLow, histogramHigh: Float32Array.from(this.max), bandCount };
	}

	/** Copies a context window into a pool slot: ids and this feature's activation on each token. */
	private capture(batch: SparseBatch, sources: BatchSources, r: number, f: number, v: number): number {
		const o = this.options;
		const T = sources.windowLength;
		const windowStart = r - (r % T);
		const doc = sources.doc[r]!;
		// Clip to the model window the activations were computed in and to the focus token's document.
		let lo = r;
		while (lo > windowStart && r - lo < o.before && sources.doc[lo - 1] === doc) lo--;
		let hi = r;
		while (hi + 1 < windowStart + T && hi - r < o.after && sources.doc[hi + 1] === doc) hi++;
		const slot = this.pool.alloc();
		const p = this.pool;
		const at = slot * p.width;
		const { values, indices, width } = batch;
		for (let q = lo; q <= hi; q++) {
			p.ids[at + q - lo] = sources.ids[q]!;
			let a = 0;
			for (let j = 0; j < width; j++) {
				if (indices[q * width + j] === f) {
					a = Math.max(0, values[q * width + j]!);
					break;
				}
			}
			p.acts[at + q - lo] = a;
		}
		p.length[slot] = hi - lo + 1;
		p.focus[slot] = r - lo;
		p.feature[slot] = f;
		p.focusAct[slot] = v;
		p.stream[slot] = (sources.firstWindow + Math.floor(r / T)) * T + (lo - windowStart);
		p.doc[slot] = doc;
		p.position[slot] = sources.position[r]!;
		return slot;
	}

	/** Packs pool slots into an ExampleTable, storing the union of their windows' tokens once. */
	private table(slots: readonly number[]): ExampleTable {
		const p = this.pool;
		const n = slots.length;
		const start = new Int32Array(n);
		const length = new Uint8Array(n);
		const focus = new Uint8Array(n);
		const doc = new Int32Array(n);
		const position = new Int32Array(n);
		const actStart = new Int32Array(n + 1);
		const offsets: number[] = [];
		const acts: number[] = [];
		const tokens: number[] = [];
		// Sweep windows in token-stream order, merging overlaps: [mergedStart, mergedEnd) sits at tokens[mergedBase…].
		const order = Array.from({ length: n }, (_, e) => e).sort((a, b) => p.stream[slots[a]!]! - p.stream[slots[b]!]!);
		let mergedStart = -1;
		let mergedEnd = -1;
		let mergedBase = 0;
		for (const e of order) {
			const slot = slots[e]!;
			const s = p.stream[slot]!;
			const len = p.length[slot]!;
			if (s >= mergedEnd) {
				mergedStart = s;
				mergedEnd = s;
				mergedBase = tokens.length;
			}
			for (let t = mergedEnd - s; t < len; t++) tokens.push(p.ids[slot * p.width + t]!);
			mergedEnd = Math.max(mergedEnd, s + len);
			start[e] = mergedBase + (s - mergedStart);
		}
		for (let e = 0; e < n; e++) {
			const slot = slots[e]!;
			length[e] = p.length[slot]!;
			focus[e] = p.focus[slot]!;
			doc[e] = p.doc[slot]!;
			position[e] = p.position[slot]!;
			actStart[e] = offsets.length;
			for (let t = 0; t < length[e]!; t++) {
				const a = p.acts[slot * p.width + t]!;
				if (a > 0) {
					offsets.push(t);
					acts.push(a);
				}
			}
		}
		actStart[n] = offsets.length;
		return {
			tokens: Int32Array.from(tokens),
			start,
			length,
			focus,
			doc,
			position,
			actStart,
			actOffset: Uint8Array.from(offsets),
			actValue: Float32Array.from(acts),
			top: new Int32Array(0),
			band: new Int32Array(0),
		};
	}

	private siftUp(h: number, i: number): void {
		const act = this.heapAct;
		while (i > 0) {
			const parent = (i - 1) >> 1;
			if (act[h + parent]! <= act[h + i]!) break;
			this.swap(h + parent, h + i);
			i = parent;
		}
	}

	private siftDown(h: number, size: number): void {
		const act = this.heapAct;
		let i = 0;
		for (;;) {
			const l = 2 * i + 1;
			const r = l + 1;
			let smallest = i;
			if (l < size && act[h + l]! < act[h + smallest]!) smallest = l;
			if (r < size && act[h + r]! < act[h + smallest]!) smallest = r;
			if (smallest === i) return;
			this.swap(h + i, h + smallest);
			i = smallest;
		}
	}

	private swap(a: number, b: number): void {
		const act = this.heapAct;
		const slot = this.heapSlot;
		[act[a], act[b]] = [act[b]!, act[a]!];
		[slot[a], slot[b]] = [slot[b]!, slot[a]!];
	}
}
