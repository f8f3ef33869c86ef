// The published SAE releases: a snapshot of SAELens's pretrained-SAE registry
// (sae_lens/pretrained_saes.yaml) shipped as data/sae-releases.json, or a newer one the user
// refreshed (saeReleaseRefresh.ts) into Feature Lens's data folder, which then wins. A release
// names a Hub repository, the model its SAEs were trained on and, per SAE id, the path in the
// repository, with the hook, width, L0 and Neuronpedia id where the registry (or the SAE id)
// gives them.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../models/modelPaths';
import { RELEASE_PREFIX } from '../../protocol/hubProtocol';
import { HubError } from './hubErrors';
import { errorMessage } from '../../protocol/errors';
import * as v from 'valibot';
import { describeIssue, finite, flag, integer, text } from '../../protocol/schemaParts';

export const RELEASES_FILENAME = 'sae-releases.json';

/** SAELens loaders (conversion_func) whose files the engine reads; null is SAELens's own folder format. */
const LOADABLE_CONVERSIONS: readonly (string | null)[] = [null, 'sae_lens', 'gemma_2', 'gemma_3', 'llama_scope'];

/**
 * SAELens loaders of per-layer transcoders whose files the engine reads (Gemma Scope params.npz,
 * Gemma Scope 2 params.safetensors); cross-layer transcoders (clt…) write to every later layer and
 * do not load as one dictionary.
 */
const LOADABLE_TRANSCODER_CONVERSIONS: readonly (string | null)[] = ['gemma_2_transcoder', 'gemma_3'];

/** Whether the engine can load this release's SAEs (its format; for a transcoder, a per-layer one it reads). */
export function isLoadable(release: SaeRelease, sae?: SaeReleaseEntry): boolean {
	if (sae?.transcoder) return LOADABLE_TRANSCODER_CONVERSIONS.includes(release.conversion) && !/(^|\/)clt/.test(sae.path);
	return LOADABLE_CONVERSIONS.includes(release.conversion);
}

export interface SaeReleaseEntry {
	/** The id SAE.from_pretrained(release, sae_id) takes. */
	id: string;
	/** Folder (or file) in the repository. */
	path: string;
	hook?: string;
	width?: number;
	l0?: number;
	/** Neuronpedia's `model/source` id: feature i is at https://www.neuronpedia.org/<id>/<i>. */
	neuronpedia?: string;
	varianceExplained?: number;
	/** SAELens folds this into the weights for SAEs with normalize_activations expected_average_only_in. */
	normScalingFactor?: number;
	/** Reads one hook and writes another (a transcoder); per-layer ones in a format the engine reads load (isLoadable). */
	transcoder?: boolean;
}

export interface SaeRelease {
	repoId: string;
	/** The model as SAELens names it (a TransformerLens name or a Hub repository id). */
	model: string;
	/** SAELens's loader for the release's files (null: SAELens folders). */
	conversion: string | null;
	/** cfg.json keys SAELens overrides for every SAE of the release (e.g. model_from_pretrained_kwargs). */
	configOverrides?: Record<string, unknown>;
	links?: Record<string, string>;
	saes: SaeReleaseEntry[];
}

export interface SaeReleaseRegistry {
	/** Where the registry came from: the file and commit it was converted from, and when. */
	source: { from: string; commit?: string; version?: string; date?: string; converted: string };
	releases: Record<string, SaeRelease>;
}

/** The shipped snapshot. */
export function shippedReleasesFile(): string {
	return path.join(packageRoot(), 'data', RELEASES_FILENAME);
}

/** A refreshed registry in `dataDir` if there is a readable one, else the shipped snapshot. */
export function loadSaeReleases(dataDir?: string): SaeReleaseRegistry {
	const refreshed = dataDir ? path.join(dataDir, RELEASES_FILENAME) : undefined;
	if (refreshed && fs.existsSync(refreshed)) return readRegistry(refreshed);
	return readRegistry(shippedReleasesFile());
}

export function readRegistry(file: string): SaeReleaseRegistry {
	let raw: unknown;
	try {
		raw = JSON.parse(fs.readFileSync(file, 'utf8'));
	} catch (e) {
		throw new HubError(`${file}: cannot read the SAE release registry (${errorMessage(e)})`);
	}
	const checked = v.safeParse(REGISTRY, raw, { abortEarly: true });
	if (!checked.success) throw new HubError(`${file}: not an SAE release registry: ${describeIssue(checked.issues[0])}`);
	return checked.output;
}

// The registry's shape, checked whole when it is read (a refreshed one is a file in the user's
// data folder): every later use of a release or an SAE entry can then trust its fields.
const REGISTRY_ENTRY = v.looseObject(
	{
		id: text(),
		path: text(),
		hook: v.optional(text()),
		width: v.optional(integer(1)),
		l0: v.optional(finite()),
		neuronpedia: v.optional(text()),
		varianceExplained: v.optional(finite()),
		normScalingFactor: v.optional(finite()),
		transcoder: v.optional(flag()),
	},
	'an SAE entry (an object with "id" and "path")',
);
const REGISTRY_RELEASE = v.looseObject(
	{
		repoId: text(),
		model: text(),
		conversion: v.nullable(text('a loader name or null')),
		configOverrides: v.optional(v.record(v.string(), v.unknown(), 'an object')),
		links: v.optional(v.record(v.string(), text(), 'an object of links')),
		saes: v.array(REGISTRY_ENTRY, 'a list of SAE entries'),
	},
	'a release (an object with "repoId", "model", "conversion" and "saes")',
);
const REGISTRY = v.looseObject(
	{
		source: v.looseObject({ from: text(), converted: text() }, 'an object saying where the registry came from'),
		releases: v.record(v.string(), REGISTRY_RELEASE, 'an object of releases by name'),
	},
	'an object with "source" and "releases"',
);

/** `release:<release>/<sae_id>` → its parts (the release has no '/', the SAE id may). */
export function parseReleaseRef(arg: string): { release: string; saeId: string } {
	const body = arg.startsWith(RELEASE_PREFIX) ? arg.slice(RELEASE_PREFIX.length) : arg;
	const slash = body.indexOf('/');
	if (slash <= 0 || slash === body.length - 1) throw new HubError(`${arg}: expected release:<release>/<sae id>, e.g. release:gpt2-small-res-jb/blocks.8.hook_resid_pre`);
	return { release: body.slice(0, slash), saeId: body.slice(slash + 1) };
}

export function isReleaseRef(arg: string): boolean {
	return arg.startsWith(RELEASE_PREFIX);
}

/** The release and SAE entry for `release:<release>/<sae_id>`, or a HubError listing what exists. */
export function findReleaseSae(registry: SaeReleaseRegistry, arg: string): { release: SaeRelease; name: string; sae: SaeReleaseEntry } {
	const { release: name, saeId } = parseReleaseRef(arg);
	const release = registry.releases[name];
	if (!release) {
		const near = Object.keys(registry.releases)
			.filter((r) => r.includes(name) || name.includes(r))
			.slice(0, 5);
		throw new HubError(`${arg}: no release "${name}" in the SAE registry (${registry.source.from})${near.length ? `; did you mean ${near.join(', ')}?` : ''}`);
	}
	const sae = release.saes.find((s) => s.id === saeId);
	if (!sae) {
		const ids = release.saes.map((s) => s.id);
		throw new HubError(`${arg}: release ${name} has no SAE "${saeId}" (it has ${ids.slice(0, 5).join(', ')}${ids.length > 5 ? `, … ${ids.length} in all` : ''})`);
	}
	return { release, name, sae };
}

/**
 * TransformerLens names (as SAELens's registry uses them) of Hub models whose repository name
 * differs; any other registry name matches a repository whose id or name equals it.
 */
const MODEL_ALIASES: Record<string, readonly string[]> = {
	'gpt2-small': ['openai-community/gpt2', 'gpt2'],
	'gpt2-medium': ['openai-community/gpt2-medium'],
	'mistral-7b': ['mistralai/Mistral-7B-v0.1'],
	'llama-3-8b-it': ['meta-llama/Meta-Llama-3-8B-Instruct'],
	'pythia-70m-deduped': ['EleutherAI/pythia-70m-deduped'],
	'gemma-2b': ['google/gemma-2b'],
	'gemma-2b-it': ['google/gemma-2b-it'],
	'gemma-2-2b': ['google/gemma-2-2b'],
	'gemma-2-9b': ['google/gemma-2-9b'],
	'gemma-2-9b-it': ['google/gemma-2-9b-it'],
	'gemma-2-27b': ['google/gemma-2-27b'],
	'gemma-3-1b': ['google/gemma-3-1b-pt'],
	'qwen3-0.6b': ['Qwen/Qwen3-0.6B'],
	'qwen3-1.7b': ['Qwen/Qwen3-1.7B'],
	'qwen3-4b': ['Qwen/Qwen3-4B'],
	'qwen3-8b': ['Qwen/Qwen3-8B'],
	'qwen3-14b': ['Qwen/Qwen3-14B'],
};

/** Hub repository ids for a registry model name: itself when it is one, else its known aliases. */
export function hubModelIds(registryModel: string): string[] {
	return registryModel.includes('/') ? [registryModel] : [...(MODEL_ALIASES[registryModel.toLowerCase()] ?? [])].filter((a) => a.includes('/'));
}

/** Whether a registry model name means the model `name` (a repository id, a folder name or a TransformerLens name). */
export function sameModel(registryModel: string, name: string): boolean {
	const a = registryModel.toLowerCase();
	const b = name.toLowerCase();
	const tail = (s: string) => s.slice(s.lastIndexOf('/') + 1);
	if (a === b || tail(a) === tail(b)) return true;
	return (MODEL_ALIASES[a] ?? []).some((alias) => alias.toLowerCase() === b || tail(alias.toLowerCase()) === tail(b));
}

/** The releases for a model (all of them without one), by name. */
export function releasesFor(registry: SaeReleaseRegistry, model?: string): [string, SaeRelease][] {
	return Object.entries(registry.releases)
		.filter(([, r]) => model === undefined || sameModel(r.model, model))
		.sort(([a], [b]) => a.localeCompare(b));
}

/** Writes a registry atomically, one release per line so a refresh's diff reads release by release. */
export function writeRegistry(file: string, registry: SaeReleaseRegistry): void {
	const lines = Object.entries(registry.releases).map(([name, r]) => `${JSON.stringify(name)}: ${JSON.stringify(r)}`);
	const text = `{"source": ${JSON.stringify(registry.source)},\n"releases": {\n${lines.join(',\n')}\n}}\n`;
	fs.mkdirSync(path.dirname(file), { recursive: true });
	const tmp = `${file}.${process.pid}.tmp`;
	fs.writeFileSync(tmp, text);
	fs.renameSync(tmp, file);
}
