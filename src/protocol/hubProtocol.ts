// Hugging Face Hub and SAE release messages between the extension host and the engine. The
// engine does the downloads (so on a remote host they land where the model runs); model and
// SAE loads that fetch from the Hub report HubProgressNotification with their requestId.

import * as v from 'valibot';
import { NotificationType, RequestType } from 'vscode-jsonrpc';
import { fields, flag, name, oneOf, requestId, text } from './schemaParts';

/** A model or SAE on the Hub: `hf:org/name[@revision][/folder]`. */
export const HF_PREFIX = 'hf:';

/** An SAE of SAELens's release registry: `release:<release>/<sae id>`, as SAE.from_pretrained(release, sae_id) takes them. */
export const RELEASE_PREFIX = 'release:';

/** Settings that override the environment's (HF_HUB_CACHE/HF_HOME, HF_TOKEN, HF_HUB_OFFLINE). */
export const HubSettings = fields({
	/** Hub cache root; empty for the environment's. */
	cacheDir: v.optional(text()),
	/** A token from the editor's sign-in, used before HF_TOKEN and $HF_HOME/token. */
	token: v.optional(text()),
	offline: v.optional(flag()),
});
export type HubSettings = v.InferOutput<typeof HubSettings>;

export interface HubProgress {
	/** The LoadModel/LoadSae/RefreshSaeReleases request this belongs to. */
	requestId: string;
	/** The `hf:` reference being fetched. */
	ref: string;
	phase: 'resolving' | 'downloading' | 'done';
	commit?: string;
	/** Bytes still missing from the cache when the download began (known before the first byte), and how many have arrived. */
	bytesTotal: number;
	bytesDone: number;
	filesTotal: number;
	filesDone: number;
	file?: string;
}

export interface SaeReleaseSaeInfo {
	/** The SAE id: load it as `release:<release>/<id>`. */
	id: string;
	path: string;
	hookName?: string;
	width?: number;
	l0?: number;
	neuronpediaId?: string;
	/** Whether the engine can load it (transcoders and some release formats not yet). */
	loadable: boolean;
}

export interface SaeReleaseInfo {
	release: string;
	repoId: string;
	/** The model as the registry names it (a TransformerLens name or a repository id). */
	model: string;
	/** The Hub repositories of that model (a TransformerLens name mapped to them). */
	modelRepoIds: string[];
	saes: SaeReleaseSaeInfo[];
}

export interface ListSaeReleasesResult {
	/** Where the registry came from (the shipped snapshot's SAELens commit, or a refresh). */
	source: string;
	releases: SaeReleaseInfo[];
}

export const FetchFromHubParams = fields({
	/** `hf:org/name[@rev][/folder]`, or for an SAE also `release:<release>/<sae id>`. */
	ref: name('an hf: or release: reference'),
	kind: oneOf(['model', 'sae']),
	requestId: requestId(),
});
export type FetchFromHubParams = v.InferOutput<typeof FetchFromHubParams>;

export const ListSaeReleasesParams = fields({
	/** A repository id or TransformerLens model name; absent lists every release. */
	model: v.optional(text()),
});
export type ListSaeReleasesParams = v.InferOutput<typeof ListSaeReleasesParams>;

export const RefreshSaeReleasesParams = fields({
	/** A pretrained_saes.yaml file or hf:…/pretrained_saes.yaml. */
	from: name('a pretrained_saes.yaml file or hf: reference'),
	requestId: requestId(),
});
export type RefreshSaeReleasesParams = v.InferOutput<typeof RefreshSaeReleasesParams>;

export interface FetchFromHubResult {
	/** Where the files are on the engine's machine. */
	path: string;
	commit?: string;
	/** The reference pinned to that commit (hf:org/name@<sha>…), which later loads resolve from the cache alone; a release reference as given. */
	pinned: string;
}

/** Host → engine: sets the Hub cache folder, token, offline mode and data folder, over the environment's. */
export const ConfigureHubRequest = new RequestType<HubSettings, void, void>('hub/configure');

/** Host → engine: the SAE releases for a model (a repository id or TransformerLens name; all when absent) with their SAEs' hooks, widths and L0. */
export const ListSaeReleasesRequest = new RequestType<ListSaeReleasesParams, ListSaeReleasesResult, void>('hub/listSaeReleases');

/** Host → engine: replaces the release registry by one converted from a pretrained_saes.yaml (a file or hf:…/pretrained_saes.yaml); cancellable. */
export const RefreshSaeReleasesRequest = new RequestType<RefreshSaeReleasesParams, { releases: number; saes: number; file: string }, void>('hub/refreshSaeReleases');

/** Host → engine: downloads a model's or SAE's files into the Hub cache without loading them, with HubProgressNotification; cancellable. */
export const FetchFromHubRequest = new RequestType<FetchFromHubParams, FetchFromHubResult, void>('hub/fetch');

/** Engine → host: how far a Hub download has got, for a progress notification with Cancel. */
export const HubProgressNotification = new NotificationType<HubProgress>('hub/progress');
