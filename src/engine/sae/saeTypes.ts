// An SAE as loaded from disk: its SAELens config and raw weight tensors. Shared by the format
// readers/writers (saeFormat.ts, npz.ts) and the graph builders (saeGraph.ts).

import type { SafetensorsDtype } from '../io/safetensors';
import type { SaeArchitecture } from '../../protocol/engineProtocol';

// The protocol's list, which the format readers, graphs and tests name through these types.
export type { SaeArchitecture };

export type NormalizeActivations = 'none' | 'expected_average_only_in' | 'constant_norm_rescale' | 'layer_norm';

/** cfg.json `metadata`: where the SAE was trained. Unknown keys are kept for round trips. */
export interface SaeMetadata {
	hook_name: string;
	model_name?: string;
	model_class_name?: string;
	hook_head_index?: number | null;
	context_size?: number;
	prepend_bos?: boolean;
	model_from_pretrained_kwargs?: Record<string, unknown>;
	[key: string]: unknown;
}

export interface SaeConfig {
	d_in: number;
	d_sae: number;
	/** cfg.json dtype, e.g. "float32". */
	dtype: string;
	architecture: SaeArchitecture;
	apply_b_dec_to_input: boolean;
	normalize_activations: NormalizeActivations;
	reshape_activations: 'none' | 'hook_z';
	/** TopK only. */
	k?: number;
	/** TopK only: multiply pre-activations by decoder row norms before choosing the top k. */
	rescale_acts_by_decoder_norm?: boolean;
	metadata: SaeMetadata;
}

export interface SaeTensor {
	dtype: SafetensorsDtype;
	shape: number[];
	/** Little-endian row-major payload. */
	data: Buffer;
}

export interface Sae {
	/** The folder (or .npz file) it was loaded from. */
	source: string;
	cfg: SaeConfig;
	/** By SAELens name: W_enc [d_in, d_sae], b_enc [d_sae], W_dec [d_sae, d_in], b_dec [d_in], threshold, b_gate, b_mag, r_mag. */
	weights: Record<string, SaeTensor>;
	/** sparsity.safetensors `sparsity`: log10 feature density, [d_sae]. */
	logSparsity?: Float32Array;
	/** The cfg.json object as read, so writing back keeps keys we do not model. */
	rawConfig: Record<string, unknown>;
}

export class SaeFormatError extends Error {}
