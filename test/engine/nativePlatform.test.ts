// Which machines the engine runs on, decided before the native libraries load: the five
// platforms onnxruntime-node 1.30 has builds for, and a platform package only on its own.

import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NATIVE_TARGETS, currentHost, nativePlatformProblem, packagedTargets } from '../../src/engine/nativePlatform';

const glibc = (platform: NodeJS.Platform, arch: string) => ({ platform, arch, musl: false });

describe('native platform check', () => {
	it('accepts each supported platform when its binaries are installed', () => {
		for (const t of NATIVE_TARGETS) {
			const [platform, arch] = t.split('-') as [NodeJS.Platform, string];
			assert.equal(nativePlatformProblem(glibc(platform, arch), [t]), undefined, t);
			assert.equal(nativePlatformProblem(glibc(platform, arch), [...NATIVE_TARGETS]), undefined, t);
		}
	});

	it('names Intel Macs, musl Linux and other platforms as unsupported, with where it does run', () => {
		assert.match(
			nativePlatformProblem(glibc('darwin', 'x64'), [...NATIVE_TARGETS])!,
			/^Feature Lens cannot run on Intel Macs \(darwin-x64\): onnxruntime-node 1\.30, which runs its models, has no build for it\. It runs on Linux/,
		);
		assert.match(nativePlatformProblem({ platform: 'linux', arch: 'x64', musl: true }, ['linux-x64'])!, /cannot run on musl-based Linux \(such as Alpine\)/);
		assert.match(nativePlatformProblem(glibc('linux', 'ia32'), [])!, /cannot run on linux-ia32/);
		assert.match(nativePlatformProblem(glibc('freebsd', 'x64'), [])!, /cannot run on freebsd-x64/);
	});

	it('a package built for another platform says which one to install', () => {
		assert.equal(
			nativePlatformProblem(glibc('win32', 'x64'), ['linux-x64']),
			'This copy of Feature Lens is the package for linux-x64, but this machine is win32-x64: install the win32-x64 package (the Marketplace picks it by itself; from a .vsix, use the file named for your platform).',
		);
		assert.match(nativePlatformProblem(glibc('linux', 'x64'), [])!, /is a package without onnxruntime binaries, but this machine is linux-x64/);
	});

	it("this machine runs the engine with the development install (every platform's binaries)", () => {
		assert.equal(nativePlatformProblem(currentHost(), packagedTargets()), undefined);
		assert.deepEqual([...packagedTargets()].sort(), [...NATIVE_TARGETS].sort());
	});
});
