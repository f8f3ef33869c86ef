// Token-level diff of a baseline and a steered completion: the tokens outside a longest common
// subsequence of the two id sequences are the ones the steering changed. Both runs share the
// seed, so they usually agree on a prefix, part ways, and may meet again (a newline, an indent);
// the LCS marks those meetings as shared instead of marking everything after the first
// difference. Pure, unit-tested.

export interface TokenDiff {
	/** [a.length]: true where a's token is not matched in b. */
	a: boolean[];
	/** [b.length]: true where b's token is not matched in a. */
	b: boolean[];
}

/** Marks the tokens of `a` and `b` (compared by id) that are not in their longest common subsequence. */
export function tokenDiff(a: readonly number[], b: readonly number[]): TokenDiff {
	const changedA = new Array<boolean>(a.length).fill(true);
	const changedB = new Array<boolean>(b.length).fill(true);
	// The shared prefix and suffix match trivially; the table covers only the middle.
	let start = 0;
	while (start < a.length && start < b.length && a[start] === b[start]) {
		changedA[start] = false;
		changedB[start] = false;
		start++;
	}
	let endA = a.length;
	let endB = b.length;
	while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
		endA--;
		endB--;
		changedA[endA] = false;
		changedB[endB] = false;
	}
	const n = endA - start;
	const m = endB - start;
	if (n === 0 || m === 0) return { a: changedA, b: changedB };
	// lengths[i][j] = LCS length of a[start+i..endA) and b[start+j..endB), row-major, (n+1)×(m+1).
	const width = m + 1;
	const lengths = new Uint32Array((n + 1) * width);
	for (let i = n - 1; i >= 0; i--) {
		for (let j = m - 1; j >= 0; j--) {
			lengths[i * width + j] = a[start + i] === b[start + j] ? lengths[(i + 1) * width + j + 1]! + 1 : Math.max(lengths[(i + 1) * width + j]!, lengths[i * width + j + 1]!);
		}
	}
	let i = 0;
	let j = 0;
	while (i < n && j < m) {
		if (a[start + i] === b[start + j]) {
			changedA[start + i] = false;
			changedB[start + j] = false;
			i++;
			j++;
		} else if (lengths[(i + 1) * width + j]! >= lengths[i * width + j + 1]!) {
			i++;
		} else {
			j++;
		}
	}
	return { a: changedA, b: changedB };
}

/** How many tokens are marked, for the "n of m tokens differ" caption. */
export function countChanged(marks: readonly boolean[]): number {
	let n = 0;
	for (const m of marks) if (m) n++;
	return n;
}
