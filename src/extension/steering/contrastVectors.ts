// The sidebar's contrast vector (mean activation on one text minus on another, at the SAE's
// hook) as the engine's VectorSteer. The engine computes it once per pair of texts and hook;
// only the strength changes between runs, so later runs reuse it. Free of `vscode`.

import { ContrastVectorRequest } from '../../protocol/steerProtocol';
import type { VectorSteer } from '../../protocol/steerProtocol';
import type { SteeringSetup } from '../../protocol/steeringViewMessages';
import type { EngineProcess } from '../engineProcess';

export class ContrastVectors {
	private readonly cache = new Map<string, Promise<number[]>>();

	/** `hookName` says where the loaded SAE reads (undefined: none loaded yet). */
	constructor(
		private readonly engine: Pick<EngineProcess, 'request'>,
		private readonly hookName: () => string | undefined,
	) {}

	/** Forget computed vectors, e.g. when another model or SAE loads. */
	clear(): void {
		this.cache.clear();
	}

	/** The setup's enabled contrast vector, computed by the engine (or from the cache); none when it is off. */
	async vectorsFor(setup: SteeringSetup): Promise<VectorSteer[]> {
		const c = setup.contrast;
		if (!c?.enabled) return [];
		const hookName = this.hookName();
		if (!hookName) throw new Error('load an SAE first: the contrast vector is taken at its hook');
		const key = JSON.stringify([hookName, c.positive, c.negative]);
		let vector = this.cache.get(key);
		if (!vector) {
			vector = this.engine.request(ContrastVectorRequest, { hookName, positive: c.positive, negative: c.negative }).then((r) => r.vector);
			vector.catch(() => this.cache.delete(key));
			this.cache.set(key, vector);
		}
		return [{ hookName, vector: await vector, strength: c.strength, label: 'contrast' }];
	}
}
