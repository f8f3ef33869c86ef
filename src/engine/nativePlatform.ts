// Whether this machine can run the native libraries the engine needs (onnxruntime-node and
// the Hugging Face tokenizers), checked before either is loaded: without the check, a
// missing binary surfaces as "Cannot find module …onnxruntime_binding.node" on every request.
// Free of onnxruntime imports on purpose.

import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The platforms onnxruntime-node 1.30 ships binaries for, named as VS Code names targets
 * (`vsce package --target`); one package is built for each. Intel Macs (darwin-x64) and
 * musl Linux (Alpine) have no onnxruntime-node build.
 */
export const NATIVE_TARGETS = ['linux-x64', 'linux-arm64', 'win32-x64', 'win32-arm64', 'darwin-arm64'] as const;
export type NativeTarget = (typeof NATIVE_TARGETS)[number];

export interface Host {
	platform: NodeJS.Platform;
	arch: string;
	/** Linux with musl rather than glibc (Alpine). */
	musl: boolean;
}

export function currentHost(): Host {
	return { platform: process.platform, arch: process.arch, musl: process.platform === 'linux' && isMusl() };
}

/** Node's own report names the glibc it runs on; musl builds of Node have none. */
function isMusl(): boolean {
	const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
	return header !== undefined && header.glibcVersionRuntime === undefined;
}

const SUPPORTED_LIST = 'Linux (x64 or arm64, with glibc), Windows (x64 or arm64) and macOS on Apple silicon';

/**
 * Why the engine cannot run on `host`, or undefined when it can. `packagedTargets` lists the
 * platforms whose onnxruntime binaries are installed: a platform package holds only its own.
 */
export function nativePlatformProblem(host: Host, packagedTargets: readonly string[]): string | undefined {
	const name = `${host.platform}-${host.arch}`;
	if (host.platform === 'linux' && host.musl) {
		return `Feature Lens cannot run on musl-based Linux (such as Alpine): onnxruntime-node, which runs its models, has no musl build. It runs on ${SUPPORTED_LIST}.`;
	}
	if (!(NATIVE_TARGETS as readonly string[]).includes(name)) {
		const what = name === 'darwin-x64' ? 'Intel Macs (darwin-x64)' : name;
		return `Feature Lens cannot run on ${what}: onnxruntime-node 1.30, which runs its models, has no build for it. It runs on ${SUPPORTED_LIST}.`;
	}
	if (!packagedTargets.includes(name)) {
		const built = packagedTargets.length ? `the package for ${packagedTargets.join(', ')}` : 'a package without onnxruntime binaries';
		return (
			`This copy of Feature Lens is ${built}, but this machine is ${name}: install the ${name} package ` + '(the Marketplace picks it by itself; from a .vsix, use the file named for your platform).'
		);
	}
	return undefined;
}

/** The platforms whose onnxruntime-node binding is installed beside the engine, as `<platform>-<arch>`. */
export function packagedTargets(): string[] {
	let bin: string;
	try {
		bin = path.join(path.dirname(require.resolve('onnxruntime-node')), '..', 'bin', 'napi-v6');
	} catch {
		return [];
	}
	const targets: string[] = [];
	for (const platform of safeList(bin)) {
		for (const arch of safeList(path.join(bin, platform))) {
			if (fs.existsSync(path.join(bin, platform, arch, 'onnxruntime_binding.node'))) targets.push(`${platform}-${arch}`);
		}
	}
	return targets;
}

function safeList(dir: string): string[] {
	try {
		return fs.readdirSync(dir);
	} catch {
		return [];
	}
}
