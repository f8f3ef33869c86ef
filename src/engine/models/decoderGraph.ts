// Builds an instrumented decoder graph: the architecture supplies embeddings, blocks and the
// final norm; this module supplies inputs, the KV cache, causal attention, hook outputs,
// intervention inputs and the layer at which the graph can stop.

import { DataType } from '../onnx/onnxProto';
import { GraphBuilder, MS_DOMAIN, attr } from '../onnx/graphBuilder';
import type { Value } from '../onnx/graphBuilder';
import type { Architecture } from './architecture';
import type { DecoderConfig } from './decoderConfig';
import type { HookPoint } from './hookPoints';
import type { ModelWeights } from './weights';

export type LogitsMode = 'all' | 'last' | 'none';

/** What a graph computes; sessions are cached by this. */
export interface GraphRequest {
	/** Hook points returned as outputs, by TransformerLens name. */
	hooks: readonly string[];
	/** Hook points that take an additive input `intervene.<hook>` of shape [b|1, t|1, width]. */
	interventions: readonly string[];
	logits: LogitsMode;
	/** Adds `past.L.key/value` inputs and `present.L.key/value` outputs. */
	kvCache: boolean;
	/** Keys of the `HookExtension`s spliced in (absent: none). */
	extensions?: readonly string[];
}

/**
 * Extra computation spliced in at a hook, after its additive intervention (steering subgraphs
 * that read the activation, e.g. an SAE clamp); it may add its own graph inputs.
 */
export interface HookExtension {
	/** Identifies what `build` emits, for the session cache: same key ⇒ same graph. */
	readonly key: string;
	readonly hookName: string;
	/** x: the hook's value [batch, seq, width] → the value the model continues with (same shape). */
	build(ctx: DecoderContext, x: Value): Value;
}

export const INPUT_IDS = 'input_ids';
export const LOGITS = 'logits';
export const pastName = (layer: number, kind: 'key' | 'value'): string => `past.${layer}.${kind}`;
export const presentName = (layer: number, kind: 'key' | 'value'): string => `present.${layer}.${kind}`;
export const interventionName = (hook: string): string => `intervene.${hook}`;

/** What architecture code sees while it builds: the builder plus model-level services. */
export class DecoderContext {
	readonly b: GraphBuilder;
	/** Absolute positions of this call's tokens, int64 [seq]. */
	readonly positions: Value;
	private readonly ids: Value;
	private maskBias?: Value;
	private readonly weightValues = new Map<string, Value>();

	constructor(
		readonly cfg: DecoderConfig,
		private readonly weights: ModelWeights,
		private readonly request: GraphRequest,
		private readonly hookIndex: ReadonlyMap<string, HookPoint>,
		private readonly extensions: ReadonlyMap<string, HookExtension> = new Map(),
	) {
		this.b = new GraphBuilder('decoder');
		this.ids = this.b.input(INPUT_IDS, DataType.INT64, ['batch', 'seq']);
		this.positions = this.b.scope('/positions', () => this.b.range(this.pastLength(), this.totalLength(), this.b.constInt64([1], [])));
	}

	/** A checkpoint weight as a float32 value, checked against the shape the config implies (never copied into the graph). */
	weight(name: string, shape: readonly number[]): Value {
		const cached = this.weightValues.get(name);
		if (cached) return cached;
		const v = this.weights.declare(this.b, name, shape);
		this.weightValues.set(name, v);
		return v;
	}

	/**
	 * x @ Wᵀ (+ bias) for a torch Linear weight stored [out, in]: onnxruntime reads W transposed
	 * in place (FusedMatMul transB), so no transposed copy of the weight is ever made.
	 * x: [..., in] → [..., out].
	 */
	linear(x: Value, weightName: string, outFeatures: number, inFeatures: number, biasName?: string): Value {
		const w = this.weight(weightName, [outFeatures, inFeatures]);
		const y = this.b.op('FusedMatMul', [x, w], { transB: attr.int(1) }, MS_DOMAIN);
		return biasName === undefined ? y : this.b.add(y, this.weight(biasName, [outFeatures]));
	}

	hasWeight(name: string): boolean {
		return this.weights.has(name);
	}

	tokenIds(): Value {
		return this.ids;
	}

	/** Whether a hook is read or intervened on, so a fused kernel that hides it must not be used. */
	wantsHook(name: string): boolean {
		return this.request.hooks.includes(name) || this.request.interventions.includes(name) || this.extensions.has(name);
	}

	/**
	 * A hook point: adds the intervention input when one is requested, emits the hook as an
	 * output when asked for, and returns the (possibly intervened) value to continue with.
	 */
	hook(name: string, value: Value): Value {
		const point = this.hookIndex.get(name);
		if (!point) throw new Error(`internal: unknown hook point ${name}`);
		let v = value;
		if (this.request.interventions.includes(name)) {
			const width = point.shape[point.shape.length - 1] as number;
			const delta = this.b.input(interventionName(name), DataType.FLOAT, ['intervene_batch', 'intervene_seq', width]);
			v = this.b.add(v, delta);
		}
		const extension = this.extensions.get(name);
		if (extension) {
			const input = v;
			v = this.b.scope(`/${extension.hookName}.extension`, () => extension.build(this, input));
		}
		if (this.request.hooks.includes(name)) {
			const dims = ['batch', ...point.shape.map((d) => (d === 'pos' ? 'seq' : d === 'kpos' ? 'total_seq' : d))];
			this.b.output(v, DataType.FLOAT, dims, name);
		}
		return v;
	}

	/**
	 * Causal self-attention over this call's tokens and the cached ones.
	 * q: [batch, seq, n_heads, d_head]; k, v: [batch, seq, n_kv_heads, d_head] (rotary already applied).
	 * Returns z: [batch, seq, n_heads, d_head].
	 */
	attention(layer: number, q: Value, k: Value, v: Value): Value {
		const { b, cfg } = this;
		const H = cfg.nHeads;
		const KV = cfg.nKvHeads;
		const D = cfg.dHead;
		const toHeadsFirst = (x: Value): Value => b.transpose(x, [0, 2, 1, 3]);
		let qh = toHeadsFirst(q); // [batch, H, seq, D]
		let kh = toHeadsFirst(k); // [batch, KV, seq, D]
		let vh = toHeadsFirst(v);
		if (this.request.kvCache) {
			kh = b.concat([b.input(pastName(layer, 'key'), DataType.FLOAT, ['batch', KV, 'past_seq', D]), kh], 2);
			vh = b.concat([b.input(pastName(layer, 'value'), DataType.FLOAT, ['batch', KV, 'past_seq', D]), vh], 2);
			b.output(kh, DataType.FLOAT, ['batch', KV, 'total_seq', D], presentName(layer, 'key'));
			b.output(vh, DataType.FLOAT, ['batch', KV, 'total_seq', D], presentName(layer, 'value'));
		}
		// Grouped-query attention without copying K/V: fold the query heads of each group into
		// the sequence axis, so one K/V head serves `rep` query heads in a single MatMul.
		const rep = H / KV;
		if (rep > 1) qh = b.reshape(qh, [0, KV, -1, D]); // [batch, KV, rep*seq, D]
		// A scalar Mul right after the MatMul is fused by onnxruntime into the product (FusedMatMul alpha).
		let scores = b.mul(b.matMul(qh, b.transpose(kh, [0, 1, 3, 2])), b.constFloat([1 / Math.sqrt(D)])); // [batch, KV, rep*seq, total_seq]
		if (rep > 1) scores = b.reshape(scores, [0, H, -1, 0]); // [batch, H, seq, total_seq]
		scores = b.add(scores, this.causalMask());
		let pattern = this.hook(`blocks.${layer}.attn.hook_pattern`, b.softmax(scores, -1));
		if (rep > 1) pattern = b.reshape(pattern, [0, KV, -1, 0]);
		let z = b.matMul(pattern, vh); // [batch, KV, rep*seq, D]
		if (rep > 1) z = b.reshape(z, [0, H, -1, D]);
		return this.hook(`blocks.${layer}.attn.hook_z`, b.transpose(z, [0, 2, 1, 3])); // [batch, seq, H, D]
	}

	/** [batch, seq, d_model] → [batch, seq, n, d_head]. */
	splitHeads(x: Value, n: number): Value {
		return this.b.reshape(x, [0, 0, n, this.cfg.dHead]);
	}

	/** [batch, seq, n, d_head] → [batch, seq, n * d_head]. */
	mergeHeads(x: Value): Value {
		return this.b.reshape(x, [0, 0, -1]);
	}

	/** Number of cached positions before this call, int64 scalar. */
	pastLength(): Value {
		if (!this.request.kvCache) return this.b.constInt64([0], []);
		return this.b.gather(this.b.shape(pastName(0, 'key')), this.b.constInt64([2], []));
	}

	private totalLength(): Value {
		const seq = this.b.gather(this.b.shape(this.ids), this.b.constInt64([1], []));
		return this.b.add(this.pastLength(), seq);
	}

	/** Additive mask [seq, total_seq]: 0 where key position ≤ query position, −∞ elsewhere. */
	private causalMask(): Value {
		if (this.maskBias) return this.maskBias;
		const b = this.b;
		this.maskBias = b.scope('/causal_mask', () => {
			const query = b.unsqueeze(this.positions, [1]); // [seq, 1]
			const keys = b.range(b.constInt64([0], []), this.totalLength(), b.constInt64([1], [])); // [total_seq]
			const allowed = b.op('LessOrEqual', [keys, query]); // [seq, total_seq]
			return b.op('Where', [allowed, b.constFloat([0]), b.constFloat([-Infinity])]);
		});
		return this.maskBias;
	}
}

/** The last block a request needs; the graph stops there (TransformerLens `stop_at_layer`). */
export function lastLayerNeeded(cfg: DecoderConfig, request: GraphRequest, hookIndex: ReadonlyMap<string, HookPoint>, extensionHooks: readonly string[] = []): number {
	if (request.logits !== 'none') return cfg.nLayers;
	let last = -1;
	for (const name of [...request.hooks, ...request.interventions, ...extensionHooks]) last = Math.max(last, hookIndex.get(name)!.layer);
	return last;
}

export function buildDecoderGraph(
	arch: Architecture,
	cfg: DecoderConfig,
	weights: ModelWeights,
	request: GraphRequest,
	hookIndex: ReadonlyMap<string, HookPoint>,
	extensions: readonly HookExtension[] = [],
): BuiltGraph {
	const keys = extensions.map((e) => e.key);
	if (keys.join('\n') !== (request.extensions ?? []).join('\n')) throw new Error('internal: graph extensions do not match the request');
	const byHook = new Map<string, HookExtension>();
	for (const e of extensions) {
		if (!hookIndex.has(e.hookName)) throw new Error(`internal: extension ${e.key} at unknown hook ${e.hookName}`);
		if (byHook.has(e.hookName)) throw new Error(`internal: two extensions at ${e.hookName}`);
		byHook.set(e.hookName, e);
	}
	const ctx = new DecoderContext(cfg, weights, request, hookIndex, byHook);
	const b = ctx.b;
	const last = lastLayerNeeded(cfg, request, hookIndex, [...byHook.keys()]);
	let resid = b.scope('/embed', () => arch.embed(ctx));
	for (let layer = 0; layer < Math.min(last + 1, cfg.nLayers); layer++) {
		resid = b.scope(`/blocks.${layer}`, () => arch.block(ctx, layer, resid));
	}
	if (last >= cfg.nLayers) {
		b.scope('/unembed', () => {
			let x = ctx.hook('ln_final.hook_normalized', arch.finalNorm(ctx, resid));
			if (request.logits === 'last') {
				x = b.slice(x, b.constInt64([-1]), b.constInt64([Number.MAX_SAFE_INTEGER]), [1]); // [batch, 1, d_model]
			}
			if (request.logits !== 'none') {
				const logits = arch.logits(ctx, x); // [batch, seq|1, d_vocab]
				b.output(logits, DataType.FLOAT, ['batch', request.logits === 'last' ? 1 : 'seq', cfg.dVocab], LOGITS);
			}
		});
	}
	const bytes = b.build({ model_type: cfg.modelType, hooks: request.hooks.join(','), interventions: request.interventions.join(',') });
	return { bytes, weightInputs: [...b.weightInputNames()] };
}

/** A serialized graph and the weight inputs each of its runs is fed. */
export interface BuiltGraph {
	bytes: Buffer;
	weightInputs: readonly string[];
}

