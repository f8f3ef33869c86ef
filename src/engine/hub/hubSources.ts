// Where a model or SAE argument points, turned into a local path before anything loads it:
// `hf:org/name[@rev][/folder]` is fetched into the shared Hub cache, `release:<release>/<sae id>`
// is looked up in the SAE release registry and only that SAE is fetched; `demo` (for an SAE)
// is the SAE shipped with the demo model; anything else is a path on this machine and is
// returned as given. Downloads happen here, in the engine, so on a
// remote host they land where the model runs.

import { DEMO } from '../../protocol/engineProtocol';
import { LanguageModel } from '../models/languageModel';
import { demoSaeDir } from '../models/modelPaths';
import type { LoadModelOptions } from '../models/languageModel';
import type { SessionSettings } from '../onnx/session';
import { asFloat32, f32Tensor } from '../sae/saeChecks';
import { METADATA_KEYS, loadSae } from '../sae/saeFormat';
import type { Sae } from '../sae/saeTypes';
import { hubEnvironment } from './hubEnvironment';
import type { HubEnvironment } from './hubEnvironment';
import { HubError } from './hubErrors';
import { isHubRef, parseHubRef } from './hubRef';
import { fetchRepoFiles } from './hubSnapshot';
import type { HubFetchOptions } from './hubSnapshot';
import { modelFileSelector } from './modelFiles';
import { saeFileSelector } from './saeFiles';
import { findReleaseSae, isLoadable, isReleaseRef, loadSaeReleases } from './saeReleases';
import type { SaeRelease, SaeReleaseEntry } from './saeReleases';

export interface SourceOptions extends Omit<HubFetchOptions, 'env'> {
	/** The Hub settings (default: from the environment). */
	env?: HubEnvironment;
	/** Feature Lens's data folder, where a refreshed release registry lives. */
	releasesDir?: string;
}

/** A model argument as a local folder, the name to give the model (its repository id for `hf:`) and the commit fetched. */
export async function resolveModelArgument(arg: string, options: SourceOptions = {}): Promise<{ path: string; name?: string; commit?: string }> {
	if (isReleaseRef(arg)) throw new HubError(`${arg}: release: names an SAE; a model is a folder, "demo" or hf:org/name`);
	if (!isHubRef(arg)) return { path: arg };
	const ref = parseHubRef(arg);
	const got = await fetchRepoFiles(ref, modelFileSelector(arg, ref.path), { ...options, env: options.env ?? hubEnvironment() });
	return { path: got.dir, name: ref.path ? `${ref.repoId}/${ref.path}` : ref.repoId, commit: got.commit };
}

/** resolveModelArgument, then LanguageModel.load. */
export async function loadModelArgument(arg: string, settings: SessionSettings, log: (m: string) => void, options: SourceOptions = {}, load: LoadModelOptions = {}): Promise<LanguageModel> {
	const { path, name } = await resolveModelArgument(arg, { log, ...options });
	return LanguageModel.load(path, settings, log, name ? { ...load, name } : load);
}

export interface ResolvedSae {
	path: string;
	/** The commit fetched, for hf: and release: SAEs. */
	commit?: string;
	/** For `release:`: the release, and the registry's facts about the SAE. */
	release?: { name: string; release: SaeRelease; sae: SaeReleaseEntry };
}

/** An SAE argument as a local folder or file. */
export async function resolveSaeArgument(arg: string, options: SourceOptions = {}): Promise<ResolvedSae> {
	if (arg === DEMO) return { path: demoSaeDir() };
	const env = options.env ?? hubEnvironment();
	if (isReleaseRef(arg)) {
		const found = findReleaseSae(loadSaeReleases(options.releasesDir), arg);
		if (!isLoadable(found.release, found.sae)) {
			throw new HubError(
				`${arg}: ${found.sae.transcoder ? `a transcoder in a format SAELens reads with its ${found.release.conversion} loader` : `its files are in a format SAELens reads with its ${found.release.conversion} loader`}, which Feature Lens does not load yet (it loads SAELens folders and transcoders, Gemma Scope and Gemma Scope 2 SAEs and transcoders, circuit-tracer transcoder sets, and Llama Scope SAEs)`,
			);
		}
		const ref = { repoId: found.release.repoId, revision: 'main', path: found.sae.path };
		const got = await fetchRepoFiles(ref, saeFileSelector(arg, ref.path), { ...options, env });
		return { path: got.dir, commit: got.commit, release: found };
	}
	if (!isHubRef(arg)) return { path: arg };
	const ref = parseHubRef(arg);
	const got = await fetchRepoFiles(ref, saeFileSelector(arg, ref.path), { ...options, env });
	return { path: got.dir, commit: got.commit };
}

/**
 * resolveSaeArgument, then loadSae; a release's SAE also takes what SAELens's from_pretrained
 * adds from the registry: its config_overrides (the LLM-side keys, into metadata), its
 * Neuronpedia id, and the norm_scaling_factor folded into the weights of an SAE that normalizes
 * with expected_average_only_in.
 */
export async function loadSaeArgument(arg: string, options: SourceOptions = {}): Promise<Sae> {
	const resolved = await resolveSaeArgument(arg, options);
	const sae = loadSae(resolved.path);
	if (resolved.release) applyReleaseFacts(sae, resolved.release.release, resolved.release.sae);
	return sae;
}

function applyReleaseFacts(sae: Sae, release: SaeRelease, entry: SaeReleaseEntry): void {
	for (const [key, value] of Object.entries(release.configOverrides ?? {})) {
		if (METADATA_KEYS.includes(key)) sae.cfg.metadata[key] = value;
	}
	if (entry.neuronpedia) sae.cfg.metadata.neuronpedia_id = entry.neuronpedia;
	const s = entry.normScalingFactor;
	if (s !== undefined && sae.cfg.normalize_activations === 'expected_average_only_in') {
		// SAE.fold_activation_norm_scaling_factor: W_enc · s, W_dec / s, b_dec / s.
		scaleTensor(sae, 'W_enc', s);
		scaleTensor(sae, 'W_dec', 1 / s);
		scaleTensor(sae, 'b_dec', 1 / s);
		sae.cfg.normalize_activations = 'none';
	}
}

function scaleTensor(sae: Sae, name: string, factor: number): void {
	const t = sae.weights[name];
	if (!t) return;
	const v = asFloat32(sae.source, name, t).map((x) => x * factor);
	sae.weights[name] = f32Tensor(v, t.shape);
}
