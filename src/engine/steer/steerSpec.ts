// Steering specs (src/protocol/steerProtocol.ts) checked against the loaded model and SAE, the
// CLI's `--steer "I:clamp=V,J:add=S"` syntax, and Neuronpedia's defaults where the protocol
// leaves a choice to the engine.

import { ModelConfigError } from '../models/decoderConfig';
import { perTokenWidth } from '../models/hookPoints';
import type { LanguageModel } from '../models/languageModel';
import type { SaeRunner } from '../sae/saeRunner';
import { STEER_MODES, isSteerMode, isSteerPositions } from '../../protocol/steerModes';
import type { FeatureSteer, SamplingSettings, SteerSpec } from '../../protocol/steerProtocol';

/** Neuronpedia's steering defaults (apps/webapp/lib/utils/steer.ts): temperature 0.5, seed 16, 256 tokens. */
export const STEER_DEFAULTS: SamplingSettings = { maxNewTokens: 256, temperature: 0.5, topP: 1, seed: 16 };

export class SteerSpecError extends ModelConfigError {}

/** The SAE a steered feature is of: its `sae`, resolved by the engine beforehand, or the loaded one. */
export function featureRunner(f: FeatureSteer, loaded: SaeRunner | undefined, others: ReadonlyMap<string, SaeRunner>): SaeRunner | undefined {
	return f.sae === undefined ? loaded : others.get(f.sae);
}

/** How a message names a steered feature: by index, and by its SAE's path when it is not the loaded SAE's. */
function featureName(f: FeatureSteer): string {
	return f.sae === undefined ? `feature ${f.featureIndex}` : `feature ${f.featureIndex} of ${f.sae}`;
}

/** Refuses specs the model or SAEs cannot apply, with messages that say what to change. */
export function validateSteerSpec(spec: SteerSpec, model: LanguageModel, runner: SaeRunner | undefined, others: ReadonlyMap<string, SaeRunner> = new Map()): void {
	if (!isSteerPositions(spec.positions)) {
		throw new SteerSpecError(`steering positions must be "all" or "generated" (got ${JSON.stringify(spec.positions)})`);
	}
	const seen = new Set<string>();
	for (const f of spec.features) {
		const r = featureRunner(f, runner, others);
		if (!r) throw new SteerSpecError(f.sae === undefined ? 'steering by feature needs an SAE (load one first)' : `${featureName(f)}: that SAE is not loaded`);
		if (model.hookPoint(r.hookName).shape.length !== 2 || model.hookPoint(r.outputHookName).shape.length !== 2) {
			throw new SteerSpecError(`the SAE reads ${r.hookName}, which is not a [pos, width] hook; steering by feature supports residual, attn_out, mlp_out and MLP SAEs`);
		}
		const dSae = r.sae.cfg.d_sae;
		if (!Number.isInteger(f.featureIndex) || f.featureIndex < 0 || f.featureIndex >= dSae) {
			throw new SteerSpecError(`${featureName(f)} is not in the SAE (feature indices run 0..${dSae - 1})`);
		}
		if (!isSteerMode(f.mode)) throw new SteerSpecError(`${featureName(f)}: mode must be add, clamp or cap (got ${JSON.stringify(f.mode)})`);
		if (!Number.isFinite(f.strength)) throw new SteerSpecError(`${featureName(f)}: strength must be a finite number (got ${f.strength})`);
		const key = `${f.featureIndex}@${f.sae ?? ''}`;
		if (seen.has(key)) throw new SteerSpecError(`${featureName(f)} is steered twice; give each feature one mode and strength`);
		seen.add(key);
	}
	for (const v of spec.vectors) {
		const point = model.hookPoint(v.hookName);
		const width = perTokenWidth(point, `steering vector "${v.label}" at ${v.hookName}`);
		if (point.shape.length !== 2) throw new SteerSpecError(`steering vector "${v.label}": ${v.hookName} is not a [pos, width] hook; steer a residual, attn_out, mlp_out or MLP hook`);
		if (v.vector.length !== width) throw new SteerSpecError(`steering vector "${v.label}" has ${v.vector.length} values, but ${v.hookName} has width ${width}`);
		if (!v.vector.every(Number.isFinite) || !Number.isFinite(v.strength)) throw new SteerSpecError(`steering vector "${v.label}": values and strength must be finite numbers`);
	}
}

export function validateSampling(s: SamplingSettings): void {
	if (!Number.isInteger(s.maxNewTokens) || s.maxNewTokens < 1) throw new SteerSpecError(`maxNewTokens must be a positive integer (got ${s.maxNewTokens})`);
	if (!Number.isFinite(s.temperature) || s.temperature < 0) throw new SteerSpecError(`temperature must be ≥ 0 (got ${s.temperature})`);
	if (!Number.isFinite(s.topP) || s.topP <= 0 || s.topP > 1) throw new SteerSpecError(`topP must be in (0, 1] (got ${s.topP})`);
	if (!Number.isSafeInteger(s.seed)) throw new SteerSpecError(`seed must be an integer (got ${s.seed})`);
}

/**
 * Parses the CLI syntax `I:mode=V[,J:mode=V…]`, e.g. `123:clamp=40,7:add=-12,9:cap=3`;
 * a bare `I=V` means add.
 */
export function parseFeatureSteers(text: string): FeatureSteer[] {
	const entries = text
		.split(',')
		.map((s) => s.trim())
		.filter((s) => s.length > 0);
	if (entries.length === 0) throw new SteerSpecError('--steer: no features given (expected e.g. "123:clamp=40,7:add=12")');
	return entries.map((entry) => {
		const m = /^(\d+)(?::(\w+))?=(\S+)$/.exec(entry);
		if (!m) throw new SteerSpecError(`--steer: "${entry}" is not FEATURE:MODE=STRENGTH (e.g. "123:clamp=40"; modes ${STEER_MODES.join(', ')})`);
		const mode = m[2] ?? 'add';
		if (!isSteerMode(mode)) throw new SteerSpecError(`--steer: "${entry}": unknown mode "${m[2]}" (modes: ${STEER_MODES.join(', ')})`);
		const strength = Number(m[3]);
		if (!Number.isFinite(strength)) throw new SteerSpecError(`--steer: "${entry}": "${m[3]}" is not a number`);
		return { featureIndex: Number(m[1]), mode, strength };
	});
}

export function describeSteer(spec: SteerSpec): string {
	const parts = [...spec.features.map((f) => `${f.featureIndex}:${f.mode}=${f.strength}`), ...spec.vectors.map((v) => `"${v.label}"@${v.hookName}×${v.strength}`)];
	return `${parts.join(', ') || 'nothing'} (${spec.positions === 'all' ? 'all positions' : 'generated positions only'})`;
}
