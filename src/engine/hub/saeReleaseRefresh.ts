// Refreshing the SAE release registry. SAELens does not publish pretrained_saes.yaml on the
// Hub: it ships inside the sae-lens Python package and its Git repository. So a refresh reads
// a newer copy from where the user has one: a file (e.g. the pretrained_saes.yaml of an
// installed sae_lens, `python -c "import sae_lens, os; print(os.path.dirname(sae_lens.__file__))"`)
// or any Hub repository holding one (`hf:org/repo[@rev]/path/pretrained_saes.yaml`, fetched
// through the Hub client into the shared cache). It is converted as the shipped snapshot was
// and stored in Feature Lens's data folder, where it takes precedence over the snapshot.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { HubError } from './hubErrors';
import { isHubRef, parseHubRef } from './hubRef';
import { fetchRepoFiles } from './hubSnapshot';
import type { HubFetchOptions } from './hubSnapshot';
import { registryFromYaml } from './saeReleaseYaml';
import { RELEASES_FILENAME, writeRegistry } from './saeReleases';
import type { SaeReleaseRegistry } from './saeReleases';

export async function refreshSaeReleases(from: string, dataDir: string, options: HubFetchOptions): Promise<{ registry: SaeReleaseRegistry; file: string }> {
	let text: string;
	let commit: string | undefined;
	if (isHubRef(from)) {
		const ref = parseHubRef(from);
		if (!ref.path.endsWith('.yaml') && !ref.path.endsWith('.yml')) throw new HubError(`${from}: name the registry file in the repository (…/pretrained_saes.yaml)`);
		const got = await fetchRepoFiles(
			ref,
			async (files) => {
				if (!files.some((f) => f.path === ref.path)) throw new HubError(`${from}: no such file`);
				return [ref.path];
			},
			options,
		);
		text = fs.readFileSync(got.dir, 'utf8');
		commit = got.commit;
	} else {
		try {
			text = fs.readFileSync(path.resolve(from), 'utf8');
		} catch (e) {
			throw new HubError(`${from}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
		}
	}
	const registry = registryFromYaml(text, { from, commit, converted: new Date().toISOString().slice(0, 10) }, from);
	if (Object.keys(registry.releases).length === 0) throw new HubError(`${from}: no releases in it`);
	const file = path.join(dataDir, RELEASES_FILENAME);
	writeRegistry(file, registry);
	return { registry, file };
}
