// Builds a decoder LM as onnxruntime graphs. The architecture supplies the maths; this module
// supplies inputs, the KV cache, causal attention, hook outputs, intervention inputs, splices,
// and the two shapes a model takes:
//
// - The trunk: the whole model in one graph, every block behind an If on a layer range given
//   at run time, and the embedding and the head behind Ifs too. It is the one session that
//   holds the weights (onnxruntime prepacks them from the shards into memory it owns), so they
//   are in memory once. One run can start from a residual stream instead of the tokens, stop
//   after any block (TransformerLens stop_at_layer), and compute logits for the positions asked for.
// - Stage variants: one block (or the embedding, or the final norm) alone, with hooks read
//   inside it, interventions or steering splices. A variant holds a copy of that stage's
//   weights only; the trunk runs the blocks before and after it.
//
// Why not a graph per request, as before: onnxruntime prepacks a session's MatMul weights into
// memory the session owns, so every variant of a whole-model graph held the whole model again.
// Why not a session per block: sessions run back to back each wake their own thread pool, which
// cost 35% of GPT-2-small's generation speed here; If branches in one session cost nothing
// measurable. The residual stream between blocks is hook_resid_post of one block and
// hook_resid_pre of the next, so reading it only splits the trunk's run there.

import type { StoredFloat } from '../io/halfFloats';
import { DataType } from '../onnx/onnxProto';
import { GraphBuilder, MS_DOMAIN, attr } from '../onnx/graphBuilder';
import type { Value } from '../onnx/graphBuilder';
import type { Architecture } from './architecture';
import type { DecoderConfig } from './decoderConfig';
import type { HookPoint } from './hookPoints';
import type { ModelWeights } from './weights';

export type LogitsMode = 'all' | 'last' | 'none';

/**
 * A piece of the model a variant graph covers: the embedding, one block, the final norm, or a
 * splice on the residual stream between blocks (an intervention or steering at
 * hook_resid_pre / hook_resid_post, which needs none of the model's weights).
 */
export type Stage = { kind: 'embed' } | { kind: 'block'; layer: number } | { kind: 'finalNorm' } | { kind: 'splice'; hookName: string };

/** What a variant graph computes beyond the plain stage; sessions are cached by stage and this. */
export interface StageRequest {
	/** Hook points inside the stage returned as outputs, by TransformerLens name. */
	hooks: readonly string[];
	/** Hook points that take an additive input `intervene.<hook>` of shape [b|1, t|1, width]. */
	interventions: readonly string[];
	/** Keys of the `HookExtension`s spliced in. */
	extensions: readonly string[];
}

export const PLAIN: StageRequest = { hooks: [], interventions: [], extensions: [] };

/**
 * Extra computation spliced in at a hook, after its additive intervention (steering subgraphs
 * that read the activation, e.g. an SAE clamp); it may add its own graph inputs.
 */
export interface HookExtension {
	/** Identifies what `build` emits, for the session cache: same key ⇒ same graph. */
	readonly key: string;
	readonly hookName: string;
	/**
	 * Hooks earlier in the same stage whose values `build` reads through ctx.hookValue (a
	 * transcoder spliced at hook_mlp_out reads the MLP's input).
	 */
	readonly reads?: readonly string[];
	/** x: the hook's value [batch, seq, width] → the value the model continues with (same shape). */
	build(ctx: DecoderContext, x: Value): Value;
}

/** Graph inputs and outputs. */
export const INPUT_IDS = 'input_ids';
/** Absolute positions of this call's tokens, int64 [seq] (the cache length onwards). */
export const POSITION_IDS = 'position_ids';
/** A variant's incoming residual stream, [batch, seq, d_model]. */
export const RESID = 'resid';
/** The residual stream handed on (embedding: hook_embed (+ pos); a block: hook_resid_post). */
export const RESID_OUT = 'resid_out';
/** The final norm's output, [batch, seq, d_model] (ln_final.hook_normalized). */
export const NORMALIZED = 'normalized';
export const LOGITS = 'logits';
/** Logits before final soft-capping, for families that cap (the logit lens reads directions, not predictions). */
export const LOGITS_UNCAPPED = 'logits_uncapped';
/** Trunk: the first and last block to run (int64 scalars; last < first runs none). */
export const FIRST_LAYER = 'first_layer';
export const LAST_LAYER = 'last_layer';
/** Trunk: the residual stream to start from, [batch, seq, d_model]; empty (seq 0) starts from the tokens. */
export const RESID_IN = 'resid_in';
/** Trunk: what the head computes (int64 scalar, a `Head` value). */
export const HEAD = 'head';
/** Trunk: logits are computed for positions from this index on (int64 scalar; seq for none). */
export const LOGITS_FROM = 'logits_from';
/** The trunk's head: nothing; the final norm then the unembedding; or the unembedding of resid_in as given (normed elsewhere, or logit-lens directions). */
export const Head = { none: 0, normed: 1, raw: 2 } as const;
export const pastName = (layer: number, kind: 'key' | 'value'): string => `past.${layer}.${kind}`;
export const presentName = (layer: number, kind: 'key' | 'value'): string => `present.${layer}.${kind}`;
export const interventionName = (hook: string): string => `intervene.${hook}`;

/** The stage that computes a hook point (by its layer: -1 embedding, nLayers final norm). */
export function stageOf(point: HookPoint, nLayers: number): Stage {
	if (point.layer < 0) return { kind: 'embed' };
	if (point.layer >= nLayers) return { kind: 'finalNorm' };
	return { kind: 'block', layer: point.layer };
}

export function stageKey(stage: Stage): string {
	if (stage.kind === 'block') return `block.${stage.layer}`;
	if (stage.kind === 'splice') return `splice:${stage.hookName}`;
	return stage.kind;
}

/** Whether a hook is the residual stream between blocks (hook_resid_pre / hook_resid_post), changed by a splice rather than a block variant. */
export function isResidualBoundary(point: HookPoint): boolean {
	return point.name === `blocks.${point.layer}.hook_resid_pre` || point.name === `blocks.${point.layer}.hook_resid_post`;
}

/** What architecture code sees while it builds: the builder plus model-level services. */
export class DecoderContext {
	/** The graph being built: inputs, outputs and weights are declared here. */
	readonly root: GraphBuilder;
	/** Where nodes go: the graph itself, or the trunk's If branch being built. */
	b: GraphBuilder;
	private idsInput?: Value;
	private positionsInput?: Value;
	private readonly sharedValues = new Map<string, unknown>();
	private readonly presents = new Map<number, [Value, Value]>();
	private readonly emitted = new Set<string>();
	/** Hooks an extension reads, and their values once the graph has passed them. */
	private readonly readHooks: ReadonlySet<string>;
	private readonly hookValues = new Map<string, Value>();
	/** Checkpoint weights the graph materializes as float32 (the memory its session holds). */
	readonly materialized = new Set<string>();
	/** Embedding rows the graph takes as inputs, which the engine reads from the shard for each run. */
	readonly rowInputs: RowInput[] = [];

	constructor(
		readonly cfg: DecoderConfig,
		private readonly weights: ModelWeights,
		/** A variant's stage, or undefined for the trunk (whose present outputs go back through its If branches). */
		readonly stage: Stage | undefined,
		private readonly request: StageRequest,
		private readonly hookIndex: ReadonlyMap<string, HookPoint>,
		private readonly extensions: ReadonlyMap<string, HookExtension> = new Map(),
	) {
		this.root = new GraphBuilder(stage ? stageKey(stage) : 'trunk');
		this.b = this.root;
		this.readHooks = new Set([...extensions.values()].flatMap((e) => e.reads ?? []));
	}

	/** The value hook `name` had when the graph passed it (after its intervention and extension); only for hooks an extension declared it reads. */
	hookValue(name: string): Value {
		const v = this.hookValues.get(name);
		if (!v) throw new Error(`internal: hook ${name} is not read by an extension, or comes later in the stage`);
		return v;
	}

	/** Builds `body`'s nodes into `g` (an If branch of the graph). */
	within<T>(g: GraphBuilder, body: () => T): T {
		const outer = this.b;
		this.b = g;
		try {
			return body();
		} finally {
			this.b = outer;
		}
	}

	/**
	 * A value built once per graph, at its top level rather than in the branch being built, so
	 * every block can read it (rotary tables, the causal mask, past inputs).
	 */
	shared<T>(key: string, build: () => T): T {
		if (!this.sharedValues.has(key)) this.sharedValues.set(key, this.within(this.root, build));
		return this.sharedValues.get(key) as T;
	}

	/** A checkpoint weight as a float32 value, checked against the shape the config implies (never copied into the graph). */
	weight(name: string, shape: readonly number[]): Value {
		return this.shared(`weight:${name}`, () => {
			this.materialized.add(name);
			// f16/bf16 pass through a Cast that onnxruntime folds when the session is created (the
			// CPU computes in float32); the folded copy is what the session then prepacks and keeps.
			const { value, dataType } = this.stored(name, shape);
			return dataType === DataType.FLOAT ? value : this.root.cast(value, DataType.FLOAT);
		});
	}

	/** A weight in its stored dtype: an external initializer pointing into its shard, declared once per graph. */
	private stored(name: string, shape: readonly number[]): { value: Value; dataType: DataType } {
		return this.shared(`stored:${name}`, () => this.weights.declareStored(this.root, name, shape));
	}

	/**
	 * Rows of an embedding matrix [rows, width] as float32, picked by the token ids or the
	 * positions: [batch, seq, width] or [seq, width]. The engine reads those rows from the shard
	 * and feeds them (an input `rows:<weight>`), so onnxruntime never maps or widens the whole
	 * matrix (a 128k–262k-token vocabulary is gigabytes, for a handful of rows per run).
	 */
	embeddingRows(name: string, shape: readonly [number, number], indices: Value): Value {
		const index = indices === this.idsInput ? 'ids' : indices === this.positionsInput ? 'positions' : undefined;
		if (!index) throw new Error(`internal: embedding rows of ${name} must be picked by the token ids or the positions`);
		this.weights.entry(name, shape); // checks the weight's shape and dtype now
		const input = rowsInputName(name);
		return this.shared(input, () => {
			this.rowInputs.push({ input, weight: name, index, width: shape[1] });
			return this.root.input(input, DataType.FLOAT, index === 'ids' ? ['rows_batch', 'rows_seq', shape[1]] : ['rows_seq', shape[1]]);
		});
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

	/** The dtype a weight is stored in (Gemma rounds its embedding multiplier to it when config.json names none). */
	storedDtype(name: string): StoredFloat {
		return this.weights.storedDtype(name);
	}

	/** Token ids, int64 [batch, seq]. */
	tokenIds(): Value {
		this.idsInput ??= this.root.input(INPUT_IDS, DataType.INT64, ['batch', 'seq']);
		return this.idsInput;
	}

	/** Absolute positions of this call's tokens, int64 [seq]. */
	get positions(): Value {
		this.positionsInput ??= this.root.input(POSITION_IDS, DataType.INT64, ['seq']);
		return this.positionsInput;
	}

	/**
	 * A LayerNorm (`layer`: (x − mean) / √(var + eps)) or RMSNorm (`rms`: x / √(mean x² + eps)),
	 * then × gain (+ bias); `gainOffset` 1 makes the gain 1 + w (Gemma). The TransformerLens hook
	 * `hookName` (`blocks.L.ln1.hook_normalized`, …) sits between normalizing and the gain, as in
	 * TransformerLens's RMSNorm and its LayerNormPre, the processed model SAEs and transcoders are
	 * trained on (its gain folded into the next layer). One fused op when nothing reads the hook.
	 * x: [..., width] → same shape.
	 */
	norm(x: Value, o: { kind: 'layer' | 'rms'; gain: string; bias?: string; width: number; gainOffset?: 0 | 1; hookName?: string }): Value {
		const { b, cfg } = this;
		const gain = (o.gainOffset ?? 0) === 0
			? this.weight(o.gain, [o.width])
			: this.shared(`gain+1:${o.gain}`, () => b.add(this.weight(o.gain, [o.width]), b.constFloat([1])));
		const bias = o.bias === undefined ? undefined : this.weight(o.bias, [o.width]);
		const hooked = o.hookName !== undefined && this.wantsHook(o.hookName);
		if (o.kind === 'layer' && !hooked) {
			return b.layerNorm(x, gain, bias ?? this.shared(`zeros:${o.width}`, () => b.constFloat(new Array<number>(o.width).fill(0), [o.width])), cfg.normEps);
		}
		let normalized: Value;
		if (o.kind === 'layer') {
			const ones = this.shared(`ones:${o.width}`, () => b.constFloat(new Array<number>(o.width).fill(1), [o.width]));
			const zeros = this.shared(`zeros:${o.width}`, () => b.constFloat(new Array<number>(o.width).fill(0), [o.width]));
			normalized = b.layerNorm(x, ones, zeros, cfg.normEps);
		} else {
			// x / √(mean(x²) + eps), in the order torch computes it.
			const meanSq = b.op('ReduceMean', [b.mul(x, x)], { axes: attr.ints([-1]), keepdims: attr.int(1) });
			normalized = b.div(x, b.sqrt(b.add(meanSq, b.constFloat([cfg.normEps]))));
		}
		if (o.hookName !== undefined) normalized = this.hook(o.hookName, normalized);
		const scaled = b.mul(normalized, gain);
		return bias === undefined ? scaled : b.add(scaled, bias);
	}

	/** Whether a hook is read or intervened on, so a fused kernel that hides it must not be used. */
	wantsHook(name: string): boolean {
		return this.request.hooks.includes(name) || this.request.interventions.includes(name) || this.extensions.has(name) || this.readHooks.has(name);
	}

	/**
	 * A hook point: adds the intervention input when one is requested, splices an extension,
	 * emits the hook as an output when asked for, and returns the (possibly changed) value.
	 */
	hook(name: string, value: Value): Value {
		const point = this.hookIndex.get(name);
		if (!point) throw new Error(`internal: unknown hook point ${name}`);
		this.emitted.add(name);
		let v = value;
		if (this.request.interventions.includes(name)) {
			const width = point.shape[point.shape.length - 1] as number;
			const delta = this.root.input(interventionName(name), DataType.FLOAT, ['intervene_batch', 'intervene_seq', width]);
			v = this.b.add(v, delta);
		}
		const extension = this.extensions.get(name);
		if (extension) {
			const input = v;
			v = this.b.scope(`/${extension.hookName}.extension`, () => extension.build(this, input));
		}
		if (this.readHooks.has(name)) this.hookValues.set(name, v);
		if (this.request.hooks.includes(name)) {
			const dims = ['batch', ...point.shape.map((d) => (d === 'pos' ? 'seq' : d === 'kpos' ? 'total_seq' : d))];
			this.root.output(v, DataType.FLOAT, dims, name);
		}
		return v;
	}

	/** The block's past key or value input, [batch, n_kv_heads, past_seq, d_head] (empty when there is no cache). */
	past(layer: number, kind: 'key' | 'value'): Value {
		return this.shared(pastName(layer, kind), () => this.root.input(pastName(layer, kind), DataType.FLOAT, ['batch', this.cfg.nKvHeads, 'past_seq', this.cfg.dHead]));
	}

	/** The keys and values a block's attention read (past and new), [batch, n_kv_heads, total_seq, d_head]: its KV cache from now on. */
	present(layer: number): [Value, Value] {
		const kv = this.presents.get(layer);
		if (!kv) throw new Error(`internal: block ${layer} built no attention`);
		return kv;
	}

	/**
	 * Causal self-attention over this call's tokens and the cached ones (`past.L.*`; empty when
	 * there is no cache), with the layer's sliding window, the config's score scale and
	 * attention-logit soft-capping. Returns z: [batch, seq, n_heads, d_head].
	 * q: [batch, seq, n_heads, d_head]; k, v: [batch, seq, n_kv_heads, d_head] (rotary already applied).
	 */
	attention(layer: number, q: Value, k: Value, v: Value): Value {
		const { b, cfg } = this;
		const H = cfg.nHeads;
		const KV = cfg.nKvHeads;
		const D = cfg.dHead;
		const toHeadsFirst = (x: Value): Value => b.transpose(x, [0, 2, 1, 3]);
		let qh = toHeadsFirst(q); // [batch, H, seq, D]
		// The cache keeps every position, also past a sliding window: the mask hides what the
		// window leaves out, so a cached step computes exactly what a full recomputation does.
		const kh = b.concat([this.past(layer, 'key'), toHeadsFirst(k)], 2); // [batch, KV, total_seq, D]
		const vh = b.concat([this.past(layer, 'value'), toHeadsFirst(v)], 2);
		this.presents.set(layer, [kh, vh]);
		if (this.stage) {
			this.root.output(kh, DataType.FLOAT, ['batch', KV, 'total_seq', D], presentName(layer, 'key'));
			this.root.output(vh, DataType.FLOAT, ['batch', KV, 'total_seq', D], presentName(layer, 'value'));
		}
		// Grouped-query attention without copying K/V: fold the query heads of each group into
		// the sequence axis, so one K/V head serves `rep` query heads in a single MatMul.
		const rep = H / KV;
		if (rep > 1) qh = b.reshape(qh, [0, KV, -1, D]); // [batch, KV, rep*seq, D]
		// A scalar Mul right after the MatMul is fused by onnxruntime into the product (FusedMatMul alpha).
		let scores = b.mul(b.matMul(qh, b.transpose(kh, [0, 1, 3, 2])), b.constFloat([cfg.attnScale])); // [batch, KV, rep*seq, total_seq]
		if (cfg.attnSoftcap !== undefined) {
			// Gemma 2: cap·tanh(s/cap), before the mask, divided and multiplied as Hugging Face does.
			const cap = b.constFloat([cfg.attnSoftcap]);
			scores = b.mul(b.tanh(b.div(scores, cap)), cap);
		}
		if (rep > 1) scores = b.reshape(scores, [0, H, -1, 0]); // [batch, H, seq, total_seq]
		scores = b.add(scores, this.causalMask(layer, cfg.layers[layer]?.window));
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

	/** The hooks and interventions the request named that the graph never reached (a bug in the request). */
	missing(): string[] {
		return [...this.request.hooks, ...this.request.interventions, ...this.extensions.keys()].filter((h) => !this.emitted.has(h));
	}

	/**
	 * Additive mask [seq, total_seq]: 0 where the query at absolute position p may see the key at
	 * position k (k ≤ p, and p − window < k for a sliding window), −∞ elsewhere. One per window
	 * size, shared by the layers that use it. Every block's cache has the same length, so the
	 * first block's past gives it for all.
	 */
	private causalMask(layer: number, window: number | undefined): Value {
		return this.shared(window === undefined ? 'causal_mask' : `sliding_mask.${window}`, () => this.b.scope(window === undefined ? '/causal_mask' : `/sliding_mask.${window}`, () => {
			const b = this.b;
			const past = b.gather(b.shape(this.past(layer, 'key')), b.constInt64([2], []));
			const seq = b.gather(b.shape(this.positions), b.constInt64([0], []));
			const query = b.unsqueeze(this.positions, [1]); // [seq, 1]
			const keys = b.range(b.constInt64([0], []), b.add(past, seq), b.constInt64([1], [])); // [total_seq]
			let allowed = b.op('LessOrEqual', [keys, query]); // [seq, total_seq]
			if (window !== undefined) allowed = b.op('And', [allowed, b.op('Greater', [keys, b.sub(query, b.constInt64([window], []))])]);
			return b.op('Where', [allowed, b.constFloat([0]), b.constFloat([-Infinity])]);
		}));
	}
}

/** Embedding rows a graph takes as an input: which weight, picked by the token ids or by the positions. */
export interface RowInput {
	input: string;
	weight: string;
	index: 'ids' | 'positions';
	width: number;
}

export const rowsInputName = (weight: string): string => `rows:${weight}`;

/** A serialized graph and what its session holds. */
export interface BuiltGraph {
	bytes: Buffer;
	/** Weights materialized as float32 (prepacked by onnxruntime): the session's share of the model. */
	materialized: readonly string[];
	/** Embedding rows fed to each run, read from the shards by the engine. */
	rowInputs: readonly RowInput[];
}

export function buildStageGraph(
	arch: Architecture,
	cfg: DecoderConfig,
	weights: ModelWeights,
	stage: Stage,
	request: StageRequest,
	hookIndex: ReadonlyMap<string, HookPoint>,
	extensions: readonly HookExtension[] = [],
): BuiltGraph {
	const keys = extensions.map((e) => e.key);
	if (keys.join('\n') !== request.extensions.join('\n')) throw new Error('internal: stage extensions do not match the request');
	const byHook = new Map<string, HookExtension>();
	for (const e of extensions) {
		if (!hookIndex.has(e.hookName)) throw new Error(`internal: extension ${e.key} at unknown hook ${e.hookName}`);
		if (byHook.has(e.hookName)) throw new Error(`internal: two extensions at ${e.hookName}`);
		for (const r of e.reads ?? []) {
			const read = hookIndex.get(r);
			if (!read || stageKey(stageOf(read, cfg.nLayers)) !== stageKey(stage)) throw new Error(`internal: extension ${e.key} at ${e.hookName} reads ${r}, which is not in its stage ${stageKey(stage)}`);
		}
		byHook.set(e.hookName, e);
	}
	const ctx = new DecoderContext(cfg, weights, stage, request, hookIndex, byHook);
	const b = ctx.root;
	const dims = ['batch', 'seq', cfg.dModel];
	switch (stage.kind) {
		case 'embed':
			b.output(b.scope('/embed', () => arch.embed(ctx)), DataType.FLOAT, dims, RESID_OUT);
			break;
		case 'block': {
			const resid = b.input(RESID, DataType.FLOAT, dims);
			b.output(b.scope(`/blocks.${stage.layer}`, () => arch.block(ctx, stage.layer, resid)), DataType.FLOAT, dims, RESID_OUT);
			break;
		}
		case 'finalNorm': {
			const resid = b.input(RESID, DataType.FLOAT, dims);
			b.output(b.scope('/ln_final', () => arch.finalNorm(ctx, resid)), DataType.FLOAT, dims, NORMALIZED);
			break;
		}
		case 'splice': {
			const resid = b.input(RESID, DataType.FLOAT, dims);
			b.output(ctx.hook(stage.hookName, resid), DataType.FLOAT, dims, RESID_OUT);
			break;
		}
	}
	const missing = ctx.missing();
	if (missing.length) throw new Error(`internal: ${stageKey(stage)} never reached ${missing.join(', ')}`);
	return {
		bytes: b.build({ model_type: cfg.modelType, stage: stageKey(stage), hooks: request.hooks.join(','), interventions: request.interventions.join(',') }),
		materialized: [...ctx.materialized],
		rowInputs: [...ctx.rowInputs],
	};
}

/**
 * The whole model in one graph, each part behind an If on the run's inputs (FIRST_LAYER,
 * LAST_LAYER, RESID_IN, HEAD, LOGITS_FROM): the one session that holds the model's weights.
 */
export function buildTrunkGraph(arch: Architecture, cfg: DecoderConfig, weights: ModelWeights, hookIndex: ReadonlyMap<string, HookPoint>): BuiltGraph {
	const ctx = new DecoderContext(cfg, weights, undefined, PLAIN, hookIndex);
	const b = ctx.root;
	const F = DataType.FLOAT;
	const scalar = (name: string) => b.input(name, DataType.INT64, []);
	const first = scalar(FIRST_LAYER);
	const last = scalar(LAST_LAYER);
	const head = scalar(HEAD);
	const logitsFrom = scalar(LOGITS_FROM);
	const residIn = b.input(RESID_IN, F, ['batch', 'resid_seq', cfg.dModel]);
	// What a branch that does not run its part returns in place of a tensor.
	const empty = (rank: number) => b.constFloat([], Array.from({ length: rank }, () => 0));

	// The embedding runs when no residual stream is given.
	const fromTokens = b.op('Equal', [b.gather(b.shape(residIn), b.constInt64([1], [])), b.constInt64([0], [])]);
	let [resid] = b.ifElse(fromTokens, [F], (g) => ctx.within(g, () => [g.scope('/embed', () => arch.embed(ctx))]), () => [residIn]) as [Value];
	for (let layer = 0; layer < cfg.nLayers; layer++) {
		const l = b.constInt64([layer], []);
		const runs = b.op('And', [b.op('LessOrEqual', [first, l]), b.op('LessOrEqual', [l, last])]);
		const before = resid;
		const [out, key, value] = b.ifElse(runs, [F, F, F],
			(g) => ctx.within(g, () => [g.scope(`/blocks.${layer}`, () => arch.block(ctx, layer, before)), ...ctx.present(layer)]),
			() => [before, empty(4), empty(4)]) as [Value, Value, Value];
		resid = out;
		b.output(key, F, undefined, presentName(layer, 'key'));
		b.output(value, F, undefined, presentName(layer, 'value'));
	}
	b.output(resid, F, ['batch', 'seq', cfg.dModel], RESID_OUT);

	// The head: the final norm (or resid_in as given), then the unembedding of positions logitsFrom on.
	const [normalized] = b.ifElse(b.op('Equal', [head, b.constInt64([Head.normed], [])]), [F],
		(g) => ctx.within(g, () => [g.scope('/ln_final', () => arch.finalNorm(ctx, resid))]), () => [residIn]) as [Value];
	b.output(normalized, F, undefined, NORMALIZED);
	const types = arch.capsFinalLogits(cfg) ? [F, F] : [F];
	const logits = b.ifElse(b.op('Greater', [head, b.constInt64([Head.none], [])]), types,
		(g) => ctx.within(g, () => g.scope('/unembed', () => {
			const x = g.slice(normalized, g.unsqueeze(logitsFrom, [0]), g.constInt64([Number.MAX_SAFE_INTEGER]), [1]);
			const out = arch.logits(ctx, x);
			return out.uncapped !== undefined ? [out.logits, out.uncapped] : [out.logits];
		})),
		() => types.map(() => empty(3)));
	b.output(logits[0]!, F, undefined, LOGITS);
	if (logits[1] !== undefined) b.output(logits[1], F, undefined, LOGITS_UNCAPPED);
	return { bytes: b.build({ model_type: cfg.modelType, stage: 'trunk' }), materialized: [...ctx.materialized], rowInputs: [...ctx.rowInputs] };
}
