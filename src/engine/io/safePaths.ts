// Paths named inside files we read (a shard in model.safetensors.index.json, say) must stay in
// the folder that names them: a crafted index must not make the engine read /etc/passwd.

import * as fs from 'node:fs';
import * as path from 'node:path';

export class UnsafePathError extends Error {}

/**
 * The folder a file inside `dir` may really live in once symlinks are followed: `dir` itself,
 * or for a Hugging Face cache snapshot (`…/models--org--name/snapshots/<sha>`, whose files
 * link to `../../blobs/<hash>`) the repository's cache folder.
 */
export function containingRoot(dir: string): string {
	const real = fs.realpathSync(dir);
	const snapshots = path.dirname(real);
	if (path.basename(snapshots) === 'snapshots' && /^(models|datasets|spaces)--/.test(path.basename(path.dirname(snapshots)))) {
		return path.dirname(snapshots);
	}
	return real;
}

/**
 * Resolves `name` (as written in `source`) against `dir`, refusing absolute paths, `..` that
 * leaves `dir`, and symlinks whose target leaves `containingRoot(dir)`.
 */
export function resolveInside(dir: string, name: string, source: string): string {
	if (name === '' || path.isAbsolute(name) || path.win32.isAbsolute(name)) {
		throw new UnsafePathError(`${source}: "${name}" is not a relative path inside ${dir}`);
	}
	const full = path.resolve(dir, name);
	const rel = path.relative(path.resolve(dir), full);
	if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
		throw new UnsafePathError(`${source}: "${name}" points outside ${dir}`);
	}
	if (fs.existsSync(full)) {
		const root = containingRoot(dir);
		const target = fs.realpathSync(full);
		const fromRoot = path.relative(root, target);
		if (fromRoot.startsWith('..') || path.isAbsolute(fromRoot)) {
			throw new UnsafePathError(`${source}: "${name}" is a link to ${target}, outside ${root}`);
		}
	}
	return full;
}
