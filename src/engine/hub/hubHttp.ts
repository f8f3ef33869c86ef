// Every request to the Hub goes through hubFetch: it refuses to send anything when offline, adds
// the token only for the Hub's own origin (never for a CDN it redirects to), retries what the
// Hub asks to be retried (429, 5xx, dropped connections) with backoff, and turns a final
// failure into a HubError a user can act on.

import type { HubEnvironment } from './hubEnvironment';
import { HubCancelled, HubError, HubUnreachable } from './hubErrors';
import { errorMessage } from '../../protocol/errors';

export interface HubRequestContext {
	env: HubEnvironment;
	/** The repository the request is for, to name it in messages. */
	repoId: string;
	revision?: string;
	signal?: AbortSignal;
	log?: (message: string) => void;
	/** Retries after the first try (default 5) and the first wait (default 1 s; doubled each time, at most 8 s), as huggingface_hub's http_backoff. */
	retries?: number;
	retryBaseMs?: number;
}

const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const MAX_WAIT_MS = 8000;
/** A Retry-After longer than this is not waited for; the error says to come back later. */
const MAX_RETRY_AFTER_MS = 60_000;

/** The page where a user accepts a gated model's licence. */
export function modelPage(env: HubEnvironment, repoId: string): string {
	return `${env.endpoint}/${repoId}`;
}

/**
 * fetch() with the Hub's rules (see the file comment). Only a response with a status below 400
 * (or 416, which a resumed download handles) is returned.
 */
export async function hubFetch(ctx: HubRequestContext, url: string, init: RequestInit = {}): Promise<Response> {
	const { env } = ctx;
	if (env.offline) throw new HubError(`offline (HF_HUB_OFFLINE is set): not contacting ${new URL(url).origin} for ${ctx.repoId}`);
	const headers = new Headers(init.headers);
	if (env.token && new URL(url).origin === new URL(env.endpoint).origin) headers.set('Authorization', `Bearer ${env.token}`);
	headers.set('User-Agent', 'feature-lens; hf_hub/js');
	const retries = ctx.retries ?? 5;
	const base = ctx.retryBaseMs ?? 1000;
	for (let attempt = 0; ; attempt++) {
		if (ctx.signal?.aborted) throw new HubCancelled();
		let res: Response;
		try {
			res = await fetch(url, { ...init, headers, signal: ctx.signal });
		} catch (e) {
			if (ctx.signal?.aborted) throw new HubCancelled();
			if (attempt >= retries) throw networkError(ctx, url, e, attempt + 1);
			ctx.log?.(`${url}: ${describeNetworkError(e)}; retrying`);
			await sleep(Math.min(base * 2 ** attempt, MAX_WAIT_MS), ctx.signal);
			continue;
		}
		if (res.status < 400 || res.status === 416) return res;
		if (RETRY_STATUS.has(res.status) && attempt < retries) {
			const wait = retryAfterMs(res) ?? Math.min(base * 2 ** attempt, MAX_WAIT_MS);
			if (wait <= MAX_RETRY_AFTER_MS) {
				await res.body?.cancel();
				ctx.log?.(`${url}: HTTP ${res.status}; retrying in ${(wait / 1000).toFixed(1)} s`);
				await sleep(wait, ctx.signal);
				continue;
			}
		}
		throw await responseError(ctx, url, res, attempt + 1);
	}
}

/** hubFetch in the shape @huggingface/hub's functions take as their `fetch` parameter. */
export function fetchFor(ctx: HubRequestContext): typeof fetch {
	return (input: string | URL | Request, init?: RequestInit) => hubFetch(ctx, typeof input === 'string' ? input : input instanceof URL ? input.href : input.url, init);
}

/** The HubError for a failed response, by the Hub's X-Error-Code where it sends one. */
async function responseError(ctx: HubRequestContext, url: string, res: Response, tries: number): Promise<HubError> {
	const { env, repoId } = ctx;
	const code = res.headers.get('X-Error-Code') ?? '';
	const serverMessage = res.headers.get('X-Error-Message') ?? '';
	await res.body?.cancel();
	const page = modelPage(env, repoId);
	const tokenHint = env.token ? `the token from ${env.tokenSource} is used; check that its account accepted it` : 'then set HF_TOKEN, or put a token in $HF_HOME/token';
	const status = res.status;
	if (code === 'GatedRepo' || ((status === 401 || status === 403) && code !== 'RepoNotFound')) {
		const why = code === 'GatedRepo' ? 'is gated' : status === 401 ? 'needs a token (HTTP 401)' : 'is not accessible with this token (HTTP 403)';
		return new HubError(`${repoId} ${why}: accept the licence at ${page} (${tokenHint})`, status);
	}
	if (code === 'RepoNotFound' || (status === 404 && /\/api\/models\/[^/]+\/[^/]+\/revision\//.test(url) && code === '')) {
		return new HubError(`${env.endpoint} has no repository ${repoId}${env.token ? '' : ' (or it is private or gated: set HF_TOKEN)'}`, status);
	}
	if (code === 'RevisionNotFound') return new HubError(`${repoId} has no revision "${ctx.revision ?? '?'}" on ${env.endpoint}`, status);
	if (code === 'EntryNotFound' || status === 404) return new HubError(`${url}: not found (HTTP 404)${serverMessage ? `: ${serverMessage}` : ''}`, status);
	if (status === 429) return new HubError(`${env.endpoint} is rate-limiting requests (HTTP 429, ${tries} tries) for ${repoId}; wait a few minutes and try again`, status);
	if (status >= 500) return new HubError(`${env.endpoint} answered HTTP ${status} for ${url} (${tries} tries); the Hub may be down, try again later`, status);
	return new HubError(`${url}: HTTP ${status}${serverMessage ? ` (${serverMessage})` : ''}`, status);
}

function networkError(ctx: HubRequestContext, url: string, e: unknown, tries: number): HubError {
	return new HubUnreachable(`cannot reach ${new URL(url).origin} for ${ctx.repoId} (${describeNetworkError(e)}, ${tries} tries); check the connection, or set HF_HUB_OFFLINE=1 to use the cache`);
}

export function describeNetworkError(e: unknown): string {
	const cause = (e as { cause?: { code?: string; message?: string } })?.cause;
	return cause?.code ?? cause?.message ?? errorMessage(e);
}

function retryAfterMs(res: Response): number | undefined {
	const v = res.headers.get('Retry-After');
	if (!v) return undefined;
	const seconds = Number(v);
	if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
	const date = Date.parse(v);
	return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
	return new Promise((resolve, reject) => {
		if (signal?.aborted) return reject(new HubCancelled());
		const onAbort = () => {
			clearTimeout(timer);
			reject(new HubCancelled());
		};
		const timer = setTimeout(() => {
			signal?.removeEventListener('abort', onAbort);
			resolve();
		}, ms);
		signal?.addEventListener('abort', onAbort, { once: true });
	});
}
