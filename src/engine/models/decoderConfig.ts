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

// The ranges of config.json's numeric fields, in one place. Integer bounds sit far above any
// published model (Llama 3.1 405B: 126 layers, width 16384, MLP 53248; Gemma 3: a 262k
// vocabulary; Llama 4: a 10M context), so that a corrupt or hostile value (n_layer: 1000000000)
// is refused at once rather than sizing what is allocated next; reals are checked where a
// wrong sign or zero silently breaks the maths (a negative norm epsilon gives NaN logits).
const MAX_LAYERS = 1024;
const MAX_WIDTH = 1 << 17;
const MAX_HEADS = 4096;
const MAX_VOCAB = 1 << 22;
const MAX_CONTEXT = 1 << 24;

/** The largest value of each integer field (each must also be ≥ 1, or ≥ 0 where noted by `min`). */
const INTEGER_FIELDS: Readonly<Record<string, { max: number; min?: number }>> = {
	n_layer: { max: MAX_LAYERS }, num_hidden_layers: { max: MAX_LAYERS },
	n_embd: { max: MAX_WIDTH }, hidden_size: { max: MAX_WIDTH },
	n_inner: { max: 8 * MAX_WIDTH }, intermediate_size: { max: 8 * MAX_WIDTH },
	n_head: { max: MAX_HEADS }, num_attention_heads: { max: MAX_HEADS }, num_key_value_heads: { max: MAX_HEADS },
	head_dim: { max: MAX_WIDTH },
	vocab_size: { max: MAX_VOCAB },
	n_positions: { max: MAX_CONTEXT }, n_ctx: { max: MAX_CONTEXT }, max_position_embeddings: { max: MAX_CONTEXT },
	original_max_position_embeddings: { max: MAX_CONTEXT },
	sliding_window: { max: MAX_CONTEXT }, sliding_window_pattern: { max: MAX_LAYERS }, max_window_layers: { max: MAX_LAYERS, min: 0 },
};

/** Each real field's range: `above` is exclusive, `max` inclusive. */
const REAL_FIELDS: Readonly<Record<string, { above: number; max: number; words: string }>> = {
	layer_norm_epsilon: { above: 0, max: 1, words: 'a number greater than 0 and at most 1' },
	layer_norm_eps: { above: 0, max: 1, words: 'a number greater than 0 and at most 1' },
	rms_norm_eps: { above: 0, max: 1, words: 'a number greater than 0 and at most 1' },
	rope_theta: { above: 1, max: 1e15, words: 'a rope base greater than 1' },
	rope_local_base_freq: { above: 1, max: 1e15, words: 'a rope base greater than 1' },
	rotary_emb_base: { above: 1, max: 1e15, words: 'a rope base greater than 1' },
	factor: { above: 0, max: 1e6, words: 'a positive number' },
	low_freq_factor: { above: 0, max: 1e6, words: 'a positive number' },
	high_freq_factor: { above: 0, max: 1e6, words: 'a positive number' },
	rotary_pct: { above: 0, max: 1, words: 'a fraction greater than 0 and at most 1' },
	partial_rotary_factor: { above: 0, max: 1, words: 'a fraction greater than 0 and at most 1' },
	query_pre_attn_scalar: { above: 0, max: 1e9, words: 'a positive number' },
	attn_logit_softcapping: { above: 0, max: 1e9, words: 'a positive number or null' },
	final_logit_softcapping: { above: 0, max: 1e9, words: 'a positive number or null' },
};

function rangeOf(key: string): { above: number; max: number; words: string; integer: boolean } {
	const int = INTEGER_FIELDS[key];
	if (int) {
		const min = int.min ?? 1;
		return { above: min - 1, max: int.max, words: `an integer from ${min} to ${int.max}`, integer: true };
	}
	const real = REAL_FIELDS[key];
	if (!real) throw new Error(`internal: config.json field "${key}" has no range in decoderConfig.ts`);
	return { ...real, integer: false };
}

/** `v` checked against `key`'s range; `label` names it in the message (a nested field's path). */
export function checkedNumber(v: unknown, key: string, label = key): number {
	const r = rangeOf(key);
	if (typeof v !== 'number' || !Number.isFinite(v) || (r.integer && !Number.isInteger(v)) || !(v > r.above) || v > r.max) {
		throw new ModelConfigError(`config.json: "${label}" must be ${r.words} (got ${shown(v)})`);
	}
	return v;
}

/** A value as an error message quotes it: JSON, cut short. */
function shown(v: unknown): string {
	const text = JSON.stringify(v) ?? 'nothing';
	return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

/** Reads a required integer field (or its fallback), checked against its range. */
export function intField(raw: RawConfig, key: string, fallback?: number): number {
	return checkedNumber(raw[key] ?? fallback, key);
}

/** Reads a real field (or its fallback), checked against its range. */
export function numberField(raw: RawConfig, key: string, fallback: number): number {
	return checkedNumber(raw[key] ?? fallback, key);
}

/** A number field that may be absent or null (meaning: off), e.g. a soft-capping value or a window. */
export function optionalNumber(raw: RawConfig, key: string, label = key): number | undefined {
	const v = raw[key];
	if (v === undefined || v === null) return undefined;
	return checkedNumber(v, key, label);
}

/** bos/eos token ids: one id, a list, or none; `key` names the field in errors. */
export function tokenIds(v: unknown, key = 'eos_token_id'): number[] {
	if (v === undefined || v === null) return [];
	const list = Array.isArray(v) ? v : [v];
	for (const id of list) {
		if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= MAX_VOCAB) {
			throw new ModelConfigError(`config.json: "${key}" must be a token id or a list of them (got ${shown(v)})`);
		}
	}
	return list as number[];
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

/**
 * Checks a config against the checkpoint before anything is built from it: the blocks the
 * weights hold (`<blockPrefix><L>.…`) must be the config's layers, and its special tokens inside
 * its vocabulary. `configFile` and `weightsFile` name them in errors.
 */
export function checkConfigAgainstWeights(cfg: DecoderConfig, weightNames: readonly string[], blockPrefix: string, configFile: string, weightsFile: string): void {
	const pattern = new RegExp(`^${blockPrefix.replace(/\./g, '\\.')}(\\d+)\\.`);
	let blocks = 0;
	for (const name of weightNames) {
		const m = pattern.exec(name);
		if (m) blocks = Math.max(blocks, Number(m[1]) + 1);
	}
	if (blocks !== cfg.nLayers) {
		throw new ModelConfigError(`${configFile}: the config gives ${cfg.nLayers} layers, but ${weightsFile} holds ${blocks === 0 ? 'no blocks' : `blocks ${blockPrefix}0 to ${blockPrefix}${blocks - 1} (${blocks} layers)`}`);
	}
	const ids = [...(cfg.bosTokenId === undefined ? [] : [cfg.bosTokenId]), ...cfg.eosTokenIds];
	const outside = ids.find((id) => id >= cfg.dVocab);
	if (outside !== undefined) throw new ModelConfigError(`${configFile}: special token id ${outside} (bos_token_id / eos_token_id) is outside the vocabulary of ${cfg.dVocab}`);
}
