// BatchTopK (Bussmann et al. 2024): trained like TopK, but the k·B largest activations of the
// whole batch are kept, so tokens use k latents on average (train/batchtopkStepGraph.ts). As
// SAELens does, the trained SAE is saved as JumpReLU whose threshold is the running mean of the
// smallest kept activation; so BatchTopK is only a trainer here, with no inference of its own.

import { f32Tensor } from '../saeChecks';
import { buildBatchtopkStepGraph } from '../train/batchtopkStepGraph';
import { SAE_PARAMS } from '../train/stepGraphCommon';
import type { SaeTraining } from './saeArchitecture';
import { auxkFeeds, checkK } from './topk';

export const batchtopk: SaeTraining = {
	name: 'batchtopk',
	savedAs: 'jumprelu',
	params: SAE_PARAMS,
	unitDecoder: true,
	check: checkK,
	stepGraph: (config) => buildBatchtopkStepGraph({ dIn: config.dIn, dSae: config.dSae, k: config.k }),
	feeds: auxkFeeds,
	afterStep: (state, out) => {
		const minActive = (out['min_active']!.data as Float32Array)[0]!;
		const rate = state.config.topkThresholdLr;
		if (Number.isFinite(minActive)) state.batchThreshold = (1 - rate) * state.batchThreshold + rate * minActive;
	},
	savedTensors: (state) => ({ threshold: f32Tensor(new Float32Array(state.config.dSae).fill(state.batchThreshold), [state.config.dSae]) }),
};
