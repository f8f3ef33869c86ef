// A cross-layer transcoder (CLT) inside the model. Layer L's replaced MLP output is
// ŷ_L = b_dec_L + Σ_{S ≤ L} f_S · W_dec_S[:, L − S, :], with f_S = act(encoder_S(input hook of S))
// read in the replaced model. The model runs its blocks as separate stages and trunk runs, so
// one stage's splice cannot read an earlier stage's hooks; instead the replacement proceeds layer
// by layer: forward k (k = 0 … n−1) runs the model with layers < k already replaced by their
// known outputs (graph inputs of a "set" splice at each output hook) and reads layer k's input
// hook; the CLT graph (cltGraph.ts) on the inputs known so far gives layer k's output, which
// depends only on sources ≤ k (later layers' inputs are zero there and never reach it). A last
// forward with every layer set gives the logits. That is n + 1 forwards, each stopping at the
// layer it reads (≈ n²/2 block runs); exact, and no stage needs another stage's values.
// "Alongside" — the MLPs kept — is one clean forward: the CLT's features on the clean inputs and
// the error term (MLP output − reconstruction) per layer.

import * as ort from 'onnxruntime-node';
import { ModelConfigError } from '../models/decoderConfig';
import type { HookExtension, LogitsMode } from '../models/decoderGraph';
import { perTokenWidth } from '../models/hookPoints';
import type { LanguageModel } from '../models/languageModel';
import { DataType } from '../onnx/onnxProto';
import { createSession } from '../onnx/session';
import type { SessionSettings } from '../onnx/session';
import { layerHook } from './circuitTracerFormat';
import type { CrossLayerTranscoder } from './circuitTracerFormat';
import { CLT_INPUT, buildCltGraph } from './cltGraph';
import { exceptFirstPosition } from './transcoderSplice';
import type { SpliceOptions } from './transcoderSplice';

/** The graph input through which a CLT splice receives its layer's output. */
export const cltInputName = (outputHook: string): string => `clt.${outputHook}.value`;

/** Replaces hook `outputHook` [batch, seq, d] with the graph input cltInputName(outputHook), of the same shape. */
export function cltSplice(outputHook: string, width: number, options: SpliceOptions = {}): HookExtension {
	return {
		key: `clt:${outputHook}${options.keepFirstPosition ? ':keep0' : ''}`,
		hookName: outputHook,
		build(ctx, x) {
			const value = ctx.b.input(cltInputName(outputHook), DataType.FLOAT, ['batch', 'seq', width]); // [batch, seq, d]
			return options.keepFirstPosition ? exceptFirstPosition(ctx, x, value) : value;
		},
	};
}

export interface CltRun {
	/** Per layer L: its input hook's value [batch, seq, d_model] (in the replaced model, for replace). */
	inputs: Float32Array[];
	/** Per layer L: its features f_L [batch, seq, d_sae]. */
	features: Float32Array[];
	/** Per layer L: the CLT's output ŷ_L [batch, seq, d_model]: the replaced MLP output. */
	outputs: Float32Array[];
	/** Per layer L, alongside only: the MLP's output minus ŷ_L [batch, seq, d_model]. */
	errors?: Float32Array[];
	/** [batch, seq|1, d_vocab], when asked for. */
	logits?: ort.Tensor;
}

export class CltRunner {
	/** By topFeatures (0: none). */
	private readonly sessions = new Map<number, Promise<ort.InferenceSession>>();
	readonly inputHooks: string[];
	readonly outputHooks: string[];

	private constructor(
		readonly clt: CrossLayerTranscoder,
		private readonly settings: SessionSettings,
		private readonly log: (m: string) => void,
	) {
		this.inputHooks = clt.layers.map((_, l) => layerHook(clt.config.feature_input_hook, l));
		this.outputHooks = clt.layers.map((_, l) => layerHook(clt.config.feature_output_hook, l));
	}

	/** Binds a CLT to a model, refusing one whose layers or hooks the model lacks or whose width differs. */
	static forModel(clt: CrossLayerTranscoder, model: LanguageModel, settings: SessionSettings, log: (m: string) => void = () => {}): CltRunner {
		if (clt.nLayers > model.cfg.nLayers) throw new ModelConfigError(`${clt.source}: the cross-layer transcoder has ${clt.nLayers} layers, this ${model.cfg.modelType} model ${model.cfg.nLayers}`);
		const runner = new CltRunner(clt, settings, log);
		for (const hook of [...runner.inputHooks, ...runner.outputHooks]) {
			const point = model.hookPoints.find((h) => h.name === hook);
			if (!point) throw new ModelConfigError(`${clt.source}: the cross-layer transcoder uses hook "${hook}", which this ${model.cfg.modelType} model with ${model.cfg.nLayers} layers does not have`);
			const width = perTokenWidth(point, `${clt.source}: ${hook}`);
			if (width !== clt.dModel) throw new ModelConfigError(`${clt.source}: the cross-layer transcoder has d_model ${clt.dModel}, but this model's ${hook} has width ${width}`);
		}
		return runner;
	}

	/**
	 * The CLT on every layer's input, `x` [n, rows, d_model] → features [n, rows, d_sae] and outputs
	 * [n, rows, d_model]; with topFeatures k, each row's k strongest features over all layers
	 * [rows, k] (index layer · d_sae + feature).
	 */
	async run(x: Float32Array, rows: number, topFeatures = 0): Promise<{ acts: Float32Array; recons: Float32Array; topValues?: Float32Array; topIndices?: Int32Array }> {
		let session = this.sessions.get(topFeatures);
		if (!session) {
			session = createSession(buildCltGraph(this.clt, topFeatures), this.settings, this.log).then((s) => s.session);
			session.catch(() => this.sessions.delete(topFeatures));
			this.sessions.set(topFeatures, session);
		}
		const out = await (await session).run({ [CLT_INPUT]: new ort.Tensor('float32', x, [this.clt.nLayers, rows, this.clt.dModel]) });
		const result: { acts: Float32Array; recons: Float32Array; topValues?: Float32Array; topIndices?: Int32Array } = { acts: out.acts!.data as Float32Array, recons: out.recons!.data as Float32Array };
		if (topFeatures > 0) {
			result.topValues = out.top_values!.data as Float32Array;
			result.topIndices = Int32Array.from(out.top_indices!.data as BigInt64Array, (v) => Number(v));
		}
		return result;
	}

	/** Every MLP replaced by the CLT's output, computed from the input hooks of the replaced model (see the file comment). */
	async replace(model: LanguageModel, ids: readonly (readonly number[])[], options: SpliceOptions & { logits?: LogitsMode } = {}): Promise<CltRun> {
		const { nLayers: n, dModel: d } = this.clt;
		const batch = ids.length;
		const seq = ids[0]?.length ?? 0;
		const rows = batch * seq;
		const stacked = new Float32Array(n * rows * d); // [n, rows, d]; layers not yet read stay zero
		const splices = this.outputHooks.map((h) => cltSplice(h, d, options));
		const set: Record<string, ort.Tensor> = {};
		let last: { acts: Float32Array; recons: Float32Array } | undefined;
		for (let k = 0; k < n; k++) {
			const read = await model.forward({ ids, hooks: [this.inputHooks[k]!], logits: 'none', extensions: splices.slice(0, k), extensionInputs: set });
			stacked.set(read.hooks[this.inputHooks[k]!]!.data as Float32Array, k * rows * d);
			last = await this.run(stacked, rows);
			// ŷ_k reads sources ≤ k only, all known now.
			set[cltInputName(this.outputHooks[k]!)] = new ort.Tensor('float32', last.recons.slice(k * rows * d, (k + 1) * rows * d), [batch, seq, d]);
		}
		const result = this.split(stacked, last!, rows);
		const logits = options.logits ?? 'all';
		if (logits !== 'none') result.logits = (await model.forward({ ids, logits, extensions: splices, extensionInputs: set })).logits;
		return result;
	}

	/** The MLPs kept: the CLT's features and outputs on the clean model's input hooks, and each layer's error term (MLP output − ŷ_L). */
	async alongside(model: LanguageModel, ids: readonly (readonly number[])[]): Promise<CltRun> {
		const { nLayers: n, dModel: d } = this.clt;
		const rows = ids.length * (ids[0]?.length ?? 0);
		const clean = await model.forward({ ids, hooks: [...this.inputHooks, ...this.outputHooks], logits: 'none' });
		const stacked = new Float32Array(n * rows * d);
		this.inputHooks.forEach((h, l) => stacked.set(clean.hooks[h]!.data as Float32Array, l * rows * d));
		const result = this.split(stacked, await this.run(stacked, rows), rows);
		result.errors = this.outputHooks.map((h, l) => {
			const y = clean.hooks[h]!.data as Float32Array;
			const r = result.outputs[l]!;
			return y.map((v, i) => v - r[i]!);
		});
		return result;
	}

	async dispose(): Promise<void> {
		const sessions = [...this.sessions.values()];
		this.sessions.clear();
		for (const s of sessions) await (await s).release();
	}

	private split(stacked: Float32Array, out: { acts: Float32Array; recons: Float32Array }, rows: number): CltRun {
		const { nLayers: n, dModel: d, dSae: s } = this.clt;
		const layers = Array.from({ length: n }, (_, l) => l);
		return {
			inputs: layers.map((l) => stacked.slice(l * rows * d, (l + 1) * rows * d)),
			features: layers.map((l) => out.acts.slice(l * rows * s, (l + 1) * rows * s)),
			outputs: layers.map((l) => out.recons.slice(l * rows * d, (l + 1) * rows * d)),
		};
	}
}
