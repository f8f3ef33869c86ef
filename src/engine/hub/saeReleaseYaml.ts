// SAELens's pretrained_saes.yaml → our release registry: the same releases and SAE ids, with
// each SAE's hook and width worked out where its loader's naming says them (Gemma Scope,
// Gemma Scope 2 and Llama Scope ids, or a TransformerLens hook name in a SAELens id or path).
// Used by tools/releases/makeSaeReleases.ts for the shipped snapshot and by the refresh.

import { parse } from 'yaml';
import { hookFromHf } from '../sae/gemmaScope2Format';
import { HubError } from './hubErrors';
import type { SaeRelease, SaeReleaseEntry, SaeReleaseRegistry } from './saeReleases';
import { errorMessage } from '../../protocol/errors';

export function registryFromYaml(text: string, source: SaeReleaseRegistry['source'], label: string): SaeReleaseRegistry {
	let doc: unknown;
	try {
		doc = parse(text, { maxAliasCount: -1 });
	} catch (e) {
		throw new HubError(`${label}: not valid YAML (${errorMessage(e).split('\n')[0]})`);
	}
	if (!isObject(doc)) throw new HubError(`${label}: not a mapping of release names (not a pretrained_saes.yaml)`);
	const releases: Record<string, SaeRelease> = {};
	for (const [name, value] of Object.entries(doc)) {
		if (!isObject(value)) throw new HubError(`${label}: release ${name} is not a mapping`);
		const { repo_id: repoId, model, saes } = value;
		if (typeof repoId !== 'string' || typeof model !== 'string' || !Array.isArray(saes)) {
			throw new HubError(`${label}: release ${name} needs repo_id, model and saes (as SAELens's get_pretrained_saes_directory does)`);
		}
		const conversion = typeof value.conversion_func === 'string' ? value.conversion_func : null;
		const release: SaeRelease = { repoId, model, conversion, saes: [] };
		if (isObject(value.config_overrides)) release.configOverrides = value.config_overrides;
		if (isObject(value.links)) release.links = Object.fromEntries(Object.entries(value.links).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
		for (const s of saes) {
			// YAML reads a bare `path: 0` as a number; SAELens uses it as a string.
			const id = isObject(s) && (typeof s.id === 'string' || typeof s.id === 'number') ? String(s.id) : undefined;
			const at = isObject(s) && (typeof s.path === 'string' || typeof s.path === 'number') ? String(s.path) : undefined;
			if (!isObject(s) || id === undefined || at === undefined) throw new HubError(`${label}: release ${name} has an SAE without id and path`);
			const entry: SaeReleaseEntry = { id, path: at, ...describeSae(release, id, at) };
			if (typeof s.l0 === 'number') entry.l0 = s.l0;
			if (typeof s.neuronpedia === 'string') entry.neuronpedia = s.neuronpedia;
			if (typeof s.variance_explained === 'number') entry.varianceExplained = s.variance_explained;
			if (typeof s.norm_scaling_factor === 'number') entry.normScalingFactor = s.norm_scaling_factor;
			release.saes.push(entry);
		}
		releases[name] = release;
	}
	return { source, releases };
}

/** Hook and width from the SAE's id and path, by its release's naming; what cannot be told is left out. */
export function describeSae(release: Pick<SaeRelease, 'repoId' | 'conversion'>, id: string, repoPath: string): Pick<SaeReleaseEntry, 'hook' | 'width' | 'transcoder'> {
	const out: Pick<SaeReleaseEntry, 'hook' | 'width' | 'transcoder'> = {};
	const both = `${repoPath}/${id}`;
	const width = /width_(\d+)([km])/.exec(both);
	if (width) out.width = powerOfTwoWidth(Number(width[1]), width[2]!);
	const layer = /layer_(\d+)/.exec(both)?.[1];
	switch (release.conversion) {
		case 'gemma_2': {
			// SAELens's get_gemma_2_config_from_hf: the site from the repository name.
			const repo = release.repoId.toLowerCase();
			const embedding = both.includes('embedding');
			if (repo.includes('res')) out.hook = embedding ? 'hook_embed' : layer !== undefined ? `blocks.${layer}.hook_resid_post` : undefined;
			else if (repo.includes('mlp') && layer !== undefined) out.hook = `blocks.${layer}.hook_mlp_out`;
			else if (repo.includes('att') && layer !== undefined) out.hook = `blocks.${layer}.attn.hook_z`;
			break;
		}
		case 'gemma_3': {
			if (layer === undefined) break;
			const site = /resid_post/.test(repoPath)
				? `model.layers.${layer}.output`
				: /attn_out/.test(repoPath)
					? `model.layers.${layer}.self_attn.o_proj.input`
					: /mlp_out/.test(repoPath)
						? `model.layers.${layer}.post_feedforward_layernorm.output`
						: /transcoder|clt/.test(repoPath)
							? `model.layers.${layer}.pre_feedforward_layernorm.output`
							: undefined;
			const hook = site ? hookFromHf(site) : undefined;
			if (hook) out.hook = hook.hookName;
			if (/transcoder|clt/.test(repoPath)) out.transcoder = true;
			break;
		}
		case 'llama_scope': {
			// fnlp/Llama3_1-8B-Base-LX{R,A,M}-{8,32}x: ids l{layer}{r,a,m}_{8,32}x; d_model 4096.
			const m = /^l(\d+)([ram])_(\d+)x$/.exec(id);
			if (m) {
				const site = { r: 'hook_resid_post', a: 'hook_attn_out', m: 'hook_mlp_out' }[m[2] as 'r' | 'a' | 'm'];
				out.hook = `blocks.${m[1]}.${site}`;
				out.width = 4096 * Number(m[3]);
			}
			break;
		}
		default: {
			const hook =
				/(?:^|[^\w])(blocks\.\d+\.(?:attn\.|mlp\.)?hook_[a-z_]+|hook_embed|hook_pos_embed)(?=$|[^\w.]|_\d)/.exec(`/${id}`) ??
				/(blocks\.\d+\.(?:attn\.|mlp\.)?hook_[a-z_]+?)(?=_\d+|$|\/)/.exec(repoPath);
			if (hook) out.hook = hook[1];
			if (/transcoder/.test(both)) out.transcoder = true;
		}
	}
	if (release.conversion?.includes('transcoder')) out.transcoder = true;
	if (out.hook === undefined) delete out.hook;
	return out;
}

/** Gemma Scope's width names (16k, 131k, 1m) are powers of two, as SAELens's width_map says. */
function powerOfTwoWidth(n: number, unit: string): number {
	return 2 ** Math.round(Math.log2(n * (unit === 'm' ? 1e6 : 1e3)));
}

function isObject(v: unknown): v is Record<string, unknown> {
	return typeof v === 'object' && v !== null && !Array.isArray(v);
}
