// A loaded SAE bound to a model's hook: checks that it fits the model, runs its graphs on
// hook activations, and reproduces TransformerLens's processed residual view when the SAE
// was trained on it.

import * as ort from 'onnxruntime-node';
import type { LanguageModel } from '../models/languageModel';
import { architectureFor } from '../models/architectures';
import { ModelConfigError } from '../models/decoderConfig';
import { perTokenWidth } from '../models/hookPoints';
import { createSession } from '../onnx/session';
import type { SessionSettings } from '../onnx/session';
import { SAE_INPUT, SAE_TARGET, buildSaeGraph, needsTarget } from './saeGraph';
import { outputHookName, outputWidth } from './transcoder';
import type { SaeGraphRequest } from './saeGraph';
import type { Sae } from './saeTypes';

export interface SaeOutputs {
	acts?: Float32Array;
	topValues?: Float32Array;
	topIndices?: Int32Array;
	recons?: Float32Array;
	error?: Float32Array;
	stats?: { l0: Float32Array; sqError: Float32Array; cosine: Float32Array; sqNorm: Float32Array; fireCounts: Float32Array; sumX: Float32Array };
}

/** Hooks whose value TransformerLens centres when it processes LayerNorm models' weights. */
const RESIDUAL_WRITING = /^(hook_embed|hook_pos_embed|blocks\.\d+\.(hook_resid_pre|hook_resid_mid|hook_resid_post|hook_attn_out|hook_mlp_out))$/;

/**
 * The first SAELens release (3.19.2, 2024-09, PR #279) that trained on
 * HookedTransformer.from_pretrained_no_processing(**model_from_pretrained_kwargs); earlier ones
 * called from_pretrained(**kwargs), whose default processing centres the writing weights.
 */
const NO_PROCESSING_SINCE = [3, 19, 2];

/**
 * Whether the SAE saw TransformerLens's centred residual stream, decided from what its training
 * actually ran (the rule, for a HookedTransformer of a LayerNorm model at a residual-writing hook):
 * - trained by SAELens ≥ 3.19.2 (sae_lens_training_version): from_pretrained_no_processing, so
 *   centred only when model_from_pretrained_kwargs says center_writing_weights: true;
 * - trained by an older or unknown version: from_pretrained, so centred unless the kwargs say
 *   center_writing_weights: false (fold_ln: false alone still centres: TransformerLens centres
 *   writing weights whether or not it folds the LayerNorm).
 * There the processed value is the raw one minus its per-token mean. Registry config_overrides
 * (e.g. gpt2-small-res-jb's center_writing_weights: true) are merged into the metadata on load.
 */
export function usesCentredView(sae: Sae, modelType: string): boolean {
	// A transcoder reads and writes different hooks; centring one and not the other would be wrong, and no release does.
	if (sae.cfg.transcoder) return false;
	const meta = sae.cfg.metadata;
	const fromTransformerLens = (meta.model_class_name ?? 'HookedTransformer') === 'HookedTransformer';
	// LayerNorm models (GPT-2, GPT-NeoX/Pythia): TransformerLens centres only where the norms centre.
	const layerNormModel = architectureFor(modelType)?.unembedding.normCentres === true;
	if (!fromTransformerLens || !layerNormModel || !RESIDUAL_WRITING.test(meta.hook_name)) return false;
	const cww = (meta.model_from_pretrained_kwargs ?? {}).center_writing_weights;
	return trainedWithoutProcessing(meta.sae_lens_training_version) ? cww === true : cww !== false;
}

function trainedWithoutProcessing(version: unknown): boolean {
	const m = typeof version === 'string' ? /^\s*v?(\d+)\.(\d+)\.(\d+)/.exec(version) : null;
	if (!m) return false;
	const v = [Number(m[1]), Number(m[2]), Number(m[3])];
	for (let i = 0; i < 3; i++) if (v[i] !== NO_PROCESSING_SINCE[i]) return v[i]! > NO_PROCESSING_SINCE[i]!;
	return true;
}

const saeIds = new WeakMap<Sae, number>();
let nextSaeId = 0;

/** A per-process id for an SAE object, so a graph built for a reloaded (possibly retrained) SAE is never reused for another. */
export function saeObjectId(sae: Sae): number {
	let id = saeIds.get(sae);
	if (id === undefined) {
		id = nextSaeId++;
		saeIds.set(sae, id);
	}
	return id;
}

export class SaeRunner {
	private readonly sessions = new Map<string, Promise<ort.InferenceSession>>();
	readonly centre: boolean;
	/** Where the reconstruction belongs (and steering writes): hookName for an SAE, hook_name_out for a transcoder. */
	readonly outputHookName: string;
	/** The reconstruction's width, d_out (d_in for an SAE). */
	readonly dOut: number;

	private constructor(
		readonly sae: Sae,
		readonly hookName: string,
		readonly modelType: string,
		private readonly settings: SessionSettings,
		private readonly log: (m: string) => void,
	) {
		this.centre = usesCentredView(sae, modelType);
		this.outputHookName = outputHookName(sae.cfg);
		this.dOut = outputWidth(sae.cfg);
	}

	/** Binds an SAE to a model, refusing one trained on another hook or width. */
	static forModel(sae: Sae, model: LanguageModel, settings: SessionSettings, log: (m: string) => void = () => {}): SaeRunner {
		const hookName = sae.cfg.metadata.hook_name;
		if (!hookName) throw new ModelConfigError(`${sae.source}: the SAE does not say which hook it reads (metadata.hook_name is empty)`);
		const point = model.hookPoints.find((h) => h.name === hookName);
		if (!point) {
			throw new ModelConfigError(`${sae.source}: the SAE reads hook "${hookName}", which this ${model.cfg.modelType} model with ${model.cfg.nLayers} layers does not have`);
		}
		const width = perTokenWidth(point, `${sae.source}: ${hookName}`);
		if (width !== sae.cfg.d_in) {
			throw new ModelConfigError(
				`${sae.source}: the SAE expects d_in ${sae.cfg.d_in} at ${hookName}, but this model's ${hookName} has width ${width}` +
					(sae.cfg.metadata.model_name ? ` (the SAE was trained on ${sae.cfg.metadata.model_name})` : ''),
			);
		}
		const transcoder = sae.cfg.transcoder;
		if (transcoder) {
			const out = model.hookPoints.find((h) => h.name === transcoder.hook_name_out);
			if (!out)
				throw new ModelConfigError(`${sae.source}: the transcoder writes hook "${transcoder.hook_name_out}", which this ${model.cfg.modelType} model with ${model.cfg.nLayers} layers does not have`);
			const outWidth = perTokenWidth(out, `${sae.source}: ${transcoder.hook_name_out}`);
			if (outWidth !== transcoder.d_out)
				throw new ModelConfigError(`${sae.source}: the transcoder writes d_out ${transcoder.d_out} at ${transcoder.hook_name_out}, but this model's ${transcoder.hook_name_out} has width ${outWidth}`);
			if (out.layer !== point.layer)
				throw new ModelConfigError(`${sae.source}: the transcoder reads ${hookName} and writes ${transcoder.hook_name_out}, in different layers; only per-layer transcoders run in the model`);
		}
		const trainedOn = sae.cfg.metadata.model_name;
		if (trainedOn && trainedOn !== model.name) {
			// Our own SAEs name their model exactly; other tools' names (gpt2-small vs gpt2) need not match.
			if (sae.cfg.metadata.model_class_name === 'FeatureLens') {
				throw new ModelConfigError(`${sae.source}: the SAE was trained on ${trainedOn}, not on ${model.name}`);
			}
			log(`${sae.source}: the SAE was trained on ${trainedOn}; using it with ${model.name} because its hook and width match`);
		}
		const runner = new SaeRunner(sae, hookName, model.cfg.modelType, settings, log);
		if (runner.centre) log(`${sae.source}: trained on TransformerLens's processed weights; centring ${hookName} per token to match`);
		return runner;
	}

	/**
	 * Runs the SAE on `rows` activation vectors (row-major [rows, d_in]). A transcoder's error and
	 * statistics are measured against `target`, its output hook's activations [rows, d_out].
	 */
	async run(x: Float32Array, rows: number, want: Omit<SaeGraphRequest, 'centre'>, target?: Float32Array): Promise<SaeOutputs> {
		const request: SaeGraphRequest = { ...want, centre: this.centre };
		const session = await this.session(request);
		const feeds: Record<string, ort.Tensor> = { [SAE_INPUT]: new ort.Tensor('float32', x, [rows, this.sae.cfg.d_in]) };
		if (needsTarget(this.sae, request)) {
			if (!target) throw new Error(`internal: ${this.sae.source} is a transcoder; its error needs the output hook's activations`);
			feeds[SAE_TARGET] = new ort.Tensor('float32', target, [rows, this.dOut]);
		}
		const out = await session.run(feeds);
		const result: SaeOutputs = {};
		if (request.acts) result.acts = out.acts!.data as Float32Array;
		if (request.topFeatures > 0) {
			result.topValues = out.top_values!.data as Float32Array;
			result.topIndices = Int32Array.from(out.top_indices!.data as BigInt64Array, (v) => Number(v));
		}
		if (request.recons) result.recons = out.recons!.data as Float32Array;
		if (request.error) result.error = out.error!.data as Float32Array;
		if (request.stats) {
			const f = (name: string) => out[name]!.data as Float32Array;
			result.stats = { l0: f('l0'), sqError: f('sq_error'), cosine: f('cosine'), sqNorm: f('sq_norm'), fireCounts: f('fire_counts'), sumX: f('sum_x') };
		}
		return result;
	}

	async dispose(): Promise<void> {
		const sessions = [...this.sessions.values()];
		this.sessions.clear();
		for (const s of sessions) await (await s).release();
	}

	private session(request: SaeGraphRequest): Promise<ort.InferenceSession> {
		const key = JSON.stringify(request);
		let session = this.sessions.get(key);
		if (!session) {
			session = createSession(buildSaeGraph(this.sae, request), this.settings, this.log).then((s) => s.session);
			session.catch(() => this.sessions.delete(key));
			this.sessions.set(key, session);
		}
		return session;
	}
}
