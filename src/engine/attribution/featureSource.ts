// The features an attribution graph is built from, whichever kind holds them: one transcoder per
// layer (circuit-tracer's transcoder_set, SAELens transcoders) or a cross-layer transcoder (CLT:
// layer L's features read layer L's input and write to the MLP outputs of L and every later
// layer). Everything attribution needs from them is here: the checks, their activations and
// error vectors on a prompt, and their weights as graph values (encoders, decoders, skip terms).

import * as ort from 'onnxruntime-node';
import * as path from 'node:path';
import { isStoredFloat } from '../io/halfFloats';
import { ModelConfigError } from '../models/decoderConfig';
import type { LanguageModel } from '../models/languageModel';
import { GraphBuilder } from '../onnx/graphBuilder';
import type { Value } from '../onnx/graphBuilder';
import { DataType, STORED_FLOAT_TYPE } from '../onnx/onnxProto';
import { createSession } from '../onnx/session';
import type { SessionSettings } from '../onnx/session';
import { CIRCUIT_TRACER_CONFIG, isCircuitTracerFolder, layerHook, loadCrossLayerTranscoder, loadTranscoderFolder, readCircuitTracerConfig } from '../sae/circuitTracerFormat';
import type { CrossLayerTranscoder } from '../sae/circuitTracerFormat';
import { CLT_INPUT, buildCltGraph } from '../sae/cltGraph';
import { loadSae } from '../sae/saeFormat';
import { saeWeights } from '../sae/saeGraph';
import { SaeRunner } from '../sae/saeRunner';
import { tensorRow } from '../steer/steering';
import type { Sae, SaeTensor } from '../sae/saeTypes';
import { inputView } from './attributionGraphs';
import type { InputView } from './attributionGraphs';
import { ATTRIBUTION_FAMILIES } from './linearBlocks';

/** Per-layer transcoders (layer L at index L), or a cross-layer transcoder. */
export type AttributionFeatures = readonly Sae[] | CrossLayerTranscoder;

/** A transcoder set folder (circuit-tracer's, either kind, or per-layer SAELens folders) as attribution features. */
export function loadAttributionFeatures(dir: string): AttributionFeatures {
	if (isCircuitTracerFolder(dir) && readCircuitTracerConfig(dir).model_kind === 'cross_layer_transcoder') return loadCrossLayerTranscoder(dir);
	return loadTranscoderFolder(dir, (p) => loadSae(p));
}

export function isCrossLayer(features: AttributionFeatures): features is CrossLayerTranscoder {
	return !Array.isArray(features);
}

/** The encoder a feature's pre-activation is W_enc·x + b_enc for, and whose active features have activation = pre-activation. */
const LINEAR_ENCODERS = new Set(['standard', 'topk', 'jumprelu']);

/** A prompt's features: activations per layer [seq, d_sae], and the error vectors [n_layers · seq, d_model] (MLP output − reconstruction). */
export interface EncodedPrompt {
	acts: Float32Array[];
	errors: Float32Array;
}

export interface FeatureSource {
	readonly crossLayer: boolean;
	/** Where they come from, for messages and the graph's feature sources. */
	readonly source: string;
	/** Each layer's input hook (blocks.L.…). */
	readonly inputHooks: readonly string[];
	readonly view: InputView;
	/** Features per layer. */
	readonly dSae: readonly number[];
	/** Activations and errors on a prompt: inputs [n_layers · seq, d_in] (each layer's input hook), MLP outputs [n_layers · seq, d_model]. */
	encode(inputs: Float32Array, mlpOuts: Float32Array, seq: number): Promise<EncodedPrompt>;
	/** Encoder columns [Σ d_sae, d_in] and biases [Σ d_sae] of every layer, in layer order. */
	encoders(b: GraphBuilder): { columns: Value; biases: Value };
	/** Decoder rows of every layer's features, [Σ d_sae, d_model] (per layer), or [Σ d_sae, n_layers, d_model] (a CLT: what each feature writes to every layer, zero below its own). */
	decoders(b: GraphBuilder): Value;
	/** A skip transcoder's W_skip [d_out, d_in] per layer, else undefined. */
	skip(b: GraphBuilder, layer: number): Value | undefined;
	/** The layer whose transcoder was loaded from `file` (a steered feature's SAE), else undefined; never for a CLT. */
	layerOfFile(file: string): number | undefined;
	/** Layer `layer`'s feature `index`'s decoder row, [d_model] (per-layer transcoders). */
	decoderRow(layer: number, index: number): Float32Array;
	dispose(): Promise<void>;
}

/** Checks `features` against `model` and binds them. */
export function featureSource(model: LanguageModel, features: AttributionFeatures, settings: SessionSettings): FeatureSource {
	const { cfg } = model;
	if (!(ATTRIBUTION_FAMILIES as readonly string[]).includes(cfg.modelType)) {
		throw new ModelConfigError(`attribution graphs support ${ATTRIBUTION_FAMILIES.join(', ')} models so far, not ${cfg.modelType}`);
	}
	return isCrossLayer(features) ? cltSource(model, features, settings) : perLayerSource(model, features, settings);
}

function checkInputHook(file: string, hook: string, layer: number): InputView {
	const v = inputView(hook);
	if (!hook.startsWith(`blocks.${layer}.`) || v === undefined) {
		throw new ModelConfigError(
			`${file}: layer ${layer}'s transcoder reads ${hook}; attribution needs blocks.${layer}.ln2.hook_normalized, blocks.${layer}.mlp.hook_in or blocks.${layer}.hook_resid_mid`,
		);
	}
	return v;
}

function perLayerSource(model: LanguageModel, transcoders: readonly Sae[], settings: SessionSettings): FeatureSource {
	const N = model.cfg.nLayers;
	if (transcoders.length !== N) throw new ModelConfigError(`attribution needs one transcoder per layer: ${model.name} has ${N} layers, the set has ${transcoders.length}`);
	let view: InputView | undefined;
	transcoders.forEach((sae, l) => {
		const t = sae.cfg.transcoder;
		if (!t) throw new ModelConfigError(`${sae.source}: not a transcoder (attribution graphs are built from transcoders)`);
		const v = checkInputHook(sae.source, sae.cfg.metadata.hook_name, l);
		if (view !== undefined && v !== view) throw new ModelConfigError(`${sae.source}: reads ${sae.cfg.metadata.hook_name}, but the set's other transcoders read another hook`);
		view = v;
		if (t.hook_name_out !== `blocks.${l}.hook_mlp_out`) throw new ModelConfigError(`${sae.source}: writes ${t.hook_name_out}; attribution needs blocks.${l}.hook_mlp_out`);
		if (!LINEAR_ENCODERS.has(sae.cfg.architecture)) throw new ModelConfigError(`${sae.source}: ${sae.cfg.architecture} transcoders are not supported by attribution (standard, topk, jumprelu are)`);
		if (sae.cfg.d_in !== model.cfg.dModel) throw new ModelConfigError(`${sae.source}: reads width ${sae.cfg.d_in}, not the residual stream's ${model.cfg.dModel}`);
	});
	const runners = transcoders.map((sae) => SaeRunner.forModel(sae, model, settings));
	const weights = new WeakMap<GraphBuilder, ((name: string) => Value)[]>();
	const of = (b: GraphBuilder) => {
		let w = weights.get(b);
		if (!w) weights.set(b, (w = transcoders.map((sae, l) => saeWeights(b, sae, `transcoder.${l}.`))));
		return w;
	};
	const d = model.cfg.dModel;
	return {
		crossLayer: false,
		source: path.dirname(transcoders[0]!.source),
		inputHooks: runners.map((r) => r.hookName),
		view: view!,
		dSae: transcoders.map((t) => t.cfg.d_sae),
		async encode(inputs, mlpOuts, seq) {
			const acts: Float32Array[] = [];
			const errors = new Float32Array(N * seq * d);
			for (const [l, r] of runners.entries()) {
				const rows = (x: Float32Array) => x.subarray(l * seq * d, (l + 1) * seq * d);
				const out = await r.run(rows(inputs), seq, { acts: true, topFeatures: 0, recons: false, error: true }, rows(mlpOuts));
				acts.push(out.acts!);
				errors.set(out.error!, l * seq * d);
			}
			return { acts, errors };
		},
		encoders(b) {
			const w = of(b);
			return {
				columns: b.concat(
					w.map((x) => b.transpose(x('W_enc'), [1, 0])),
					0,
				),
				biases: b.concat(
					w.map((x) => x('b_enc')),
					0,
				),
			};
		},
		decoders: (b) =>
			b.concat(
				of(b).map((x) => x('W_dec')),
				0,
			),
		skip: (b, l) => (transcoders[l]!.cfg.transcoder!.skip ? of(b)[l]!('W_skip') : undefined),
		layerOfFile(file) {
			const l = transcoders.findIndex((t) => path.resolve(t.source) === path.resolve(file));
			return l >= 0 ? l : undefined;
		},
		decoderRow: (l, index) => tensorRow(transcoders[l]!.weights.W_dec!, index, d),
		async dispose() {
			for (const r of runners) await r.dispose();
		},
	};
}

function cltSource(model: LanguageModel, clt: CrossLayerTranscoder, settings: SessionSettings): FeatureSource {
	const N = model.cfg.nLayers;
	const d = model.cfg.dModel;
	const file = path.join(clt.source, CIRCUIT_TRACER_CONFIG);
	if (clt.nLayers !== N) throw new ModelConfigError(`${clt.source}: the cross-layer transcoder has ${clt.nLayers} layers; ${model.name} has ${N}`);
	if (clt.dModel !== d) throw new ModelConfigError(`${clt.source}: the cross-layer transcoder is ${clt.dModel} wide; ${model.name}'s residual stream is ${d}`);
	const inputHooks = Array.from({ length: N }, (_, l) => layerHook(clt.config.feature_input_hook, l));
	const view = checkInputHook(file, inputHooks[0]!, 0);
	if (clt.config.feature_output_hook !== 'hook_mlp_out') throw new ModelConfigError(`${file}: feature_output_hook is ${clt.config.feature_output_hook}; attribution needs hook_mlp_out`);
	const weight = (b: GraphBuilder, name: string, t: SaeTensor): Value => {
		if (!isStoredFloat(t.dtype)) throw new Error(`internal: CLT weight ${name} has dtype ${t.dtype}`);
		const v = b.initializer(`clt.${name}`, STORED_FLOAT_TYPE[t.dtype], t.shape, t.data);
		return STORED_FLOAT_TYPE[t.dtype] === DataType.FLOAT ? v : b.cast(v, DataType.FLOAT);
	};
	let sessions: Promise<[ort.InferenceSession, ort.InferenceSession]> | undefined;
	return {
		crossLayer: true,
		source: clt.source,
		inputHooks,
		view,
		dSae: clt.layers.map(() => clt.dSae),
		async encode(inputs, mlpOuts, seq) {
			sessions ??= Promise.all([createSession(buildCltGraph(clt), settings, () => {}), createSession(errorGraph(d), settings, () => {})]).then(([a, b]) => [a.session, b.session]);
			const [cltSession, errorSession] = await sessions;
			const out = await cltSession.run({ [CLT_INPUT]: new ort.Tensor('float32', inputs, [N, seq, d]) });
			const errors = await errorSession.run({ [MLP_OUTPUTS]: new ort.Tensor('float32', mlpOuts, [N, seq, d]), [RECONSTRUCTIONS]: out.recons! });
			const acts = out.acts!.data as Float32Array;
			const size = seq * clt.dSae;
			return { acts: Array.from({ length: N }, (_, l) => acts.subarray(l * size, (l + 1) * size)), errors: errors[CLT_ERRORS]!.data as Float32Array };
		},
		encoders(b) {
			return {
				columns: b.concat(
					clt.layers.map((layer, l) => b.transpose(weight(b, `W_enc_${l}`, layer.W_enc), [1, 0])),
					0,
				),
				biases: b.concat(
					clt.layers.map((layer, l) => weight(b, `b_enc_${l}`, layer.b_enc)),
					0,
				),
			};
		},
		decoders(b) {
			// Layer l's W_dec [d_sae, n − l, d] written from layer l on: zeros for the layers below.
			return b.concat(
				clt.layers.map((layer, l) => {
					const w = weight(b, `W_dec_${l}`, layer.W_dec);
					return l === 0 ? w : b.concat([b.constFloat(new Array<number>(clt.dSae * l * d).fill(0), [clt.dSae, l, d]), w], 1);
				}),
				0,
			);
		},
		skip: () => undefined,
		layerOfFile: () => undefined,
		decoderRow() {
			throw new Error('internal: a cross-layer transcoder has no per-layer decoder rows to steer');
		},
		async dispose() {
			if (sessions) for (const s of await sessions) await s.release();
		},
	};
}

const MLP_OUTPUTS = 'mlp_outputs';
const RECONSTRUCTIONS = 'recons';
const CLT_ERRORS = 'errors';

/** errors = MLP outputs − the CLT's reconstructions, [n, rows, d] (the CLT graph stays as the transcoder code builds it). */
function errorGraph(d: number): Buffer {
	const b = new GraphBuilder('clt_errors');
	const mlp = b.input(MLP_OUTPUTS, DataType.FLOAT, ['n', 'rows', d]);
	const recons = b.input(RECONSTRUCTIONS, DataType.FLOAT, ['n', 'rows', d]);
	b.output(b.sub(mlp, recons), DataType.FLOAT, ['n', 'rows', d], CLT_ERRORS);
	return b.build({ graph: 'clt_errors' });
}
