// The SAEs a steering spec names by path beside the loaded one (`FeatureSteer.sae`): an
// attribution graph's pins are features of several layers' transcoders, steered together. Each is
// loaded once and kept for the next request (a few, least recently used first out), because a
// steering panel sends the same spec again with other strengths; all go with the model.

import type { SteerSpec } from '../../protocol/steerProtocol';
import type { SaeRunner } from '../sae/saeRunner';

/** SAEs kept loaded between requests (a Gemma-2-2B transcoder is ~300 MB in float32). */
const KEEP = 4;

export class SteeringSaes {
	/** By path, least recently used first. */
	private readonly runners = new Map<string, SaeRunner>();

	constructor(
		/** Loads the SAE at `path` for the current model (checks that it fits the model). */
		private readonly load: (path: string, signal: AbortSignal) => Promise<SaeRunner>,
		/** Frees what the model holds for a runner (its steering subgraphs) before it is disposed. */
		private readonly release: (runner: SaeRunner) => Promise<void>,
		private readonly keep = KEEP,
	) {}

	/** The runners of every `sae` the spec names (the loaded SAE's own runner where `sae` is its source). */
	async resolve(specs: readonly SteerSpec[], loaded: SaeRunner | undefined, signal: AbortSignal): Promise<Map<string, SaeRunner>> {
		const paths = new Set(specs.flatMap((s) => s.features.flatMap((f) => (f.sae === undefined ? [] : [f.sae]))));
		const out = new Map<string, SaeRunner>();
		for (const path of paths) {
			if (loaded && loaded.sae.source === path) {
				out.set(path, loaded);
				continue;
			}
			let runner = this.runners.get(path);
			if (runner) this.runners.delete(path);
			else runner = await this.load(path, signal);
			this.runners.set(path, runner); // most recently used last
			out.set(path, runner);
		}
		// Past the budget, the least recently used go, but never one this request uses.
		for (const [path, runner] of this.runners) {
			if (this.runners.size <= Math.max(this.keep, out.size)) break;
			if (out.has(path)) continue;
			this.runners.delete(path);
			await this.release(runner);
			await runner.dispose();
		}
		return out;
	}

	/** How many are loaded now. */
	get size(): number {
		return this.runners.size;
	}

	/** Drops them all (the model changes). */
	async clear(): Promise<void> {
		const all = [...this.runners.values()];
		this.runners.clear();
		for (const runner of all) {
			await this.release(runner);
			await runner.dispose();
		}
	}
}
