// Disk failures named for a person: which path, and what the system said (a full disk, a
// read-only filesystem, a missing folder) rather than a bare errno; and checks made before
// long work, so a run does not compute for an hour and then fail to save.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatBytes } from './systemMemory';

export class DiskError extends Error {}

const CAUSES: Readonly<Record<string, string>> = {
	ENOSPC: 'no space left on the device',
	EDQUOT: 'the disk quota is exceeded',
	EROFS: 'the filesystem is read-only',
	EACCES: 'permission denied',
	EPERM: 'operation not permitted',
	ENOENT: 'a folder on the path does not exist',
	ENOTDIR: 'a part of the path is a file, not a folder',
	EISDIR: 'it is a folder',
	EMFILE: 'too many open files',
};

/** A DiskError for a failed file operation on `file`, naming the path and the cause; other errors pass through. */
export function diskError(err: unknown, action: string, file: string): Error {
	const code = (err as NodeJS.ErrnoException | undefined)?.code;
	if (!code) return err instanceof Error ? err : new Error(String(err));
	return new DiskError(`cannot ${action} ${file}: ${CAUSES[code] ?? (err as Error).message} (${code})`);
}

/**
 * Checks, before work that ends by writing `bytes` into `dir`, that the folder can be created
 * and written and that the disk has room; throws a DiskError naming the folder otherwise.
 */
export function checkWritable(dir: string, bytes: number, what: string, freeBytes: (dir: string) => number = diskFreeBytes): void {
	try {
		fs.mkdirSync(dir, { recursive: true });
	} catch (err) {
		throw diskError(err, 'create the folder', dir);
	}
	const probe = path.join(dir, `.write-probe-${process.pid}`);
	try {
		fs.writeFileSync(probe, 'x');
	} catch (err) {
		throw diskError(err, 'write in', dir);
	} finally {
		fs.rmSync(probe, { force: true });
	}
	const free = freeBytes(dir);
	if (free < bytes) {
		throw new DiskError(`${dir}: not enough disk space for ${what}: it needs about ${formatBytes(bytes)}, and ${formatBytes(free)} is free`);
	}
}

/** Bytes an unprivileged process can still write on the filesystem holding `dir`. */
export function diskFreeBytes(dir: string): number {
	const s = fs.statfsSync(dir);
	return s.bavail * s.bsize;
}
