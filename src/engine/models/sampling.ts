// Next-token choice from one row of logits: greedy, or seeded sampling with temperature,
// top-k and top-p. O(vocab) bookkeeping on logits already computed by onnxruntime.

export interface SamplingOptions {
	/** 0 means greedy (argmax). */
	temperature: number;
	/** Keep the k most likely tokens (0 = all). */
	topK: number;
	/** Keep the smallest set of tokens whose probability reaches p (1 = all). */
	topP: number;
}

/** mulberry32: a small, fast seeded PRNG; same seed ⇒ same completions on every machine. */
export function seededRandom(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

/** A uniformly random permutation of 0 … n−1 (Fisher–Yates) drawn from `random`. */
export function shuffledIndices(n: number, random: () => number): Uint32Array {
	const order = Uint32Array.from({ length: n }, (_, i) => i);
	for (let i = order.length - 1; i > 0; i--) {
		const j = Math.floor(random() * (i + 1));
		[order[i], order[j]] = [order[j]!, order[i]!];
	}
	return order;
}

/** Indices of the k largest values, largest first. */
export function topIndices(values: ArrayLike<number>, k: number): number[] {
	return Array.from({ length: values.length }, (_, i) => i).sort((a, b) => values[b]! - values[a]!).slice(0, k);
}

export function argmax(logits: ArrayLike<number>): number {
	let best = 0;
	for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
	return best;
}

export function sampleToken(logits: ArrayLike<number>, options: SamplingOptions, random: () => number): number {
	if (options.temperature <= 0) return argmax(logits);
	const n = logits.length;
	let order = Array.from({ length: n }, (_, i) => i).sort((a, b) => logits[b]! - logits[a]!);
	if (options.topK > 0 && options.topK < n) order = order.slice(0, options.topK);
	const max = logits[order[0]!]!;
	const weights = order.map((i) => Math.exp((logits[i]! - max) / options.temperature));
	const total = weights.reduce((a, w) => a + w, 0);
	let keep = order.length;
	if (options.topP < 1) {
		let cumulative = 0;
		for (let j = 0; j < order.length; j++) {
			cumulative += weights[j]! / total;
			if (cumulative >= options.topP) {
				keep = j + 1;
				break;
			}
		}
	}
	const kept = weights.slice(0, keep);
	const keptTotal = kept.reduce((a, w) => a + w, 0);
	let r = random() * keptTotal;
	for (let j = 0; j < keep; j++) {
		r -= kept[j]!;
		if (r < 0) return order[j]!;
	}
	return order[keep - 1]!;
}
