// Python huggingface_hub's cache layout, read and written the same way, so a model either tool
// downloaded is the other's too:
//   <cache>/models--org--name/blobs/<etag>            file contents, named by sha256 (LFS) or git blob sha1
//   <cache>/models--org--name/blobs/<etag>.incomplete a download in progress (resumed with HTTP Range)
//   <cache>/models--org--name/snapshots/<commit>/<path>  relative symlinks to ../../blobs/<etag>
//   <cache>/models--org--name/refs/<revision>         the commit a branch or tag last resolved to

import * as fs from 'node:fs';
import * as path from 'node:path';
import { getRepoFolderName } from '@huggingface/hub';
import { HubError } from './hubErrors';

export interface RepoCache {
	/** `<cache>/models--org--name`. */
	storage: string;
	repoId: string;
}

export function repoCache(cacheDir: string, repoId: string): RepoCache {
	return { storage: path.join(cacheDir, getRepoFolderName({ type: 'model', name: repoId })), repoId };
}

export function blobPath(cache: RepoCache, etag: string): string {
	if (!/^[\w.-]+$/.test(etag)) throw new HubError(`${cache.repoId}: the Hub gave the unusable ETag ${JSON.stringify(etag)}`);
	return path.join(cache.storage, 'blobs', etag);
}

export function snapshotDir(cache: RepoCache, commit: string): string {
	return path.join(cache.storage, 'snapshots', commit);
}

/** The file's place in a snapshot; `repoPath` is '/'-separated as on the Hub. */
export function pointerPath(cache: RepoCache, commit: string, repoPath: string): string {
	return path.join(snapshotDir(cache, commit), ...repoPath.split('/'));
}

/** The commit `revision` last resolved to, from refs/ (a sha resolves to itself). */
export function readRef(cache: RepoCache, revision: string): string | undefined {
	try {
		const sha = fs.readFileSync(refPath(cache, revision), 'utf8').trim();
		return /^[0-9a-f]{40}$/.test(sha) ? sha : undefined;
	} catch {
		return undefined;
	}
}

/** Records what `revision` resolved to, atomically and only when it changed (as Python does). */
export function writeRef(cache: RepoCache, revision: string, commit: string): void {
	if (revision === commit) return;
	const file = refPath(cache, revision);
	try {
		if (fs.readFileSync(file, 'utf8') === commit) return;
	} catch {
		// Not written yet.
	}
	fs.mkdirSync(path.dirname(file), { recursive: true });
	const tmp = `${file}.${process.pid}.tmp`;
	// Python writes the bare sha, no newline; its readers compare the text exactly.
	fs.writeFileSync(tmp, commit);
	fs.renameSync(tmp, file);
}

function refPath(cache: RepoCache, revision: string): string {
	if (revision.split('/').some((s) => s === '' || s === '.' || s === '..')) throw new HubError(`${cache.repoId}: revision "${revision}" cannot name a ref`);
	return path.join(cache.storage, 'refs', ...revision.split('/'));
}

/** Whether the snapshot has this file (following its symlink to the blob). */
export function isCached(cache: RepoCache, commit: string, repoPath: string): boolean {
	return fs.existsSync(pointerPath(cache, commit, repoPath));
}

/**
 * Points the snapshot's file at its blob with a relative symlink, as huggingface_hub does (it
 * survives moving the cache); where symlinks are not allowed (Windows without developer mode)
 * the blob is copied, as huggingface_hub also does.
 */
export function linkBlob(blob: string, pointer: string): void {
	fs.mkdirSync(path.dirname(pointer), { recursive: true });
	fs.rmSync(pointer, { force: true });
	try {
		fs.symlinkSync(path.relative(path.dirname(pointer), blob), pointer);
	} catch (e) {
		if ((e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
		fs.copyFileSync(blob, pointer);
	}
}

/** Every file of a cached snapshot below `folder`, as '/'-separated repository paths with sizes. */
export function listSnapshot(cache: RepoCache, commit: string, folder: string): { path: string; size: number }[] {
	const root = snapshotDir(cache, commit);
	const out: { path: string; size: number }[] = [];
	const walk = (rel: string): void => {
		let entries: fs.Dirent[];
		try {
			entries = fs.readdirSync(path.join(root, ...rel.split('/').filter(Boolean)), { withFileTypes: true });
		} catch {
			return;
		}
		for (const e of entries) {
			const repoPath = rel ? `${rel}/${e.name}` : e.name;
			const full = path.join(root, ...repoPath.split('/'));
			let stat: fs.Stats;
			try {
				stat = fs.statSync(full);
			} catch {
				continue; // a dangling symlink: its blob was deleted, so the file is not cached
			}
			if (stat.isDirectory()) walk(repoPath);
			else out.push({ path: repoPath, size: stat.size });
		}
	};
	walk(folder);
	return out;
}
