// Crash-safe file writes: write a temp file beside the target, fsync, rename. A reader (or a
// resumed run) sees either the old file or the new one, never half of one.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { diskError } from './disk';

export function writeAtomic(file: string, data: Uint8Array | string): void {
	const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
	const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`);
	try {
		const fd = fs.openSync(tmp, 'w');
		try {
			let off = 0;
			while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
			fs.fsyncSync(fd);
		} finally {
			fs.closeSync(fd);
		}
		fs.renameSync(tmp, file);
	} catch (e) {
		fs.rmSync(tmp, { force: true });
		throw diskError(e, 'write', file);
	}
}

/** Makes renames in `dir` durable; directories cannot be opened for fsync on Windows, where this is skipped. */
export function syncDir(dir: string): void {
	let fd: number | undefined;
	try {
		fd = fs.openSync(dir, 'r');
		fs.fsyncSync(fd);
	} catch {
		// Best effort only.
	} finally {
		if (fd !== undefined) fs.closeSync(fd);
	}
}
