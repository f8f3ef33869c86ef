// Which files of a Hub repository folder make a model checkpoint for the engine: config.json,
// the tokenizer files, and the safetensors weights (the shards the index lists, else every
// *.safetensors). Pickled PyTorch weights (.bin, .pt, …) are never fetched: unpickling runs code.

import { HubError } from './hubErrors';
import type { FileSelector, RepoFileInfo } from './hubSnapshot';

export const PICKLE_WEIGHTS = /\.(bin|pt|pth|ckpt|pkl|pickle)$/i;
const INDEX = 'model.safetensors.index.json';
const OPTIONAL = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json'];

/** The files of the folder `folder` ('' = the root) that the engine loads a model from. */
export function modelFileSelector(where: string, folder: string): FileSelector {
	const prefix = folder ? `${folder}/` : '';
	return async (files, read) => {
		const here = new Map(files.filter((f) => f.path.startsWith(prefix)).map((f) => [f.path.slice(prefix.length), f]));
		if (!here.has('config.json')) {
			throw new HubError(`${where}: no config.json, so it is not a Hugging Face model checkpoint${describe(here)}`);
		}
		const wanted = ['config.json', ...OPTIONAL.filter((f) => here.has(f))];
		if (here.has(INDEX)) {
			let map: unknown;
			try {
				map = (JSON.parse((await read(prefix + INDEX)).toString('utf8')) as { weight_map?: unknown }).weight_map;
			} catch (e) {
				if (e instanceof HubError) throw e;
				throw new HubError(`${where}/${INDEX}: not valid JSON`);
			}
			if (typeof map !== 'object' || map === null) throw new HubError(`${where}/${INDEX}: no "weight_map" object`);
			const shards = [...new Set(Object.values(map as Record<string, unknown>))];
			for (const s of shards) {
				if (typeof s !== 'string' || s.split('/').some((p) => p === '' || p === '.' || p === '..') || s.includes('\\')) {
					throw new HubError(`${where}/${INDEX}: shard ${JSON.stringify(s)} is not a file name in the folder`);
				}
				if (!here.has(s)) throw new HubError(`${where}/${INDEX}: lists shard ${s}, which the repository does not have`);
			}
			wanted.push(INDEX, ...(shards as string[]).sort());
		} else {
			const shards = [...here.keys()].filter((f) => !f.includes('/') && f.endsWith('.safetensors')).sort();
			if (shards.length === 0) {
				const pickles = [...here.keys()].filter((f) => PICKLE_WEIGHTS.test(f));
				throw new HubError(
					pickles.length > 0
						? `${where}: has only PyTorch pickle weights (${pickles.slice(0, 3).join(', ')}), which Feature Lens never loads because unpickling can run code; use a revision or copy of the model with *.safetensors weights`
						: `${where}: no *.safetensors weights${describe(here)}`,
				);
			}
			wanted.push(...shards);
		}
		return wanted.map((f) => prefix + f);
	};
}

function describe(files: Map<string, RepoFileInfo>): string {
	const names = [...files.keys()].filter((f) => !f.includes('/'));
	return names.length === 0 ? ' (the folder is empty or missing)' : ` (it has ${names.slice(0, 6).join(', ')}${names.length > 6 ? ', …' : ''})`;
}
