// `npm run package [-- TARGET…] [--out DIR] [--version V]`: the platform packages (all five by
// default) as .vsix files in DIR (default out/packages), with their sizes.

import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { NATIVE_TARGETS } from '../../src/engine/nativePlatform';
import type { NativeTarget } from '../../src/engine/nativePlatform';
import { buildPackages } from './buildPackages';
import { REPO_ROOT } from './stageNatives';

const { values, positionals } = parseArgs({ options: { out: { type: 'string' }, version: { type: 'string' } }, allowPositionals: true });
const unknown = positionals.filter((t) => !(NATIVE_TARGETS as readonly string[]).includes(t));
if (unknown.length) {
	process.stderr.write(`package: unknown target ${unknown.join(', ')} (targets: ${NATIVE_TARGETS.join(', ')})\n`);
	process.exit(2);
}
const targets = positionals.length ? (positionals as NativeTarget[]) : NATIVE_TARGETS;
buildPackages({ targets, outDir: values.out ?? path.join(REPO_ROOT, 'out', 'packages'), version: values.version, log: (m) => process.stdout.write(`${m}\n`) }).catch((err: unknown) => {
	process.stderr.write(`package: ${err instanceof Error ? err.message : String(err)}\n`);
	process.exitCode = 1;
});
