// Named steering presets, kept per SAE in a key-value store (the host passes
// ExtensionContext.globalState, so a preset follows its SAE across workspaces and updates).
// They are keyed by the SAE's content hash, not its path: the demo SAE's path changes with
// every update of the extension. Presets saved by path (development builds) are still listed,
// and move under the hash at the next change. Stored values are read back through the same
// checks as webview input: a preset written by an older version or edited by hand is skipped,
// never trusted. Free of `vscode`, unit-tested.

import { STEERING_LIMITS } from '../../protocol/steeringViewMessages';
import type { SteeringPreset, SteeringSetup } from '../../protocol/steeringViewMessages';
import { parseSetup } from '../../protocol/steeringSetup';

/** The part of vscode.Memento the presets use. */
export interface KeyValueStore {
	get<T>(key: string): T | undefined;
	update(key: string, value: unknown): PromiseLike<void>;
}

export const PRESETS_KEY = 'featureLens.steering.presets';

/** A preset as stored: the setup plus its name and time, as plain JSON. */
export function serializePreset(name: string, setup: SteeringSetup, savedAt: number): SteeringPreset {
	const error = presetNameError(name);
	if (error) throw new Error(error);
	return { name: name.trim(), savedAt, positions: setup.positions, entries: setup.entries.map((e) => ({ ...e })) };
}

/** A stored preset, or undefined when the value is not one. */
export function parsePreset(value: unknown): SteeringPreset | undefined {
	if (typeof value !== 'object' || value === null) return undefined;
	const v = value as Record<string, unknown>;
	const name = v['name'];
	if (typeof name !== 'string' || presetNameError(name)) return undefined;
	const setup = parseSetup(v);
	if (!setup) return undefined;
	const savedAt = typeof v['savedAt'] === 'number' && Number.isFinite(v['savedAt']) ? v['savedAt'] : 0;
	return { name: name.trim(), savedAt, ...setup };
}

/** Why a preset name is unusable, or undefined when it is fine. */
export function presetNameError(name: string): string | undefined {
	const n = name.trim();
	if (!n) return 'give the preset a name';
	if (n.length > STEERING_LIMITS.presetName) return `a preset name has at most ${STEERING_LIMITS.presetName} characters`;
	return undefined;
}

/** Which SAE presets belong to (SaeInfo has both). */
export interface PresetOwner {
	contentHash: string;
	source: string;
}

export class PresetStore {
	constructor(private readonly store: KeyValueStore) {}

	/** The SAE's presets, newest first (malformed stored entries are left out). */
	list(sae: PresetOwner): SteeringPreset[] {
		const all = this.all();
		const raw = all[sae.contentHash] ?? all[sae.source];
		if (!Array.isArray(raw)) return [];
		return raw
			.map(parsePreset)
			.filter((p): p is SteeringPreset => p !== undefined)
			.sort((a, b) => b.savedAt - a.savedAt);
	}

	get(sae: PresetOwner, name: string): SteeringPreset | undefined {
		return this.list(sae).find((p) => p.name === name.trim());
	}

	/** Saves (or replaces) a preset for the SAE. */
	async save(sae: PresetOwner, name: string, setup: SteeringSetup, savedAt = Date.now()): Promise<SteeringPreset> {
		const preset = serializePreset(name, setup, savedAt);
		await this.write(sae, [...this.list(sae).filter((p) => p.name !== preset.name), preset]);
		return preset;
	}

	/** Removes a preset; true when there was one. */
	async remove(sae: PresetOwner, name: string): Promise<boolean> {
		const before = this.list(sae);
		const after = before.filter((p) => p.name !== name.trim());
		if (after.length === before.length) return false;
		await this.write(sae, after);
		return true;
	}

	private async write(sae: PresetOwner, presets: SteeringPreset[]): Promise<void> {
		const all = this.all();
		// Presets kept by path move under the hash.
		if (sae.source !== sae.contentHash) delete all[sae.source];
		if (presets.length) all[sae.contentHash] = presets;
		else delete all[sae.contentHash];
		await this.store.update(PRESETS_KEY, all);
	}

	private all(): Record<string, unknown> {
		const stored = this.store.get<unknown>(PRESETS_KEY);
		return typeof stored === 'object' && stored !== null && !Array.isArray(stored) ? { ...(stored as Record<string, unknown>) } : {};
	}
}
