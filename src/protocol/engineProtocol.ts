// The typed JSON-RPC protocol between the extension host and the engine process, imported
// by both sides so a message and its payload can only change in one place.

import * as v from 'valibot';
import { NotificationType, RequestType, RequestType0 } from 'vscode-jsonrpc';
import { HubSettings } from './hubProtocol';
import { corpus, fields, finite, flag, integer, list, name, oneOf, probability, requestId, text, tokenCount, tokenId, withOneOf } from './schemaParts';

// Request parameters are valibot schemas and their types are inferred from them, so what the
// engine accepts (requestParams.ts checks every request against its schema) and what the host
// may send are one definition.

export const EXECUTION_PROVIDERS = ['auto', 'cpu', 'cuda'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

/** Most features per token an inspection keeps (the editor's setting allows 50). */
export const MAX_TOP_FEATURES = 1024;
/** Most new tokens one generation may ask for (the model's context stops it sooner). */
export const MAX_NEW_TOKENS = 1 << 20;
/** Widest SAE a training request may ask for (the largest published SAEs have 1M–16M latents). */
export const MAX_SAE_WIDTH = 1 << 24;

/** As a model, SAE or corpus: the embedded demo model, the SAE shipped with it, or its held-out corpus. */
export const DEMO = 'demo';

/** SAE architectures the engine runs, as SAELens names them in cfg.json `architecture`. */
export const SAE_ARCHITECTURES = ['standard', 'topk', 'jumprelu', 'gated'] as const;
export type SaeArchitecture = (typeof SAE_ARCHITECTURES)[number];

/** SAE architectures the engine trains; BatchTopK is saved as jumprelu with its running threshold, as SAELens saves it. */
export const TRAINABLE_SAE_ARCHITECTURES = ['topk', 'batchtopk', 'standard', 'jumprelu'] as const;
export type TrainableSaeArchitecture = (typeof TRAINABLE_SAE_ARCHITECTURES)[number];

/** The sparsity setting each trainable architecture takes: TopK's k (active latents), ReLU's L1 coefficient, JumpReLU's L0 coefficient. */
export const SPARSITY_SETTING: Readonly<Record<TrainableSaeArchitecture, 'k' | 'l1' | 'l0'>> = { topk: 'k', batchtopk: 'k', standard: 'l1', jumprelu: 'l0' };

export const InitializeParams = fields({
	executionProvider: oneOf(EXECUTION_PROVIDERS),
	/** Intra-op threads for onnxruntime; 0 = its default. */
	threads: integer(0, 1024),
	/**
	 * Absolute folder for what Feature Lens keeps between runs: labels, notes and analyses by SAE
	 * content hash, a refreshed SAE release registry. The extension's global storage, never the
	 * installed extension, so it survives updates.
	 */
	userDataDir: name('an absolute folder'),
	/** Hugging Face Hub settings over the environment's (the same as hub/configure sets later). */
	hub: v.optional(HubSettings),
});
export type InitializeParams = v.InferOutput<typeof InitializeParams>;

export interface InitializeResult {
	engineVersion: string;
	onnxruntimeVersion: string;
	pid: number;
}

export interface HookPointInfo {
	name: string;
	layer: number;
	shape: (number | string)[];
	residual: boolean;
}

export interface ModelInfo {
	/** `demo` or the checkpoint folder's name. */
	name: string;
	dir: string;
	modelType: string;
	nLayers: number;
	dModel: number;
	dVocab: number;
	nCtx: number;
	hookPoints: HookPointInfo[];
	hasTokenizer: boolean;
	/** Bytes the weights take in the engine's memory (float32). */
	weightBytes: number;
}

export const LoadModelParams = fields({
	/** A checkpoint folder, `demo`, or `hf:org/name[@rev][/folder]`. */
	model: name('a checkpoint folder, "demo" or an hf: reference'),
	/** Correlates `LoadModelProgressNotification`s (and a Hub download's `HubProgressNotification`s) with this request. */
	requestId: v.optional(requestId()),
});
export type LoadModelParams = v.InferOutput<typeof LoadModelParams>;

export const LoadSaeParams = fields({
	/** A folder or file in any supported SAE format, `hf:org/name[@rev]/folder`, `release:<release>/<sae id>`, or `demo` for the demo model's SAE. */
	path: name('an SAE folder or file, an hf: or a release: reference'),
	/** Correlates a Hub download's `HubProgressNotification`s with this request. */
	requestId: v.optional(requestId()),
});
export type LoadSaeParams = v.InferOutput<typeof LoadSaeParams>;

export interface LoadModelProgress {
	requestId: string;
	/** `reading`: the weights from the shards (cancellable); `packing`: onnxruntime widens and packs them (one step the engine waits on). */
	phase: 'reading' | 'packing';
	bytesDone: number;
	bytesTotal: number;
}

export interface TokenInfo {
	id: number;
	text: string;
	/** UTF-16 offsets into the request's text, end exclusive. */
	start: number;
	end: number;
}

export const RunParams = withOneOf(
	fields({
		text: v.optional(text()),
		ids: v.optional(list(tokenId(), Number.MAX_SAFE_INTEGER, 'a list of token ids')),
		hooks: list(name('a hook name'), 4096, 'a list of hook names'),
	}),
	'text',
	'ids',
);
export type RunParams = v.InferOutput<typeof RunParams>;

export interface HookTensor {
	/** Batch-free shape. */
	shape: number[];
	values: number[];
}

export interface RunResult {
	tokens: TokenInfo[];
	/** The `topK` most likely next tokens after the last position, most likely first. */
	nextTokens: { id: number; text: string; logit: number }[];
	hooks: Record<string, HookTensor>;
}

export const GenerateParams = withOneOf(
	fields({
		/** Correlates the streamed `GenerateTokenNotification`s with this request. */
		requestId: requestId(),
		prompt: v.optional(text()),
		ids: v.optional(list(tokenId(), Number.MAX_SAFE_INTEGER, 'a list of token ids')),
		maxNewTokens: integer(1, MAX_NEW_TOKENS),
		/** 0 (or absent) is greedy. */
		temperature: v.optional(finite(0)),
		/** Keep the k most likely tokens (0 = all). */
		topK: v.optional(integer(0)),
		topP: v.optional(probability()),
		seed: v.optional(integer(Number.MIN_SAFE_INTEGER)),
	}),
	'prompt',
	'ids',
);
export type GenerateParams = v.InferOutput<typeof GenerateParams>;

export interface GenerateResult {
	ids: number[];
	text: string;
	/** Why generation stopped. */
	stopReason: 'eos' | 'maxTokens' | 'context';
}

export interface SaeInfo {
	/** The folder or .npz file it was loaded from (for `hf:` and `release:` SAEs, in the Hub cache). */
	source: string;
	/** SHA-256 of the SAE's files: what the user's data about it (labels, analyses, steering presets) is kept under. */
	contentHash: string;
	architecture: SaeArchitecture;
	hookName: string;
	dIn: number;
	dSae: number;
	/** TopK's k, when it has one. */
	k?: number;
	/** Where the SAE says it was trained. */
	modelName?: string;
	/** Features firing on more than 10% of tokens (from sparsity.safetensors), which say little about a token. */
	denseFeatures: number[];
	/** Neuronpedia's id for the SAE (feature i is at https://www.neuronpedia.org/<id>/<i>), when it has one. */
	neuronpediaId?: string;
	/** A transcoder: it reads hookName and writes hookNameOut (dOut wide), with or without a skip term. */
	transcoder?: { hookNameOut: string; dOut: number; skip: boolean };
}

/** Where an SAE sits, for people: its hook, or a transcoder's "layer L transcoder: input → output". */
export function saeSite(sae: { hookName: string; transcoder?: { hookNameOut: string } }): string {
	if (!sae.transcoder) return sae.hookName;
	const layer = /^blocks\.(\d+)\./.exec(sae.hookName)?.[1];
	return `${layer === undefined ? '' : `layer ${layer} `}transcoder ${sae.hookName} → ${sae.transcoder.hookNameOut}`;
}

export const InspectParams = fields({
	text: text(),
	/** Strongest features kept per token. */
	topFeatures: integer(1, MAX_TOP_FEATURES),
	/** Correlates `InspectProgressNotification`s with this request. */
	requestId: requestId(),
});
export type InspectParams = v.InferOutput<typeof InspectParams>;

export interface InspectedTokenInfo extends TokenInfo {
	/** [featureIndex, activation], strongest first; only features that fired. */
	features: [number, number][];
}

export interface InspectResult {
	hookName: string;
	/** A transcoder's output hook (the features were read at hookName). */
	hookNameOut?: string;
	tokens: InspectedTokenInfo[];
	/** Labels (the user's, else the automatic one from a feature analysis) of the features that fired, by feature index. */
	labels: Record<number, string>;
}

export const TrainSaeParams = fields({
	/** Correlates `TrainProgressNotification`s with this request. */
	requestId: requestId(),
	hookName: name('a hook name'),
	/** A transcoder: the hook it writes (hookName is the one it reads), e.g. blocks.2.hook_mlp_out. */
	hookNameOut: v.optional(name('a hook name')),
	/** A skip transcoder (a trained linear skip term). */
	skip: v.optional(flag()),
	architecture: oneOf(TRAINABLE_SAE_ARCHITECTURES),
	dSae: integer(1, MAX_SAE_WIDTH),
	/** topk/batchtopk active latents; standard L1 and jumprelu L0 coefficients. */
	k: v.optional(integer(1, MAX_SAE_WIDTH)),
	l1: v.optional(finite(0)),
	l0: v.optional(finite(0)),
	tokens: tokenCount(),
	/** "demo", a folder or glob, a text/JSONL file, or an explicit list of files. */
	corpus: corpus(),
	/** Run folder; the SAE is saved here in SAELens format. */
	out: name('a run folder'),
	/** Continue from the run folder's checkpoint (which must exist). */
	resume: flag(),
	/** Start over in a folder that already holds a run, deleting its checkpoint and metrics. */
	overwrite: v.optional(flag()),
});
export type TrainSaeParams = v.InferOutput<typeof TrainSaeParams>;

export const EvaluateSaeParams = fields({
	/** "demo", a folder or glob, a text/JSONL file, or an explicit list of files. */
	corpus: corpus(),
	tokens: tokenCount(),
});
export type EvaluateSaeParams = v.InferOutput<typeof EvaluateSaeParams>;

export interface TrainStepMetrics {
	step: number;
	totalSteps: number;
	tokens: number;
	loss: number;
	mse: number;
	l0: number;
	explainedVariance: number;
	deadFraction: number;
	tokensPerSecond: number;
}

export interface TrainSaeResult {
	out: string;
	cancelled: boolean;
	steps: number;
	tokens: number;
	tokensPerSecond: number;
	final?: TrainStepMetrics;
}

export interface SaeEvalMetrics {
	tokens: number;
	l0: number;
	explainedVariance: number;
	ceLossScore: number;
	ceLossWithoutSae: number;
	ceLossWithSae: number;
	klDivScore: number;
	deadFraction: number;
}

export type EngineActivity = { state: 'idle' } | { state: 'busy'; what: string };

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** Host → engine, first message: sets session options and returns the engine's identity. */
export const InitializeRequest = new RequestType<InitializeParams, InitializeResult, void>('engine/initialize');

/** Host → engine: loads a checkpoint folder, `demo` or `hf:org/name[@rev][/folder]` (downloaded first, with HubProgressNotification) as the current model, replacing any other; reports progress and is cancellable. */
export const LoadModelRequest = new RequestType<LoadModelParams, ModelInfo, void>('model/load');

/** Engine → host: how far a model load has got, so a large model shows progress. */
export const LoadModelProgressNotification = new NotificationType<LoadModelProgress>('model/loadProgress');

/** Host → engine: runs text or ids through the current model and returns tokens, next-token guesses and hooks. */
export const RunRequest = new RequestType<RunParams, RunResult, void>('model/run');

/** Host → engine: generates from a prompt, streaming tokens by `GenerateTokenNotification`; cancellable. */
export const GenerateRequest = new RequestType<GenerateParams, GenerateResult, void>('model/generate');

/** Host → engine: loads an SAE (a folder or file in any supported format, `hf:` or `release:`; downloads are cancellable) for the current model, checking that it fits. */
export const LoadSaeRequest = new RequestType<LoadSaeParams, SaeInfo, void>('sae/load');

/** Host → engine: the strongest SAE features on every token of a text, in context windows; cancellable. */
export const InspectRequest = new RequestType<InspectParams, InspectResult, void>('sae/inspect');

/** Engine → host: tokens inspected so far, so long inspections show progress. */
export const InspectProgressNotification = new NotificationType<{ requestId: string; done: number; total: number }>('sae/inspectProgress');

/** Host → engine: trains an SAE on the current model's activations; cancellable, and a cancelled run resumes. */
export const TrainSaeRequest = new RequestType<TrainSaeParams, TrainSaeResult, void>('sae/train');

/** Engine → host: metrics after each training step (at most a few per second), for the training monitor. */
export const TrainProgressNotification = new NotificationType<{ requestId: string; metrics: TrainStepMetrics }>('sae/trainProgress');

/** Host → engine: evaluates the loaded SAE (L0, explained variance, CE-loss score, KL) on a corpus; cancellable. */
export const EvaluateSaeRequest = new RequestType<EvaluateSaeParams, SaeEvalMetrics, void>('sae/evaluate');

/** Host → engine: releases sessions so the process can exit cleanly. */
export const ShutdownRequest = new RequestType0<void, void>('engine/shutdown');

/** Engine → host: one generated token, so completions stream into the UI as they are produced. */
export const GenerateTokenNotification = new NotificationType<{ requestId: string; id: number; text: string }>('model/generateToken');

/** Engine → host: what the engine is doing, for the status-bar item. */
export const ActivityNotification = new NotificationType<EngineActivity>('engine/activity');

/** Engine → host: a log line for the Feature Lens output channel (stdout carries the protocol, so logs cannot go there). */
export const LogNotification = new NotificationType<{ level: LogLevel; message: string }>('engine/log');
