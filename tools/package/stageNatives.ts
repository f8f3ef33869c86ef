// Puts one platform's native packages (nativeFiles.ts) into a bundle folder's node_modules, where
// the bundles' `require('onnxruntime-node')` and `require('tokenizers')` find them first.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { NATIVE_TARGETS, currentHost, nativePlatformProblem } from '../../src/engine/nativePlatform';
import type { NativeTarget } from '../../src/engine/nativePlatform';
import { NATIVE_PACKAGES, nativePackageFiles } from './nativeFiles';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** Copies `target`'s files of the native packages from `nodeModules` into `<distDir>/node_modules/`, replacing what was there. */
export function stageNatives(target: NativeTarget, distDir: string, nodeModules = path.join(REPO_ROOT, 'node_modules')): void {
	const into = path.join(distDir, 'node_modules');
	fs.rmSync(into, { recursive: true, force: true });
	const files = nativePackageFiles(target, nodeModules);
	for (const pkg of NATIVE_PACKAGES) {
		for (const file of files[pkg]) {
			const from = path.join(nodeModules, pkg, file);
			if (!fs.existsSync(from)) throw new Error(`${from} is missing: is ${pkg} installed (npm ci)?`);
			const to = path.join(into, pkg, file);
			fs.mkdirSync(path.dirname(to), { recursive: true });
			fs.copyFileSync(from, to);
		}
	}
}

/** This machine's target, or a clear error where no package can be built to run here. */
export function hostTarget(): NativeTarget {
	const host = currentHost();
	const name = `${host.platform}-${host.arch}`;
	const problem = nativePlatformProblem(host, [name]);
	if (problem) throw new Error(problem);
	return NATIVE_TARGETS.find((t) => t === name)!;
}
