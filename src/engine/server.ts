// The engine process: serves the protocol over stdio. Spawned by the extension host (or any
// client speaking src/protocol/engineProtocol.ts); all model work happens here.

import { isAbsolute } from 'node:path';
import * as ort from 'onnxruntime-node';
import { CancellationToken, ErrorCodes, ResponseError } from 'vscode-jsonrpc/node';
import {
	ActivityNotification,
	GenerateRequest,
	GenerateTokenNotification,
	InitializeRequest,
	InspectProgressNotification,
	InspectRequest,
	EvaluateSaeRequest,
	LoadModelProgressNotification,
	LoadModelRequest,
	LoadSaeRequest,
	LogNotification,
	RunRequest,
	ShutdownRequest,
	TrainProgressNotification,
	TrainSaeRequest,
} from '../protocol/engineProtocol';
import type {
	GenerateParams,
	GenerateResult,
	InitializeParams,
	InspectParams,
	InspectResult,
	InspectedTokenInfo,
	LogLevel,
	ModelInfo,
	RunParams,
	RunResult,
	SaeInfo,
	SaeEvalMetrics,
	TrainSaeParams,
	TrainSaeResult,
	TrainStepMetrics,
} from '../protocol/engineProtocol';
import { AnalyzeFeaturesRequest, AnalyzeProgressNotification, FeatureDashboardRequest, FeatureTextRequest, SearchFeaturesRequest, SetFeatureLabelRequest } from '../protocol/featureProtocol';
import { ConfigureHubRequest, FetchFromHubRequest, HubProgressNotification, ListSaeReleasesRequest, RefreshSaeReleasesRequest } from '../protocol/hubProtocol';
import { engineConnection } from './engineConnection';
import { FeatureService } from './features/featureService';
import { cachedSaeKey } from './features/saeUserData';
import { HubService } from './hub/hubService';
import { evaluateSae } from './sae/evaluate';
import { corpusDocuments, corpusFromFiles, corpusWindows } from './sae/train/corpus';
import { checkRunFolder, runTraining } from './sae/train/trainingRun';
import { modelTrainingSource, trainConfigFor } from './sae/train/trainingJob';
import { inspectText } from './sae/inspect';
import { perTokenWidth } from './models/hookPoints';
import { SaeRunner } from './sae/saeRunner';
import { generate } from './models/generate';
import { LanguageModel } from './models/languageModel';
import { availableMemoryBytes, formatBytes } from './io/systemMemory';
import { topIndices } from './models/sampling';
import { tokensFor } from './models/textInput';
import { healPrompt } from './models/tokenHealing';
import { defaultSessionSettings, describeProviderChoice } from './onnx/session';
import { ContrastVectorRequest, SteerTokenNotification, SteeredGenerateRequest, SweepRequest } from '../protocol/steerProtocol';
import type { SteerSpec, SteeredGenerateParams, SteeredGenerateResult, SweepParams } from '../protocol/steerProtocol';
import { contrastVector } from './steer/contrast';
import { steerSweep, steeredGenerate, sweepSpec } from './steer/steeredGenerate';
import { releaseSteering } from './steer/steerGraph';
import { SteeringSaes } from './steer/steeringSaes';
import { compileSteering } from './steer/steering';
import { describeSteer, featureRunner } from './steer/steerSpec';
import { ModelWork } from './modelWork';
import type { SessionSettings } from './onnx/session';
import { REQUEST_CANCELLED, USER_ERROR, errorMessage } from '../protocol/errors';
import { Cancelled } from './cancelled';
import { AttributeProgressNotification, AttributeRequest, PruneAttributionRequest } from '../protocol/attributionProtocol';
import type { AttributeParams, AttributeResult, PruneAttributionParams } from '../protocol/attributionProtocol';
import type { AttributionGraph } from './attribution/attributionGraph';
import type { GraphJson } from '../protocol/graphJson';
import { attribute } from './attribution/attribute';
import type { AttributionSteering } from './attribution/attribute';
import { loadAttributionFeatures } from './attribution/featureSource';
import { graphToJson } from './attribution/graphToJson';

const ENGINE_VERSION = '0.1.0';

/** Requests using the loaded model and SAE, which a load cancels and waits for before replacing them. */
const work = new ModelWork();

const connection = engineConnection({
	log: (level, message) => connection.sendNotification(LogNotification, { level, message }),
	// Nothing more can arrive: running work is cancelled (a training run checkpoints) before the engine exits.
	onBroken: (reason) => work.cancelUsers(reason).then(() => undefined),
});

function log(level: LogLevel, message: string): void {
	void connection.sendNotification(LogNotification, { level, message });
}

// stdout carries the protocol: route stray console output to the log instead.
console.log = (...args: unknown[]) => log('info', args.map(String).join(' '));
console.info = console.log;
console.warn = (...args: unknown[]) => log('warn', args.map(String).join(' '));
console.error = (...args: unknown[]) => log('error', args.map(String).join(' '));

let settings: SessionSettings = defaultSessionSettings;
/** Where labels, notes, analyses and a refreshed release registry are kept (InitializeParams.userDataDir). */
let userDataDir: string | undefined;
/** Hub downloads (hf: models and SAEs, release: SAEs) and the SAE release registry. */
const hub = new HubService(
	(p) => void connection.sendNotification(HubProgressNotification, p),
	(m) => log('info', m),
	() => dataDir(),
);
let model: LanguageModel | undefined;
let sae: SaeRunner | undefined;
/** Dashboards of the loaded SAE; replaced when the model or SAE changes. */
let features: FeatureService | undefined;
/** The last attribution graph, whole, for re-pruning; dropped with its model. */
let heldGraph: { id: string; graph: AttributionGraph; model: LanguageModel; slug: string } | undefined;
/** SAEs that steering specs name by path beside the loaded one (an attribution graph's pins of several layers). */
const steeringSaes = new SteeringSaes(
	async (path, signal) => SaeRunner.forModel(await hub.loadSae(path, { signal }), await currentModel(), settings, (message) => log('info', message)),
	async (runner) => {
		if (model) await releaseSteering(model, runner);
	},
);

/**
 * Runs a handler while reporting the engine busy, as work a model load can cancel, turning
 * thrown errors into clear responses: the engine's own errors about input, files and the
 * machine as USER_ERROR, and JavaScript's (a TypeError is a bug here) as InternalError.
 */
async function busy<T>(what: string, handler: () => Promise<T>): Promise<T> {
	void connection.sendNotification(ActivityNotification, { state: 'busy', what });
	try {
		return await work.run(handler);
	} catch (err) {
		if (err instanceof ResponseError) throw err;
		const message = errorMessage(err);
		if (err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError) {
			log('error', `${what} failed on an engine bug: ${err.stack ?? message}`);
			throw new ResponseError(ErrorCodes.InternalError, `internal error while ${what}: ${message}`);
		}
		log('error', `${what} failed: ${message}`);
		throw new ResponseError(USER_ERROR, message);
	} finally {
		void connection.sendNotification(ActivityNotification, { state: 'idle' });
	}
}

/**
 * Runs `work` with an AbortSignal tied to the request's cancellation token; the engine's
 * cancellation errors become JSON-RPC's "request cancelled", so clients tell a cancel from a failure.
 */
async function cancellable<T>(token: CancellationToken, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
	const abort = new AbortController();
	const subscription = token.onCancellationRequested(() => abort.abort());
	// A request cancelled before it was dispatched (sent while the engine was busy) arrives with
	// CancellationToken.Cancelled, whose onCancellationRequested never fires.
	if (token.isCancellationRequested) abort.abort();
	// A new model or SAE cancels the work on the old one (ModelWork), with its reason.
	const replaced = work.signal();
	const onReplaced = () => abort.abort(replaced?.reason);
	replaced?.addEventListener('abort', onReplaced);
	if (replaced?.aborted) onReplaced();
	try {
		return await run(abort.signal);
	} catch (err) {
		if (err instanceof Cancelled) throw new ResponseError(REQUEST_CANCELLED, replaced?.aborted ? `${err.message}: ${String(replaced.reason)}` : err.message);
		throw err;
	} finally {
		replaced?.removeEventListener('abort', onReplaced);
		subscription.dispose();
	}
}

/** A model load in progress: requests that need the model wait for it rather than find none. */
let modelLoading: Promise<unknown> | undefined;

async function currentModel(): Promise<LanguageModel> {
	while (modelLoading) await modelLoading.catch(() => undefined);
	if (!model) throw new ResponseError(USER_ERROR, 'no model is loaded (load one first)');
	work.joinModel();
	return model;
}

/** Cancels the requests running on the current model and SAE and waits for them to end, before `what` replaces them. */
async function stopModelUsers(what: string): Promise<void> {
	const stopped = await work.cancelUsers(what);
	if (stopped > 0) log('info', `${what}: ${stopped} running request${stopped === 1 ? ' was' : 's were'} cancelled first`);
}

connection.onRequest(InitializeRequest, (params: InitializeParams) => {
	if (typeof params.userDataDir !== 'string' || !isAbsolute(params.userDataDir)) {
		throw new ResponseError(USER_ERROR, `initialize needs userDataDir, an absolute folder for labels and analyses (got ${JSON.stringify(params.userDataDir)})`);
	}
	settings = { executionProvider: params.executionProvider, threads: params.threads };
	userDataDir = params.userDataDir;
	if (params.hub) hub.configure(params.hub);
	log('info', `engine ${ENGINE_VERSION} (pid ${process.pid}), onnxruntime ${ort.env.versions.common}; ${describeProviderChoice(settings)}`);
	return { engineVersion: ENGINE_VERSION, onnxruntimeVersion: ort.env.versions.common, pid: process.pid };
});

connection.onRequest(LoadModelRequest, ({ model: name, requestId }, token: CancellationToken) =>
	busy(`loading ${name}`, async (): Promise<ModelInfo> => {
		// One load at a time, and requests that need the model wait for it.
		while (modelLoading) await modelLoading.catch(() => undefined);
		const loading = loadModel(name, requestId, token);
		modelLoading = loading;
		try {
			return await loading;
		} finally {
			if (modelLoading === loading) modelLoading = undefined;
		}
	}),
);

async function loadModel(name: string, requestId: string | undefined, token: CancellationToken): Promise<ModelInfo> {
	// The new model's config, headers and graph are checked before anything is unloaded. If its
	// weights fit beside the current model's, that one stays until the new one is ready (a failed
	// or cancelled load then changes nothing); if they need its memory, it goes first.
	// hf: models are fetched into the Hub cache first (HubProgressNotification, cancellable).
	const source = await cancellable(token, (signal) => hub.resolveModel(name, { requestId, signal }));
	const free = availableMemoryBytes();
	const next = LanguageModel.load(source.path, settings, (m) => log('info', m), { memoryAvailable: free + (model?.weightBytes() ?? 0), ...(source.name ? { name: source.name } : {}) });
	const keepCurrent = next.weightBytes() <= 0.9 * free;
	if (!keepCurrent) {
		log('info', `unloading ${model?.name ?? 'the current model'} first: ${next.name} needs its memory`);
		await stopModelUsers(`${next.name} is loading in place of ${model?.name ?? 'the current model'}`);
		await unloadModel();
	}
	let lastSent = 0;
	try {
		await cancellable(token, (signal) =>
			next.prepare({
				signal,
				onProgress: (p) => {
					const now = Date.now();
					if (!requestId || (now - lastSent < 100 && p.phase === 'reading' && p.bytesDone < p.bytesTotal)) return;
					lastSent = now;
					void connection.sendNotification(LoadModelProgressNotification, { requestId, ...p });
				},
			}),
		);
	} catch (err) {
		// Nothing half-loaded.
		await next.dispose();
		throw err;
	}
	await stopModelUsers(`${next.name} is loading in place of ${model?.name ?? 'the current model'}`);
	await unloadModel();
	model = next;
	const { cfg } = next;
	log('info', `loaded ${next.name} (${cfg.modelType}, ${cfg.nLayers} layers, d_model ${cfg.dModel}, ${formatBytes(next.weightBytes())} of weights) from ${next.dir}`);
	return {
		name: next.name,
		dir: next.dir,
		modelType: cfg.modelType,
		nLayers: cfg.nLayers,
		dModel: cfg.dModel,
		dVocab: cfg.dVocab,
		nCtx: cfg.nCtx,
		hookPoints: [...next.hookPoints],
		hasTokenizer: next.tokenizer !== undefined,
		weightBytes: next.weightBytes(),
	};
}

/** Drops the model and everything bound to it (SAE, dashboards, the attribution graph). */
async function unloadModel(): Promise<void> {
	heldGraph = undefined;
	await steeringSaes.clear();
	await features?.dispose();
	features = undefined;
	await sae?.dispose();
	sae = undefined;
	await model?.dispose();
	model = undefined;
}

connection.onRequest(RunRequest, (params: RunParams) =>
	busy('running', async (): Promise<RunResult> => {
		const m = await currentModel();
		const input = params.text !== undefined ? { text: params.text } : { ids: params.ids ?? [] };
		const tokens = await tokensFor(m, input);
		const out = await m.forward({ ids: [tokens.map((t) => t.id)], hooks: params.hooks, logits: 'last' });
		const logits = out.logits!.data as Float32Array;
		const top = topIndices(logits, 10);
		const nextTokens = await Promise.all(top.map(async (id) => ({ id, text: m.tokenizer ? await m.tokenizer.decode([id]) : '', logit: logits[id]! })));
		const hooks: RunResult['hooks'] = {};
		for (const h of params.hooks) hooks[h] = { shape: out.hooks[h]!.dims.slice(1), values: Array.from(out.hooks[h]!.data as Float32Array) };
		return { tokens, nextTokens, hooks };
	}),
);

connection.onRequest(GenerateRequest, (params: GenerateParams, token: CancellationToken) =>
	busy('generating', async (): Promise<GenerateResult> => {
		const m = await currentModel();
		// Text prompts are token-healed; explicit ids are kept as given.
		const healed =
			params.prompt !== undefined && m.tokenizer
				? await healPrompt(m, params.prompt)
				: { ids: (await tokensFor(m, params.prompt !== undefined ? { text: params.prompt } : { ids: params.ids ?? [] })).map((t) => t.id), allowedFirst: undefined };
		const promptIds = healed.ids;
		const ids = [...promptIds];
		let stopReason = 'maxTokens' as GenerateResult['stopReason'];
		await cancellable(token, async (signal) => {
			for await (const t of generate(m, promptIds, { ...params, allowedFirst: healed.allowedFirst, signal })) {
				ids.push(t.id);
				const text = m.tokenizer ? await m.tokenizer.decode([t.id]) : '';
				void connection.sendNotification(GenerateTokenNotification, { requestId: params.requestId, id: t.id, text });
				if (m.cfg.eosTokenIds.includes(t.id)) stopReason = 'eos';
				// Yield to the event loop so a cancellation message can arrive between tokens.
				await new Promise((resolve) => setImmediate(resolve));
			}
		});
		if (stopReason !== 'eos' && ids.length >= m.cfg.nCtx) stopReason = 'context';
		return { ids, text: m.tokenizer ? await m.tokenizer.decode(ids) : '', stopReason };
	}),
);

connection.onRequest(LoadSaeRequest, ({ path, requestId }, token: CancellationToken) =>
	busy('loading SAE', async (): Promise<SaeInfo> => {
		const m = await currentModel();
		const loaded = await cancellable(token, (signal) => hub.loadSae(path, { requestId, signal }));
		const runner = SaeRunner.forModel(loaded, m, settings, (message) => log('info', message));
		let contentHash: string;
		try {
			// By the files loaded (an hf: or release: SAE's are in the Hub cache).
			contentHash = cachedSaeKey(dataDir(), loaded.source).sha256;
		} catch (err) {
			await runner.dispose();
			throw err;
		}
		await stopModelUsers(`the SAE ${path} is loading`);
		const previous = sae;
		sae = runner;
		if (previous) {
			await releaseSteering(m, previous);
			await previous.dispose();
		}
		const { cfg } = runner.sae;
		log('info', `loaded ${cfg.transcoder ? 'transcoder' : 'SAE'} ${path} (${cfg.architecture}, d_sae ${cfg.d_sae}) at ${runner.hookName}${cfg.transcoder ? ` → ${runner.outputHookName}` : ''}`);
		const denseFeatures: number[] = [];
		runner.sae.logSparsity?.forEach((logDensity, i) => {
			if (logDensity > -1) denseFeatures.push(i);
		});
		const neuronpediaId = typeof cfg.metadata.neuronpedia_id === 'string' ? cfg.metadata.neuronpedia_id : undefined;
		return {
			source: runner.sae.source,
			contentHash,
			architecture: cfg.architecture,
			hookName: runner.hookName,
			dIn: cfg.d_in,
			dSae: cfg.d_sae,
			k: cfg.k,
			modelName: cfg.metadata.model_name,
			denseFeatures,
			neuronpediaId,
			...(cfg.transcoder ? { transcoder: { hookNameOut: cfg.transcoder.hook_name_out, dOut: cfg.transcoder.d_out, skip: cfg.transcoder.skip } } : {}),
		};
	}),
);

connection.onRequest(InspectRequest, (params: InspectParams, token: CancellationToken) =>
	busy('inspecting', async (): Promise<InspectResult> => {
		const m = await currentModel();
		if (!sae) throw new ResponseError(USER_ERROR, 'no SAE is loaded (load one first)');
		const runner = sae;
		const tokens = await cancellable(token, (signal) =>
			inspectText(m, runner, params.text, {
				topFeatures: params.topFeatures,
				signal,
				onProgress: (done, total) => void connection.sendNotification(InspectProgressNotification, { requestId: params.requestId, done, total }),
			}),
		);
		return { hookName: runner.hookName, ...(runner.sae.cfg.transcoder ? { hookNameOut: runner.outputHookName } : {}), tokens, labels: await featureLabels(tokens) };
	}),
);

connection.onRequest(AttributeRequest, (params: AttributeParams, token: CancellationToken) =>
	busy('tracing a completion', async (): Promise<AttributeResult> => {
		const m = await currentModel();
		if (typeof params.transcoders !== 'string' || !isAbsolute(params.transcoders))
			throw new ResponseError(USER_ERROR, `attribution needs an absolute transcoder set folder (got ${JSON.stringify(params.transcoders)})`);
		const transcoders = loadAttributionFeatures(params.transcoders);
		const tokens = await tokensFor(m, params.promptIds !== undefined ? { ids: params.promptIds } : { text: params.prompt });
		heldGraph = undefined; // its memory, before the next graph's
		const { graph } = await cancellable(token, async (signal) =>
			attribute(m, transcoders, params.prompt, tokens, {
				settings,
				signal,
				featureSources: [params.transcoders],
				...(params.steer ? { steering: await attributionSteering(m, params.steer, tokens.length, params.steerFrom ?? tokens.length, signal) } : {}),
				...(params.targetToken !== undefined ? { targetToken: params.targetToken } : {}),
				...(params.maxLogits !== undefined ? { maxLogits: params.maxLogits } : {}),
				...(params.maxFeatureNodes !== undefined ? { maxFeatureNodes: params.maxFeatureNodes } : {}),
				onProgress: (done, total) => void connection.sendNotification(AttributeProgressNotification, { requestId: params.requestId, done, total }),
			}),
		);
		const slug = `feature-lens-${params.requestId}`;
		heldGraph = { id: params.requestId, graph, model: m, slug };
		const json = graphToJson(graph, {
			slug,
			scan: m.name,
			...(params.nodeThreshold !== undefined ? { nodeThreshold: params.nodeThreshold } : {}),
			...(params.edgeThreshold !== undefined ? { edgeThreshold: params.edgeThreshold } : {}),
		});
		return { graph: json, graphId: params.requestId, featureCount: graph.nodes.filter((n) => n.kind === 'feature').length, edgeCount: graph.edges.source.length };
	}),
);

/** A traced completion's steering, compiled for the traced tokens (the prompt's left alone under "generated"). */
async function attributionSteering(m: LanguageModel, spec: SteerSpec, seq: number, steerFrom: number, signal: AbortSignal): Promise<AttributionSteering> {
	const featureSaes = await steeringSaes.resolve([spec], sae, signal);
	const compiled = compileSteering(m, sae, spec, featureSaes);
	const steered = Array.from({ length: seq }, (_, p) => spec.positions === 'all' || p >= steerFrom);
	return {
		callInputs: compiled.callInputsAt(steered),
		steered,
		features: spec.features.map((f) => ({ file: featureRunner(f, sae, featureSaes)!.sae.source, featureIndex: f.featureIndex, mode: f.mode, strength: f.strength })),
		description: describeSteer(spec),
	};
}

connection.onRequest(PruneAttributionRequest, (params: PruneAttributionParams) =>
	busy('pruning a graph', async (): Promise<GraphJson> => {
		const m = await currentModel();
		const held = heldGraph;
		if (!held || held.id !== params.graphId || held.model !== m)
			throw new ResponseError(USER_ERROR, `the engine no longer holds graph ${JSON.stringify(params.graphId)} (it keeps the last one, for the current model); trace the completion again`);
		for (const key of ['nodeThreshold', 'edgeThreshold'] as const) {
			const t = params[key];
			if (!(typeof t === 'number' && t >= 0 && t <= 1)) throw new ResponseError(USER_ERROR, `${key} must be between 0 and 1 (got ${JSON.stringify(t)})`);
		}
		return graphToJson(held.graph, { slug: held.slug, scan: m.name, nodeThreshold: params.nodeThreshold, edgeThreshold: params.edgeThreshold });
	}),
);

/** Labels of the features that fired, from the SAE's analysis and user labels, for hovers and the Features view. */
async function featureLabels(tokens: readonly InspectedTokenInfo[]): Promise<Record<number, string>> {
	const service = await currentFeatures();
	const labels: Record<number, string> = {};
	for (const t of tokens) {
		for (const [featureIndex] of t.features) {
			if (featureIndex in labels) continue;
			labels[featureIndex] = service.summary(featureIndex).label;
		}
	}
	return labels;
}

connection.onRequest(TrainSaeRequest, (params: TrainSaeParams, token: CancellationToken) =>
	busy('training an SAE', async (): Promise<TrainSaeResult> => {
		const m = await currentModel();
		return cancellable(token, async (signal) => {
			// Before the activation buffer fills: a run that could not save fails now.
			checkRunFolder({ out: params.out, resume: params.resume, overwrite: params.overwrite });
			// The activation buffer's first fill is many model forwards: a cancel stops it too.
			const out = params.hookNameOut;
			// A transcoder's rows are [input | output]; its output width comes off them.
			const dOut = out === undefined ? 0 : perTokenWidth(m.hookPoint(out), out);
			const { source, metadata } = await modelTrainingSource(m, { hookName: params.hookName, ...(out === undefined ? {} : { hookNameOut: out }), corpus: params.corpus, signal });
			const config = trainConfigFor(
				{
					architecture: params.architecture,
					dSae: params.dSae,
					tokens: params.tokens,
					k: params.k,
					l1: params.l1,
					l0: params.l0,
					...(out === undefined ? {} : { transcoder: { dOut, skip: params.skip ?? false } }),
				},
				source.dIn - dOut,
			);
			const totalSteps = Math.ceil(config.totalTokens / config.batchSize);
			let lastSent = 0;
			const toWire = (x: { step: number; tokens: number; loss: number; mse: number; l0: number; explainedVariance: number; deadFraction: number; tokensPerSecond: number }): TrainStepMetrics => ({
				step: x.step,
				totalSteps,
				tokens: x.tokens,
				loss: x.loss,
				mse: x.mse,
				l0: x.l0,
				explainedVariance: x.explainedVariance,
				deadFraction: x.deadFraction,
				tokensPerSecond: x.tokensPerSecond,
			});
			const result = await runTraining(source, {
				out: params.out,
				config,
				metadata,
				settings,
				resume: params.resume,
				overwrite: params.overwrite,
				signal,
				log: (message) => log('info', message),
				onStep: (metrics) => {
					const now = Date.now();
					if (now - lastSent < 200 && metrics.step !== totalSteps) return;
					lastSent = now;
					void connection.sendNotification(TrainProgressNotification, { requestId: params.requestId, metrics: toWire(metrics) });
				},
			});
			log('info', result.cancelled ? `training cancelled at step ${result.steps}; resume from ${params.out}` : `trained SAE saved to ${params.out}`);
			return { out: result.saeDir, cancelled: result.cancelled, steps: result.steps, tokens: result.tokens, tokensPerSecond: result.tokensPerSecond, final: result.final && toWire(result.final) };
		});
	}),
);

connection.onRequest(EvaluateSaeRequest, ({ corpus, tokens }, token: CancellationToken) =>
	busy('evaluating the SAE', async (): Promise<SaeEvalMetrics> => {
		const m = await currentModel();
		if (!sae) throw new ResponseError(USER_ERROR, 'no SAE is loaded (load one first)');
		const contextSize = Math.min(sae.sae.cfg.metadata.context_size ?? 128, m.cfg.nCtx);
		const documents = typeof corpus === 'string' ? corpusDocuments(corpus) : corpusFromFiles(corpus);
		const runner = sae;
		const r = await cancellable(token, (signal) =>
			evaluateSae(m, runner, corpusWindows(m, documents, contextSize, runner.sae.cfg.metadata.prepend_bos !== false), { tokens, contextSize, batchContexts: 8, signal }),
		);
		return {
			tokens: r.tokens,
			l0: r.l0,
			explainedVariance: r.explained_variance,
			ceLossScore: r.ce_loss_score,
			ceLossWithoutSae: r.ce_loss_without_sae,
			ceLossWithSae: r.ce_loss_with_sae,
			klDivScore: r.kl_div_score,
			deadFraction: r.dead_fraction,
		};
	}),
);

connection.onRequest(SteeredGenerateRequest, (params: SteeredGenerateParams, token: CancellationToken) =>
	busy('steering', async (): Promise<SteeredGenerateResult> => {
		const m = await currentModel();
		const { requestId } = params;
		// A cancel ends both runs and answers with what was generated so far (`cancelled: true`).
		return cancellable(token, async (signal) =>
			steeredGenerate(
				m,
				sae,
				{ ...params, prompt: { text: params.prompt } },
				{
					featureSaes: await steeringSaes.resolve([params.steer], sae, signal),
					signal,
					onToken: (t) => void connection.sendNotification(SteerTokenNotification, { requestId, ...t }),
				},
			),
		);
	}),
);

connection.onRequest(SweepRequest, (params: SweepParams, token: CancellationToken) =>
	busy('steering sweep', async () => {
		const m = await currentModel();
		const { requestId } = params;
		return cancellable(token, async (signal) =>
			steerSweep(
				m,
				sae,
				{ ...params, prompt: { text: params.prompt } },
				{
					// The spec of a sweep entry holds the swept feature and the fixed ones: the SAEs they name.
					featureSaes: await steeringSaes.resolve([sweepSpec(params.steer, params.feature, 0)], sae, signal),
					signal,
					onToken: (t) => void connection.sendNotification(SteerTokenNotification, { requestId, ...t }),
				},
			),
		);
	}),
);

connection.onRequest(ContrastVectorRequest, ({ hookName, positive, negative }) =>
	busy('contrast vector', async () => {
		const r = await contrastVector(await currentModel(), hookName, positive, negative, settings);
		return { vector: Array.from(r.vector), norm: r.norm };
	}),
);

function dataDir(): string {
	if (!userDataDir) throw new ResponseError(USER_ERROR, 'the engine was not initialized with a user-data folder');
	return userDataDir;
}

connection.onRequest(ConfigureHubRequest, (params) => hub.configure(params));

connection.onRequest(FetchFromHubRequest, (params, token: CancellationToken) => busy(`downloading ${params.ref}`, () => cancellable(token, (signal) => hub.fetch(params, signal))));

connection.onRequest(ListSaeReleasesRequest, ({ model: name }) => busy('listing SAE releases', async () => hub.listReleases(name)));

connection.onRequest(RefreshSaeReleasesRequest, ({ from, requestId }, token: CancellationToken) =>
	busy('refreshing SAE releases', () => cancellable(token, (signal) => hub.refreshReleases(from, { requestId, signal }))),
);

/** The feature service for the loaded model and SAE, made anew when either changed. */
async function currentFeatures(): Promise<FeatureService> {
	const m = await currentModel();
	if (!sae) throw new ResponseError(USER_ERROR, 'no SAE is loaded (load one first)');
	if (!features || features.model !== m || features.runner !== sae) {
		await features?.dispose();
		features = new FeatureService(m, sae, settings, dataDir(), (message) => log('info', message));
	}
	return features;
}

connection.onRequest(AnalyzeFeaturesRequest, (params, token: CancellationToken) =>
	busy('analysing features', async () => {
		const service = await currentFeatures();
		let lastSent = 0;
		return cancellable(token, (signal) =>
			service.analyze({
				corpus: params.corpus,
				tokens: params.tokens,
				force: params.force,
				signal,
				onProgress: (done, total) => {
					const now = Date.now();
					if (now - lastSent < 200 && done !== total) return;
					lastSent = now;
					void connection.sendNotification(AnalyzeProgressNotification, { requestId: params.requestId, done, total });
				},
			}),
		);
	}),
);

connection.onRequest(FeatureDashboardRequest, ({ featureIndex }) => busy('opening a feature dashboard', async () => (await currentFeatures()).dashboard(featureIndex)));

connection.onRequest(SearchFeaturesRequest, (params) => busy('searching features', async () => (await currentFeatures()).search(params)));

connection.onRequest(SetFeatureLabelRequest, ({ featureIndex, label, notes }) => busy('saving a feature label', async () => (await currentFeatures()).setLabel(featureIndex, label, notes)));

connection.onRequest(FeatureTextRequest, ({ featureIndex, text }) => busy('running a feature on text', async () => (await currentFeatures()).activationsOnText(featureIndex, text)));

connection.onRequest(ShutdownRequest, async () => {
	await stopModelUsers('the engine is shutting down');
	await unloadModel();
});

connection.onClose(() => process.exit(0));
connection.listen();
