// The registry of SAE architectures, keyed by their cfg.json name, and of the trainers, keyed
// by TrainSaeParams.architecture. Both are total over the protocol's lists, so a name added
// there without a file here does not compile.

import type { SaeArchitecture, TrainableSaeArchitecture } from '../../../protocol/engineProtocol';
import type { SaeArchitectureSpec, SaeTraining } from './saeArchitecture';
import { batchtopk } from './batchtopk';
import { gated } from './gated';
import { jumprelu } from './jumprelu';
import { standard } from './standard';
import { topk } from './topk';

const ARCHITECTURES: Readonly<Record<SaeArchitecture, SaeArchitectureSpec>> = { standard, topk, jumprelu, gated };

const TRAINERS: Readonly<Record<TrainableSaeArchitecture, SaeTraining>> = {
	topk: topk.training,
	batchtopk,
	standard: standard.training,
	jumprelu: jumprelu.training,
};

export function saeArchitecture(name: SaeArchitecture): SaeArchitectureSpec {
	return ARCHITECTURES[name];
}

/** Whether a cfg.json `architecture` value names an architecture the engine runs as it is. */
export function isSaeArchitecture(name: string): name is SaeArchitecture {
	return Object.hasOwn(ARCHITECTURES, name);
}

export function saeTraining(name: TrainableSaeArchitecture): SaeTraining {
	return TRAINERS[name];
}

/** Every cfg.json key some architecture owns (TopK's k, …): none may leak into another architecture's saved config. */
export function architectureConfigKeys(): string[] {
	return Object.values(ARCHITECTURES).flatMap((a) => a.config?.keys ?? []);
}
