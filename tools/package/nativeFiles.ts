// What a platform package takes from the npm packages that stay outside our bundles: the
// native ones (onnxruntime-node, tokenizers, both carrying every platform's binaries) and
// onnxruntime-node's JavaScript dependency. Everything else of theirs stays behind: other
// platforms' binaries, macOS's second copy of libonnxruntime (npm has no symlinks), Windows'
// DirectML and shader-compiler DLLs (onnxruntime delay-loads them for the DirectML and WebGPU
// providers, which Feature Lens never uses), type declarations, maps, sources, and
// onnxruntime-node's install-script dependencies (adm-zip, global-agent).
// test/package/packages.test.ts checks this table against what each binary loads.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NativeTarget } from '../../src/engine/nativePlatform';

/** The npm packages a platform package carries, in `dist/node_modules/` beside the bundles that require them. */
export const NATIVE_PACKAGES = ['onnxruntime-node', 'onnxruntime-common', 'tokenizers'] as const;
export type NativePackage = (typeof NATIVE_PACKAGES)[number];

/** The libraries onnxruntime's binding loads from its own folder, by platform. */
const ONNXRUNTIME_LIBRARIES: Record<NativeTarget, string[]> = {
	'linux-x64': ['libonnxruntime.so.1'],
	'linux-arm64': ['libonnxruntime.so.1'],
	'darwin-arm64': ['libonnxruntime.1.dylib'],
	'win32-x64': ['onnxruntime.dll'],
	'win32-arm64': ['onnxruntime.dll'],
};

/** The tokenizers binding's file name suffix (napi-rs's platform triple), by platform. */
const TOKENIZERS_TRIPLE: Record<NativeTarget, string> = {
	'linux-x64': 'linux-x64-gnu',
	'linux-arm64': 'linux-arm64-gnu',
	'darwin-arm64': 'darwin-arm64',
	'win32-x64': 'win32-x64-msvc',
	'win32-arm64': 'win32-arm64-msvc',
};

/**
 * The files (paths relative to each package's folder) that `target`'s package takes from each
 * npm package installed in `nodeModules`.
 */
export function nativePackageFiles(target: NativeTarget, nodeModules: string): Record<NativePackage, string[]> {
	const [platform, arch] = target.split('-') as [string, string];
	const bin = `bin/napi-v6/${platform}/${arch}`;
	return {
		'onnxruntime-node': [
			'package.json',
			'dist/index.js',
			'dist/backend.js',
			'dist/binding.js',
			'dist/version.js',
			`${bin}/onnxruntime_binding.node`,
			...ONNXRUNTIME_LIBRARIES[target].map((lib) => `${bin}/${lib}`),
		],
		// Its CommonJS build, which onnxruntime-node requires; the ES-module build is not used.
		'onnxruntime-common': [
			'package.json',
			'dist/cjs/package.json',
			...fs
				.readdirSync(path.join(nodeModules, 'onnxruntime-common', 'dist', 'cjs'))
				.filter((f) => f.endsWith('.js'))
				.map((f) => `dist/cjs/${f}`),
		],
		tokenizers: ['package.json', 'LICENSE', 'index.js', `tokenizers.${TOKENIZERS_TRIPLE[target]}.node`],
	};
}

/** The bindings each platform package's code loads directly; the test follows their imports from here. */
export function nativeBindings(target: NativeTarget): string[] {
	const [platform, arch] = target.split('-') as [string, string];
	return [`onnxruntime-node/bin/napi-v6/${platform}/${arch}/onnxruntime_binding.node`, `tokenizers/tokenizers.${TOKENIZERS_TRIPLE[target]}.node`];
}
