// The first analysis pass: per-feature firing count, activation sum, max and smallest positive
// activation over a token budget. The second pass (exampleCollector.ts) needs the max to place
// sae_vis's quantile bands and the histogram's range before it sees a single example.

/**
 * The SAE's output on a batch of token rows in sparse form: each row's `width` strongest
 * features (TopK output, so O(rows × k) bookkeeping), plus which rows count for statistics.
 */
export interface SparseBatch {
	rows: number;
	width: number;
	/** [rows, width]; entries ≤ 0 are features that did not fire. */
	values: Float32Array;
	/** [rows, width] feature indices. */
	indices: Int32Array;
	/** [rows]: 1 where the token counts (0 for BOS/EOS/PAD, which Neuronpedia's runner ignores too). */
	counted: Uint8Array;
}

export class FeatureTotals {
	/** Counted tokens seen. */
	tokens = 0;
	/** Counted tokens whose `width` entries were all positive: the cap may have dropped weaker features there. */
	saturatedTokens = 0;
	readonly fireCount: Float64Array;
	readonly sum: Float64Array;
	readonly max: Float32Array;
	/** Smallest positive activation (+∞ for features that never fired). */
	readonly minPositive: Float32Array;

	constructor(readonly dSae: number) {
		this.fireCount = new Float64Array(dSae);
		this.sum = new Float64Array(dSae);
		this.max = new Float32Array(dSae);
		this.minPositive = new Float32Array(dSae).fill(Infinity);
	}

	add(batch: SparseBatch): void {
		const { values, indices, width } = batch;
		for (let r = 0; r < batch.rows; r++) {
			if (!batch.counted[r]) continue;
			this.tokens++;
			const base = r * width;
			if (values[base + width - 1]! > 0) this.saturatedTokens++;
			for (let j = 0; j < width; j++) {
				const v = values[base + j]!;
				if (!(v > 0)) continue;
				const f = indices[base + j]!;
				this.fireCount[f]!++;
				this.sum[f]! += v;
				if (v > this.max[f]!) this.max[f] = v;
				if (v < this.minPositive[f]!) this.minPositive[f] = v;
			}
		}
	}
}
