// A small seeded generator (mulberry32), so every fuzz case is reproducible from the run's seed
// and the case's number.

export class Rng {
	private state: number;

	constructor(seed: number) {
		this.state = seed >>> 0 || 0x9e3779b9;
	}

	/** A float in [0, 1). */
	next(): number {
		let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	}

	/** An integer in [0, n). */
	int(n: number): number {
		return Math.floor(this.next() * n);
	}

	chance(p: number): boolean {
		return this.next() < p;
	}

	pick<T>(items: readonly T[]): T {
		return items[this.int(items.length)]!;
	}

	/** An index into `weights`, drawn in proportion to them. */
	weighted(weights: readonly number[]): number {
		let r = this.next() * weights.reduce((a, w) => a + w, 0);
		for (let i = 0; i < weights.length; i++) if ((r -= weights[i]!) < 0) return i;
		return weights.length - 1;
	}
}

/** The seed of case `index` of a run seeded `seed`. */
export function caseSeed(seed: number, index: number): number {
	let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
	h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
	h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
	return (h ^ (h >>> 16)) >>> 0;
}
