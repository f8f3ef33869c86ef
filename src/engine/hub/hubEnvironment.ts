// The Hub settings, read from the environment exactly as Python's huggingface_hub reads them
// (huggingface_hub/constants.py and utils/_auth.py), so both tools share one cache and token.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

export interface HubEnvironment {
	/** HF_ENDPOINT without a trailing slash. */
	endpoint: string;
	/** The hub cache root holding `models--org--name` folders. */
	cacheDir: string;
	/** Bearer token, if any. */
	token?: string;
	/** Where the token came from, for messages ("HF_TOKEN", a file path, or a setting). */
	tokenSource?: string;
	/** HF_HUB_OFFLINE: use the cache only; no request leaves the machine. */
	offline: boolean;
}

/** Settings that win over the environment (the extension's cache-folder setting and signed-in token). */
export interface HubOverrides {
	cacheDir?: string;
	token?: string;
	offline?: boolean;
}

const TRUE_VALUES = new Set(['1', 'ON', 'YES', 'TRUE']);

export function hubEnvironment(env: NodeJS.ProcessEnv = process.env, overrides: HubOverrides = {}): HubEnvironment {
	const hfHome = expand(env.HF_HOME || path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'huggingface'), env);
	const cacheDir = overrides.cacheDir || expand(env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE || path.join(hfHome, 'hub'), env);
	const result: HubEnvironment = {
		endpoint: (env.HF_ENDPOINT || DEFAULT_ENDPOINT).replace(/\/+$/, ''),
		cacheDir: path.resolve(cacheDir),
		offline: overrides.offline ?? (isTrue(env.HF_HUB_OFFLINE) || isTrue(env.TRANSFORMERS_OFFLINE)),
	};
	const token = overrides.token ? { token: overrides.token, source: 'the signed-in account' } : tokenFromEnvironment(env, hfHome);
	if (token) {
		result.token = token.token;
		result.tokenSource = token.source;
	}
	return result;
}

/** HF_TOKEN (or the legacy HUGGING_FACE_HUB_TOKEN), else the file HF_TOKEN_PATH or $HF_HOME/token. */
function tokenFromEnvironment(env: NodeJS.ProcessEnv, hfHome: string): { token: string; source: string } | undefined {
	for (const name of ['HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN']) {
		const t = clean(env[name]);
		if (t) return { token: t, source: name };
	}
	const file = expand(env.HF_TOKEN_PATH || path.join(hfHome, 'token'), env);
	try {
		const t = clean(fs.readFileSync(file, 'utf8'));
		if (t) return { token: t, source: file };
	} catch {
		// No token file: anonymous access.
	}
	return undefined;
}

function isTrue(v: string | undefined): boolean {
	return v !== undefined && TRUE_VALUES.has(v.trim().toUpperCase());
}

/** As huggingface_hub's _clean_token: surrounding whitespace and line breaks are not part of it. */
function clean(t: string | undefined): string | undefined {
	const s = t?.replace(/\r|\n/g, '').trim();
	return s || undefined;
}

/** os.path.expandvars(os.path.expanduser(p)), as Python applies to every Hub path setting. */
function expand(p: string, env: NodeJS.ProcessEnv): string {
	const home = p === '~' || p.startsWith('~/') || p.startsWith(`~${path.sep}`) ? os.homedir() + p.slice(1) : p;
	return home.replace(/\$(\w+)|\$\{(\w+)\}/g, (whole, a: string | undefined, b: string | undefined) => env[(a ?? b)!] ?? whole);
}
