// A steering spec compiled against the loaded model and SAE into per-call graph inputs:
// additive steering (feature `add`, raw vectors) goes to the model graph's `intervene.<hook>`
// inputs; clamp and cap to the SAE steering subgraph (steerGraph.ts). The graph structure
// depends only on which hooks and modes are used, never on strengths or positions, so
// changing those reuses the same onnxruntime session.

import * as ort from 'onnxruntime-node';
import type { CallInputs } from '../models/generate';
import type { Intervention, LanguageModel } from '../models/languageModel';
import type { SaeRunner } from '../sae/saeRunner';
import type { SaeTensor } from '../sae/saeTypes';
import { STORED_FLOAT_BYTES, isStoredFloat, widenToFloat32 } from '../io/halfFloats';
import type { SteerSpec } from '../../protocol/steerProtocol';
import { saeSteerExtension, steerInputName } from './steerGraph';
import type { SteerVariant } from './steerGraph';
import { SteerSpecError, featureRunner, validateSteerSpec } from './steerSpec';

export interface CompiledSteering {
	readonly spec: SteerSpec;
	/** Inputs for one forward call: `prompt` is the prefill over the prompt, otherwise a generated token. */
	callInputs(call: { prompt: boolean; seq: number }): CallInputs;
	/**
	 * Inputs for one forward call over a whole sequence steered at some positions only: a traced
	 * completion's prompt and generated tokens, the prompt's left alone under "generated".
	 */
	callInputsAt(steered: readonly boolean[]): CallInputs;
}

/**
 * Compiles `spec` against the model: features without `sae` are the loaded SAE's (`runner`), the
 * others are of the SAEs in `others`, by path (resolved by the engine: SteeringSaes).
 */
export function compileSteering(model: LanguageModel, runner: SaeRunner | undefined, spec: SteerSpec, others: ReadonlyMap<string, SaeRunner> = new Map()): CompiledSteering {
	validateSteerSpec(spec, model, runner, others);
	// Σ strength·direction per hook: O(features × d_in) once per request, bookkeeping next to a forward pass.
	const additive = new Map<string, Float64Array>();
	const addTo = (hook: string, width: number, row: ArrayLike<number>, scale: number): void => {
		let acc = additive.get(hook);
		if (!acc) additive.set(hook, (acc = new Float64Array(width)));
		for (let j = 0; j < width; j++) acc[j]! += scale * row[j]!;
	};
	// Clamps and caps go through each SAE's own subgraph at the hook its decoder writes to.
	const rowsOf = new Map<SaeRunner, { featureIndex: number; clamp: boolean; value: number }[]>();
	for (const f of spec.features) {
		const r = featureRunner(f, runner, others)!;
		// A feature's direction lives where its decoder writes: the output hook, for a transcoder.
		if (f.mode === 'add') addTo(r.outputHookName, r.dOut, tensorRow(r.sae.weights.W_dec!, f.featureIndex, r.dOut), f.strength);
		else {
			let rows = rowsOf.get(r);
			if (!rows) rowsOf.set(r, (rows = []));
			rows.push({ featureIndex: f.featureIndex, clamp: f.mode === 'clamp', value: f.strength });
		}
	}
	for (const v of spec.vectors) addTo(v.hookName, v.vector.length, v.vector, v.strength);

	const steered: Record<string, Intervention> = {};
	const unsteered: Record<string, Intervention> = {};
	for (const [hook, acc] of additive) {
		steered[hook] = { values: Float32Array.from(acc), dims: [1, 1, acc.length] };
		unsteered[hook] = { values: new Float32Array(acc.length), dims: [1, 1, acc.length] };
	}

	const extensions: NonNullable<CallInputs['extensions']>[number][] = [];
	const steeredInputs: Record<string, ort.Tensor> = {};
	const unsteeredInputs: Record<string, ort.Tensor> = {};
	const hooksClamped = new Map<string, SaeRunner>();
	for (const [r, rows] of rowsOf) {
		// The subgraph's inputs are named by its hook: two SAEs writing to one hook would share them.
		const other = hooksClamped.get(r.outputHookName);
		if (other) throw new SteerSpecError(`features of two SAEs (${other.sae.source} and ${r.sae.source}) are clamped or capped at ${r.outputHookName}; steer the features of one SAE per hook`);
		hooksClamped.set(r.outputHookName, r);
		const variant: SteerVariant = { clamp: rows.some((x) => x.clamp), cap: rows.some((x) => !x.clamp) };
		extensions.push(saeSteerExtension(r, variant));
		const n = rows.length;
		const name = (part: Parameters<typeof steerInputName>[1]): string => steerInputName(r.outputHookName, part);
		const common: Record<string, ort.Tensor> = {
			[name('features')]: new ort.Tensor(
				'int64',
				BigInt64Array.from(rows, (x) => BigInt(x.featureIndex)),
				[n],
			),
			[name('values')]: new ort.Tensor(
				'float32',
				Float32Array.from(rows, (x) => x.value),
				[n],
			),
		};
		if (variant.clamp)
			common[name('clamp')] = new ort.Tensor(
				'float32',
				Float32Array.from(rows, (x) => (x.clamp ? 1 : 0)),
				[n],
			);
		if (variant.cap)
			common[name('cap')] = new ort.Tensor(
				'float32',
				Float32Array.from(rows, (x) => (x.clamp ? 0 : 1)),
				[n],
			);
		Object.assign(steeredInputs, common, { [name('positions')]: new ort.Tensor('float32', Float32Array.of(1), [1, 1]) });
		Object.assign(unsteeredInputs, common, { [name('positions')]: new ort.Tensor('float32', Float32Array.of(0), [1, 1]) });
	}

	const masked = (steered: readonly boolean[]): CallInputs => {
		const T = steered.length;
		const interventions: Record<string, Intervention> = {};
		for (const [hook, acc] of additive) {
			const values = new Float32Array(T * acc.length); // [1, seq, width]
			steered.forEach((on, t) => {
				if (on) for (let j = 0; j < acc.length; j++) values[t * acc.length + j] = acc[j]!;
			});
			interventions[hook] = { values, dims: [1, T, acc.length] };
		}
		const inputs: Record<string, ort.Tensor> = { ...steeredInputs };
		const mask = Float32Array.from(steered, (on) => (on ? 1 : 0));
		for (const r of rowsOf.keys()) inputs[steerInputName(r.outputHookName, 'positions')] = new ort.Tensor('float32', mask, [1, T]);
		return { interventions, ...(extensions.length > 0 ? { extensions } : {}), extensionInputs: inputs };
	};

	return {
		spec,
		callInputsAt: masked,
		callInputs({ prompt }) {
			// "generated" leaves the prompt's positions alone: the prefill gets zero steering through
			// the same graph inputs (same session); every generated token's position is steered.
			const on = spec.positions === 'all' || !prompt;
			return { interventions: on ? steered : unsteered, ...(extensions.length > 0 ? { extensions } : {}), extensionInputs: on ? steeredInputs : unsteeredInputs };
		},
	};
}

/** Row `row` of a [rows, width] SAE tensor as float32 (f16 and bf16 widened). */
export function tensorRow(t: SaeTensor, row: number, width: number): Float32Array {
	if (!isStoredFloat(t.dtype)) throw new Error(`internal: SAE tensor dtype ${t.dtype}`);
	const out = new Float32Array(width);
	widenToFloat32(t.dtype, t.data, row * width * STORED_FLOAT_BYTES[t.dtype], width, out, 0);
	return out;
}
