// The contract an SAE architecture file fulfils, as models/architecture.ts is for model
// families: the tensors and cfg.json keys an SAE of the architecture has on disk, its encoder
// (all features, and only some, for steering), how its activations are decoded, and, where
// the engine trains it, its training step. Adding an architecture is one file implementing
// SaeArchitectureSpec (or, for one that is only trained, SaeTraining) and one line in
// saeArchitectures.ts; the format readers and writers, the inference and steering graphs and
// the trainer all go through this contract and name no architecture themselves.
//
// Shapes: `...` is any leading dimensions (rows, or batch and sequence); an encoder reads
// [..., d_in], features are [..., d_sae], and the decoder writes [..., d_out]: d_in for an SAE,
// the output hook's width for a transcoder (cfg.transcoder), whose W_dec and b_dec are given in
// d_out and which may add a skip term (W_SKIP, transcoder.ts). The graphs only ever multiply
// decoderInput(acts) by W_dec and add b_dec, so every architecture is also a transcoder.

import type * as ort from 'onnxruntime-node';
import type { GraphBuilder, Value } from '../../onnx/graphBuilder';
import type { SaeArchitecture, TrainableSaeArchitecture } from '../../../protocol/engineProtocol';
import type { SaeConfig, SaeTensor } from '../saeTypes';
import type { TrainConfig } from '../train/saeTrainer';

/** A config dimension a tensor's shape is given in. */
export type SaeDimension = 'd_in' | 'd_sae' | 'd_out';

/** A tensor an SAE needs, by SAELens name, and its shape in config dimensions. */
export interface TensorSpec {
	name: string;
	dims: readonly SaeDimension[];
}

export const W_ENC: TensorSpec = { name: 'W_enc', dims: ['d_in', 'd_sae'] };
export const B_ENC: TensorSpec = { name: 'b_enc', dims: ['d_sae'] };
export const W_DEC: TensorSpec = { name: 'W_dec', dims: ['d_sae', 'd_out'] };
export const B_DEC: TensorSpec = { name: 'b_dec', dims: ['d_out'] };
/** A skip transcoder's linear term, x · W_skipᵀ (SAELens and circuit-tracer orientation); not an architecture's own tensor. */
export const W_SKIP: TensorSpec = { name: 'W_skip', dims: ['d_out', 'd_in'] };

/** A config dimension's size: d_out is the transcoder's output width, or d_in for an SAE. */
export function dimensionSize(cfg: SaeConfig, d: SaeDimension): number {
	return d === 'd_out' ? (cfg.transcoder?.d_out ?? cfg.d_in) : cfg[d];
}

/** What an architecture's graph code builds with. */
export interface SaeGraphContext {
	b: GraphBuilder;
	cfg: SaeConfig;
	/** The SAE's weights as float32 graph values, by SAELens name (saeGraph.ts `saeWeights`). */
	weight: (name: string) => Value;
}

/** cfg.json keys only one architecture has (TopK's k), read and written as SAELens does. */
export interface ArchitectureConfig {
	readonly keys: readonly string[];
	/** The keys' values from a cfg.json object, checked; `file` names the file in SaeFormatErrors. */
	read(raw: Record<string, unknown>, dSae: number, file: string): Partial<SaeConfig>;
	/** Checks a config held in memory (e.g. a trained SAE's) before it is used or saved. */
	check(cfg: SaeConfig, file: string): void;
	/** The keys as SAELens's SAEConfig.to_dict writes them. */
	write(cfg: SaeConfig): Record<string, unknown>;
}

export interface SaeArchitectureSpec {
	/** As SAELens writes it in cfg.json `architecture`. */
	readonly name: SaeArchitecture;
	/** The tensors an SAE of this architecture needs, in the order they are written. */
	readonly tensors: readonly TensorSpec[];
	readonly config?: ArchitectureConfig;
	/** Feature activations [..., d_sae] from the encoder input [..., d_in] (after b_dec and normalization). */
	encode(g: SaeGraphContext, saeIn: Value): Value;
	/**
	 * The activations of `features` (int64 [n]) only, [..., n], equal to `encode`'s at those
	 * indices: what steering's clamp reads. A feature-local encoder reads n encoder columns.
	 */
	encodeSelected(g: SaeGraphContext, saeIn: Value, features: Value): Value;
	/**
	 * Decoding: what multiplies the rows of W_dec, from activations [..., d_sae] (or, with
	 * `features`, a change of those features' activations [..., n]); the reconstruction is
	 * decoderInput(acts) · W_dec + b_dec, as SAELens's decode. Identity unless the architecture
	 * scales its activations (TopK with rescale_acts_by_decoder_norm).
	 */
	decoderInput(g: SaeGraphContext, acts: Value, features?: Value): Value;
	/** The most features that fire on one token, when the architecture bounds it (TopK's k); the feature analysis then reads exactly those. */
	maxActive?(cfg: SaeConfig): number;
	/** How the engine trains this architecture, when it does (same name). */
	readonly training?: SaeTraining;
}

/** What a trainer keeps between steps that an architecture's own outputs update. */
export interface TrainerState {
	readonly config: TrainConfig;
	params: Record<string, Float32Array>;
	/** Steps since each latent last fired. */
	readonly stepsSinceFired: Uint32Array;
	/** JumpReLU: θ = exp(log_threshold) after the latest step. */
	threshold: Float32Array | undefined;
	/** BatchTopK: running mean of the smallest kept activation, saved as the JumpReLU threshold. */
	batchThreshold: number;
}

/** Per-architecture parts of training: one step graph (forward, closed-form backward, Adam) and its bookkeeping. */
export interface SaeTraining {
	/** TrainSaeParams.architecture. */
	readonly name: TrainableSaeArchitecture;
	/** The inference architecture the trained SAE is saved as (BatchTopK: jumprelu). */
	readonly savedAs: SaeArchitecture;
	/** The parameters the step graph updates, by SAELens training name. */
	readonly params: readonly string[];
	/** Decoder rows kept at unit norm (the TopK family); the others start at norm 0.1 (SAELens decoder_init_norm). */
	readonly unitDecoder: boolean;
	/** Checks the trainer configuration before anything runs. */
	check?(config: TrainConfig): void;
	stepGraph(config: TrainConfig): Buffer;
	/** Parameters beyond W_enc, b_enc, W_dec and b_dec, at their starting values. */
	initialParams?(config: TrainConfig): Record<string, Float32Array>;
	/** Step inputs only this architecture has, for 1-based step `step`. */
	feeds(state: TrainerState, step: number): Record<string, ort.Tensor>;
	/** Reads this architecture's own step outputs into the state. */
	afterStep?(state: TrainerState, out: ort.InferenceSession.OnnxValueMapType): void;
	/** The saved SAE's tensors beyond W_enc, b_enc, W_dec and b_dec (JumpReLU's threshold). */
	savedTensors?(state: TrainerState): Record<string, SaeTensor>;
	/** The saved SAE's architecture-specific config (TopK's k). */
	savedConfig?(config: TrainConfig): Partial<SaeConfig>;
}

/** Encoder columns of `features`: a [d_in, d_sae] weight gathered to [d_in, n]. */
export function featureColumns(g: SaeGraphContext, name: string, features: Value): Value {
	return g.b.gather(g.weight(name), features, 1);
}

/** Per-feature entries of `features`: a [d_sae] weight gathered to [n]. */
export function featureEntries(g: SaeGraphContext, name: string, features: Value): Value {
	return g.b.gather(g.weight(name), features, 0);
}

/** A coefficient's linear warm-up from 0 over `steps` steps (none when 0), at 1-based step `step`. */
export function warmUp(step: number, steps: number): number {
	return steps > 0 ? Math.min(1, step / steps) : 1;
}
