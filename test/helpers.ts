// Shared test utilities.

import * as path from 'node:path';

export function fixtureModel(name: string): string {
	return path.join(__dirname, 'fixtures', 'models', name);
}

export function maxAbsDiff(got: ArrayLike<number>, want: ArrayLike<number>): number {
	if (got.length !== want.length) throw new Error(`length ${got.length} ≠ ${want.length}`);
	let max = 0;
	for (let i = 0; i < got.length; i++) max = Math.max(max, Math.abs(got[i]! - want[i]!));
	return max;
}
