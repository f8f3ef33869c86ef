// Makes data/sae-releases.json, the shipped snapshot of SAELens's pretrained-SAE registry, from
// a copy of sae_lens/pretrained_saes.yaml, with the same conversion the refresh uses:
//
//   git -C <SAELens clone> show <commit>:sae_lens/pretrained_saes.yaml > /tmp/pretrained_saes.yaml
//   node --import tsx tools/releases/makeSaeReleases.ts /tmp/pretrained_saes.yaml \
//       --from "jbloomAus/SAELens sae_lens/pretrained_saes.yaml" --commit <commit> --version <sae_lens version> --date <commit date>

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { registryFromYaml } from '../../src/engine/hub/saeReleaseYaml';
import { writeRegistry } from '../../src/engine/hub/saeReleases';

const { values, positionals } = parseArgs({
	allowPositionals: true,
	options: { from: { type: 'string' }, commit: { type: 'string' }, version: { type: 'string' }, date: { type: 'string' }, out: { type: 'string' } },
});
const yamlFile = positionals[0];
if (!yamlFile || !values.from) throw new Error('usage: makeSaeReleases.ts <pretrained_saes.yaml> --from "<repository> <path>" [--commit C] [--version V] [--date D] [--out FILE]');
const out = values.out ?? path.join(__dirname, '..', '..', 'data', 'sae-releases.json');
const registry = registryFromYaml(
	fs.readFileSync(yamlFile, 'utf8'),
	{
		from: values.from,
		commit: values.commit,
		version: values.version,
		date: values.date,
		converted: new Date().toISOString().slice(0, 10),
	},
	yamlFile,
);
writeRegistry(out, registry);
const saes = Object.values(registry.releases).reduce((a, r) => a + r.saes.length, 0);
const withHook = Object.values(registry.releases).reduce((a, r) => a + r.saes.filter((s) => s.hook).length, 0);
process.stdout.write(`${out}: ${Object.keys(registry.releases).length} releases, ${saes} SAEs (${withHook} with a hook)\n`);
