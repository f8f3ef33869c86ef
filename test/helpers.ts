// Shared test utilities.

import * as fs from 'node:fs';
import * as os from 'node:os';
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

/** A fresh user-data folder (labels, analyses), removed when the test process exits, so tests never write into the user's own. */
export function testDataDir(): string {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-data-'));
	process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
	return dir;
}

/** The built engine (dist/engine.js) as the extension runs it, on one CPU thread, with no logging: for tests that drive it over JSON-RPC. */
export function testEngine(userDataDir = testDataDir()): EngineProcess {
	return new EngineProcess({
		enginePath: path.join(__dirname, '..', 'dist', 'engine.js'),
		nodePath: process.execPath,
		initialize: () => ({ executionProvider: 'cpu', threads: 1, userDataDir }),
		log: () => {},
		onState: () => {},
		onCrash: () => {},
	});
}
