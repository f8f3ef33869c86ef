// ReLU SAEs ("standard" in SAELens): f = ReLU(W_encᵀ·x + b_enc). Trained with an L1 penalty
// weighted by each feature's decoder row norm (train/standardStepGraph.ts), as SAELens does.

import * as ort from 'onnxruntime-node';
import { buildStandardStepGraph } from '../train/standardStepGraph';
import { SAE_PARAMS, STEP_INPUTS } from '../train/stepGraphCommon';
import { B_DEC, B_ENC, W_DEC, W_ENC, featureColumns, featureEntries, warmUp } from './saeArchitecture';
import type { SaeArchitectureSpec } from './saeArchitecture';

export const standard = {
	name: 'standard',
	tensors: [W_ENC, B_ENC, W_DEC, B_DEC],
	encode: ({ b, weight }, saeIn) => b.op('Relu', [b.linear(saeIn, weight('W_enc'), weight('b_enc'))]),
	encodeSelected: (g, saeIn, features) => g.b.op('Relu', [g.b.linear(saeIn, featureColumns(g, 'W_enc', features), featureEntries(g, 'b_enc', features))]),
	decoderInput: (_g, acts) => acts,
	training: {
		name: 'standard',
		savedAs: 'standard',
		params: SAE_PARAMS,
		unitDecoder: false,
		stepGraph: (config) => buildStandardStepGraph({ dIn: config.dIn, dSae: config.dSae }),
		feeds: ({ config }, step) => ({
			[STEP_INPUTS.l1Coefficient]: new ort.Tensor('float32', Float32Array.of(config.l1Coefficient * warmUp(step, config.l1WarmupSteps)), []),
		}),
	},
} satisfies SaeArchitectureSpec;
