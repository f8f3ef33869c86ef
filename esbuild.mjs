// Bundles the extension host, the engine process, the CLI and the webviews.
// Type-checking is `tsc --noEmit` (npm run typecheck); esbuild only strips types.
//   node esbuild.mjs [--production] [--watch] [--out DIR]   (DIR defaults to dist)
// Only the native packages (onnxruntime-node, tokenizers) stay outside the bundles; a build
// for a package puts its platform's copies in DIR/node_modules (tools/package), which this
// build clears, so a development build always loads the repository's node_modules.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as esbuild from 'esbuild';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');
const outIndex = process.argv.indexOf('--out');
const out = outIndex >= 0 ? process.argv[outIndex + 1] : 'dist';
if (!out) throw new Error('--out needs a folder');

const node = {
	bundle: true,
	platform: 'node',
	target: 'node20',
	format: 'cjs',
	sourcemap: !production,
	minify: production,
	logLevel: 'warning',
	// Native modules load from node_modules at run time; vscode is provided by the host.
	external: ['vscode', 'onnxruntime-node', 'tokenizers'],
};

// The CLI's launcher line also asks glibc for transparent huge pages (see src/extension/hugePages.ts:
// loading a large model is mostly page faults otherwise); `env -S` splits the line, and other
// systems' C libraries ignore the variable.
const HUGE_PAGES_LAUNCHER = '#!/usr/bin/env -S GLIBC_TUNABLES=glibc.malloc.hugetlb=1 node';

const builds = [
	{ ...node, entryPoints: ['src/extension/extension.ts'], outfile: path.join(out, 'extension.js') },
	// The entry points check the platform before anything loads the native libraries.
	{ ...node, entryPoints: ['src/engine/engineMain.ts'], outfile: path.join(out, 'engine.js') },
	{ ...node, entryPoints: ['src/cli/cliMain.ts'], outfile: path.join(out, 'cli.js'), banner: { js: HUGE_PAGES_LAUNCHER } },
	{
		bundle: true,
		platform: 'browser',
		target: 'es2022',
		format: 'iife',
		sourcemap: !production,
		minify: production,
		logLevel: 'warning',
		entryPoints: {
			modelPanel: 'webview-ui/modelPanel/main.ts',
			attribution: 'webview-ui/attribution/main.ts',
			trainingMonitor: 'webview-ui/trainingMonitor/main.ts',
			dashboard: 'webview-ui/dashboard/main.ts',
			steering: 'webview-ui/steering/main.ts',
		},
		outdir: path.join(out, 'webview'),
	},
];

fs.rmSync(path.join(out, 'node_modules'), { recursive: true, force: true });
if (watch) {
	for (const b of builds) await (await esbuild.context(b)).watch();
} else {
	// A production build leaves no source maps from an earlier development build behind.
	if (production) for (const dir of [out, path.join(out, 'webview')]) for (const f of fs.existsSync(dir) ? fs.readdirSync(dir) : []) if (f.endsWith('.map')) fs.rmSync(path.join(dir, f));
	await Promise.all(builds.map((b) => esbuild.build(b)));
	// `bin` targets must be executable for `npx feature-lens` from a fresh clone.
	fs.chmodSync(path.join(out, 'cli.js'), 0o755);
}
