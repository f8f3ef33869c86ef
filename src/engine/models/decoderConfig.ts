// The architecture-independent description of a decoder LM, normalized from config.json.

export interface DecoderConfig {
	/** config.json `model_type` (gpt2, llama, mistral, qwen2). */
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
	/** MLP nonlinearity as named in config.json (gelu_new, silu, …). */
	activation: string;
	/** Rotary base for RoPE models. */
	ropeTheta?: number;
	tiedEmbeddings: boolean;
	bosTokenId?: number;
	eosTokenIds: number[];
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

export function tokenIds(v: unknown): number[] {
	if (typeof v === 'number') return [v];
	if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number');
	return [];
}
