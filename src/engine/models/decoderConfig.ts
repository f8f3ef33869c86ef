// The architecture-independent description of a decoder LM, normalized from config.json.

import type { StoredFloat } from '../io/halfFloats';
import type { Rope } from './rotary';

export interface DecoderConfig {
	/** config.json `model_type` (gpt2, llama, mistral, qwen2, qwen3, gemma2, gemma3_text, gemma3, gpt_neox). */
	modelType: string;
	nLayers: number;
	dModel: number;
	nHeads: number;
	/** Key/value heads; fewer than nHeads means grouped-query attention. */
	nKvHeads: number;
	dHead: number;
	dMlp: number;
	dVocab: number;
	/** Longest sequence the model supports (learned positions or trained context). */
	nCtx: number;
	normEps: number;
	/** MLP nonlinearity as named in config.json (gelu_new, silu, gelu_pytorch_tanh, …; see activations.ts). */
	activation: string;
	/** Per block, in order: how its attention sees positions. */
	layers: readonly LayerAttention[];
	/** Multiplier of the attention scores q·kᵀ: 1/√d_head, or Gemma's query_pre_attn_scalar^−½. */
	attnScale: number;
	/** Attention scores become cap·tanh(s/cap) before the mask (Gemma 2's attn_logit_softcapping). */
	attnSoftcap?: number;
	/** Final logits become cap·tanh(l/cap) (Gemma 2's final_logit_softcapping); the logit lens reads them uncapped. */
	finalSoftcap?: number;
	/**
	 * Attention and MLP both read resid_pre and both add to it (GPT-NeoX's use_parallel_residual,
	 * TransformerLens's parallel_attn_mlp), so the block has no hook_resid_mid.
	 */
	parallelAttnMlp: boolean;
	/** The dtype config.json says the model runs in (`dtype`, `torch_dtype` before transformers 5), if it says. */
	dtype?: StoredFloat;
	tiedEmbeddings: boolean;
	bosTokenId?: number;
	eosTokenIds: number[];
}

/** Hugging Face's names for the two kinds of attention layer (config.json `layer_types`). */
export const LAYER_TYPES = ['full_attention', 'sliding_attention'] as const;
export type LayerType = (typeof LAYER_TYPES)[number];

/** What one block's attention needs beyond the shared shapes. */
export interface LayerAttention {
	/**
	 * Sliding-window attention: a query at position p sees keys at p − window < k ≤ p (Hugging
	 * Face's sliding_window); absent for full causal attention.
	 */
	window?: number;
	/** Rotary embedding of queries and keys; absent for learned absolute positions (GPT-2). */
	rope?: Rope;
}

export class ModelConfigError extends Error {}

export type RawConfig = Record<string, unknown>;

/** Reads a required positive integer field, with a message naming the file and field. */
export function intField(raw: RawConfig, key: string, fallback?: number): number {
	const v = raw[key] ?? fallback;
	if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
		throw new ModelConfigError(`config.json: "${key}" must be a positive integer (got ${JSON.stringify(raw[key])})`);
	}
	return v;
}

export function numberField(raw: RawConfig, key: string, fallback: number): number {
	const v = raw[key] ?? fallback;
	if (typeof v !== 'number' || !Number.isFinite(v)) {
		throw new ModelConfigError(`config.json: "${key}" must be a number (got ${JSON.stringify(raw[key])})`);
	}
	return v;
}

/** A number field that may be absent or null (meaning: off), e.g. a soft-capping value. */
export function optionalNumber(raw: RawConfig, key: string, label = key): number | undefined {
	const v = raw[key];
	if (v === undefined || v === null) return undefined;
	if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
		throw new ModelConfigError(`config.json: "${label}" must be a positive number or null (got ${JSON.stringify(v)})`);
	}
	return v;
}

export function tokenIds(v: unknown): number[] {
	if (typeof v === 'number') return [v];
	if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number');
	return [];
}

const DTYPES: Readonly<Record<string, StoredFloat>> = { float32: 'F32', float16: 'F16', bfloat16: 'BF16' };

/** The dtype config.json names (`dtype` from transformers 5 on, `torch_dtype` before), if any. */
export function configDtype(...raws: RawConfig[]): StoredFloat | undefined {
	for (const raw of raws) {
		const name = raw.dtype ?? raw.torch_dtype;
		if (typeof name === 'string' && name in DTYPES) return DTYPES[name];
	}
	return undefined;
}

/**
 * Each layer's attention kind: config.json's `layer_types` where present (transformers ≥ 4.54
 * writes it), else `fallback(layer)`.
 */
export function layerTypes(raw: RawConfig, nLayers: number, fallback: (layer: number) => LayerType, label = 'layer_types'): LayerType[] {
	const given = raw.layer_types;
	if (given === undefined || given === null) return Array.from({ length: nLayers }, (_, i) => fallback(i));
	if (!Array.isArray(given) || given.length !== nLayers || !given.every((t) => (LAYER_TYPES as readonly unknown[]).includes(t))) {
		throw new ModelConfigError(`config.json: "${label}" must list ${nLayers} of ${LAYER_TYPES.join(' / ')} (got ${JSON.stringify(given)})`);
	}
	return given as LayerType[];
}

/** 1/√d_head, the attention scale of every family but Gemma's. */
export function defaultAttnScale(dHead: number): number {
	return 1 / Math.sqrt(dHead);
}
