// Where a model argument points: `demo` is the embedded checkpoint shipped in the package,
// anything else a checkpoint folder on disk.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEMO } from '../../protocol/engineProtocol';
import { ModelConfigError } from './decoderConfig';

/** The package root (the folder holding our package.json), found from this file's location. */
export function packageRoot(): string {
	let dir = __dirname;
	for (;;) {
		const pkg = path.join(dir, 'package.json');
		if (fs.existsSync(pkg) && (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'feature-lens') return dir;
		const parent = path.dirname(dir);
		if (parent === dir) throw new Error('cannot find the feature-lens package root');
		dir = parent;
	}
}

export function demoModelDir(): string {
	return path.join(packageRoot(), 'models', 'pycode');
}

/** The demo SAE shipped with the demo model. */
export function demoSaeDir(): string {
	return path.join(demoModelDir(), 'saes', 'blocks.2.hook_resid_pre');
}

export function resolveModelPath(model: string): string {
	const dir = model === DEMO ? demoModelDir() : path.resolve(model);
	if (!fs.existsSync(dir)) {
		throw new ModelConfigError(model === DEMO
			? `the embedded demo model is missing from ${dir}`
			: `${dir}: no such folder (pass a Hugging Face checkpoint folder or "demo")`);
	}
	if (!fs.statSync(dir).isDirectory()) throw new ModelConfigError(`${dir}: not a folder (pass a Hugging Face checkpoint folder or "demo")`);
	return dir;
}
