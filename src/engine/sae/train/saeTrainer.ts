// The SAE training loop: parameters and Adam moments live here between steps; each step is
// one run of the architecture's step graph. JS does bookkeeping only (batches, schedule,
// coefficient warm-up, dead-latent counts).

import * as ort from 'onnxruntime-node';
import { DataType } from '../../onnx/onnxProto';
import { GraphBuilder } from '../../onnx/graphBuilder';
import type { Value } from '../../onnx/graphBuilder';
import { createSession } from '../../onnx/session';
import type { SessionSettings } from '../../onnx/session';
import { TRAINING_VERSION } from '../../version';
import type { TrainableSaeArchitecture } from '../../../protocol/engineProtocol';
import { Cancelled } from '../../cancelled';
import { saeTraining } from '../architectures/saeArchitectures';
import type { SaeTraining, TrainerState } from '../architectures/saeArchitecture';
import type { Sae, SaeMetadata } from '../saeTypes';
import type { ActivationSource } from './activationSource';
import { stateNames } from './optimizerGraph';
import { STEP_INPUTS } from './stepGraphCommon';
import type { TranscoderShape } from './stepGraphCommon';
import { geometricMedian } from './geometricMedian';

export type TrainableArchitecture = TrainableSaeArchitecture;

export type BDecInit = 'geometric_median' | 'mean' | 'zeros';

export interface TrainConfig {
	architecture: TrainableArchitecture;
	dIn: number;
	dSae: number;
	/** topk: active latents per token; batchtopk: their mean over the batch. */
	k: number;
	/** batchtopk: rate of the running threshold (SAELens topk_threshold_lr). */
	topkThresholdLr: number;
	/** standard: L1 coefficient (SAELens l1_coefficient) and its linear warm-up in steps. */
	l1Coefficient: number;
	l1WarmupSteps: number;
	/** jumprelu: L0 coefficient and its warm-up, threshold initial value and kernel bandwidth (SAELens names). */
	l0Coefficient: number;
	l0WarmupSteps: number;
	jumpreluInitThreshold: number;
	jumpreluBandwidth: number;
	/** Tokens per step (SAELens train_batch_size_tokens, default 4096). */
	batchSize: number;
	lr: number;
	totalTokens: number;
	/** Linear warm-up from 0 over this many steps. */
	warmupSteps: number;
	/** Linear decay to `lr / 10` over this many final steps (SAELens lr_decay_steps). */
	decaySteps: number;
	/** AuxK coefficient (SAELens aux_loss_coefficient). */
	auxCoefficient: number;
	/** b_dec's starting point: the sample's geometric median (OpenAI TopK, pre-v6 SAELens), its mean, or zeros (SAELens v6). */
	bDecInit: BDecInit;
	/** A latent is dead after this many steps without firing (SAELens dead_feature_window). */
	deadWindow: number;
	seed: number;
	/**
	 * A transcoder: rows are [x_in | y_out], the encoder reads x_in (dIn wide) and the decoder
	 * reconstructs y_out (dOut wide), with a trained W_skip when `skip`.
	 */
	transcoder?: TranscoderShape;
}

/** The width of an activation row the trainer reads: d_in, or a transcoder's d_in + d_out. */
export function rowWidth(config: Pick<TrainConfig, 'dIn' | 'transcoder'>): number {
	return config.dIn + (config.transcoder?.dOut ?? 0);
}

export const TRAIN_DEFAULTS: Omit<TrainConfig, 'architecture' | 'dIn' | 'dSae' | 'totalTokens'> = {
	k: 32,
	topkThresholdLr: 0.01,
	l1Coefficient: 5,
	l1WarmupSteps: 0,
	l0Coefficient: 1,
	l0WarmupSteps: 0,
	jumpreluInitThreshold: 0.001,
	jumpreluBandwidth: 0.001,
	batchSize: 4096,
	lr: 3e-4,
	warmupSteps: 0,
	decaySteps: 0,
	auxCoefficient: 1,
	bDecInit: 'geometric_median',
	deadWindow: 1000,
	seed: 0,
};

export interface StepMetrics {
	step: number;
	tokens: number;
	loss: number;
	mse: number;
	/** AuxK loss (topk) or L1 penalty (standard). */
	sparsityLoss: number;
	l0: number;
	explainedVariance: number;
	deadFraction: number;
	gradNorm: number;
	lr: number;
	tokensPerSecond: number;
}

export class TrainingCancelled extends Cancelled {
	constructor() {
		super('training cancelled');
	}
}

export class SaeTrainer implements TrainerState {
	params: Record<string, Float32Array> = {};
	moments: Record<string, Float32Array> = {};
	/** Steps since each latent last fired. */
	stepsSinceFired: Uint32Array;
	step = 0;
	/** jumprelu: θ = exp(log_threshold) after the latest step. */
	threshold: Float32Array | undefined;
	/** batchtopk: running mean of the smallest kept activation, saved as the JumpReLU threshold. */
	batchThreshold = 0;

	/** What this architecture's training adds to the loop (architectures/). */
	private readonly training: SaeTraining;

	private constructor(
		readonly config: TrainConfig,
		private readonly session: ort.InferenceSession,
	) {
		this.stepsSinceFired = new Uint32Array(config.dSae);
		this.training = saeTraining(config.architecture);
	}

	/** The trained parameters, by SAELens training name. */
	get paramNames(): readonly string[] {
		return this.config.transcoder?.skip ? [...this.training.params, 'W_skip'] : this.training.params;
	}

	get totalSteps(): number {
		return Math.ceil(this.config.totalTokens / this.config.batchSize);
	}

	static async create(config: TrainConfig, settings: SessionSettings, log: (m: string) => void = () => {}): Promise<SaeTrainer> {
		const training = saeTraining(config.architecture);
		training.check?.(config);
		const graph = training.stepGraph(config);
		// A step's intermediates are hundreds of MB (e.g. TopK's [batch, k, d_in] gathered rows). Without
		// the memory pattern the arena holds what a step has live at its peak (1.75 GB RSS at d_in 768,
		// d_sae 12288, batch 4096, against 2.3 GB with it); without the arena too, RSS between steps
		// drops to 0.9 GB but every step page-faults its intermediates in again and runs 22% slower.
		const { session } = await createSession(graph, settings, log, { memoryPattern: false });
		return new SaeTrainer(config, session);
	}

	/**
	 * Initializes parameters: random decoder rows of norm 1 (topk and batchtopk, kept unit-norm)
	 * or 0.1 (standard and jumprelu, SAELens decoder_init_norm), encoder = decoderᵀ, zero encoder bias, and b_dec
	 * from a data sample as `bDecInit` says (computed by onnxruntime).
	 */
	async initialize(rows: Float32Array): Promise<void> {
		const { dIn, dSae: n, seed, transcoder } = this.config;
		// What the decoder reconstructs, from which b_dec starts: the rows, or a transcoder's y_out part.
		const d = transcoder?.dOut ?? dIn;
		const sample = transcoder ? targetColumns(rows, dIn, d) : rows;
		const b = new GraphBuilder('sae_init');
		const x = b.input('sample', DataType.FLOAT, ['S', d]);
		const unitRows = (r: number, c: number, s: number): Value => {
			const raw = b.op('RandomNormal', [], { shape: { kind: 'ints', value: [r, c] }, seed: { kind: 'float', value: s }, dtype: { kind: 'int', value: DataType.FLOAT } });
			return b.div(raw, b.sqrt(b.op('ReduceSum', [b.mul(raw, raw), b.constInt64([1])], { keepdims: { kind: 'int', value: 1 } })));
		};
		const wDec = b.mul(unitRows(n, d, seed), b.constFloat([this.training.unitDecoder ? 1 : 0.1]));
		b.output(wDec, DataType.FLOAT, [n, d], 'W_dec');
		// A transcoder's encoder reads another space than its decoder writes: its own random unit directions.
		b.output(transcoder ? b.transpose(unitRows(n, dIn, seed + 1), [1, 0]) : b.transpose(wDec, [1, 0]), DataType.FLOAT, [dIn, n], 'W_enc');
		b.output(b.op('ReduceMean', [x], { axes: { kind: 'ints', value: [0] }, keepdims: { kind: 'int', value: 0 } }), DataType.FLOAT, [d], 'b_dec');
		const init = await ort.InferenceSession.create(b.build());
		const out = await init.run({ sample: new ort.Tensor('float32', sample, [sample.length / d, d]) });
		await init.release();
		const bDec = this.config.bDecInit === 'zeros' ? new Float32Array(d) : this.config.bDecInit === 'mean' ? (out.b_dec!.data as Float32Array) : (await geometricMedian(sample, d)).median;
		this.params = {
			W_enc: out.W_enc!.data as Float32Array,
			b_enc: new Float32Array(n),
			W_dec: out.W_dec!.data as Float32Array,
			b_dec: bDec,
			...this.training.initialParams?.(this.config),
			// SAELens's SkipTranscoder starts its skip connection at zero.
			...(transcoder?.skip ? { W_skip: new Float32Array(d * dIn) } : {}),
		};
		this.moments = {};
		for (const p of this.paramNames) {
			this.moments[stateNames(p).m] = new Float32Array(this.params[p]!.length);
			this.moments[stateNames(p).v] = new Float32Array(this.params[p]!.length);
		}
		this.stepsSinceFired.fill(0);
		this.step = 0;
	}

	learningRate(step: number): number {
		const { lr, warmupSteps, decaySteps } = this.config;
		if (step <= warmupSteps) return (lr * step) / Math.max(1, warmupSteps);
		const decayStart = this.totalSteps - decaySteps;
		if (decaySteps > 0 && step > decayStart) return lr - ((lr - lr / 10) * (step - decayStart)) / decaySteps;
		return lr;
	}

	/** Runs steps until the token budget is spent, reporting metrics after each step. */
	async train(
		source: ActivationSource,
		options: {
			signal?: AbortSignal;
			onStep?: (m: StepMetrics) => void | Promise<void>;
			/** Tokens each latent fired on in the step, for density statistics. */
			onFireCounts?: (counts: Float32Array) => void;
			/** Update parameters and moments in their own arrays (default) rather than double-buffered ones. */
			inPlace?: boolean;
		} = {},
	): Promise<void> {
		const { dIn, dSae: n, batchSize: B, transcoder } = this.config;
		const d = rowWidth(this.config);
		const dOut = transcoder?.dOut ?? dIn;
		if (source.dIn !== d) throw new Error(`activations have width ${source.dIn}, the ${transcoder ? `transcoder expects d_in + d_out = ${dIn} + ${dOut}` : `SAE expects d_in ${d}`}`);
		const x = new Float32Array(B * d);
		const dims: Record<string, number[]> = { W_enc: [dIn, n], b_enc: [n], W_dec: [n, dOut], b_dec: [dOut], log_threshold: [n], W_skip: [dOut, dIn] };
		// onnxruntime writes the new parameters and moments straight into preallocated outputs, so a
		// step allocates no parameter-sized arrays. By default the outputs are the input arrays
		// themselves: every read of a parameter or moment is an ancestor of the clipped gradients,
		// which every update waits for, so nothing reads an input after its new value is written
		// (the sequential executor runs nodes in that order). `inPlace: false` double-buffers instead.
		const inPlace = options.inPlace ?? true;
		const spare: Record<string, Float32Array> = {};
		const fetches: Record<string, ort.Tensor | null> = Object.fromEntries(this.session.outputNames.map((o) => [o, null]));
		const bindOutputs = (): void => {
			for (const p of this.paramNames) {
				const { m, v, newParam, newM, newV } = stateNames(p);
				for (const [state, output, current] of [
					[p, newParam, this.params[p]!],
					[m, newM, this.moments[m]!],
					[v, newV, this.moments[v]!],
				] as const) {
					if (!inPlace) spare[state] ??= new Float32Array(current.length);
					fetches[output] = new ort.Tensor('float32', inPlace ? current : spare[state]!, dims[p]);
				}
			}
		};
		bindOutputs();
		while (this.step < this.totalSteps) {
			if (options.signal?.aborted) throw new TrainingCancelled();
			const t0 = performance.now();
			await source.next(B, x);
			const step = this.step + 1;
			const lr = this.learningRate(step);
			const feeds: Record<string, ort.Tensor> = {
				[STEP_INPUTS.x]: new ort.Tensor('float32', x, [B, d]),
				[STEP_INPUTS.step]: new ort.Tensor('float32', Float32Array.of(step), []),
				[STEP_INPUTS.lr]: new ort.Tensor('float32', Float32Array.of(lr), []),
				...this.training.feeds(this, step),
			};
			for (const p of this.paramNames) {
				feeds[p] = new ort.Tensor('float32', this.params[p]!, dims[p]);
				feeds[stateNames(p).m] = new ort.Tensor('float32', this.moments[stateNames(p).m]!, dims[p]);
				feeds[stateNames(p).v] = new ort.Tensor('float32', this.moments[stateNames(p).v]!, dims[p]);
			}
			const out = await this.session.run(feeds, fetches);
			this.training.afterStep?.(this, out);
			if (!inPlace) {
				for (const p of this.paramNames) {
					const { m, v } = stateNames(p);
					[this.params[p], spare[p]] = [spare[p]!, this.params[p]!];
					[this.moments[m], spare[m]] = [spare[m]!, this.moments[m]!];
					[this.moments[v], spare[v]] = [spare[v]!, this.moments[v]!];
				}
				bindOutputs();
			}
			const fired = out.fire_counts!.data as Float32Array;
			options.onFireCounts?.(fired);
			let deadAfter = 0;
			for (let j = 0; j < n; j++) {
				this.stepsSinceFired[j] = fired[j]! > 0 ? 0 : this.stepsSinceFired[j]! + 1;
				if (this.stepsSinceFired[j]! >= this.config.deadWindow) deadAfter++;
			}
			this.step = step;
			const scalar = (name: string): number => (out[name]!.data as Float32Array)[0]!;
			await options.onStep?.({
				step,
				tokens: step * B,
				loss: scalar('loss'),
				mse: scalar('mse'),
				sparsityLoss: scalar('sparsity_loss'),
				l0: scalar('l0'),
				explainedVariance: scalar('explained_variance'),
				deadFraction: deadAfter / n,
				gradNorm: scalar('grad_norm'),
				lr,
				tokensPerSecond: B / ((performance.now() - t0) / 1000),
			});
		}
	}

	/** The trained SAE in SAELens's inference layout (as the architecture it is saved as). */
	toSae(metadata: SaeMetadata, source = 'training run'): Sae {
		const { dIn: d, dSae: n, transcoder } = this.config;
		const dOut = transcoder?.dOut ?? d;
		const t = (a: Float32Array, shape: number[]) => ({ dtype: 'F32' as const, shape, data: Buffer.from(a.buffer, a.byteOffset, a.byteLength) });
		const weights: Sae['weights'] = {
			W_enc: t(this.params.W_enc!, [d, n]),
			b_enc: t(this.params.b_enc!, [n]),
			W_dec: t(this.params.W_dec!, [n, dOut]),
			b_dec: t(this.params.b_dec!, [dOut]),
			...(transcoder?.skip ? { W_skip: t(this.params.W_skip!, [dOut, d]) } : {}),
			...this.training.savedTensors?.(this),
		};
		// The output hook travels in the metadata to here; SAELens keeps it at the top level of cfg.json.
		const { hook_name_out: hookNameOut, ...ownMetadata } = metadata;
		if (transcoder && typeof hookNameOut !== 'string') throw new Error('internal: a trained transcoder needs metadata.hook_name_out');
		return {
			source,
			cfg: {
				d_in: d,
				d_sae: n,
				dtype: 'float32',
				architecture: this.training.savedAs,
				apply_b_dec_to_input: !transcoder,
				normalize_activations: 'none',
				reshape_activations: 'none',
				// SAELens 6 records which trainer made an SAE; ours says it was Feature Lens.
				metadata: { ...ownMetadata, sae_lens_training_version: TRAINING_VERSION },
				...this.training.savedConfig?.(this.config),
				...(transcoder ? { transcoder: { d_out: dOut, hook_name_out: String(hookNameOut), skip: transcoder.skip } } : {}),
			},
			weights,
			rawConfig: {},
		};
	}

	async dispose(): Promise<void> {
		await this.session.release();
	}
}

/** The y_out columns [rows, d_out] of transcoder rows [rows, d_in + d_out]. */
function targetColumns(rows: Float32Array, dIn: number, dOut: number): Float32Array {
	const w = dIn + dOut;
	const n = rows.length / w;
	const out = new Float32Array(n * dOut);
	for (let r = 0; r < n; r++) out.set(rows.subarray(r * w + dIn, (r + 1) * w), r * dOut);
	return out;
}
