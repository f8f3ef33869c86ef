// Which files of a Hub repository folder make an SAE, by the layouts the SAE readers know
// (sae/saeFormat.ts SAE_LAYOUTS): only that SAE's files are fetched, never the rest of a release.

import { GEMMA_SCOPE_2_CONFIG, GEMMA_SCOPE_2_FILENAME } from '../sae/gemmaScope2Format';
import { GEMMA_SCOPE_FILENAME } from '../sae/gemmaScopeFormat';
import { SAE_LAYOUTS, SAE_LAYOUTS_TEXT } from '../sae/saeFormat';
import { HubError } from './hubErrors';
import type { FileSelector } from './hubSnapshot';
import { PICKLE_WEIGHTS } from './modelFiles';

/** The SAE at `pathInRepo` (a folder, or a params.npz / params.safetensors file). */
export function saeFileSelector(where: string, pathInRepo: string): FileSelector {
	return async (files) => {
		const paths = new Set(files.map((f) => f.path));
		const base = pathInRepo.slice(pathInRepo.lastIndexOf('/') + 1);
		const parent = pathInRepo.includes('/') ? pathInRepo.slice(0, pathInRepo.lastIndexOf('/')) : '';
		if (paths.has(pathInRepo)) {
			if (base === GEMMA_SCOPE_FILENAME || base.endsWith('.npz')) return [pathInRepo];
			if (base === GEMMA_SCOPE_2_FILENAME) {
				const config = parent ? `${parent}/${GEMMA_SCOPE_2_CONFIG}` : GEMMA_SCOPE_2_CONFIG;
				return paths.has(config) ? [pathInRepo, config] : [pathInRepo];
			}
		}
		const folder = paths.has(pathInRepo) ? parent : pathInRepo;
		const prefix = folder ? `${folder}/` : '';
		for (const layout of SAE_LAYOUTS) {
			if (!paths.has(prefix + layout.marker)) continue;
			const missing = layout.required.filter((f) => !paths.has(prefix + f));
			if (missing.length > 0) throw new HubError(`${where}: a ${layout.format} SAE without ${missing.join(', ')}`);
			return [...layout.required, ...layout.optional.filter((f) => paths.has(prefix + f))].map((f) => prefix + f);
		}
		const here = [...paths].filter((p) => p.startsWith(prefix)).map((p) => p.slice(prefix.length));
		const pickles = here.filter((p) => PICKLE_WEIGHTS.test(p));
		if (pickles.length > 0) {
			throw new HubError(`${where}: has only PyTorch pickle weights (${pickles.slice(0, 3).join(', ')}), which Feature Lens never loads because unpickling can run code`);
		}
		throw new HubError(`${where}: no SAE there (expected ${SAE_LAYOUTS_TEXT}${here.length ? `; it has ${here.slice(0, 6).join(', ')}${here.length > 6 ? ', …' : ''}` : ''})`);
	};
}
