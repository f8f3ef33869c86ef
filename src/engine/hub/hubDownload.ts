// One file from the Hub into its blob: streamed into `<blob>.incomplete`, resumed with an HTTP
// Range from what is already there (after a dropped connection, a cancel or a killed process),
// checked against the size and hash the Hub lists for it (sha256 for LFS files, the git blob
// sha1 for the rest), and only then renamed to the blob's name, so a blob is always whole.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { describeNetworkError, hubFetch } from './hubHttp';
import type { HubRequestContext } from './hubHttp';
import { HubCancelled, HubError, HubUnreachable } from './hubErrors';

export interface BlobToFetch {
	/** The file's path in the repository, for messages. */
	repoPath: string;
	/** Its `resolve/<commit>/<path>` URL. */
	url: string;
	/** `blobs/<etag>`: where it ends up. */
	blob: string;
	/** sha256 (LFS) or git blob sha1, as the Hub lists it; the blob's name. */
	etag: string;
	size: number;
	lfs: boolean;
	/** The commit it is fetched at: the Hub's X-Repo-Commit must agree. */
	commit: string;
}

/** Tries in a row that bring no new byte before a download gives up. */
const MAX_STALLS = 5;
/** A response that sends nothing for this long is dropped and resumed (huggingface_hub's HF_HUB_DOWNLOAD_TIMEOUT is 10 s). */
export const DOWNLOAD_IDLE_MS = 10_000;
const MAX_REDIRECTS = 10;

/** Downloads `file` into its blob; `onProgress` gets the bytes of it on disk so far (resumed bytes included). */
export async function downloadBlob(ctx: HubRequestContext, file: BlobToFetch, onProgress: (bytes: number) => void, idleMs = DOWNLOAD_IDLE_MS): Promise<void> {
	const incomplete = `${file.blob}.incomplete`;
	fs.mkdirSync(path.dirname(file.blob), { recursive: true });
	await withLock(`${file.blob}.lock`, file, async () => {
		if (fs.existsSync(file.blob)) return; // another process finished it while we waited
		let have = sizeOf(incomplete);
		if (have > file.size) have = truncate(incomplete);
		if (have > 0) ctx.log?.(`${file.repoPath}: resuming at byte ${have} of ${file.size}`);
		onProgress(have);
		let stalls = 0;
		while (have < file.size) {
			const before = have;
			// This try's own abort (an idle connection), besides the caller's cancel.
			const attempt = new AbortController();
			const tryCtx = { ...ctx, signal: ctx.signal ? AbortSignal.any([ctx.signal, attempt.signal]) : attempt.signal };
			try {
				const res = await open(tryCtx, file, have);
				if (res.status === 416) {
					// The server says there is nothing past `have`: the file changed or our part is bad.
					await res.body?.cancel();
					have = truncate(incomplete);
				} else {
					if (have > 0 && res.status !== 206)
						have = truncate(incomplete); // Range ignored: start over
					else if (res.status === 206) {
						const start = Number(/^bytes (\d+)-/.exec(res.headers.get('Content-Range') ?? '')?.[1] ?? NaN);
						if (start !== have) {
							await res.body?.cancel();
							throw new HubError(`${file.url}: asked for bytes from ${have}, the server sent from ${res.headers.get('Content-Range') ?? '?'}`);
						}
					}
					onProgress(have);
					await append(res, incomplete, attempt, idleMs, (n) => {
						have += n;
						onProgress(have);
					});
				}
			} catch (e) {
				if (ctx.signal?.aborted) throw new HubCancelled();
				if (e instanceof HubError && !(e instanceof HubUnreachable)) throw e;
				have = sizeOf(incomplete);
				onProgress(have);
				if (have > file.size) have = truncate(incomplete);
				stalls = have > before ? 0 : stalls + 1;
				if (stalls >= MAX_STALLS) {
					throw new HubUnreachable(`${file.url}: the download keeps failing (${describeNetworkError(e)}); ${have} of ${file.size} bytes are kept in ${incomplete} and the next try resumes them`);
				}
				ctx.log?.(`${file.repoPath}: connection lost at byte ${have} of ${file.size} (${describeNetworkError(e)}); resuming`);
				continue;
			}
			if (have === before) stalls++;
			if (stalls >= MAX_STALLS) throw new HubUnreachable(`${file.url}: the server sends no data; ${have} of ${file.size} bytes are kept in ${incomplete}`);
		}
		if (have !== file.size) {
			truncate(incomplete);
			throw new HubError(`${file.url}: received ${have} bytes, the Hub lists ${file.size}; the partial file was removed, try again`);
		}
		const got = await hashFile(incomplete, file.lfs ? 'sha256' : 'git-sha1', file.size);
		if (got !== file.etag) {
			fs.rmSync(incomplete, { force: true });
			throw new HubError(`${file.repoPath} in ${ctx.repoId}: the downloaded bytes have ${file.lfs ? 'sha256' : 'git sha1'} ${got}, the Hub lists ${file.etag}; the file was removed, try again`);
		}
		fs.renameSync(incomplete, file.blob);
	});
}

/** GET the file from `from`, following the Hub's redirects itself so the token never goes to a CDN. */
async function open(ctx: HubRequestContext, file: BlobToFetch, from: number): Promise<Response> {
	let url = file.url;
	for (let i = 0; i <= MAX_REDIRECTS; i++) {
		const headers: Record<string, string> = { 'Accept-Encoding': 'identity' };
		if (from > 0) headers.Range = `bytes=${from}-`;
		const res = await hubFetch(ctx, url, { headers, redirect: 'manual' });
		checkEtag(ctx, file, res, url);
		const location = res.headers.get('Location');
		if (res.status >= 300 && res.status < 400 && location) {
			await res.body?.cancel();
			url = new URL(location, url).href;
			continue;
		}
		return res;
	}
	throw new HubError(`${file.url}: more than ${MAX_REDIRECTS} redirects`);
}

/** X-Linked-Etag (and the Hub's own ETag) must name the content we listed: otherwise the file changed under us. */
function checkEtag(ctx: HubRequestContext, file: BlobToFetch, res: Response, url: string): void {
	const fromHub = new URL(url).origin === new URL(ctx.env.endpoint).origin;
	const tag = normalizeEtag(res.headers.get('X-Linked-Etag') ?? (fromHub && res.status < 300 ? res.headers.get('ETag') : null));
	if (tag && /^[0-9a-f]{40}$|^[0-9a-f]{64}$/.test(tag) && tag !== file.etag) {
		throw new HubError(`${file.repoPath} in ${ctx.repoId}: the Hub now serves content ${tag}, not the listed ${file.etag}; try again`);
	}
	const commit = res.headers.get('X-Repo-Commit');
	if (commit && commit !== file.commit) throw new HubError(`${file.url}: the Hub answered for commit ${commit}, not ${file.commit}`);
}

/** As huggingface_hub's _normalize_etag: W/"x" and "x" are x. */
export function normalizeEtag(etag: string | null): string | undefined {
	return etag ? etag.replace(/^W\//, '').replace(/^"|"$/g, '') : undefined;
}

/**
 * Appends the body to `file`, reporting each chunk once it is written, so what was reported is
 * on disk even if the stream breaks; a body idle for `idleMs` is aborted (and then resumed).
 */
async function append(res: Response, file: string, attempt: AbortController, idleMs: number, onBytes: (n: number) => void): Promise<void> {
	if (!res.body) throw new HubError(`${res.url}: empty response`);
	const fd = fs.openSync(file, 'a');
	let idle = setTimeout(() => attempt.abort(new Error(`no data for ${idleMs / 1000} s`)), idleMs);
	try {
		for await (const chunk of Readable.fromWeb(res.body as WebReadableStream<Uint8Array>)) {
			clearTimeout(idle);
			idle = setTimeout(() => attempt.abort(new Error(`no data for ${idleMs / 1000} s`)), idleMs);
			fs.writeSync(fd, chunk as Buffer);
			onBytes((chunk as Buffer).length);
		}
	} finally {
		clearTimeout(idle);
		fs.closeSync(fd);
	}
}

/** sha256 of the content (LFS oid), or git's blob sha1 (`blob <size>\0` + content) for regular files. */
async function hashFile(file: string, kind: 'sha256' | 'git-sha1', size: number): Promise<string> {
	const hash = createHash(kind === 'sha256' ? 'sha256' : 'sha1');
	if (kind === 'git-sha1') hash.update(`blob ${size}\0`);
	await pipeline(fs.createReadStream(file), hash);
	return hash.digest('hex');
}

function sizeOf(file: string): number {
	try {
		return fs.statSync(file).size;
	} catch {
		return 0;
	}
}

function truncate(file: string): number {
	fs.rmSync(file, { force: true });
	return 0;
}

/**
 * One downloader per blob across processes (two editors, or an editor and the CLI): an
 * exclusive lock file holding the owner's pid, taken over when that process is gone.
 */
async function withLock(lock: string, file: BlobToFetch, work: () => Promise<void>): Promise<void> {
	for (;;) {
		try {
			fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
			break;
		} catch (e) {
			if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
			const owner = Number(fs.readFileSync(lock, 'utf8'));
			if (!isAlive(owner) || owner === process.pid) {
				fs.rmSync(lock, { force: true });
				continue;
			}
			throw new HubError(`${file.repoPath}: process ${owner} is downloading it into ${path.dirname(lock)}; wait for it to finish`);
		}
	}
	try {
		await work();
	} finally {
		fs.rmSync(lock, { force: true });
	}
}

function isAlive(pid: number): boolean {
	if (!Number.isInteger(pid) || pid <= 0) return false;
	try {
		process.kill(pid, 0);
		return true;
	} catch (e) {
		return (e as NodeJS.ErrnoException).code === 'EPERM';
	}
}
