// Transcoders: SAEs whose decoder writes another hook than the encoder reads (an MLP's output
// from its input), with an optional linear skip term. Everything that differs from an SAE is
// here: which hook and width the output has, what a transcoder's config may say, and its
// decoder, x ↦ decoderInput(f(x)) · W_dec + b_dec (+ x · W_skipᵀ), as SAELens's Transcoder /
// SkipTranscoder and circuit-tracer's SingleLayerTranscoder compute it.

import type { Value } from '../onnx/graphBuilder';
import { saeArchitecture } from './architectures/saeArchitectures';
import type { SaeGraphContext } from './architectures/saeArchitecture';
import { formatError } from './saeChecks';
import type { SaeArchitecture, SaeConfig } from './saeTypes';

/** The hook an SAE's reconstruction belongs to: its own for an SAE, hook_name_out for a transcoder. */
export function outputHookName(cfg: SaeConfig): string {
	return cfg.transcoder?.hook_name_out ?? cfg.metadata.hook_name;
}

/** The reconstruction's width, [..., d_out]. */
export function outputWidth(cfg: SaeConfig): number {
	return cfg.transcoder?.d_out ?? cfg.d_in;
}

/**
 * Checks what a transcoder's config may say: its input is used as it is (no b_dec subtraction,
 * which has the output's width, and no normalization, which SAELens's Transcoder does not undo
 * on the output). `file` names the config in the error.
 */
export function checkTranscoderConfig(cfg: SaeConfig, file: string): void {
	const t = cfg.transcoder;
	if (!t) return;
	if (!Number.isInteger(t.d_out) || t.d_out < 1) throw formatError(`${file}: "d_out" must be a positive integer, got ${JSON.stringify(t.d_out)}`);
	if (!t.hook_name_out) throw formatError(`${file}: a transcoder needs "hook_name_out" (the hook its output replaces, e.g. blocks.0.hook_mlp_out)`);
	if (cfg.apply_b_dec_to_input) throw formatError(`${file}: "apply_b_dec_to_input" must be false for a transcoder (b_dec has the output's width, d_out ${t.d_out})`);
	if (cfg.normalize_activations !== 'none') throw formatError(`${file}: normalize_activations "${cfg.normalize_activations}" is not supported for transcoders (only none)`);
	if (cfg.reshape_activations !== 'none') throw formatError(`${file}: reshape_activations "${cfg.reshape_activations}" is not supported for transcoders (only none)`);
}

/**
 * The decoder's output [..., d_out] from activations [..., d_sae] and the encoder's input
 * [..., d_in] (which only a skip transcoder reads): decoderInput(acts) · W_dec + b_dec, plus
 * saeIn · W_skipᵀ with a skip term.
 */
export function decodeOutput(g: SaeGraphContext, acts: Value, saeIn: Value): Value {
	const { b, cfg, weight } = g;
	const decoded = b.add(b.matMul(saeArchitecture(cfg.architecture).decoderInput(g, acts), weight('W_dec')), weight('b_dec'));
	if (!cfg.transcoder?.skip) return decoded;
	return b.add(decoded, b.matMul(saeIn, b.transpose(weight('W_skip'), [1, 0])));
}

/** SAELens 6's transcoder architectures (cfg.json `architecture`): the encoder they run and whether they add W_skip. */
export const SAELENS_TRANSCODERS: Readonly<Record<string, { architecture: SaeArchitecture; skip: boolean }>> = {
	transcoder: { architecture: 'standard', skip: false },
	skip_transcoder: { architecture: 'standard', skip: true },
	jumprelu_transcoder: { architecture: 'jumprelu', skip: false },
};

/** The SAELens architecture name a transcoder is saved as; SAELens has none for TopK or JumpReLU-with-skip transcoders. */
export function saeLensTranscoderName(cfg: SaeConfig, file: string): string {
	const t = cfg.transcoder!;
	const name = Object.entries(SAELENS_TRANSCODERS).find(([, v]) => v.architecture === cfg.architecture && v.skip === t.skip)?.[0];
	if (!name) {
		throw formatError(
			`${file}: SAELens has no ${cfg.architecture} ${t.skip ? 'skip ' : ''}transcoder architecture (it has ${Object.keys(SAELENS_TRANSCODERS).join(', ')}); save it in circuit-tracer's layout instead`,
		);
	}
	return name;
}

/** The layer of a blocks.L.… hook, or undefined. */
export function hookLayer(hookName: string): number | undefined {
	const m = /^blocks\.(\d+)\./.exec(hookName);
	return m ? Number(m[1]) : undefined;
}
