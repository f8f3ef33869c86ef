// What a training request means, shared by the CLI and the engine server: the trainer
// configuration a request implies (SAELens-style schedule) and the activation source and
// SAELens metadata for a model, hook and corpus.

import { SPARSITY_SETTING, TRAINABLE_SAE_ARCHITECTURES } from '../../../protocol/engineProtocol';
import { ModelConfigError } from '../../models/decoderConfig';
import type { LanguageModel } from '../../models/languageModel';
import type { SaeMetadata } from '../saeTypes';
import type { ActivationSource } from './activationSource';
import { ModelActivationStore } from './activationStore';
import { corpusDocuments, corpusFromFiles } from './corpus';
import { TRAIN_DEFAULTS } from './saeTrainer';
import type { BDecInit, TrainConfig, TrainableArchitecture } from './saeTrainer';
import type { TranscoderShape } from './stepGraphCommon';

export interface TrainingRequestOptions {
	architecture: TrainableArchitecture;
	dSae: number;
	tokens: number;
	k?: number;
	l1?: number;
	l0?: number;
	batchSize?: number;
	lr?: number;
	seed?: number;
	bDecInit?: BDecInit;
	/** A transcoder: its output width, and whether it has a skip term. */
	transcoder?: TranscoderShape;
}

/** The trainer configuration: SAELens-style 5% warm-up, linear decay over the last 20%. */
export function trainConfigFor(o: TrainingRequestOptions, dIn: number): TrainConfig {
	if (!(TRAINABLE_SAE_ARCHITECTURES as readonly string[]).includes(o.architecture)) throw new ModelConfigError(`architecture ${o.architecture}: choose ${TRAINABLE_SAE_ARCHITECTURES.join(', ')}`);
	const batchSize = o.batchSize ?? TRAIN_DEFAULTS.batchSize;
	const steps = Math.ceil(o.tokens / batchSize);
	const config: TrainConfig = {
		...TRAIN_DEFAULTS,
		architecture: o.architecture,
		dIn,
		dSae: o.dSae,
		k: o.k ?? TRAIN_DEFAULTS.k,
		batchSize,
		totalTokens: o.tokens,
		l1Coefficient: o.l1 ?? TRAIN_DEFAULTS.l1Coefficient,
		l1WarmupSteps: Math.floor(steps * 0.05),
		l0Coefficient: o.l0 ?? TRAIN_DEFAULTS.l0Coefficient,
		l0WarmupSteps: Math.floor(steps * 0.05),
		lr: o.lr ?? TRAIN_DEFAULTS.lr,
		warmupSteps: Math.floor(steps * 0.05),
		decaySteps: Math.floor(steps * 0.2),
		deadWindow: Math.min(TRAIN_DEFAULTS.deadWindow, Math.max(10, Math.floor(steps / 4))),
		seed: o.seed ?? 0,
		bDecInit: o.bDecInit ?? TRAIN_DEFAULTS.bDecInit,
		...(o.transcoder ? { transcoder: o.transcoder } : {}),
	};
	if (o.transcoder) checkTranscoderTraining(config);
	if (SPARSITY_SETTING[o.architecture] === 'k' && config.k > o.dSae) {
		throw new ModelConfigError(`k ${config.k} is larger than d_sae ${o.dSae}`);
	}
	return config;
}

/**
 * Transcoders are saved in SAELens's layout, which has ReLU (with or without skip) and JumpReLU
 * transcoders: TopK ones (no SAELens architecture) and skip JumpReLU ones are refused up front.
 */
function checkTranscoderTraining(config: TrainConfig): void {
	const savedAs = config.architecture === 'batchtopk' ? 'jumprelu' : config.architecture;
	if (savedAs === 'topk') throw new ModelConfigError('a TopK transcoder has no SAELens architecture to be saved as; train batchtopk (k active on average, saved as jumprelu_transcoder) or standard');
	if (savedAs === 'jumprelu' && config.transcoder?.skip)
		throw new ModelConfigError(`SAELens has no skip JumpReLU transcoder; train a skip transcoder as standard (skip_transcoder), or ${config.architecture} without --skip`);
}

export interface ModelSourceOptions {
	hookName: string;
	/** A transcoder's output hook (rows are [hookName | hookNameOut]). */
	hookNameOut?: string;
	/** A corpus argument ("demo", a folder, "dir/*.py", a text or JSONL file) or a list of files. */
	corpus: string | readonly string[];
	contextSize?: number;
	bufferRows?: number;
	excludeSpecialTokens?: boolean;
	seed?: number;
	/** Cancels the activation buffer's fills, the first one (made here) included. */
	signal?: AbortSignal;
}

/** Model activations at a hook over a corpus, and the SAELens metadata describing them. */
export async function modelTrainingSource(model: LanguageModel, o: ModelSourceOptions): Promise<{ source: ActivationSource; metadata: SaeMetadata }> {
	const contextSize = o.contextSize ?? Math.min(128, model.cfg.nCtx);
	const documents = typeof o.corpus === 'string' ? corpusDocuments(o.corpus) : corpusFromFiles(o.corpus);
	const source = await ModelActivationStore.create(model, documents, {
		hookName: o.hookName,
		...(o.hookNameOut ? { hookNameOut: o.hookNameOut } : {}),
		contextSize,
		prependBos: true,
		batchContexts: 8,
		excludeSpecialTokens: o.excludeSpecialTokens ?? false,
		bufferRows: o.bufferRows ?? 65536,
		seed: o.seed ?? 0,
		signal: o.signal,
	});
	const metadata: SaeMetadata = {
		model_name: model.name,
		model_class_name: 'FeatureLens',
		hook_name: o.hookName,
		hook_head_index: null,
		// Read back out by the trainer, which saves it where SAELens keeps it (cfg.json's top level).
		...(o.hookNameOut ? { hook_name_out: o.hookNameOut } : {}),
		context_size: contextSize,
		prepend_bos: true,
		dataset_path: typeof o.corpus === 'string' ? o.corpus : `${o.corpus.length} files`,
		exclude_special_tokens: o.excludeSpecialTokens ?? false,
		// Feature Lens reads the raw (unprocessed) residual stream; say so for SAELens users.
		model_from_pretrained_kwargs: { center_writing_weights: false, fold_ln: false },
		// SAELens 6's other training facts (LanguageModelSAERunnerConfig), as corpusWindows makes the
		// windows: every window, not a slice of it; documents joined by EOS, BOS first.
		seqpos_slice: [null],
		sequence_separator_token: model.cfg.eosTokenIds.length > 0 ? 'eos' : null,
		disable_concat_sequences: false,
	};
	return { source, metadata };
}
