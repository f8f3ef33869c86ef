// Bundles the extension host, the engine process, the CLI and the webviews.
// Type-checking is `tsc --noEmit` (npm run typecheck); esbuild only strips types.
import * as fs from 'node:fs';
import * as esbuild from 'esbuild';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

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

const builds = [
	{ ...node, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js' },
	{ ...node, entryPoints: ['src/engine/server.ts'], outfile: 'dist/engine.js' },
	{ ...node, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
	{
		bundle: true, platform: 'browser', target: 'es2022', format: 'iife', sourcemap: !production, minify: production, logLevel: 'warning',
		entryPoints: { modelPanel: 'webview-ui/modelPanel/main.ts', trainingMonitor: 'webview-ui/trainingMonitor/main.ts', dashboard: 'webview-ui/dashboard/main.ts', steering: 'webview-ui/steering/main.ts' }, outdir: 'dist/webview',
	},
];

if (watch) {
	for (const b of builds) await (await esbuild.context(b)).watch();
} else {
	await Promise.all(builds.map((b) => esbuild.build(b)));
	// `bin` targets must be executable for `npx feature-lens` from a fresh clone.
	fs.chmodSync('dist/cli.js', 0o755);
}
