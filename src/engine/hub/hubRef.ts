// `hf:org/name[@revision][/folder/in/repo]`: where a model or SAE lives on the Hugging Face Hub.

import { HF_PREFIX } from '../../protocol/hubProtocol';
import { HubError } from './hubErrors';

export interface HubRef {
	/** `org/name`. */
	repoId: string;
	/** A branch, tag or commit sha ("main" when not given). */
	revision: string;
	/** A folder or file inside the repository, '' for its root; '/'-separated, no leading slash. */
	path: string;
}

/** A full commit sha, the only revision whose files never change. */
export const COMMIT_SHA = /^[0-9a-f]{40}$/;

// As huggingface_hub's validate_repo_id: word characters, '-', '.', no '--' or '..', at most 96 characters.
const NAME_PART = /^[\w.-]+$/;

export function isHubRef(arg: string): boolean {
	return arg.startsWith(HF_PREFIX);
}

/**
 * Parses `hf:org/name[@revision][/path]`. A revision holding '/' (e.g. `refs/pr/3`) is written
 * percent-encoded (`refs%2Fpr%2F3`), as in Hub URLs.
 */
export function parseHubRef(arg: string): HubRef {
	if (!isHubRef(arg)) throw new HubError(`${arg}: not a Hub reference (expected hf:org/name[@revision][/folder])`);
	const body = arg.slice(HF_PREFIX.length);
	const [org, rest = ''] = splitOnce(body, '/');
	const nameEnd = rest.search(/[@/]/);
	const name = nameEnd < 0 ? rest : rest.slice(0, nameEnd);
	let tail = nameEnd < 0 ? '' : rest.slice(nameEnd);
	const repoId = `${org}/${name}`;
	if (!org || !name || !NAME_PART.test(org) || !NAME_PART.test(name) || repoId.includes('--') || repoId.includes('..') || repoId.length > 96) {
		throw new HubError(`${arg}: "${repoId}" is not a Hub repository id (expected hf:org/name, letters, digits, '-', '_' and '.')`);
	}
	let revision = 'main';
	if (tail.startsWith('@')) {
		const [rev, after = ''] = splitOnce(tail.slice(1), '/');
		try {
			revision = decodeURIComponent(rev);
		} catch {
			throw new HubError(`${arg}: revision "${rev}" is not valid percent-encoding`);
		}
		if (!revision) throw new HubError(`${arg}: empty revision after '@'`);
		tail = after ? `/${after}` : '';
	}
	const path = tail.replace(/^\/+/, '').replace(/\/+$/, '');
	if (path && path.split('/').some((s) => s === '' || s === '.' || s === '..' || s.includes('\\'))) {
		throw new HubError(`${arg}: "${path}" is not a path inside the repository`);
	}
	return { repoId, revision, path };
}

export function formatHubRef(ref: HubRef): string {
	const rev = ref.revision === 'main' ? '' : `@${encodeURIComponent(ref.revision)}`;
	return `${HF_PREFIX}${ref.repoId}${rev}${ref.path ? `/${ref.path}` : ''}`;
}

function splitOnce(s: string, sep: string): [string, string?] {
	const i = s.indexOf(sep);
	return i < 0 ? [s] : [s.slice(0, i), s.slice(i + 1)];
}
