// Shared test utilities.

import * as path from 'node:path';
import { EngineProcess } from '../src/extension/engineProcess';

export function fixtureModel(name: string): string {
	return path.join(__dirname, 'fixtures', 'models', name);
}

export function maxAbsDiff(got: ArrayLike<number>, want: ArrayLike<number>): number {
	if (got.length !== want.length) throw new Error(`length ${got.length} ≠ ${want.length}`);
	let max = 0;
	for (let i = 0; i < got.length; i++) max = Math.max(max, Math.abs(got[i]! - want[i]!));
	return max;
}

/** The built engine (dist/engine.js) as the extension runs it, on one CPU thread, with no logging: for tests that drive it over JSON-RPC. */
export function testEngine(): EngineProcess {
	return new EngineProcess({
		enginePath: path.join(__dirname, '..', 'dist', 'engine.js'),
		nodePath: process.execPath,
		initialize: () => ({ executionProvider: 'cpu', threads: 1 }),
		log: () => {},
		onState: () => {},
		onCrash: () => {},
	});
}
