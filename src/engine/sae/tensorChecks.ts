// An SAE's tensors against its architecture's contract (architectures/): which it needs, their
// dtypes, and their shapes in the config's dimensions, as one-line SaeFormatErrors naming the file.

import { STORED_FLOAT_BYTES, countNonFinite, isStoredFloat } from '../io/halfFloats';
import type { StoredFloat } from '../io/halfFloats';
import type { SafetensorsDtype } from '../io/safetensors';
import { saeArchitecture } from './architectures/saeArchitectures';
import { W_SKIP, dimensionSize } from './architectures/saeArchitecture';
import type { TensorSpec } from './architectures/saeArchitecture';
import { formatError } from './saeChecks';
import type { SaeConfig, SaeTensor } from './saeTypes';

/** The tensors the config's architecture needs, in the order they are written. */
export function requiredTensors(cfg: SaeConfig): string[] {
	return tensorSpecs(cfg).map((t) => t.name);
}

/** The architecture's tensors, and W_skip for a skip transcoder. */
function tensorSpecs(cfg: SaeConfig): readonly TensorSpec[] {
	const own = saeArchitecture(cfg.architecture).tensors;
	return cfg.transcoder?.skip ? [...own, W_SKIP] : own;
}

/** What an SAE is called in messages: "jumprelu SAEs", "jumprelu skip transcoders". */
export function kindName(cfg: SaeConfig): string {
	return `${cfg.architecture} ${cfg.transcoder ? (cfg.transcoder.skip ? 'skip transcoders' : 'transcoders') : 'SAEs'}`;
}

/** Checks tensor presence, dtypes and shapes, and the architecture's own config, against the config; `file` names the weights in errors. */
export function validateWeights(file: string, cfg: SaeConfig, weights: Record<string, SaeTensor>): void {
	for (const name of requiredTensors(cfg)) {
		const t = weights[name];
		if (!t) throw formatError(`${file}: missing tensor "${name}" (required for ${kindName(cfg)})`);
		const bytes = checkTensor(file, cfg, name, t.dtype, t.shape);
		if (t.data.length !== bytes) throw formatError(`${file}: ${name} has ${t.data.length} bytes, expected ${bytes}`);
		// checkTensor has made the dtype a stored float.
		const bad = countNonFinite(t.dtype as StoredFloat, t.data);
		if (bad > 0)
			throw formatError(
				`${file}: ${name} holds ${bad} non-finite value${bad === 1 ? '' : 's'} (NaN or ±Inf) of ${bytes / STORED_FLOAT_BYTES[t.dtype as StoredFloat]}: the SAE is corrupt (weights must be finite numbers)`,
			);
	}
	saeArchitecture(cfg.architecture).config?.check(cfg, file);
}

/** Checks one weight's dtype and shape (before its bytes are read); returns its byte size. */
export function checkTensor(file: string, cfg: SaeConfig, name: string, dtype: SafetensorsDtype, shape: readonly number[]): number {
	const spec = tensorSpecs(cfg).find((t) => t.name === name);
	if (!spec) throw new Error(`internal: ${kindName(cfg)} have no tensor ${name}`);
	const want = spec.dims.map((d) => dimensionSize(cfg, d));
	if (!isStoredFloat(dtype)) throw formatError(`${file}: ${name} has dtype ${dtype}, expected F32, F16 or BF16`);
	if (shape.length !== want.length || shape.some((d, i) => d !== want[i])) {
		throw formatError(`${file}: ${name} has shape [${shape.join(', ')}], expected [${spec.dims.map((d) => (d === 'd_out' && !cfg.transcoder ? 'd_in' : d)).join(', ')}] = [${want.join(', ')}]`);
	}
	return want.reduce((a, d) => a * d, 1) * STORED_FLOAT_BYTES[dtype];
}
