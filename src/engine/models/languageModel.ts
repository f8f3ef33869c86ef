// A loaded checkpoint: config, weights, tokenizer and a cache of onnxruntime sessions, one per
// distinct GraphRequest (hook set, intervention set, logits mode, KV cache). Every session
// refers to the same weights (ModelWeights): on the CPU one float32 copy fed to all of them.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { GraphBuilder, Value } from '../onnx/graphBuilder';
import { createSession, defaultSessionSettings, weightBindingFor } from '../onnx/session';
import type { SessionSettings } from '../onnx/session';
import { WeightedSession } from '../onnx/weightedSession';
import { availableMemoryBytes, formatBytes } from '../io/systemMemory';
import { Tokenizer } from '../tokenize/tokenizer';
import type { Architecture } from './architecture';
import { architectureFor, supportedModelTypes } from './architectures';
import { ModelConfigError } from './decoderConfig';
import type { DecoderConfig, RawConfig } from './decoderConfig';
import { INPUT_IDS, LOGITS, buildDecoderGraph, interventionName } from './decoderGraph';
import type { BuiltGraph, GraphRequest, HookExtension, LogitsMode } from './decoderGraph';
import { listHookPoints } from './hookPoints';
import type { HookPoint } from './hookPoints';
import { DEMO_MODEL, demoModelDir, resolveModelPath } from './modelPaths';
import { ModelWeights } from './weights';
import type { LoadWeightsOptions } from './weights';

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
	logits?: LogitsMode;
	/** Per-layer key/value tensors from an earlier call (generation). */
	past?: readonly ort.Tensor[];
	/** Subgraphs spliced in at hooks (steering); each distinct set is one cached session. */
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

type Log = (message: string) => void;

export interface LoadModelOptions {
	/** Bytes the weights may take (default: what the system has available now). */
	memoryAvailable?: number;
}

export class LanguageModel {
	readonly hookPoints: readonly HookPoint[];
	private readonly hookIndex: ReadonlyMap<string, HookPoint>;
	private readonly sessions = new Map<string, Promise<WeightedSession>>();
	/** The checkpoint weights a full forward reads (what loading reads). */
	private readonly weightNames: readonly string[];
	private loading: Promise<void> | undefined;
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
		// Building the whole graph once (kilobytes, no weight bytes) checks every weight's name,
		// shape and dtype against the config, and lists what loading must read.
		this.weightNames = this.build({ hooks: [], interventions: [], logits: 'all', kvCache: false }).weightInputs;
	}

	/**
	 * Opens a Hugging Face checkpoint folder (or `demo`): config, tokenizer and shard headers are
	 * read and checked, and a model whose float32 weights would not fit in memory is refused
	 * with the numbers. Weight bytes are read by `loadWeights` (or the first forward).
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
		const modelType = raw.model_type;
		const arch = typeof modelType === 'string' ? architectureFor(modelType) : undefined;
		if (!arch) {
			throw new ModelConfigError(`${configFile}: unsupported model_type ${JSON.stringify(modelType)} (supported: ${supportedModelTypes().join(', ')})`);
		}
		const cfg = arch.config(raw);
		const weights = ModelWeights.open(dir, arch.keyPrefixes, weightBindingFor(settings));
		const tokenizerFile = path.join(dir, 'tokenizer.json');
		const tokenizer = fs.existsSync(tokenizerFile) ? Tokenizer.fromFile(tokenizerFile) : undefined;
		// The demo model keeps its name however it is addressed, so its SAEs recognize it.
		const name = path.resolve(dir) === path.resolve(demoModelDir()) ? DEMO_MODEL : path.basename(dir);
		const loaded = new LanguageModel(name, dir, cfg, arch, weights, tokenizer, settings, log);
		if (weights.binding === 'feed') {
			const needed = loaded.weightBytes();
			const available = options.memoryAvailable ?? availableMemoryBytes();
			if (needed > available) {
				throw new ModelConfigError(`${dir}: the model's weights take ${formatBytes(needed)} as float32 `
					+ `(${(needed / 4e9).toFixed(2)}B parameters), but only ${formatBytes(available)} of memory is available; `
					+ 'close other programs or choose a smaller model');
			}
		}
		return loaded;
	}

	/** Bytes the weights take in memory once loaded (float32). */
	weightBytes(): number {
		return this.weights.float32Bytes(this.weightNames);
	}

	/** Whether the weights are in memory, so a forward runs without loading first. */
	get weightsLoaded(): boolean {
		return this.weights.isLoaded(this.weightNames);
	}

	/**
	 * Reads the weights into memory with progress; `signal` cancels, keeping nothing. Concurrent
	 * calls (and forwards) share one load.
	 */
	loadWeights(options: LoadWeightsOptions = {}): Promise<void> {
		if (this.weightsLoaded) return Promise.resolve();
		if (!this.loading) {
			const t0 = performance.now();
			this.loading = this.weights.load(this.weightNames, options).then(() => {
				this.log(`read ${this.name}'s weights (${formatBytes(this.weightBytes())} as float32) in ${Math.round(performance.now() - t0)} ms`);
			}).finally(() => { this.loading = undefined; });
		}
		return this.loading;
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
		const extensions = [...(options.extensions ?? [])].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
		const request: GraphRequest = {
			hooks: [...new Set(options.hooks ?? [])].sort(),
			interventions: Object.keys(options.interventions ?? {}).sort(),
			logits: options.logits ?? 'all',
			kvCache: options.past !== undefined,
			...(extensions.length > 0 ? { extensions: extensions.map((e) => e.key) } : {}),
		};
		const feeds = { ...this.feeds(options, request), ...options.extensionInputs };
		await this.loadWeights();
		const session = await this.session(request, extensions);
		const out = await session.run(feeds);
		const result: ForwardResult = { hooks: {} };
		if (request.logits !== 'none') result.logits = out[LOGITS];
		for (const h of request.hooks) result.hooks[h] = out[h]!;
		if (request.kvCache) {
			result.present = [];
			for (let l = 0; l < this.cfg.nLayers; l++) result.present.push(out[`present.${l}.key`]!, out[`present.${l}.value`]!);
		}
		return result;
	}

	/** Empty per-layer caches to start generation from, [batch, n_kv_heads, 0, d_head] each. */
	emptyCache(batch: number): ort.Tensor[] {
		const dims = [batch, this.cfg.nKvHeads, 0, this.cfg.dHead];
		return Array.from({ length: 2 * this.cfg.nLayers }, () => new ort.Tensor('float32', new Float32Array(0), dims));
	}

	/** Number of distinct graphs built so far (one onnxruntime session each). */
	cachedGraphCount(): number {
		return this.sessions.size;
	}

	/** Releases the sessions built with extension `key` (e.g. when the SAE it embeds is unloaded). */
	async releaseExtension(key: string): Promise<void> {
		for (const [requestKey, session] of [...this.sessions]) {
			if (!((JSON.parse(requestKey) as GraphRequest).extensions ?? []).includes(key)) continue;
			this.sessions.delete(requestKey);
			// A session that failed to build has nothing to release.
			await session.then((x) => x.release(), () => {});
		}
	}

	async dispose(): Promise<void> {
		const sessions = [...this.sessions.values()];
		this.sessions.clear();
		for (const s of sessions) await s.then((x) => x.release(), () => {});
		this.weights.release();
	}

	/** Declares one of this model's weights in another graph (the logit lens reads the unembedding): shared, never copied. */
	weightValue(b: GraphBuilder, name: string, shape: readonly number[]): Value {
		return this.weights.declare(b, name, shape);
	}

	/** Whether the checkpoint has a weight (after prefix stripping). */
	hasWeight(name: string): boolean {
		return this.weights.has(name);
	}

	/** A session for a graph whose model weights were declared with `weightValue`, fed them on every run. */
	async createSession(graph: BuiltGraph): Promise<WeightedSession> {
		await this.weights.load(graph.weightInputs);
		const tuning = this.weights.binding === 'external' ? { externalDataFolder: this.weights.externalFolder } : {};
		const created = await createSession(graph.bytes, this.settings, this.log, tuning);
		this.provider = created.provider;
		return new WeightedSession(created.session, this.weights.feeds(graph.weightInputs), created.provider);
	}

	private build(request: GraphRequest, extensions: readonly HookExtension[] = []): BuiltGraph {
		return buildDecoderGraph(this.arch, this.cfg, this.weights, request, this.hookIndex, extensions);
	}

	private feeds(options: ForwardOptions, request: GraphRequest): Record<string, ort.Tensor> {
		const { cfg } = this;
		for (const h of request.hooks) this.hookPoint(h);
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
		const pastLen = options.past?.[0]?.dims[2] ?? 0;
		if (pastLen + seq > cfg.nCtx) {
			throw new ModelConfigError(`sequence of ${pastLen + seq} tokens is longer than the model's context of ${cfg.nCtx}`);
		}
		const feeds: Record<string, ort.Tensor> = { [INPUT_IDS]: new ort.Tensor('int64', flat, [batch, seq]) };
		for (const [hook, iv] of Object.entries(options.interventions ?? {})) {
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
		options.past?.forEach((t, i) => {
			feeds[`past.${i >> 1}.${i % 2 === 0 ? 'key' : 'value'}`] = t;
		});
		return feeds;
	}

	private session(request: GraphRequest, extensions: readonly HookExtension[] = []): Promise<WeightedSession> {
		const key = JSON.stringify(request);
		let session = this.sessions.get(key);
		if (!session) {
			session = (async () => {
				const t0 = performance.now();
				const created = await this.createSession(this.build(request, extensions));
				this.log(`built ${this.name} graph (${describe(request)}) on ${created.provider} in ${Math.round(performance.now() - t0)} ms`);
				return created;
			})();
			session.catch(() => this.sessions.delete(key));
			this.sessions.set(key, session);
		}
		return session;
	}
}

function describe(r: GraphRequest): string {
	const parts = [`logits ${r.logits}`];
	if (r.hooks.length) parts.push(`${r.hooks.length} hook(s)`);
	if (r.interventions.length) parts.push(`interventions at ${r.interventions.join(', ')}`);
	if (r.kvCache) parts.push('KV cache');
	if (r.extensions?.length) parts.push(`extensions ${r.extensions.join(', ')}`);
	return parts.join(', ');
}
