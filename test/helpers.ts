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

/**
 * Something tests wait on without sleeping or polling: whoever changes it calls `changed()`, and
 * `until` re-checks its condition then, failing with `what` (never hanging) after `ms`.
 */
export class Changes {
	private readonly waiting = new Set<() => void>();

	changed(): void {
		for (const check of [...this.waiting]) check();
	}

	until(condition: () => boolean, ms: number, what: string): Promise<void> {
		return new Promise((resolve, reject) => {
			const check = (): void => {
				if (!condition()) return;
				done();
				resolve();
			};
			const timer = setTimeout(() => {
				done();
				reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
			}, ms);
			const done = (): void => {
				clearTimeout(timer);
				this.waiting.delete(check);
			};
			this.waiting.add(check);
			check();
		});
	}
}
