// The CLI's side of the Hub: models and SAEs given as hf:… or release:… are fetched (with a
// progress line on stderr when it is a terminal) before they load (openModel.ts for models), and `feature-lens releases`
// lists or refreshes the SAE release registry.

import { formatBytes } from '../engine/io/systemMemory';
import { userDataDir } from '../engine/io/userDataDir';
import { hubEnvironment } from '../engine/hub/hubEnvironment';
import type { HubFetchProgress } from '../engine/hub/hubSnapshot';
import { loadSaeArgument, resolveModelArgument } from '../engine/hub/hubSources';
import type { SourceOptions } from '../engine/hub/hubSources';
import { refreshSaeReleases } from '../engine/hub/saeReleaseRefresh';
import { isLoadable, loadSaeReleases, releasesFor } from '../engine/hub/saeReleases';
import type { Sae } from '../engine/sae/saeTypes';
import type { CliValues } from './main';
import { CliError } from './cliErrors';

/** The Hub settings from the environment, progress on a terminal's stderr, and the registry folder. */
function sourceOptions(log: (m: string) => void): SourceOptions {
	return { env: hubEnvironment(), log, releasesDir: userDataDir(), onProgress: progressLine(process.stderr.isTTY === true) };
}

/** A model argument (folder, "demo" or hf:…) as a local folder, fetched if needed, and the model's name for hf:. */
export function resolveCliModel(arg: string, log: (m: string) => void): Promise<{ path: string; name?: string }> {
	return resolveModelArgument(arg, sourceOptions(log));
}

/** An SAE argument (folder, file, hf:… or release:…), fetched if needed, loaded. */
export function cliSae(arg: string, log: (m: string) => void): Promise<Sae> {
	return loadSaeArgument(arg, sourceOptions(log));
}

/** One self-overwriting line per download, at most five times a second. */
function progressLine(enabled: boolean): (p: HubFetchProgress) => void {
	let last = 0;
	let shown = false;
	return (p) => {
		if (!enabled) return;
		if (p.phase === 'done') {
			if (shown) process.stderr.write('\n');
			shown = false;
			return;
		}
		if (p.phase !== 'downloading' || p.filesTotal === 0) return;
		const now = Date.now();
		if (now - last < 200 && p.bytesDone < p.bytesTotal) return;
		last = now;
		shown = true;
		const pct = p.bytesTotal > 0 ? Math.floor((100 * p.bytesDone) / p.bytesTotal) : 100;
		process.stderr.write(
			`\r\x1b[K${p.ref}: ${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)} (${pct}%), file ${Math.min(p.filesDone + 1, p.filesTotal)} of ${p.filesTotal}${p.file ? ` ${p.file}` : ''}`,
		);
	};
}

/** `feature-lens releases [--model M] [--release R] [--json]` and `feature-lens releases --refresh SOURCE`. */
export async function releasesCommand(values: CliValues): Promise<void> {
	const dataDir = userDataDir();
	if (values.refresh !== undefined) {
		const log = (m: string) => process.stderr.write(`${m}\n`);
		const { registry, file } = await refreshSaeReleases(values.refresh, dataDir, { ...sourceOptions(log), env: hubEnvironment() });
		const n = Object.values(registry.releases);
		const summary = { file, releases: n.length, saes: n.reduce((a, r) => a + r.saes.length, 0) };
		process.stdout.write(values.json ? `${JSON.stringify(summary)}\n` : `${summary.releases} releases, ${summary.saes} SAEs from ${values.refresh}, stored in ${file}\n`);
		return;
	}
	const registry = loadSaeReleases(dataDir);
	let releases = releasesFor(registry, values.model);
	if (values.release !== undefined) {
		releases = releases.filter(([name]) => name === values.release);
		if (releases.length === 0) throw new CliError(`no release "${values.release}"${values.model ? ` for ${values.model}` : ''} (feature-lens releases lists them)`);
	}
	if (values.json) {
		process.stdout.write(`${JSON.stringify({ source: registry.source, releases: Object.fromEntries(releases) })}\n`);
		return;
	}
	const detail = values.release !== undefined;
	for (const [name, r] of releases) {
		const loadable = r.saes.filter((s) => isLoadable(r, s)).length;
		process.stdout.write(`${name}  ${r.repoId}  (${r.model}, ${r.saes.length} SAEs${loadable < r.saes.length ? `, ${loadable} loadable` : ''})\n`);
		if (!detail) continue;
		for (const s of r.saes) {
			const facts = [s.hook, s.width && `width ${s.width}`, s.l0 !== undefined && `L0 ${s.l0}`, s.neuronpedia && `neuronpedia ${s.neuronpedia}`, !isLoadable(r, s) && 'not loadable yet']
				.filter(Boolean)
				.join(', ');
			process.stdout.write(`  release:${name}/${s.id}${facts ? `  ${facts}` : ''}\n`);
		}
	}
	process.stderr.write(
		`registry: ${registry.source.from}${registry.source.commit ? ` @ ${registry.source.commit.slice(0, 8)}` : ''}, converted ${registry.source.converted}${detail ? '' : '; --release R lists its SAEs'}\n`,
	);
}
