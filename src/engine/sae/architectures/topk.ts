// TopK SAEs (OpenAI's recipe, SAELens "topk"): the k largest pre-activations per token, through a
// ReLU, all others 0. With rescale_acts_by_decoder_norm, SAELens ranks (and reports) the
// pre-activations times the decoder row norms and divides by them only when decoding. Trained
// with AuxK on dead latents and unit-norm decoder rows (train/topkStepGraph.ts).

import * as ort from 'onnxruntime-node';
import { DataType } from '../../onnx/onnxProto';
import type { GraphBuilder, Value } from '../../onnx/graphBuilder';
import { formatError, optBool } from '../saeChecks';
import { SAE_PARAMS, STEP_INPUTS } from '../train/stepGraphCommon';
import { buildTopkStepGraph } from '../train/topkStepGraph';
import type { TrainConfig } from '../train/saeTrainer';
import { B_DEC, B_ENC, W_DEC, W_ENC } from './saeArchitecture';
import type { SaeArchitectureSpec, SaeGraphContext, TrainerState } from './saeArchitecture';

const TOPK_ATTRIBUTES = { axis: { kind: 'int', value: -1 }, largest: { kind: 'int', value: 1 }, sorted: { kind: 'int', value: 0 } } as const;

export const topk = {
	name: 'topk',
	tensors: [W_ENC, B_ENC, W_DEC, B_DEC],
	config: {
		keys: ['k', 'rescale_acts_by_decoder_norm'],
		read: (raw, dSae, file) => {
			const { k } = raw;
			if (k === undefined || k === null) throw formatError(`${file}: architecture "topk" needs "k" (the number of active latents)`);
			if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > dSae) {
				throw formatError(`${file}: "k" must be a positive integer no larger than d_sae (${dSae}), got ${JSON.stringify(k)}`);
			}
			return { k, rescale_acts_by_decoder_norm: optBool(file, raw, 'rescale_acts_by_decoder_norm', false) };
		},
		check: (cfg, file) => {
			if (cfg.k === undefined || !Number.isInteger(cfg.k) || cfg.k < 1 || cfg.k > cfg.d_sae) {
				throw formatError(`${file}: topk SAE needs an integer k in 1..d_sae (${cfg.d_sae}), got ${String(cfg.k)}`);
			}
		},
		write: (cfg) => ({ k: cfg.k, rescale_acts_by_decoder_norm: cfg.rescale_acts_by_decoder_norm ?? false }),
	},
	encode: (g, saeIn) => {
		const { b, cfg } = g;
		const pre = preActivations(g, saeIn); // [..., d_sae]
		// Keep the k largest pre-activations per row (ReLU on the kept ones), zeros elsewhere.
		const [values, indices] = b.node('TopK', [pre, b.constInt64([cfg.k!])], TOPK_ATTRIBUTES, 2) as [Value, Value];
		return b.op('ScatterElements', [b.mul(pre, b.constFloat([0])), indices, b.op('Relu', [values])], { axis: { kind: 'int', value: -1 } });
	},
	encodeSelected: (g, saeIn, features) => {
		// Whether a feature is among the k largest needs every pre-activation: compare with the k-th.
		const { b, cfg } = g;
		const pre = preActivations(g, saeIn); // [..., d_sae]
		const [values] = b.node('TopK', [pre, b.constInt64([Math.min(cfg.k!, cfg.d_sae)])], TOPK_ATTRIBUTES, 2) as [Value, Value];
		const kth = b.op('ReduceMin', [values], { axes: { kind: 'ints', value: [-1] }, keepdims: { kind: 'int', value: 1 } }); // [..., 1]
		const selected = b.gather(pre, features, -1); // [..., n]
		// A tie with the k-th counts as selected.
		return b.mul(b.op('Relu', [selected]), b.cast(b.op('GreaterOrEqual', [selected, kth]), DataType.FLOAT));
	},
	decoderInput: ({ b, cfg, weight }, acts, features) => {
		if (!cfg.rescale_acts_by_decoder_norm) return acts;
		const norms = decoderRowNorms(b, weight); // [d_sae]
		return b.div(acts, features === undefined ? norms : b.gather(norms, features, 0));
	},
	maxActive: (cfg) => Math.min(cfg.k!, cfg.d_sae),
	training: {
		name: 'topk',
		savedAs: 'topk',
		params: SAE_PARAMS,
		unitDecoder: true,
		check: checkK,
		stepGraph: (config) => buildTopkStepGraph({ dIn: config.dIn, dSae: config.dSae, transcoder: config.transcoder, k: config.k, normalizeDecoder: true }),
		feeds: auxkFeeds,
		savedConfig: (config) => ({ k: config.k, rescale_acts_by_decoder_norm: false }),
	},
} satisfies SaeArchitectureSpec;

/** The encoder's pre-activations [..., d_sae], times the decoder row norms with rescale_acts_by_decoder_norm. */
function preActivations({ b, cfg, weight }: SaeGraphContext, saeIn: Value): Value {
	const pre = b.linear(saeIn, weight('W_enc'), weight('b_enc'));
	return cfg.rescale_acts_by_decoder_norm ? b.mul(pre, decoderRowNorms(b, weight)) : pre;
}

/** ‖W_dec[i]‖ for every feature, [d_sae]. */
function decoderRowNorms(b: GraphBuilder, weight: (name: string) => Value): Value {
	const wDec = weight('W_dec');
	return b.sqrt(b.op('ReduceSum', [b.mul(wDec, wDec), b.constInt64([1])], { keepdims: { kind: 'int', value: 0 } }));
}

/** TopK-family trainers keep k active latents per token (on average, for BatchTopK). */
export function checkK(config: TrainConfig): void {
	if (config.k < 1 || config.k > config.dSae) throw new Error(`k must be between 1 and d_sae (${config.dSae}), got ${config.k}`);
}

/** AuxK's step inputs (TopK and BatchTopK): the latents dead for the dead window, and how many of them each token uses. */
export function auxkFeeds(state: TrainerState): Record<string, ort.Tensor> {
	const { dIn, deadWindow, auxCoefficient } = state.config;
	const dead: bigint[] = [];
	state.stepsSinceFired.forEach((s, j) => {
		if (s >= deadWindow) dead.push(BigInt(j));
	});
	const kAuxHeuristic = Math.floor(dIn / 2);
	return {
		// With no dead latents AuxK is off (scale 0); one index keeps the graph's shapes valid.
		[STEP_INPUTS.deadIndices]: new ort.Tensor('int64', BigInt64Array.from(dead.length ? dead : [0n]), [Math.max(1, dead.length)]),
		[STEP_INPUTS.kAux]: new ort.Tensor('int64', BigInt64Array.of(BigInt(Math.max(1, Math.min(kAuxHeuristic, dead.length)))), [1]),
		[STEP_INPUTS.auxScale]: new ort.Tensor('float32', Float32Array.of(dead.length === 0 ? 0 : auxCoefficient * Math.min(dead.length / kAuxHeuristic, 1)), []),
	};
}
