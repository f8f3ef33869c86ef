// Fetches the files a model or SAE needs from one folder of a Hub repository into the shared
// cache, and answers from the cache alone when it can:
// - a commit sha that is cached with every file needed: no request at all;
// - a branch or tag: like huggingface_hub, ask the Hub which commit it points to now (and
//   record it in refs/), then fetch only what that commit's snapshot lacks; when the Hub cannot
//   be reached, or HF_HUB_OFFLINE is set, use the commit refs/ last recorded.
// The total size of what is missing is reported before the first byte of it is downloaded.

import * as fs from 'node:fs';
import { listFiles, modelInfo } from '@huggingface/hub';
import { formatBytes } from '../io/systemMemory';
import { downloadBlob } from './hubDownload';
import type { HubEnvironment } from './hubEnvironment';
import { HubError, HubUnreachable } from './hubErrors';
import { fetchFor } from './hubHttp';
import type { HubRequestContext } from './hubHttp';
import { COMMIT_SHA, formatHubRef } from './hubRef';
import type { HubRef } from './hubRef';
import { blobPath, isCached, linkBlob, listSnapshot, pointerPath, readRef, repoCache, snapshotDir, writeRef } from './hubCache';
import type { RepoCache } from './hubCache';
import { errorMessage } from '../../protocol/errors';
import type { HubProgress } from '../../protocol/hubProtocol';

export interface RepoFileInfo {
	/** '/'-separated path from the repository root. */
	path: string;
	size: number;
}

/**
 * Picks the files to fetch among a folder's files (paths from the repository root). `read`
 * returns a small file's bytes, fetching it first if needed (e.g. a safetensors index, to
 * learn its shards). Throws HubError when the folder does not hold what is wanted.
 */
export type FileSelector = (files: readonly RepoFileInfo[], read: (repoPath: string) => Promise<Buffer>) => Promise<string[]>;

/** A fetch's progress as the protocol reports it, before the request it belongs to is known. */
export type HubFetchProgress = Omit<HubProgress, 'requestId'>;

export interface HubFetchOptions {
	env: HubEnvironment;
	signal?: AbortSignal;
	log?: (message: string) => void;
	onProgress?: (p: HubFetchProgress) => void;
	/** First retry wait (tests shorten it). */
	retryBaseMs?: number;
	/** How long a download may receive nothing before it is dropped and resumed (default 10 s). */
	downloadIdleMs?: number;
}

export interface FetchedFiles {
	/** The snapshot folder of `ref.path` (or the file, when it names one). */
	dir: string;
	commit: string;
	/** Repository paths fetched or found. */
	files: string[];
	/** Bytes downloaded by this call (0 when everything was cached). */
	downloadedBytes: number;
	/** Whether the Hub was contacted. */
	contacted: boolean;
}

interface ListedFile extends RepoFileInfo {
	etag: string;
	lfs: boolean;
}

export async function fetchRepoFiles(ref: HubRef, select: FileSelector, options: HubFetchOptions): Promise<FetchedFiles> {
	const { env, log } = options;
	const name = formatHubRef(ref);
	const cache = repoCache(env.cacheDir, ref.repoId);
	const ctx: HubRequestContext = { env, repoId: ref.repoId, revision: ref.revision, signal: options.signal, log, retryBaseMs: options.retryBaseMs };
	const progress = (p: Omit<HubFetchProgress, 'ref'>) => options.onProgress?.({ ref: name, ...p });
	progress({ phase: 'resolving', bytesTotal: 0, bytesDone: 0, filesTotal: 0, filesDone: 0 });
	let downloadedBytes = 0;

	let commit: string | undefined;
	if (COMMIT_SHA.test(ref.revision)) commit = ref.revision;
	else if (env.offline) commit = readRef(cache, ref.revision);
	if (commit) {
		const local = await fromCache(cache, commit, ref, select);
		if (local.files) return done(local.files, commit, false);
		if (env.offline) throw new HubError(`offline (HF_HUB_OFFLINE is set): ${name} is not fully in the cache ${env.cacheDir} (${local.why})`);
	} else if (env.offline) {
		throw new HubError(`offline (HF_HUB_OFFLINE is set): ${name} has never been downloaded into ${env.cacheDir}`);
	}

	if (!commit) {
		try {
			const info = await modelInfo({ name: ref.repoId, revision: ref.revision, additionalFields: ['sha'], hubUrl: env.endpoint, fetch: fetchFor(ctx) });
			if (typeof info.sha !== 'string' || !COMMIT_SHA.test(info.sha)) throw new HubError(`${env.endpoint}: no commit sha for ${ref.repoId}@${ref.revision}`);
			commit = info.sha;
			writeRef(cache, ref.revision, commit);
			log?.(`${name}: ${ref.revision} is commit ${commit}`);
		} catch (e) {
			// As huggingface_hub: when the Hub cannot be reached, the commit the ref last resolved to will do.
			const cached = e instanceof HubUnreachable ? readRef(cache, ref.revision) : undefined;
			if (!cached) throw e;
			const local = await fromCache(cache, cached, ref, select);
			if (!local.files) throw new HubError(`${(e as Error).message}; and the cache has ${name} (commit ${cached}) only in part (${local.why})`);
			log?.(`${(e as Error).message}; using the cached commit ${cached} of ${ref.revision}`);
			return done(local.files, cached, true);
		}
		const local = await fromCache(cache, commit, ref, select);
		if (local.files) return done(local.files, commit, true);
	}

	const listed = await listFolder(ctx, ref, commit);
	const byPath = new Map(listed.map((f) => [f.path, f]));
	const fetchOne = async (file: ListedFile, onBytes: (n: number) => void): Promise<void> => {
		const pointer = pointerPath(cache, commit, file.path);
		if (fs.existsSync(pointer)) return;
		const blob = blobPath(cache, file.etag);
		if (!fs.existsSync(blob)) {
			const url = `${env.endpoint}/${ref.repoId}/resolve/${commit}/${file.path.split('/').map(encodeURIComponent).join('/')}`;
			let last = 0;
			await downloadBlob(
				ctx,
				{ repoPath: file.path, url, blob, etag: file.etag, size: file.size, lfs: file.lfs, commit },
				(bytes) => {
					onBytes(bytes - last);
					last = bytes;
				},
				options.downloadIdleMs,
			);
			downloadedBytes += file.size;
		}
		linkBlob(blob, pointer);
	};
	const read = async (repoPath: string): Promise<Buffer> => {
		const file = byPath.get(repoPath);
		if (!file) throw new HubError(`${name}: no file ${repoPath} at commit ${commit}`);
		await fetchOne(file, () => {});
		return fs.readFileSync(pointerPath(cache, commit, repoPath));
	};
	const wanted = await select(listed, read);
	const missing = wanted.map((p) => byPath.get(p)).filter((f): f is ListedFile => f !== undefined && !isCached(cache, commit, f.path));
	const toDownload = missing.filter((f) => !fs.existsSync(blobPath(cache, f.etag)));
	const bytesTotal = toDownload.reduce((a, f) => a + f.size, 0);
	if (toDownload.length > 0) log?.(`${name}: downloading ${toDownload.length} file(s), ${formatBytes(bytesTotal)}, into ${cache.storage}`);
	let bytesDone = 0;
	let filesDone = 0;
	progress({ phase: 'downloading', commit, bytesTotal, bytesDone, filesTotal: toDownload.length, filesDone });
	for (const f of missing) {
		const counted = toDownload.includes(f);
		await fetchOne(f, (n) => {
			bytesDone += n;
			progress({ phase: 'downloading', commit, bytesTotal, bytesDone, filesTotal: toDownload.length, filesDone, file: f.path });
		});
		if (counted) filesDone++;
	}
	return done(wanted, commit, true);

	function done(files: string[], at: string, contacted: boolean): FetchedFiles {
		progress({ phase: 'done', commit: at, bytesTotal: downloadedBytes, bytesDone: downloadedBytes, filesTotal: 0, filesDone: 0 });
		return { dir: pointerPath(cache, at, ref.path), commit: at, files, downloadedBytes, contacted };
	}
}

/** The files needed, when the cached snapshot of `commit` has all of them; else why not. */
async function fromCache(cache: RepoCache, commit: string, ref: HubRef, select: FileSelector): Promise<{ files?: string[]; why: string }> {
	if (!fs.existsSync(snapshotDir(cache, commit))) return { why: `no snapshot ${commit}` };
	const files = listSnapshot(cache, commit, ref.path);
	if (ref.path && files.length === 0 && fs.existsSync(pointerPath(cache, commit, ref.path))) {
		files.push({ path: ref.path, size: fs.statSync(pointerPath(cache, commit, ref.path)).size });
	}
	const read = async (repoPath: string): Promise<Buffer> => {
		try {
			return fs.readFileSync(pointerPath(cache, commit, repoPath));
		} catch {
			throw new HubError(`${repoPath} is not cached`);
		}
	};
	try {
		const wanted = await select(files, read);
		const absent = wanted.filter((p) => !isCached(cache, commit, p));
		return absent.length === 0 ? { files: wanted, why: '' } : { why: `missing ${absent.join(', ')}` };
	} catch (e) {
		return { why: errorMessage(e) };
	}
}

/** The files under `ref.path` at `commit` (the file itself when the path names one), with their sizes and blob names. */
async function listFolder(ctx: HubRequestContext, ref: HubRef, commit: string): Promise<ListedFile[]> {
	const list = async (folder: string, recursive: boolean): Promise<ListedFile[]> => {
		const out: ListedFile[] = [];
		for await (const e of listFiles({ repo: { type: 'model', name: ref.repoId }, revision: commit, path: folder || undefined, recursive, hubUrl: ctx.env.endpoint, fetch: fetchFor(ctx) })) {
			if (e.type !== 'file') continue;
			const etag = e.lfs?.oid ?? e.oid;
			if (!etag) throw new HubError(`${ctx.env.endpoint}: no oid listed for ${e.path} in ${ref.repoId}`);
			out.push({ path: e.path, size: e.lfs?.size ?? e.size, etag, lfs: e.lfs !== undefined });
		}
		return out;
	};
	try {
		return await list(ref.path, true);
	} catch (e) {
		// The path may name a file rather than a folder: list its folder and keep it.
		const slash = ref.path.lastIndexOf('/');
		if (!(e instanceof HubError) || e.status !== 404 || !ref.path) throw e;
		const parent = await list(slash < 0 ? '' : ref.path.slice(0, slash), false).catch((p: unknown) => {
			if (p instanceof HubError && p.status === 404) return [];
			throw p;
		});
		const file = parent.find((f) => f.path === ref.path);
		if (!file) throw new HubError(`${formatHubRef(ref)}: no such file or folder at commit ${commit}`, 404);
		return [file];
	}
}
