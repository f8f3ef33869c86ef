// The engine's Hub requests: the settings the host gives (over the environment's), model and
// SAE arguments resolved with progress reported by requestId and cancelled by AbortSignal,
// and the SAE release registry (list for a model, refresh).

import type { Sae } from '../sae/saeTypes';
import type { FetchFromHubParams, FetchFromHubResult, HubProgress, HubSettings, ListSaeReleasesResult } from '../../protocol/hubProtocol';
import { hubEnvironment } from './hubEnvironment';
import { formatHubRef, isHubRef, parseHubRef } from './hubRef';
import type { HubEnvironment } from './hubEnvironment';
import type { HubFetchProgress } from './hubSnapshot';
import { loadSaeArgument, resolveModelArgument, resolveSaeArgument } from './hubSources';
import type { SourceOptions } from './hubSources';
import { refreshSaeReleases } from './saeReleaseRefresh';
import { hubModelIds, isLoadable, loadSaeReleases, releasesFor } from './saeReleases';

/** Progress notifications at most this often, except when a phase begins or ends. */
const PROGRESS_INTERVAL_MS = 200;

export class HubService {
	private settings: HubSettings = {};

	/** `dataDir`: Feature Lens's data folder, where a refreshed release registry is kept (InitializeParams.userDataDir in the engine). */
	constructor(
		private readonly notify: (p: HubProgress) => void,
		private readonly log: (m: string) => void,
		readonly dataDir: () => string,
	) {}

	configure(settings: HubSettings): void {
		this.settings = { ...settings };
	}

	environment(): HubEnvironment {
		const { cacheDir, token, offline } = this.settings;
		return hubEnvironment(process.env, { cacheDir: cacheDir || undefined, token: token || undefined, offline });
	}

	/** A model argument as a local folder (fetched for hf:) and the name to give the model. */
	resolveModel(arg: string, request: { requestId?: string; signal: AbortSignal }): Promise<{ path: string; name?: string }> {
		return resolveModelArgument(arg, this.options(request));
	}

	loadSae(arg: string, request: { requestId?: string; signal: AbortSignal }): Promise<Sae> {
		return loadSaeArgument(arg, this.options(request));
	}

	/** Downloads without loading; the reference comes back pinned to the commit fetched. */
	async fetch(params: FetchFromHubParams, signal: AbortSignal): Promise<FetchFromHubResult> {
		const options = this.options({ requestId: params.requestId, signal });
		const got = params.kind === 'model' ? await resolveModelArgument(params.ref, options) : await resolveSaeArgument(params.ref, options);
		const pinned = isHubRef(params.ref) && got.commit ? formatHubRef({ ...parseHubRef(params.ref), revision: got.commit }) : params.ref;
		return { path: got.path, commit: got.commit, pinned };
	}

	listReleases(model?: string): ListSaeReleasesResult {
		const registry = loadSaeReleases(this.dataDir());
		const { source } = registry;
		return {
			source: `${source.from}${source.commit ? ` @ ${source.commit.slice(0, 8)}` : ''}${source.version ? ` (sae-lens ${source.version})` : ''}, converted ${source.converted}`,
			releases: releasesFor(registry, model).map(([release, r]) => ({
				release,
				repoId: r.repoId,
				model: r.model,
				modelRepoIds: hubModelIds(r.model),
				saes: r.saes.map((s) => ({ id: s.id, path: s.path, hookName: s.hook, width: s.width, l0: s.l0, neuronpediaId: s.neuronpedia, loadable: isLoadable(r, s) })),
			})),
		};
	}

	async refreshReleases(from: string, request: { requestId: string; signal: AbortSignal }): Promise<{ releases: number; saes: number; file: string }> {
		const { registry, file } = await refreshSaeReleases(from, this.dataDir(), { ...this.options(request), env: this.environment() });
		const releases = Object.values(registry.releases);
		return { releases: releases.length, saes: releases.reduce((a, r) => a + r.saes.length, 0), file };
	}

	private options(request: { requestId?: string; signal: AbortSignal }): SourceOptions {
		// At most one notification per interval; the latest one held back is sent when the
		// interval ends, so a download that stalls still shows how far it got.
		let last = 0;
		let lastPhase = '';
		let held: HubFetchProgress | undefined;
		let timer: NodeJS.Timeout | undefined;
		const send = (p: HubFetchProgress): void => {
			last = Date.now();
			lastPhase = p.phase;
			held = undefined;
			this.notify({ requestId: request.requestId!, ...p });
		};
		const onProgress = (p: HubFetchProgress): void => {
			if (request.requestId === undefined) return;
			if (p.phase !== lastPhase || Date.now() - last >= PROGRESS_INTERVAL_MS || p.bytesDone >= p.bytesTotal) {
				clearTimeout(timer);
				timer = undefined;
				send(p);
				return;
			}
			held = p;
			timer ??= setTimeout(
				() => {
					timer = undefined;
					if (held && !request.signal.aborted) send(held);
				},
				PROGRESS_INTERVAL_MS - (Date.now() - last),
			);
		};
		return { env: this.environment(), releasesDir: this.dataDir(), signal: request.signal, log: this.log, onProgress };
	}
}
