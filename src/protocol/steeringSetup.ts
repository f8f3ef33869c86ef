// The sidebar's steering setup turned into the engine's SteerSpec, and checked first so the user
// sees what to fix before anything is sent: feature numbers against the SAE's width, finite
// strengths, each feature once, sampling settings in range, sweep strengths. Also reads a setup
// or sampling settings from untrusted JSON (webview messages, stored state, presets). Free of
// `vscode`, of the DOM and of vscode-jsonrpc (type imports only): the host and the webview
// both use it, and it is unit-tested.

import { isSteerMode, isSteerPositions } from './steerModes';
import { STEERING_LIMITS } from './steeringViewMessages';
import type { ContrastSetup, SteeringEntry, SteeringSetup } from './steeringViewMessages';
import type { SamplingSettings, SteerSpec } from './steerProtocol';

/** The engine's spec: the enabled entries, in list order. */
export function toSteerSpec(setup: SteeringSetup): SteerSpec {
	return {
		features: setup.entries.filter((e) => e.enabled).map((e) => ({ featureIndex: e.featureIndex, mode: e.mode, strength: e.strength })),
		vectors: [],
		positions: setup.positions,
	};
}

/** What is wrong with a setup for an SAE of `dSae` features (unknown width: skip the range check); empty when it can run. */
export function setupProblems(setup: SteeringSetup, dSae?: number): string[] {
	const problems: string[] = [];
	const seen = new Set<number>();
	for (const e of setup.entries) {
		if (!Number.isInteger(e.featureIndex) || e.featureIndex < 0) problems.push(`"${e.featureIndex}" is not a feature number`);
		else if (dSae !== undefined && e.featureIndex >= dSae) problems.push(`feature ${e.featureIndex} is not in this SAE (features 0 to ${dSae - 1})`);
		if (!isSteerMode(e.mode)) problems.push(`feature ${e.featureIndex}: the mode must be add, clamp or cap`);
		if (!Number.isFinite(e.strength)) problems.push(`feature ${e.featureIndex}: the strength must be a number`);
		else if (Math.abs(e.strength) > STEERING_LIMITS.strength) problems.push(`feature ${e.featureIndex}: a strength beyond ±${STEERING_LIMITS.strength} only blows the residual stream up`);
		if (e.enabled) {
			if (seen.has(e.featureIndex)) problems.push(`feature ${e.featureIndex} is listed twice: give each feature one mode and strength`);
			seen.add(e.featureIndex);
		}
	}
	if (!isSteerPositions(setup.positions)) problems.push('positions must be "all" or "generated"');
	const c = setup.contrast;
	if (c?.enabled) {
		if (!c.positive.trim() || !c.negative.trim()) problems.push('the contrast vector needs a text to steer towards and one to steer away from');
		if (!Number.isFinite(c.strength)) problems.push('the contrast strength must be a number');
		else if (Math.abs(c.strength) > STEERING_LIMITS.strength) problems.push(`a contrast strength beyond ±${STEERING_LIMITS.strength} only blows the residual stream up`);
	}
	return problems;
}

/** The contrast texts and strength from untrusted JSON (strings cut to the prompt limit), or undefined. */
export function parseContrast(value: unknown): ContrastSetup | undefined {
	if (!isRecord(value)) return undefined;
	const { positive, negative, strength, enabled } = value;
	if (typeof positive !== 'string' || typeof negative !== 'string' || typeof strength !== 'number' || !Number.isFinite(strength)) return undefined;
	return { positive: positive.slice(0, STEERING_LIMITS.prompt), negative: negative.slice(0, STEERING_LIMITS.prompt), strength, enabled: enabled === true };
}

/** What is wrong with the sampling settings for a model with context `nCtx` (when known); empty when fine. */
export function samplingProblems(s: SamplingSettings, nCtx?: number): string[] {
	const problems: string[] = [];
	if (!Number.isInteger(s.maxNewTokens) || s.maxNewTokens < 1) problems.push('max tokens must be a whole number ≥ 1');
	else if (s.maxNewTokens > STEERING_LIMITS.maxNewTokens) problems.push(`max tokens is at most ${STEERING_LIMITS.maxNewTokens}`);
	else if (nCtx !== undefined && s.maxNewTokens >= nCtx) problems.push(`max tokens must leave room for the prompt in the model's ${nCtx}-token context`);
	if (!Number.isFinite(s.temperature) || s.temperature < 0 || s.temperature > 2) problems.push('temperature must be between 0 and 2 (0 = greedy)');
	if (!Number.isFinite(s.topP) || s.topP <= 0 || s.topP > 1) problems.push('top-p must be in (0, 1]');
	if (!Number.isSafeInteger(s.seed)) problems.push('the seed must be a whole number');
	return problems;
}

/** Sweep strengths typed as "a, b, c" (commas or spaces): 1 to 12 distinct finite numbers, in the order typed. */
export function parseStrengths(text: string): { strengths: number[] } | { error: string } {
	const parts = text.split(/[\s,;]+/).filter((p) => p.length > 0);
	if (parts.length === 0) return { error: 'type a few strengths, e.g. "-40, 0, 20, 40"' };
	if (parts.length > STEERING_LIMITS.sweepStrengths) return { error: `at most ${STEERING_LIMITS.sweepStrengths} strengths per sweep` };
	const strengths: number[] = [];
	for (const p of parts) {
		const v = Number(p);
		if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(p) || !Number.isFinite(v)) return { error: `"${p}" is not a number` };
		if (Math.abs(v) > STEERING_LIMITS.strength) return { error: `${p} is beyond ±${STEERING_LIMITS.strength}` };
		if (strengths.includes(v)) return { error: `${p} is listed twice` };
		strengths.push(v);
	}
	return { strengths };
}

/** A strength typed into a number box, or undefined when it is not a finite number. */
export function parseStrength(text: string): number | undefined {
	const t = text.trim();
	if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t)) return undefined;
	const v = Number(t);
	return Number.isFinite(v) ? v : undefined;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One entry from untrusted JSON (only its known fields), or undefined when malformed. */
export function parseEntry(value: unknown): SteeringEntry | undefined {
	if (!isRecord(value)) return undefined;
	const { featureIndex, label, mode, strength, enabled } = value;
	if (typeof featureIndex !== 'number' || !Number.isInteger(featureIndex) || featureIndex < 0) return undefined;
	if (!isSteerMode(mode)) return undefined;
	if (typeof strength !== 'number' || !Number.isFinite(strength)) return undefined;
	const text = typeof label === 'string' ? label.slice(0, STEERING_LIMITS.label) : '';
	return { featureIndex, label: text, mode, strength, enabled: enabled !== false };
}

/** A setup from untrusted JSON, or undefined when it is not one (too many entries, a malformed entry, bad positions). */
export function parseSetup(value: unknown): SteeringSetup | undefined {
	if (!isRecord(value) || !Array.isArray(value['entries'])) return undefined;
	const positions = value['positions'];
	if (!isSteerPositions(positions)) return undefined;
	const raw = value['entries'];
	if (raw.length > STEERING_LIMITS.entries) return undefined;
	const entries: SteeringEntry[] = [];
	for (const r of raw) {
		const e = parseEntry(r);
		if (!e) return undefined;
		entries.push(e);
	}
	const contrast = parseContrast(value['contrast']);
	return contrast ? { entries, positions, contrast } : { entries, positions };
}

/** Sampling settings from untrusted JSON (types only; ranges are `samplingProblems`'), or undefined. */
export function parseSampling(value: unknown): SamplingSettings | undefined {
	if (!isRecord(value)) return undefined;
	const { maxNewTokens, temperature, topP, seed } = value;
	if (typeof maxNewTokens !== 'number' || typeof temperature !== 'number' || typeof topP !== 'number' || typeof seed !== 'number') return undefined;
	return { maxNewTokens, temperature, topP, seed };
}

/** A feature number typed into the picker ("42" or "#42"), or undefined when the text is not one. */
export function typedFeatureNumber(text: string): number | undefined {
	const m = /^\s*#?(\d{1,9})\s*$/.exec(text);
	return m ? Number(m[1]) : undefined;
}
