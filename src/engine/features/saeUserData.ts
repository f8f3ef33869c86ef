// Where the user's data about one SAE lives: `<data dir>/saes/<SHA-256 of the SAE's files>/`,
// holding its labels and notes and the analyses made on this machine. The data dir is the
// extension's global storage (or the CLI's cache folder), never the installed extension: the
// demo SAE moves to a new folder with every update of the extension, and keying by content
// keeps its labels across updates, while a retrained SAE at the same path starts afresh.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeAtomic } from '../io/atomicWrite';
import { saeKey } from './analysisStore';
import type { SaeKey } from './analysisStore';

const SAES_DIRNAME = 'saes';
/** Hashes of SAEs seen before, by absolute path, so a large SAE is not re-read on every load. */
const HASH_CACHE_FILE = 'sae-hashes.json';
const HASH_CACHE_VERSION = 1;
/** Paths remembered; the oldest are forgotten first. */
const HASH_CACHE_ENTRIES = 256;

/** The folder of one SAE's user data (created when something is first written there). */
export function saeDataDir(dataDir: string, key: SaeKey): string {
	return path.join(dataDir, SAES_DIRNAME, key.sha256);
}

/**
 * The SAE's content key, reusing the hash remembered for its path when its files' sizes and
 * mtimes are unchanged. The cache is a convenience: one that cannot be read or written is
 * ignored, and the SAE is hashed.
 */
export function cachedSaeKey(dataDir: string, saeSource: string): SaeKey {
	const source = path.resolve(saeSource);
	const file = path.join(dataDir, HASH_CACHE_FILE);
	const cache = readHashCache(file);
	const known = cache.get(source);
	const key = saeKey(source, known);
	if (!known || JSON.stringify(known) !== JSON.stringify(key)) {
		cache.delete(source);
		cache.set(source, key);
		while (cache.size > HASH_CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
		try {
			fs.mkdirSync(dataDir, { recursive: true });
			writeAtomic(file, JSON.stringify({ formatVersion: HASH_CACHE_VERSION, saes: Object.fromEntries(cache) }) + '\n');
		} catch {
			// A read-only data dir still works: the SAE is hashed again next time.
		}
	}
	return key;
}

function readHashCache(file: string): Map<string, SaeKey> {
	const cache = new Map<string, SaeKey>();
	let raw: unknown;
	try {
		raw = JSON.parse(fs.readFileSync(file, 'utf8'));
	} catch {
		return cache;
	}
	const saes = (raw as { formatVersion?: unknown; saes?: unknown }).saes;
	if ((raw as { formatVersion?: unknown }).formatVersion !== HASH_CACHE_VERSION || typeof saes !== 'object' || saes === null) return cache;
	for (const [source, value] of Object.entries(saes)) if (isSaeKey(value)) cache.set(source, value);
	return cache;
}

/** Entries are only trusted when they have the shape saeKey writes; a hand-edited hash is caught by the analyses' own key check. */
function isSaeKey(value: unknown): value is SaeKey {
	const v = value as SaeKey;
	return (
		typeof v === 'object' &&
		v !== null &&
		typeof v.sha256 === 'string' &&
		/^[0-9a-f]{64}$/.test(v.sha256) &&
		Array.isArray(v.files) &&
		v.files.every((f) => typeof f === 'object' && f !== null && typeof f.name === 'string' && typeof f.size === 'number' && typeof f.mtimeMs === 'number')
	);
}
