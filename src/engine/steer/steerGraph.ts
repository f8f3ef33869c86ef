// The steering subgraph spliced into the model graph at an SAE's hook, for the two modes that
// depend on the activation itself: clamp (x + (v − f_i(x))·d_i) and projection cap. The
// SAE's weights are initializers of this per-(model, SAE) graph variant; which features are
// steered, how, how strongly and at which positions are graph inputs, so one onnxruntime
// session serves every setting (any number of features: n is a dynamic dimension).
//
// Semantics, all in the SAE's view of the activation (saeInputView: TransformerLens centring,
// normalize_activations, b_dec):
// - clamp: f_i(x) is the SAE's own encode of x: for TopK that is the TopK activation, 0
//   when feature i is not among the k largest (a tie with the k-th counts as selected) (so clamping a feature the SAE
//   did not select adds v·d_i, exactly as SAELens/Neuronpedia's encode → set → decode with
//   the error term kept). Several clamped features all read the same unsteered x. With
//   activation normalization the latent change is taken back to activation units by the
//   per-token scale, as the SAE's decoder does.
// - cap: the projection of the (centred) activation on d_i/‖d_i‖ is lowered to the cap value
//   where it exceeds it; positions below the cap are untouched.
// - the change Δ (a combination of decoder rows) is added to the raw hook value. For a
//   centred SAE this is the same vector TransformerLens would add to its processed residual:
//   centring is linear, so the SAE re-reads x_c + Δ − mean(Δ), and every later read of the
//   residual stream is a LayerNorm, which ignores the mean, so the model's outputs are those
//   of adding Δ in the processed model.
// - Δ is multiplied by the position mask (1 steer, 0 leave), [1|batch, 1|seq].
// The additive modes (feature add, raw vectors) do not need any of this: they are fed to the
// model graph's `intervene.<hook>` input (steering.ts), applied before this subgraph, so clamp
// and cap see the activation after additive steering at the same hook.

import { DataType } from '../onnx/onnxProto';
import type { Value } from '../onnx/graphBuilder';
import type { DecoderContext, HookExtension } from '../models/decoderGraph';
import type { LanguageModel } from '../models/languageModel';
import { saeArchitecture } from '../sae/architectures/saeArchitectures';
import type { SaeGraphContext } from '../sae/architectures/saeArchitecture';
import { saeInputView, saeWeights } from '../sae/saeGraph';
import type { SaeRunner } from '../sae/saeRunner';
import type { Sae } from '../sae/saeTypes';

/** Which activation-dependent modes a variant computes (the encoder is only built for clamp). */
export interface SteerVariant {
	clamp: boolean;
	cap: boolean;
}

export type SteerInputPart = 'features' | 'values' | 'clamp' | 'cap' | 'positions';

/**
 * Graph inputs at hook H: `steer.H.features` int64 [n] (SAE feature indices), `steer.H.values`
 * [n] (clamp value or cap), `steer.H.clamp` / `steer.H.cap` [n] (1 where the row has that
 * mode, else 0), `steer.H.positions` [1|batch, 1|seq] (1 where steered).
 */
export const steerInputName = (hookName: string, part: SteerInputPart): string => `steer.${hookName}.${part}`;

const saeIds = new WeakMap<Sae, number>();
let nextSaeId = 0;

/** A per-process id for an SAE object, so a reloaded (possibly retrained) SAE never reuses a stale session. */
function saeId(sae: Sae): number {
	let id = saeIds.get(sae);
	if (id === undefined) {
		id = nextSaeId++;
		saeIds.set(sae, id);
	}
	return id;
}

/** The session-cache key prefix of every steering variant for this SAE (for LanguageModel.releaseExtension). */
export function steerExtensionKey(runner: SaeRunner, variant: SteerVariant): string {
	const modes = [variant.clamp ? 'clamp' : '', variant.cap ? 'cap' : ''].filter(Boolean).join('+');
	return `steer:${runner.hookName}:sae${saeId(runner.sae)}:${modes}`;
}

export function saeSteerExtension(runner: SaeRunner, variant: SteerVariant): HookExtension {
	if (!variant.clamp && !variant.cap) throw new Error('internal: a steering variant needs clamp or cap');
	const { sae, hookName, centre } = runner;
	return {
		key: steerExtensionKey(runner, variant),
		hookName,
		build(ctx: DecoderContext, x: Value): Value {
			const { b } = ctx;
			const input = (part: SteerInputPart, dataType: DataType, dims: (string | number)[]): Value => b.input(steerInputName(hookName, part), dataType, dims);
			const features = input('features', DataType.INT64, ['steer_n']);
			const values = input('values', DataType.FLOAT, ['steer_n']);
			const positions = input('positions', DataType.FLOAT, ['steer_batch', 'steer_seq']);
			const weight = saeWeights(b, sae, 'sae.');
			const architecture = saeArchitecture(sae.cfg.architecture);
			const g: SaeGraphContext = { b, cfg: sae.cfg, weight };
			const view = saeInputView(b, sae, x, centre, weight); // [batch, seq, d_in]
			const directions = b.gather(weight('W_dec'), features, 0); // [n, d_in]
			const terms: Value[] = [];
			if (variant.clamp) {
				// The SAE's own encode of the clamped features (for TopK: 0 unless among the k largest).
				const current = architecture.encodeSelected(g, view.saeIn, features); // [batch, seq, n]
				// The change of their activations, as the decoder reads it.
				let c = architecture.decoderInput(g, b.mul(input('clamp', DataType.FLOAT, ['steer_n']), b.sub(values, current)), features);
				if (view.unscale) c = b.mul(c, view.unscale);
				terms.push(c);
			}
			if (variant.cap) {
				const sumSq = b.op('ReduceSum', [b.mul(directions, directions), b.constInt64([1])], { keepdims: { kind: 'int', value: 0 } });
				// A zero decoder row (a dead feature) has no direction to cap along; the floor keeps it finite (its term is then 0).
				const norm = b.op('Max', [b.sqrt(sumSq), b.constFloat([1e-12])]); // [n]
				const projection = b.div(b.matMul(view.xView, b.transpose(directions, [1, 0])), norm); // [batch, seq, n]
				const excess = b.op('Relu', [b.sub(projection, values)]);
				terms.push(b.neg(b.div(b.mul(input('cap', DataType.FLOAT, ['steer_n']), excess), norm)));
			}
			const coefficients = terms.length === 1 ? terms[0]! : b.add(terms[0]!, terms[1]!); // [batch, seq, n]
			const delta = b.matMul(coefficients, directions); // [batch, seq, d_in]
			return b.add(x, b.mul(delta, b.unsqueeze(positions, [2])));
		},
	};
}

/** Releases the model's steering sessions built for this SAE (they embed its weights), e.g. when another SAE replaces it. */
export async function releaseSteering(model: LanguageModel, runner: SaeRunner): Promise<void> {
	for (const clamp of [false, true]) {
		for (const cap of [false, true]) if (clamp || cap) await model.releaseExtension(steerExtensionKey(runner, { clamp, cap }));
	}
}
