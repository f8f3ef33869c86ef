// JumpReLU SAEs (Gemma Scope, Llama Scope, and BatchTopK SAEs once saved): f = pre · 1[pre > θ]
// with pre = W_encᵀ·x + b_enc and a per-feature threshold θ. Trained with an L0 penalty and
// straight-through threshold gradients (train/jumpreluStepGraph.ts), θ kept as log θ.

import * as ort from 'onnxruntime-node';
import { DataType } from '../../onnx/onnxProto';
import { JUMPRELU_PARAMS, buildJumpreluStepGraph } from '../train/jumpreluStepGraph';
import { f32Tensor } from '../saeChecks';
import { STEP_INPUTS } from '../train/stepGraphCommon';
import { B_DEC, B_ENC, W_DEC, W_ENC, featureColumns, featureEntries, warmUp } from './saeArchitecture';
import type { SaeArchitectureSpec, TensorSpec } from './saeArchitecture';

export const THRESHOLD: TensorSpec = { name: 'threshold', dims: ['d_sae'] };

export const jumprelu = {
	name: 'jumprelu',
	tensors: [W_ENC, B_ENC, W_DEC, B_DEC, THRESHOLD],
	encode: ({ b, weight }, saeIn) => {
		const pre = b.linear(saeIn, weight('W_enc'), weight('b_enc'));
		const open = b.cast(b.op('Greater', [pre, weight('threshold')]), DataType.FLOAT);
		return b.mul(b.op('Relu', [pre]), open);
	},
	encodeSelected: (g, saeIn, features) => {
		const { b } = g;
		const pre = b.linear(saeIn, featureColumns(g, 'W_enc', features), featureEntries(g, 'b_enc', features));
		return b.mul(b.op('Relu', [pre]), b.cast(b.op('Greater', [pre, featureEntries(g, 'threshold', features)]), DataType.FLOAT));
	},
	decoderInput: (_g, acts) => acts,
	training: {
		name: 'jumprelu',
		savedAs: 'jumprelu',
		params: JUMPRELU_PARAMS,
		unitDecoder: false,
		stepGraph: (config) => buildJumpreluStepGraph({ dIn: config.dIn, dSae: config.dSae, bandwidth: config.jumpreluBandwidth }),
		initialParams: (config) => ({ log_threshold: new Float32Array(config.dSae).fill(Math.log(config.jumpreluInitThreshold)) }),
		feeds: ({ config }, step) => ({
			[STEP_INPUTS.l0Coefficient]: new ort.Tensor('float32', Float32Array.of(config.l0Coefficient * warmUp(step, config.l0WarmupSteps)), []),
		}),
		afterStep: (state, out) => {
			state.threshold = out['new.threshold']!.data as Float32Array;
		},
		savedTensors: (state) => {
			if (!state.threshold) throw new Error('no training step has run, so the JumpReLU threshold is not known yet');
			return { threshold: f32Tensor(state.threshold, [state.config.dSae]) };
		},
	},
} satisfies SaeArchitectureSpec;
