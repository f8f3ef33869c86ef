// A loaded checkpoint: config, weights, tokenizer, and its sessions: the trunk (the whole model
// in one graph whose parts run by the inputs of each run; decoderGraph.ts) and stage variants
// for what the trunk does not expose (hooks inside a block, interventions, steering splices).
//
// Memory: the trunk owns the weights (onnxruntime prepacks them from the shards), so the model
// is held once however it is used. A variant holds a copy of its stage only; variants are kept
// in a least-recently-used cache bounded in bytes.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { availableMemoryBytes, formatBytes } from '../io/systemMemory';
import { createSession, defaultSessionSettings } from '../onnx/session';
import type { SessionSettings, SessionTuning } from '../onnx/session';
import { Tokenizer } from '../tokenize/tokenizer';
import type { Architecture } from './architecture';
import { architectureFor, supportedModelTypes } from './architectures';
import { ModelConfigError, checkConfigAgainstWeights } from './decoderConfig';
import type { DecoderConfig, RawConfig } from './decoderConfig';
import {
	FIRST_LAYER, HEAD, Head, INPUT_IDS, LAST_LAYER, LOGITS, LOGITS_FROM, LOGITS_UNCAPPED, NORMALIZED, POSITION_IDS, RESID, RESID_IN, RESID_OUT,
	buildStageGraph, buildTrunkGraph, interventionName, isResidualBoundary, pastName, presentName, stageKey, stageOf,
} from './decoderGraph';
import type { BuiltGraph, HookExtension, LogitsMode, RowInput, Stage, StageRequest } from './decoderGraph';
import { listHookPoints } from './hookPoints';
import type { HookPoint } from './hookPoints';
import { DEMO } from '../../protocol/engineProtocol';
import { demoModelDir, resolveModelPath } from './modelPaths';
import { ModelWeights } from './weights';
import { Cancelled } from '../cancelled';

/** An additive intervention: `values` row-major with `dims` [batch|1, seq|1, width]. */
export interface Intervention {
	values: Float32Array;
	dims: [number, number, number];
}

export interface ForwardOptions {
	/** Token ids, [batch][seq]; every row the same length. */
	ids: readonly (readonly number[])[];
	hooks?: readonly string[];
	interventions?: Readonly<Record<string, Intervention>>;
	/** Which positions' logits to compute (default all): a 128k-token vocabulary makes them the largest tensor of a run. */
	logits?: LogitsMode;
	/** Per-layer key/value tensors from an earlier call (generation). */
	past?: readonly ort.Tensor[];
	/** Subgraphs spliced in at hooks (steering); each distinct set at a stage is one cached session of that stage. */
	extensions?: readonly HookExtension[];
	/** Feeds for the extensions' own graph inputs, by input name. */
	extensionInputs?: Readonly<Record<string, ort.Tensor>>;
}

export interface ForwardResult {
	/** [batch, seq|1, d_vocab], absent when logits were not asked for. */
	logits?: ort.Tensor;
	hooks: Record<string, ort.Tensor>;
	/** present.L.key, present.L.value, … in layer order, when a KV cache was used. */
	present?: ort.Tensor[];
}

/** How far loading has got: reading the weights from the shards (bytes, cancellable), then packing them into the trunk session. */
export interface PrepareProgress {
	phase: 'reading' | 'packing';
	bytesDone: number;
	bytesTotal: number;
}

export interface PrepareOptions {
	onProgress?: (progress: PrepareProgress) => void;
	signal?: AbortSignal;
}

export interface LoadModelOptions {
	/** Bytes the weights may take (default: what the system has available now). */
	memoryAvailable?: number;
	/** Bytes of weights stage variants may hold together (default: a quarter of the model's, at least 64 MB). */
	variantBudget?: number;
	/** The model's name instead of its folder's (a Hub repository id, whose snapshot folder is named by a commit). */
	name?: string;
}

export class ModelLoadCancelled extends Cancelled {
	constructor() {
		super('model loading cancelled');
	}
}

type Log = (message: string) => void;

/** A variant graph one run needs: its stage and what it adds there. */
interface VariantPlan {
	stage: Stage;
	hooks: string[];
	interventions: string[];
	extensions: HookExtension[];
}

interface ModelSession {
	session: ort.InferenceSession;
	inputs: ReadonlySet<string>;
	outputs: ReadonlySet<string>;
	/** float32 bytes of the weights this session holds. */
	bytes: number;
}

/** Variants may hold this share of the model's bytes (at least VARIANT_MIN_BYTES) before the least recently used go. */
const VARIANT_SHARE = 0.25;
const VARIANT_MIN_BYTES = 64 << 20;
const TRUNK = 'trunk';
/** Bytes read per step while warming the weights before packing. */
const READ_CHUNK = 16 << 20;

export class LanguageModel {
	readonly hookPoints: readonly HookPoint[];
	private readonly hookIndex: ReadonlyMap<string, HookPoint>;
	/** The trunk's graph, built (and checked against the checkpoint) at load, dropped once its session exists. */
	private trunkGraph: BuiltGraph | undefined;
	private readonly trunkBytes: number;
	private readonly trunkWeights: readonly string[];
	/** The embedding rows every run that embeds tokens is fed (the trunk's and the embedding variants' are the same). */
	private readonly rowInputs: readonly RowInput[];
	private readonly sessions = new Map<string, Promise<ModelSession>>();
	/** Variant session keys, least recently used first. */
	private variantOrder: string[] = [];
	/** Forwards that asked for a session and have not finished with it, by session key: a variant is never released under one. */
	private readonly users = new Map<string, number>();
	private readonly emptyPast = new Map<number, ort.Tensor>();
	private preparing: Promise<void> | undefined;
	private variantBudget: number;
	/** The provider the last session was created on. */
	provider: 'cpu' | 'cuda' | undefined;

	private constructor(
		readonly name: string,
		readonly dir: string,
		readonly cfg: DecoderConfig,
		private readonly arch: Architecture,
		private readonly weights: ModelWeights,
		readonly tokenizer: Tokenizer | undefined,
		private readonly settings: SessionSettings,
		private readonly log: Log,
	) {
		this.hookPoints = listHookPoints(cfg, arch.embedHooks, arch.extraMlpHooks);
		this.hookIndex = new Map(this.hookPoints.map((h) => [h.name, h]));
		// Building the trunk (kilobytes, no weight bytes) checks every weight's name, shape and
		// dtype against the config before anything is read.
		this.trunkGraph = buildTrunkGraph(arch, cfg, weights, this.hookIndex);
		this.trunkWeights = this.trunkGraph.materialized;
		this.rowInputs = this.trunkGraph.rowInputs;
		this.trunkBytes = weights.float32Bytes(this.trunkWeights);
		this.variantBudget = Math.max(VARIANT_SHARE * this.trunkBytes, VARIANT_MIN_BYTES);
	}
	/**
	 * Opens a Hugging Face checkpoint folder (or `demo`): config, tokenizer and shard headers are
	 * read and checked, and a model whose float32 weights would not fit in memory is refused
	 * with the numbers. Weights are read by `prepare` (or by the first forward that needs them).
	 */
	static load(model: string, settings: SessionSettings = defaultSessionSettings, log: Log = () => {}, options: LoadModelOptions = {}): LanguageModel {
		const dir = resolveModelPath(model);
		const configFile = path.join(dir, 'config.json');
		if (!fs.existsSync(configFile)) throw new ModelConfigError(`${dir}: no config.json (expected a Hugging Face checkpoint folder)`);
		let raw: RawConfig;
		try {
			raw = JSON.parse(fs.readFileSync(configFile, 'utf8')) as RawConfig;
		} catch {
			throw new ModelConfigError(`${configFile}: not valid JSON`);
		}
		if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ModelConfigError(`${configFile}: not a model config (expected a JSON object)`);
		const modelType = raw.model_type;
		const arch = typeof modelType === 'string' ? architectureFor(modelType) : undefined;
		if (!arch) {
			throw new ModelConfigError(`${configFile}: unsupported model_type ${JSON.stringify(modelType)} (supported: ${supportedModelTypes().join(', ')})`);
		}
		let cfg: DecoderConfig;
		try {
			cfg = arch.config(raw);
		} catch (err) {
			// The architecture files name the file by its base name; the error names the path.
			if (err instanceof ModelConfigError && err.message.startsWith('config.json:')) throw new ModelConfigError(`${configFile}${err.message.slice('config.json'.length)}`);
			throw err;
		}
		const weights = ModelWeights.open(dir, arch.keyPrefixes);
		checkConfigAgainstWeights(cfg, weights.names(), arch.blockPrefix, configFile, weights.files.length === 1 ? weights.files[0]! : `${dir} (${weights.files.length} shards)`);
		const tokenizerFile = path.join(dir, 'tokenizer.json');
		const tokenizer = fs.existsSync(tokenizerFile) ? Tokenizer.fromFile(tokenizerFile) : undefined;
		// The demo model keeps its name however it is addressed, so its SAEs recognize it.
		const name = options.name ?? (path.resolve(dir) === path.resolve(demoModelDir()) ? DEMO : path.basename(dir));
		const loaded = new LanguageModel(name, dir, cfg, arch, weights, tokenizer, settings, log);
		if (options.variantBudget !== undefined) loaded.variantBudget = options.variantBudget;
		const needed = loaded.weightBytes();
		const available = options.memoryAvailable ?? availableMemoryBytes();
		if (needed > available) {
			throw new ModelConfigError(`${dir}: the model's weights take ${formatBytes(needed)} as float32 `
				+ `(${(needed / 4e9).toFixed(2)}B parameters), but only ${formatBytes(available)} of memory is available; `
				+ 'close other programs or choose a smaller model');
		}
		return loaded;
	}

	/** Bytes the weights take in memory once loaded (float32, held by the trunk session). */
	weightBytes(): number {
		return this.trunkBytes;
	}

	/** Whether the trunk session exists, so a forward reads no weights first. */
	get ready(): boolean {
		return this.sessions.has(TRUNK) && this.trunkGraph === undefined;
	}

	/**
	 * Loads the weights: reads them from the shards (asynchronously, in chunks, with progress in
	 * bytes; the engine answers other requests meanwhile and `signal` cancels), then creates the
	 * trunk session, which widens and packs them (one native step). Concurrent calls share one load.
	 */
	prepare(options: PrepareOptions = {}): Promise<void> {
		if (this.ready) return Promise.resolve();
		this.preparing ??= this.prepareTrunk(options).finally(() => { this.preparing = undefined; });
		return this.preparing;
	}

	private async prepareTrunk(options: PrepareOptions): Promise<void> {
		const t0 = performance.now();
		// The trunk's weights, and the embeddings read row by row as tokens come (rows:<weight>
		// inputs), so that every weight is scanned for NaN and Inf before the first run.
		const toRead = [...new Set([...this.trunkWeights, ...this.rowInputs.map((r) => r.weight)])];
		const bytesTotal = this.weights.storedBytes(toRead);
		let bytesDone = 0;
		options.onProgress?.({ phase: 'reading', bytesDone, bytesTotal });
		// Reading first puts the shards in the page cache, where onnxruntime then finds them: the
		// slow part of a first load (the disk) reports progress and can be cancelled.
		await this.weights.read(toRead, READ_CHUNK, (n) => {
			bytesDone += n;
			options.onProgress?.({ phase: 'reading', bytesDone, bytesTotal });
		}, options.signal);
		if (options.signal?.aborted) throw new ModelLoadCancelled();
		options.onProgress?.({ phase: 'packing', bytesDone, bytesTotal });
		const t1 = performance.now();
		await this.session(TRUNK);
		this.log(`${this.name} ready: ${formatBytes(this.trunkBytes)} of weights, read in ${Math.round(t1 - t0)} ms, packed in ${Math.round(performance.now() - t1)} ms`);
	}

	hookPoint(name: string): HookPoint {
		const point = this.hookIndex.get(name);
		if (!point) {
			const near = this.hookPoints.filter((h) => h.name.endsWith(name.split('.').pop() ?? '')).slice(0, 3).map((h) => h.name);
			throw new ModelConfigError(`unknown hook "${name}" for this ${this.cfg.modelType} model with ${this.cfg.nLayers} layers`
				+ (near.length ? ` (for example: ${near.join(', ')})` : ''));
		}
		return point;
	}

	async forward(options: ForwardOptions): Promise<ForwardResult> {
		const { cfg } = this;
		const logits = options.logits ?? 'all';
		const hooks = [...new Set(options.hooks ?? [])].sort();
		const interventions = options.interventions ?? {};
		const extensions = [...(options.extensions ?? [])].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
		const { ids, batch, seq, pastLength } = this.checkInputs(options, hooks);
		const kvCache = options.past !== undefined;

		// Stages that need a variant: what a hook, intervention or extension inside them asks for.
		// Changes to the residual stream between blocks are splices there instead, and reading it
		// needs nothing: the trunk's run stops at that boundary.
		const variants = new Map<string, VariantPlan>();
		const variantAt = (stage: Stage) => {
			let v = variants.get(stageKey(stage));
			if (!v) variants.set(stageKey(stage), (v = { stage, hooks: [], interventions: [], extensions: [] }));
			return v;
		};
		/** Boundary l is after block l (-1: after the embedding): its splices and reads, in the order TransformerLens applies them. */
		const boundaries = new Map<number, { splices: VariantPlan[]; reads: string[] }>();
		const boundaryOf = (point: HookPoint) => (point.name.endsWith('hook_resid_pre') ? point.layer - 1 : point.layer);
		const atBoundary = (l: number) => {
			let b = boundaries.get(l);
			if (!b) boundaries.set(l, (b = { splices: [], reads: [] }));
			return b;
		};
		const spliceAt = (point: HookPoint) => {
			const splices = atBoundary(boundaryOf(point)).splices;
			let v = splices.find((x) => x.stage.kind === 'splice' && x.stage.hookName === point.name);
			if (!v) splices.push((v = { stage: { kind: 'splice', hookName: point.name }, hooks: [], interventions: [], extensions: [] }));
			return v;
		};
		const planFor = (hook: string) => {
			const point = this.hookPoint(hook);
			return isResidualBoundary(point) ? spliceAt(point) : variantAt(stageOf(point, cfg.nLayers));
		};
		for (const h of Object.keys(interventions).sort()) planFor(h).interventions.push(h);
		for (const e of extensions) planFor(e.hookName).extensions.push(e);
		for (const h of hooks) {
			const point = this.hookPoint(h);
			if (isResidualBoundary(point)) atBoundary(boundaryOf(point)).reads.push(h);
			else variantAt(stageOf(point, cfg.nLayers)).hooks.push(h);
		}
		// At a boundary, hook_resid_post's splice comes before hook_resid_pre's (the next block reads what the first left).
		for (const b of boundaries.values()) b.splices.sort((x, y) => Number(x.stage.kind === 'splice' && x.stage.hookName.endsWith('hook_resid_pre')) - Number(y.stage.kind === 'splice' && y.stage.hookName.endsWith('hook_resid_pre')));

		const wantsHead = logits !== 'none' || variants.has('finalNorm');
		// The last block this run needs: all of them for logits or a KV cache, else the deepest hook.
		let lastBlock = wantsHead || kvCache ? cfg.nLayers - 1 : -1;
		for (const v of variants.values()) if (v.stage.kind === 'block') lastBlock = Math.max(lastBlock, v.stage.layer);
		for (const l of boundaries.keys()) lastBlock = Math.max(lastBlock, l);

		const result: ForwardResult = { hooks: {} };
		const present: [ort.Tensor, ort.Tensor][] = [];
		const positions = new ort.Tensor('int64', BigInt64Array.from({ length: seq }, (_, i) => BigInt(pastLength + i)), [seq]);
		const pastFeeds: Record<string, ort.Tensor> = {};
		for (let l = 0; l < cfg.nLayers; l++) {
			pastFeeds[pastName(l, 'key')] = options.past?.[2 * l] ?? this.emptyCache1(batch);
			pastFeeds[pastName(l, 'value')] = options.past?.[2 * l + 1] ?? this.emptyCache1(batch);
		}
		const common: Record<string, ort.Tensor> = {
			...this.interventionFeeds(interventions, batch, seq), ...options.extensionInputs, ...pastFeeds, [INPUT_IDS]: ids, [POSITION_IDS]: positions,
		};

		// The embedding rows the tokens and positions pick, read once, for the run that embeds.
		let rows: Record<string, ort.Tensor> | undefined;
		const embedding = (embeds: boolean): Record<string, ort.Tensor> => {
			if (!embeds) return this.emptyRows(batch);
			rows ??= this.embeddingRows(options.ids, pastLength, seq);
			return rows;
		};

		// The embedding: in the trunk's first run, or a variant when a hook or change is inside it.
		let resid: ort.Tensor | undefined;
		const embedVariant = variants.get('embed');
		if (embedVariant) resid = (await this.runVariant(embedVariant, { ...common, ...embedding(true) }, [RESID_OUT], result))[RESID_OUT]!;

		// Blocks: trunk runs over the ranges between variants and boundaries.
		let start = 0;
		const runTrunk = async (first: number, last: number, head: boolean): Promise<ort.InferenceSession.ReturnType> => {
			const fetch = [RESID_OUT];
			if (kvCache) for (let l = first; l <= last; l++) fetch.push(presentName(l, 'key'), presentName(l, 'value'));
			const feeds: Record<string, ort.Tensor> = { ...embedding(resid === undefined), [FIRST_LAYER]: scalar(first), [LAST_LAYER]: scalar(last), [RESID_IN]: resid ?? this.emptyResid(batch) };
			if (head) {
				if (logits !== 'none') fetch.push(LOGITS);
				feeds[HEAD] = scalar(Head.normed);
				feeds[LOGITS_FROM] = scalar(logits === 'all' ? 0 : logits === 'last' ? seq - 1 : seq);
			} else {
				feeds[HEAD] = scalar(Head.none);
				feeds[LOGITS_FROM] = scalar(seq);
			}
			const out = await this.runTrunk({ ...common, ...feeds }, fetch);
			resid = out[RESID_OUT]!;
			if (kvCache) for (let l = first; l <= last; l++) present[l] = [out[presentName(l, 'key')]!, out[presentName(l, 'value')]!];
			return out;
		};
		/** Splices and reads at boundary l, on the residual stream there. */
		const atEnd = async (l: number) => {
			const b = boundaries.get(l);
			if (!b) return;
			for (const splice of b.splices) {
				const hook = (splice.stage as { hookName: string }).hookName;
				resid = (await this.runVariant(splice, { ...common, [RESID]: resid! }, [RESID_OUT], result))[RESID_OUT]!;
				// A read of the spliced hook gets the value after the splice.
				if (b.reads.includes(hook)) result.hooks[hook] = resid;
			}
			for (const h of b.reads) if (!(h in result.hooks)) result.hooks[h] = resid!;
		};
		const headInTrunk = wantsHead && !variants.has('finalNorm') && !(boundaries.get(cfg.nLayers - 1)?.splices.length);
		let headDone = false;
		if (boundaries.has(-1)) {
			if (!resid) await runTrunk(0, -1, false); // the embedding alone
			await atEnd(-1);
		}
		for (let layer = 0; layer <= lastBlock; layer++) {
			const variant = variants.get(`block.${layer}`);
			if (variant) {
				if (start < layer) await runTrunk(start, layer - 1, false);
				if (!resid) await runTrunk(0, -1, false);
				const out = await this.runVariant(variant, { ...common, [RESID]: resid! }, kvCache ? [RESID_OUT, presentName(layer, 'key'), presentName(layer, 'value')] : [RESID_OUT], result);
				resid = out[RESID_OUT]!;
				if (kvCache) present[layer] = [out[presentName(layer, 'key')]!, out[presentName(layer, 'value')]!];
				start = layer + 1;
				await atEnd(layer);
			} else if (boundaries.has(layer) || layer === lastBlock) {
				const withHead = headInTrunk && layer === cfg.nLayers - 1;
				const out = await runTrunk(start, layer, withHead);
				if (withHead) {
					if (logits !== 'none') result.logits = out[LOGITS];
					headDone = true;
				}
				start = layer + 1;
				await atEnd(layer);
			}
		}

		if (wantsHead && !headDone) {
			const normVariant = variants.get('finalNorm');
			let normed = resid!;
			let head: number = Head.normed;
			if (normVariant) {
				// The final norm as a variant (its hook, an intervention), then the trunk's head on its output as given.
				normed = (await this.runVariant(normVariant, { ...common, [RESID]: resid! }, [NORMALIZED], result))[NORMALIZED]!;
				head = Head.raw;
			}
			if (logits !== 'none') {
				const from = logits === 'all' ? 0 : logits === 'last' ? seq - 1 : seq;
				const out = await this.runTrunk({ ...common, ...embedding(false), [FIRST_LAYER]: scalar(cfg.nLayers), [LAST_LAYER]: scalar(cfg.nLayers - 1), [RESID_IN]: normed, [HEAD]: scalar(head), [LOGITS_FROM]: scalar(from) }, [LOGITS]);
				result.logits = out[LOGITS];
			}
		}
		if (kvCache) result.present = present.flat();
		return result;
	}

	/**
	 * The unembedding of `rows` residual-space vectors ([rows, d_model], already final-normed),
	 * before any soft-capping: the logit lens reads directions through the model's own W_U.
	 */
	async unembedRows(x: Float32Array, rows: number): Promise<Float32Array> {
		const { cfg } = this;
		const feeds: Record<string, ort.Tensor> = {
			[INPUT_IDS]: new ort.Tensor('int64', new BigInt64Array(rows), [1, rows]),
			[POSITION_IDS]: new ort.Tensor('int64', new BigInt64Array(rows), [rows]),
			[FIRST_LAYER]: scalar(cfg.nLayers), [LAST_LAYER]: scalar(cfg.nLayers - 1),
			[RESID_IN]: new ort.Tensor('float32', x, [1, rows, cfg.dModel]), [HEAD]: scalar(Head.raw), [LOGITS_FROM]: scalar(0),
			...this.emptyRows(1),
		};
		for (let l = 0; l < cfg.nLayers; l++) feeds[pastName(l, 'key')] = feeds[pastName(l, 'value')] = this.emptyCache1(1);
		const fetch = this.arch.capsFinalLogits(cfg) ? LOGITS_UNCAPPED : LOGITS;
		return (await this.runTrunk(feeds, [fetch]))[fetch]!.data as Float32Array;
	}

	/** A small weight as float32 (the final norm's gain for the logit lens). */
	readWeight(name: string, shape: readonly number[]): Float32Array {
		return this.weights.readFloat32(name, shape);
	}

	/** Whether the checkpoint has a weight (after prefix stripping). */
	hasWeight(name: string): boolean {
		return this.weights.has(name);
	}

	/** Empty per-layer caches to start generation from, [batch, n_kv_heads, 0, d_head] each. */
	emptyCache(batch: number): ort.Tensor[] {
		return Array.from({ length: 2 * this.cfg.nLayers }, () => this.emptyCache1(batch));
	}

	/** Number of sessions open (the trunk and stage variants). */
	cachedGraphCount(): number {
		return this.sessions.size;
	}

	/** Releases the sessions built with extension `key` (e.g. when the SAE it embeds is unloaded). */
	async releaseExtension(key: string): Promise<void> {
		for (const sessionId of [...this.sessions.keys()]) {
			if (sessionId === TRUNK) continue;
			if ((JSON.parse(sessionId.slice(sessionId.indexOf('|') + 1)) as StageRequest).extensions.includes(key)) await this.releaseKey(sessionId);
		}
	}

	async dispose(): Promise<void> {
		for (const key of [...this.sessions.keys()]) await this.releaseKey(key);
		this.weights.close();
	}

	private async runTrunk(feeds: Record<string, ort.Tensor>, fetch: readonly string[]): Promise<ort.InferenceSession.ReturnType> {
		await this.prepare();
		return this.withSession(TRUNK, () => this.session(TRUNK), (s) => s.session.run(feeds, [...fetch]));
	}

	private async runVariant(
		v: VariantPlan,
		feeds: Record<string, ort.Tensor>,
		fetch: readonly string[],
		result: ForwardResult,
	): Promise<ort.InferenceSession.ReturnType> {
		const request: StageRequest = { hooks: v.hooks, interventions: v.interventions, extensions: v.extensions.map((e) => e.key) };
		const key = `${stageKey(v.stage)}|${JSON.stringify(request)}`;
		return this.withSession(key, () => this.session(key, () => buildStageGraph(this.arch, this.cfg, this.weights, v.stage, request, this.hookIndex, v.extensions)), async (s) => {
			const mine: Record<string, ort.Tensor> = {};
			for (const [name, t] of Object.entries(feeds)) if (s.inputs.has(name)) mine[name] = t;
			const out = await s.session.run(mine, [...fetch, ...v.hooks]);
			for (const h of v.hooks) result.hooks[h] = out[h]!;
			return out;
		});
	}

	/** Runs `work` on a session, which stays open until it is done (registered before the first await, so eviction never races it). */
	private async withSession<T>(key: string, open: () => Promise<ModelSession>, work: (s: ModelSession) => Promise<T>): Promise<T> {
		this.users.set(key, (this.users.get(key) ?? 0) + 1);
		try {
			return await work(await open());
		} finally {
			const n = this.users.get(key)! - 1;
			if (n === 0) this.users.delete(key);
			else this.users.set(key, n);
		}
	}

	private emptyCache1(batch: number): ort.Tensor {
		let t = this.emptyPast.get(batch);
		if (!t) this.emptyPast.set(batch, (t = new ort.Tensor('float32', new Float32Array(0), [batch, this.cfg.nKvHeads, 0, this.cfg.dHead])));
		return t;
	}

	/** The embedding rows for these token ids and positions, read from the shards: the inputs a run that embeds is fed. */
	private embeddingRows(ids: readonly (readonly number[])[], pastLength: number, seq: number): Record<string, ort.Tensor> {
		const feeds: Record<string, ort.Tensor> = {};
		for (const r of this.rowInputs) {
			if (r.index === 'ids') {
				feeds[r.input] = new ort.Tensor('float32', this.weights.readRows(r.weight, ids.flat()), [ids.length, seq, r.width]);
			} else {
				feeds[r.input] = new ort.Tensor('float32', this.weights.readRows(r.weight, Array.from({ length: seq }, (_, i) => pastLength + i)), [seq, r.width]);
			}
		}
		return feeds;
	}

	/** Zero-length row inputs for a run that starts from a residual stream (its embedding branch does not run). */
	private emptyRows(batch: number): Record<string, ort.Tensor> {
		const feeds: Record<string, ort.Tensor> = {};
		for (const r of this.rowInputs) feeds[r.input] = new ort.Tensor('float32', new Float32Array(0), r.index === 'ids' ? [batch, 0, r.width] : [0, r.width]);
		return feeds;
	}

	private emptyResid(batch: number): ort.Tensor {
		return new ort.Tensor('float32', new Float32Array(0), [batch, 0, this.cfg.dModel]);
	}

	/** The session under `key` (the trunk, or a variant built by `build`), created on first use. */
	private session(key: string, build?: () => BuiltGraph): Promise<ModelSession> {
		const isTrunk = key === TRUNK;
		let session = this.sessions.get(key);
		if (session) {
			if (!isTrunk) this.variantOrder = [...this.variantOrder.filter((k) => k !== key), key];
			return session;
		}
		session = (async () => {
			const t0 = performance.now();
			const built = isTrunk ? this.trunkGraph ?? buildTrunkGraph(this.arch, this.cfg, this.weights, this.hookIndex) : build!();
			// Variants run between the trunk's runs: their threads must not spin after a run, taking
			// the cores the trunk needs next.
			const tuning: SessionTuning = { externalDataFolder: this.weights.externalFolder, ...(isTrunk ? {} : { spinning: false }) };
			const created = await createSession(built.bytes, this.settings, this.log, tuning);
			if (isTrunk) this.trunkGraph = undefined;
			this.provider = created.provider;
			const bytes = this.weights.float32Bytes(built.materialized);
			if (!isTrunk) this.log(`built ${this.name} variant ${key} on ${created.provider} in ${Math.round(performance.now() - t0)} ms (${formatBytes(bytes)} of weights)`);
			return { session: created.session, inputs: new Set(created.session.inputNames), outputs: new Set(created.session.outputNames), bytes };
		})();
		session.catch(() => this.sessions.delete(key));
		this.sessions.set(key, session);
		if (!isTrunk) {
			this.variantOrder.push(key);
			void session.then(() => this.evictVariants(key), () => {});
		}
		return session;
	}

	/** Releases least recently used variants (never `keep`, never one in use) while they hold more than their budget. */
	private async evictVariants(keep: string): Promise<void> {
		const budget = this.variantBudget;
		const sizes = new Map<string, ModelSession>();
		for (const k of this.variantOrder) {
			const s = await this.sessions.get(k)?.catch(() => undefined);
			if (s) sizes.set(k, s);
		}
		let total = [...sizes.values()].reduce((a, s) => a + s.bytes, 0);
		for (const k of [...this.variantOrder]) {
			if (total <= budget) break;
			const s = sizes.get(k);
			if (k === keep || !s || this.users.has(k)) continue;
			total -= s.bytes;
			await this.releaseKey(k);
		}
	}

	private async releaseKey(key: string): Promise<void> {
		const session = this.sessions.get(key);
		if (!session) return;
		this.sessions.delete(key);
		this.variantOrder = this.variantOrder.filter((k) => k !== key);
		// A session that failed to build has nothing to release.
		await session.then((s) => s.session.release(), () => {});
	}

	private checkInputs(options: ForwardOptions, hooks: readonly string[]): { ids: ort.Tensor; batch: number; seq: number; pastLength: number } {
		const { cfg } = this;
		for (const h of hooks) this.hookPoint(h);
		const batch = options.ids.length;
		const seq = options.ids[0]?.length ?? 0;
		if (batch === 0 || seq === 0) throw new ModelConfigError('no tokens to run (empty input)');
		const flat = new BigInt64Array(batch * seq);
		options.ids.forEach((row, r) => {
			if (row.length !== seq) throw new ModelConfigError(`every sequence in a batch must have the same length (${row.length} vs ${seq})`);
			row.forEach((id, c) => {
				if (!Number.isInteger(id) || id < 0 || id >= cfg.dVocab) {
					throw new ModelConfigError(`token id ${id} is outside the vocabulary (0..${cfg.dVocab - 1})`);
				}
				flat[r * seq + c] = BigInt(id);
			});
		});
		if (options.past !== undefined && options.past.length !== 2 * cfg.nLayers) {
			throw new Error(`internal: a KV cache has ${2 * cfg.nLayers} tensors (got ${options.past.length})`);
		}
		const pastLength = options.past?.[0]?.dims[2] ?? 0;
		if (pastLength + seq > cfg.nCtx) {
			throw new ModelConfigError(`sequence of ${pastLength + seq} tokens is longer than the model's context of ${cfg.nCtx}`);
		}
		return { ids: new ort.Tensor('int64', flat, [batch, seq]), batch, seq, pastLength };
	}

	private interventionFeeds(interventions: Readonly<Record<string, Intervention>>, batch: number, seq: number): Record<string, ort.Tensor> {
		const feeds: Record<string, ort.Tensor> = {};
		for (const [hook, iv] of Object.entries(interventions)) {
			const point = this.hookPoint(hook);
			const width = point.shape[point.shape.length - 1];
			if (point.shape.length !== 2 || iv.dims[2] !== width) {
				throw new ModelConfigError(`intervention at ${hook} must have width ${width} (got ${iv.dims[2]})`
					+ (point.shape.length !== 2 ? '; only [pos, width] hooks accept additive interventions' : ''));
			}
			if ((iv.dims[0] !== 1 && iv.dims[0] !== batch) || (iv.dims[1] !== 1 && iv.dims[1] !== seq)) {
				throw new ModelConfigError(`intervention at ${hook} has shape [${iv.dims}], which does not broadcast to [${batch}, ${seq}, ${width}]`);
			}
			if (iv.values.length !== iv.dims[0] * iv.dims[1] * iv.dims[2]) throw new ModelConfigError(`intervention at ${hook}: ${iv.values.length} values for shape [${iv.dims}]`);
			feeds[interventionName(hook)] = new ort.Tensor('float32', iv.values, iv.dims);
		}
		return feeds;
	}
}

function scalar(value: number): ort.Tensor {
	return new ort.Tensor('int64', BigInt64Array.from([BigInt(value)]), []);
}

