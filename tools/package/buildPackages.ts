// The platform packages: one production build, then per platform a stage folder holding what
// .vscodeignore lets into the package, that build, and the platform's native packages, which
// `vsce package --target` turns into a .vsix. Both native npm packages carry every platform's
// binaries, so all five are cut on one machine.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PackageManager, listFiles } from '@vscode/vsce';
import type { NativeTarget } from '../../src/engine/nativePlatform';
import { REPO_ROOT, stageNatives } from './stageNatives';

export interface BuiltPackage {
	target: NativeTarget;
	/** The .vsix. */
	file: string;
	bytes: number;
	/** The folder it was made from, as it installs (minus what vsce adds: the manifest). */
	stage: string;
	/** What vsce printed; a clean run has no warnings. */
	vsceOutput: string;
	seconds: number;
}

export interface BuildOptions {
	targets: readonly NativeTarget[];
	/** Where the .vsix files and the stage folders go. */
	outDir: string;
	/** A version other than package.json's (to test an update from one build to the next). */
	version?: string;
	log?: (message: string) => void;
}

const VSCE = path.join(REPO_ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');

export async function buildPackages(options: BuildOptions): Promise<BuiltPackage[]> {
	const log = options.log ?? (() => {});
	const outDir = path.resolve(options.outDir);
	const stages = path.join(outDir, 'stage');
	fs.rmSync(stages, { recursive: true, force: true });
	const dist = path.join(stages, 'dist');
	run(process.execPath, ['esbuild.mjs', '--production', '--out', dist], REPO_ROOT);
	// What .vscodeignore (an allowlist) lets in from the repository, but the development build.
	const files = (await listFiles({ cwd: REPO_ROOT, packageManager: PackageManager.None })).filter((f) => !f.startsWith('dist/'));
	const manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
	// The stage has no sources: vsce must not run the prepublish build there.
	delete manifest['scripts'];
	if (options.version) manifest['version'] = options.version;
	const built: BuiltPackage[] = [];
	for (const target of options.targets) {
		const started = performance.now();
		const stage = path.join(stages, target);
		for (const f of [...files, '.vscodeignore']) {
			fs.mkdirSync(path.dirname(path.join(stage, f)), { recursive: true });
			fs.copyFileSync(path.join(REPO_ROOT, f), path.join(stage, f));
		}
		fs.writeFileSync(path.join(stage, 'package.json'), JSON.stringify(manifest, null, '\t') + '\n');
		fs.cpSync(dist, path.join(stage, 'dist'), { recursive: true });
		stageNatives(target, path.join(stage, 'dist'));
		const file = path.join(outDir, `${String(manifest['name'])}-${target}-${String(manifest['version'])}.vsix`);
		const vsceOutput = run(process.execPath, [VSCE, 'package', '--target', target, '--out', file], stage);
		const bytes = fs.statSync(file).size;
		const seconds = (performance.now() - started) / 1000;
		log(`${path.basename(file)}: ${(bytes / 1e6).toFixed(1)} MB (${seconds.toFixed(1)} s)`);
		built.push({ target, file, bytes, stage, vsceOutput, seconds });
	}
	return built;
}

function run(command: string, args: string[], cwd: string): string {
	const r = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, FORCE_COLOR: '0' } });
	const output = `${r.stdout}${r.stderr}`;
	if (r.status !== 0) throw new Error(`${path.basename(args[0] ?? command)} ${args.slice(1).join(' ')} failed in ${cwd} (${r.error?.message ?? `exit ${r.status}`}):\n${output}`);
	return output;
}
