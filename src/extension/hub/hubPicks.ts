// What the Hub commands show, from the engine's answers: the models the SAE releases cover (for
// "Open Model from Hub…"), releases and their SAEs as quick-pick items, a download's progress
// line, and the licence page in a gated model's error. No VS Code API here, so it is unit-tested.

import { HF_PREFIX } from '../../protocol/hubProtocol';
import type { HubProgress, ListSaeReleasesResult, SaeReleaseInfo, SaeReleaseSaeInfo } from '../../protocol/hubProtocol';

export interface PickItem {
	label: string;
	description?: string;
	detail?: string;
}

/** Hub repositories of the models the releases cover, with how many releases each has. */
export function modelCompletions(result: ListSaeReleasesResult): PickItem[] {
	const counts = new Map<string, number>();
	for (const r of result.releases) for (const id of r.modelRepoIds) counts.set(id, (counts.get(id) ?? 0) + 1);
	return [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([id, n]) => ({ label: id, description: `${n} SAE release${n === 1 ? '' : 's'}` }));
}

/** What the user typed as a model reference, `org/name[@rev][/folder]` with or without hf:, as an hf: reference (which the engine checks when it fetches). */
export function hubRefFromInput(text: string): string {
	const typed = text.trim();
	return typed.startsWith(HF_PREFIX) ? typed : `${HF_PREFIX}${typed}`;
}

export function releaseItems(result: ListSaeReleasesResult): (PickItem & { release: SaeReleaseInfo })[] {
	return result.releases.map((r) => {
		const loadable = r.saes.filter((s) => s.loadable).length;
		return { label: r.release, description: r.repoId, detail: `${r.saes.length} SAEs${loadable < r.saes.length ? `, ${loadable} loadable` : ''} · trained on ${r.model}`, release: r };
	});
}

/** The release's SAEs that the engine can load, by hook, then width, then L0. */
export function saeItems(release: SaeReleaseInfo): (PickItem & { sae: SaeReleaseSaeInfo })[] {
	return release.saes
		.filter((s) => s.loadable)
		.map((s) => ({
			label: s.id,
			description: [s.hookName, s.width !== undefined ? `width ${s.width}` : undefined, s.l0 !== undefined ? `L0 ${s.l0}` : undefined].filter(Boolean).join(' · '),
			...(s.neuronpediaId ? { detail: `Neuronpedia ${s.neuronpediaId}` } : {}),
			sae: s,
		}));
}

/** One line for a progress notification. */
export function progressText(p: HubProgress): string {
	if (p.phase === 'resolving') return `resolving ${p.ref}…`;
	if (p.phase === 'done') return 'done';
	if (p.filesTotal === 0) return 'everything is in the cache';
	return `${mb(p.bytesDone)} of ${mb(p.bytesTotal)} MB · file ${Math.min(p.filesDone + 1, p.filesTotal)} of ${p.filesTotal}${p.file ? ` (${p.file})` : ''}`;
}

function mb(bytes: number): string {
	return (bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0);
}

/** The page a gated model's error says to accept its licence at. */
export function licenceUrl(message: string): string | undefined {
	return /accept the licence at (\S+?)(?:[),.;]?(?:\s|$))/.exec(message)?.[1];
}
