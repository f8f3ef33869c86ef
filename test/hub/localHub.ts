// A Hugging Face Hub on 127.0.0.1 for tests, speaking the Hub's HTTP as huggingface_hub and
// @huggingface/hub expect it: the revision and tree APIs, `resolve/<rev>/<path>` answering
// regular files itself (ETag = git blob sha1) and redirecting LFS files (*.safetensors, *.npz)
// to a CDN on another origin (X-Linked-Etag = sha256, X-Linked-Size, X-Repo-Commit), HTTP Range,
// X-Error-Code for gated, missing repositories, revisions and files, and faults injected on
// demand (a status for the next N requests, a connection cut after N bytes).

import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

export interface LocalRepo {
	/** Files by repository path, per commit sha. */
	commits: Record<string, Record<string, Buffer>>;
	/** Branches and tags → commit sha. */
	refs: Record<string, string>;
	/** Gated: only these tokens may read it (others get 403, no token 401). */
	gatedFor?: string[];
}

export interface LoggedRequest {
	server: 'hub' | 'cdn';
	method: string;
	url: string;
	range?: string;
	authorization?: string;
}

export type Fault =
	| { match: RegExp; status: number; headers?: Record<string, string>; times: number }
	| { match: RegExp; cutAfter: number; times: number }
	| { match: RegExp; stallAfter: number; times: number }
	| { match: RegExp; corrupt: true; times: number };

const LFS = /\.(safetensors|npz|bin)$/;

export class LocalHub {
	readonly repos = new Map<string, LocalRepo>();
	readonly requests: LoggedRequest[] = [];
	readonly faults: Fault[] = [];
	/** Tree API page size (the Hub pages its listings; a small one tests following Link headers). */
	pageSize = 1000;
	private hub!: http.Server;
	private cdn!: http.Server;
	private blobs = new Map<string, Buffer>();
	endpoint = '';
	private cdnOrigin = '';

	static async start(): Promise<LocalHub> {
		const h = new LocalHub();
		h.hub = http.createServer((req, res) => h.serveHub(req, res));
		h.cdn = http.createServer((req, res) => h.serveCdn(req, res));
		await Promise.all([listen(h.hub), listen(h.cdn)]);
		h.endpoint = `http://127.0.0.1:${(h.hub.address() as AddressInfo).port}`;
		h.cdnOrigin = `http://127.0.0.1:${(h.cdn.address() as AddressInfo).port}`;
		return h;
	}

	async close(): Promise<void> {
		this.hub.closeAllConnections();
		this.cdn.closeAllConnections();
		await Promise.all([new Promise((r) => this.hub.close(r)), new Promise((r) => this.cdn.close(r))]);
	}

	/** Adds (or extends) a repository with one commit of these files; `ref` (default main) points at it. Returns the commit sha. */
	addCommit(repoId: string, files: Record<string, Buffer>, ref = 'main', gatedFor?: string[]): string {
		const sha = randomBytes(20).toString('hex');
		const repo = this.repos.get(repoId) ?? { commits: {}, refs: {} };
		repo.commits[sha] = files;
		repo.refs[ref] = sha;
		if (gatedFor) repo.gatedFor = gatedFor;
		this.repos.set(repoId, repo);
		for (const data of Object.values(files)) this.blobs.set(sha256(data), data);
		return sha;
	}

	/** Requests whose URL matches, for assertions. */
	requestsTo(pattern: RegExp): LoggedRequest[] {
		return this.requests.filter((r) => pattern.test(r.url));
	}

	private log(server: 'hub' | 'cdn', req: http.IncomingMessage): void {
		this.requests.push({ server, method: req.method ?? '', url: req.url ?? '', range: header(req, 'range'), authorization: header(req, 'authorization') });
	}

	/** The first fault matching the URL, used up once. */
	private fault(url: string): Fault | undefined {
		const f = this.faults.find((x) => x.times > 0 && x.match.test(url));
		if (f) f.times--;
		return f;
	}

	private serveHub(req: http.IncomingMessage, res: http.ServerResponse): void {
		this.log('hub', req);
		const url = new URL(req.url ?? '/', this.endpoint);
		const f = this.fault(url.pathname);
		if (f && 'status' in f) return void res.writeHead(f.status, f.headers).end(`fault ${f.status}`);
		const api = /^\/api\/models\/([^/]+\/[^/]+)\/(revision|tree)\/([^/]+)(?:\/(.*))?$/.exec(url.pathname);
		const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
		const match = api ?? resolve;
		if (!match) return void error(res, 404, 'RepoNotFound', 'no such route');
		const repoId = decodeURIComponent(match[1]!);
		const repo = this.repos.get(repoId);
		if (!repo) return void error(res, 404, 'RepoNotFound', `Repository ${repoId} not found`);
		if (repo.gatedFor) {
			const token = header(req, 'authorization')?.replace(/^Bearer /, '');
			if (!token) return void error(res, 401, 'GatedRepo', 'Access to this model is restricted. You must have access to it and be authenticated.');
			if (!repo.gatedFor.includes(token)) return void error(res, 403, 'GatedRepo', 'Access to this model is restricted and you are not in the authorized list.');
		}
		const rev = decodeURIComponent(api ? match[3]! : match[2]!);
		const sha = repo.refs[rev] ?? (repo.commits[rev] ? rev : undefined);
		if (!sha) return void error(res, 404, 'RevisionNotFound', `Invalid rev id: ${rev}`);
		const files = repo.commits[sha]!;
		if (api && match[2] === 'revision') {
			return void json(res, {
				_id: `id-${repoId}`,
				id: repoId,
				sha,
				private: false,
				gated: repo.gatedFor ? 'manual' : false,
				downloads: 0,
				likes: 0,
				lastModified: '2025-01-01T00:00:00.000Z',
				siblings: Object.keys(files).map((rfilename) => ({ rfilename })),
			});
		}
		if (api) return void this.serveTree(req, res, url, files, decodeURIComponent(match[4] ?? ''));
		const file = decodeURIComponent(match[3]!);
		const data = files[file];
		if (!data) return void error(res, 404, 'EntryNotFound', `${file} does not exist on "${rev}"`, { 'X-Repo-Commit': sha });
		const common = { 'X-Repo-Commit': sha, 'Accept-Ranges': 'bytes' };
		if (LFS.test(file)) {
			const oid = sha256(data);
			return void res
				.writeHead(302, {
					...common,
					Location: `${this.cdnOrigin}/blobs/${oid}?name=${encodeURIComponent(path.basename(file))}`,
					'X-Linked-Etag': `"${oid}"`,
					'X-Linked-Size': String(data.length),
					ETag: `"${gitOid(pointerFile(data))}"`,
				})
				.end();
		}
		sendRange(req, res, data, { ...common, ETag: `"${gitOid(data)}"` }, undefined);
	}

	private serveTree(_req: http.IncomingMessage, res: http.ServerResponse, url: URL, files: Record<string, Buffer>, folder: string): void {
		const recursive = url.searchParams.get('recursive') === 'true';
		if (folder && files[folder]) return void error(res, 404, 'EntryNotFound', `${folder} is a file, not a folder`);
		const prefix = folder ? `${folder}/` : '';
		const under = Object.keys(files)
			.filter((p) => p.startsWith(prefix))
			.sort();
		if (folder && under.length === 0) return void error(res, 404, 'EntryNotFound', `${folder} does not exist`);
		const entries: object[] = [];
		const dirs = new Set<string>();
		for (const p of under) {
			const rest = p.slice(prefix.length).split('/');
			for (let i = 1; i < rest.length; i++) {
				const d = prefix + rest.slice(0, i).join('/');
				if ((recursive || i === 1) && !dirs.has(d)) {
					dirs.add(d);
					entries.push({ type: 'directory', oid: gitOid(Buffer.from(d)), size: 0, path: d });
				}
			}
			if (!recursive && rest.length > 1) continue;
			const data = files[p]!;
			entries.push(
				LFS.test(p)
					? { type: 'file', oid: gitOid(pointerFile(data)), size: data.length, path: p, lfs: { oid: sha256(data), size: data.length, pointerSize: pointerFile(data).length } }
					: { type: 'file', oid: gitOid(data), size: data.length, path: p },
			);
		}
		const cursor = Number(url.searchParams.get('cursor') ?? 0);
		const page = entries.slice(cursor, cursor + this.pageSize);
		const headers: Record<string, string> = {};
		if (cursor + this.pageSize < entries.length) {
			const next = new URL(url.href);
			next.searchParams.set('cursor', String(cursor + this.pageSize));
			headers.Link = `<${next.href}>; rel="next"`;
		}
		json(res, page, headers);
	}

	private serveCdn(req: http.IncomingMessage, res: http.ServerResponse): void {
		this.log('cdn', req);
		const url = new URL(req.url ?? '/', this.cdnOrigin);
		const m = /^\/blobs\/([0-9a-f]{64})$/.exec(url.pathname);
		const data = m ? this.blobs.get(m[1]!) : undefined;
		if (!data) return void res.writeHead(404).end('NoSuchKey');
		const f = this.fault(url.pathname);
		if (f && 'status' in f) return void res.writeHead(f.status, f.headers).end(`fault ${f.status}`);
		const body = f && 'corrupt' in f ? Buffer.from(data.map((b) => b ^ 0xff)) : data;
		const partial = f && 'cutAfter' in f ? { after: f.cutAfter, then: 'cut' as const } : f && 'stallAfter' in f ? { after: f.stallAfter, then: 'stall' as const } : undefined;
		sendRange(req, res, body, { ETag: `"cdn-${m![1]!.slice(0, 8)}"`, 'Accept-Ranges': 'bytes' }, partial);
	}
}

/** Serves `data` (or the asked Range of it); `partial` sends only that many body bytes, then cuts the connection or leaves it hanging. */
function sendRange(req: http.IncomingMessage, res: http.ServerResponse, data: Buffer, headers: Record<string, string>, partial?: { after: number; then: 'cut' | 'stall' }): void {
	let start = 0;
	let status = 200;
	const range = /^bytes=(\d+)-$/.exec(header(req, 'range') ?? '');
	if (range) {
		start = Number(range[1]);
		if (start >= data.length) return void res.writeHead(416, { ...headers, 'Content-Range': `bytes */${data.length}` }).end();
		status = 206;
		headers['Content-Range'] = `bytes ${start}-${data.length - 1}/${data.length}`;
	}
	const body = data.subarray(start);
	res.writeHead(status, { ...headers, 'Content-Length': String(body.length), 'Content-Type': 'application/octet-stream' });
	if (req.method === 'HEAD') return void res.end();
	if (!partial) return void res.end(body);
	res.write(body.subarray(0, partial.after), () => {
		if (partial.then === 'cut') setTimeout(() => res.socket?.destroy(), 20);
	});
}

function listen(server: http.Server): Promise<void> {
	return new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
}

function header(req: http.IncomingMessage, name: string): string | undefined {
	const v = req.headers[name];
	return Array.isArray(v) ? v[0] : v;
}

function json(res: http.ServerResponse, body: unknown, headers: Record<string, string> = {}): void {
	res.writeHead(200, { 'Content-Type': 'application/json', ...headers }).end(JSON.stringify(body));
}

function error(res: http.ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
	res.writeHead(status, { 'Content-Type': 'application/json', 'X-Error-Code': code, 'X-Error-Message': message, ...headers }).end(JSON.stringify({ error: message }));
}

export function sha256(data: Buffer): string {
	return createHash('sha256').update(data).digest('hex');
}

/** git's blob id: sha1 of `blob <size>\0` and the content. */
export function gitOid(data: Buffer): string {
	return createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
}

function pointerFile(data: Buffer): Buffer {
	return Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(data)}\nsize ${data.length}\n`);
}

/** Every file under `dir` by '/'-separated relative path. */
export function folderFiles(dir: string, prefix = ''): Record<string, Buffer> {
	const out: Record<string, Buffer> = {};
	for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
		const full = path.join(dir, e.name);
		if (e.isDirectory()) Object.assign(out, folderFiles(full, `${prefix}${e.name}/`));
		else out[`${prefix}${e.name}`] = fs.readFileSync(full);
	}
	return out;
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
	const s = http.createServer();
	await listen(s);
	const port = (s.address() as AddressInfo).port;
	await new Promise((r) => s.close(r));
	return port;
}
