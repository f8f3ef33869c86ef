// Transcoder sets from the command line: train one per layer and write the set in
// circuit-tracer's layout (`transcoders`), and evaluate a set with every MLP replaced
// (`eval --transcoders`).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { isCircuitTracerFolder, loadCrossLayerTranscoder, loadTranscoderFolder, readCircuitTracerConfig, saveTranscoderSet } from '../engine/sae/circuitTracerFormat';
import { CltRunner } from '../engine/sae/cltReplacement';
import { evaluateCrossLayerTranscoder, evaluateTranscoderSet } from '../engine/sae/evaluateTranscoders';
import { loadSae } from '../engine/sae/saeFormat';
import { SaeRunner } from '../engine/sae/saeRunner';
import { corpusDocuments, corpusWindows } from '../engine/sae/train/corpus';
import { TRAIN_DEFAULTS } from '../engine/sae/train/saeTrainer';
import { modelTrainingSource, trainConfigFor } from '../engine/sae/train/trainingJob';
import { checkRunFolder, runTraining } from '../engine/sae/train/trainingRun';
import { perTokenWidth } from '../engine/models/hookPoints';
import { TRAINABLE_SAE_ARCHITECTURES } from '../protocol/engineProtocol';
import type { TrainableSaeArchitecture } from '../protocol/engineProtocol';
import { CliError, intOption, numberOption } from './cliErrors';
import type { CliValues } from './main';
import { sessionSettings } from './modelCommands';
import { openModel } from './openModel';

export async function evalTranscodersCommand(modelArg: string, values: CliValues): Promise<void> {
	if (values.sae !== undefined) throw new CliError('give --sae DIR (one SAE) or --transcoders DIR (a transcoder set), not both');
	if (!values.corpus) throw new CliError('eval needs --corpus PATH (a folder, a text or JSONL file, or "demo")');
	const settings = sessionSettings(values);
	const log = (m: string) => {
		if (!values.json) process.stderr.write(`${m}\n`);
	};
	const model = await openModel(modelArg, settings, log);
	const dir = path.resolve(values.transcoders!);
	// A cross-layer transcoder is one object over every layer; a set is one transcoder per layer.
	const crossLayer = isCircuitTracerFolder(dir) && readCircuitTracerConfig(dir).model_kind === 'cross_layer_transcoder';
	const clt = crossLayer ? CltRunner.forModel(loadCrossLayerTranscoder(dir), model, settings, log) : undefined;
	const runners = crossLayer ? [] : loadTranscoderFolder(dir, (p) => loadSae(p)).map((sae) => SaeRunner.forModel(sae, model, settings, log));
	const contextSize = intOption(values['context-size'], 'context-size', Math.min(runners[0]?.sae.cfg.metadata.context_size ?? 128, model.cfg.nCtx), 2);
	const tokens = intOption(values.tokens, 'tokens', 100_000, 1);
	const windows = corpusWindows(model, corpusDocuments(values.corpus), contextSize, true);
	const evalOptions = {
		tokens,
		contextSize,
		batchContexts: 8,
		onProgress: (done: number, total: number) => {
			if (!values.json && process.stderr.isTTY) process.stderr.write(`\revaluating ${done}/${total} tokens`);
		},
	};
	const metrics = clt ? await evaluateCrossLayerTranscoder(model, clt, windows, evalOptions) : await evaluateTranscoderSet(model, runners, windows, evalOptions);
	if (values.json) {
		process.stdout.write(JSON.stringify(metrics) + '\n');
	} else {
		process.stderr.write('\n');
		const { layers, ...summary } = metrics;
		for (const [k, v] of Object.entries(summary)) process.stdout.write(`${k.padEnd(28)} ${Number.isInteger(v) ? v : v.toFixed(4)}\n`);
		for (const l of layers) {
			process.stdout.write(`${l.hook_name} → ${l.hook_name_out}: L0 ${l.l0.toFixed(1)}  EV ${l.explained_variance.toFixed(3)}  dead ${(100 * l.dead_fraction).toFixed(1)}%\n`);
		}
	}
	for (const r of runners) await r.dispose();
	await clt?.dispose();
	await model.dispose();
}

/** The per-layer hook name from a --hook/--hook-out value ("ln2.hook_normalized", or a full blocks.L.… name). */
function perLayer(hook: string): string {
	return hook.replace(/^blocks\.\d+\./, '');
}

export async function trainTranscodersCommand(modelArg: string, values: CliValues): Promise<void> {
	const arch = values.arch ?? 'batchtopk';
	if (!(TRAINABLE_SAE_ARCHITECTURES as readonly string[]).includes(arch)) throw new CliError(`--arch ${arch}: choose ${TRAINABLE_SAE_ARCHITECTURES.join(', ')}`);
	if (!values.out) throw new CliError('transcoders needs --out DIR for the set');
	if (!values.corpus) throw new CliError('transcoders needs --corpus PATH (a folder, a text or JSONL file, or "demo")');
	if (values['d-sae'] === undefined || values.tokens === undefined) throw new CliError('transcoders needs --d-sae N and --tokens N (per layer)');
	const settings = sessionSettings(values);
	const log = (m: string) => {
		if (!values.json) process.stderr.write(`${m}\n`);
	};
	const out = path.resolve(values.out);
	const inputHook = perLayer(values.hook ?? 'ln2.hook_normalized');
	const outputHook = perLayer(values['hook-out'] ?? 'hook_mlp_out');
	const model = await openModel(modelArg, settings, log);
	const layers = values.layers === undefined ? Array.from({ length: model.cfg.nLayers }, (_, l) => l) : values.layers.split(',').map((s) => intOption(s, 'layers', 0, 0));
	for (const l of layers) if (l >= model.cfg.nLayers) throw new CliError(`--layers: the model has layers 0..${model.cfg.nLayers - 1}, not ${l}`);
	const summaries: Record<string, unknown>[] = [];
	for (const layer of layers) {
		const hookName = `blocks.${layer}.${inputHook}`;
		const hookNameOut = `blocks.${layer}.${outputHook}`;
		const dir = path.join(out, `layer_${layer}`);
		const resume = (values.resume ?? false) && fs.existsSync(path.join(dir, 'checkpoint.safetensors'));
		checkRunFolder({ out: dir, resume, overwrite: values.overwrite ?? false });
		const { source, metadata } = await modelTrainingSource(model, {
			hookName,
			hookNameOut,
			corpus: values.corpus,
			contextSize: values['context-size'] === undefined ? undefined : intOption(values['context-size'], 'context-size', 128, 2),
			bufferRows: intOption(values['buffer-rows'], 'buffer-rows', 65536, 2),
			seed: intOption(values.seed, 'seed', 0) + layer,
		});
		const dOut = perTokenWidth(model.hookPoint(hookNameOut), hookNameOut);
		const config = trainConfigFor(
			{
				architecture: arch as TrainableSaeArchitecture,
				dSae: intOption(values['d-sae'], 'd-sae', 0, 1),
				tokens: intOption(values.tokens, 'tokens', 0, 1),
				k: values.k === undefined ? undefined : intOption(values.k, 'k', 32, 1),
				l1: values.l1 === undefined ? undefined : numberOption(values.l1, 'l1', 0, 0),
				l0: values.l0 === undefined ? undefined : numberOption(values.l0, 'l0', 0, 0),
				batchSize: intOption(values.batch, 'batch', TRAIN_DEFAULTS.batchSize, 1),
				lr: numberOption(values.lr, 'lr', TRAIN_DEFAULTS.lr, 0),
				seed: intOption(values.seed, 'seed', 0) + layer,
				transcoder: { dOut, skip: values.skip ?? false },
			},
			source.dIn - dOut,
		);
		log(`layer ${layer}: ${hookName} → ${hookNameOut}`);
		const result = await runTraining(source, { out: dir, config, metadata, settings, resume, overwrite: values.overwrite ?? false, log });
		const f = result.final;
		log(`layer ${layer}: ${result.steps} steps, ${Math.round(result.tokensPerSecond)} tokens/s${f ? `, EV ${f.explainedVariance.toFixed(3)}, L0 ${f.l0.toFixed(1)}` : ''}`);
		summaries.push({
			layer,
			steps: result.steps,
			tokens: result.tokens,
			tokens_per_s: Math.round(result.tokensPerSecond),
			explained_variance: f?.explainedVariance,
			l0: f?.l0,
			dead_fraction: f?.deadFraction,
		});
	}
	// The whole set in circuit-tracer's layout, once every layer has one.
	const all = Array.from({ length: model.cfg.nLayers }, (_, l) => path.join(out, `layer_${l}`));
	const setDir = path.resolve(values.set ?? out);
	if (all.every((d) => fs.existsSync(path.join(d, 'cfg.json')))) {
		saveTranscoderSet(
			setDir,
			all.map((d) => loadSae(d)),
			{ inputHook, outputHook, modelName: model.name, half: values.half ?? false },
		);
		log(`wrote the transcoder set (circuit-tracer layout${values.half ? ', float16' : ''}) to ${setDir}`);
	}
	if (values.json) process.stdout.write(JSON.stringify({ out, set: setDir, layers: summaries }) + '\n');
	await model.dispose();
}
