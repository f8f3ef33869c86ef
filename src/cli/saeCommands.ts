// train and inspect: the SAE-level CLI commands.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LanguageModel } from '../engine/models/languageModel';
import { evaluateSae } from '../engine/sae/evaluate';
import { inspectText, inspectTextWithClt } from '../engine/sae/inspect';
import { isCircuitTracerFolder, loadCrossLayerTranscoder, readCircuitTracerConfig } from '../engine/sae/circuitTracerFormat';
import { CltRunner } from '../engine/sae/cltReplacement';
import type { SessionSettings } from '../engine/onnx/session';
import { SaeRunner } from '../engine/sae/saeRunner';
import type { SaeMetadata } from '../engine/sae/saeTypes';
import { loadCachedActivations } from '../engine/sae/train/activationSource';
import type { ActivationSource } from '../engine/sae/train/activationSource';
import { corpusDocuments, corpusWindows } from '../engine/sae/train/corpus';
import { TRAIN_DEFAULTS } from '../engine/sae/train/saeTrainer';
import { modelTrainingSource, trainConfigFor } from '../engine/sae/train/trainingJob';
import type { StepMetrics } from '../engine/sae/train/saeTrainer';
import { checkRunFolder, runTraining } from '../engine/sae/train/trainingRun';
import type { CliValues } from './main';
import { openModel } from './openModel';
import { CliError, intOption, numberOption } from './cliErrors';
import { cliSae } from './hubCommands';
import { sessionSettings } from './modelCommands';
import { perTokenWidth } from '../engine/models/hookPoints';
import { SPARSITY_SETTING, TRAINABLE_SAE_ARCHITECTURES } from '../protocol/engineProtocol';
import type { TrainableSaeArchitecture } from '../protocol/engineProtocol';

export async function inspectCommand(modelArg: string, values: CliValues): Promise<void> {
	if (!values.sae) throw new CliError('inspect needs --sae DIR (an SAE folder or file, hf:… or release:…)');
	if (values.text === undefined) throw new CliError('inspect needs --text "…"');
	const settings = sessionSettings(values);
	const log = (m: string) => process.stderr.write(`${m}\n`);
	const model = await openModel(modelArg, settings, log);
	const top = intOption(values.top, 'top', 5, 1);
	if (isCrossLayerTranscoder(values.sae)) {
		await inspectWithClt(model, values.sae, values.text, top, values, settings, log);
		return;
	}
	const runner = SaeRunner.forModel(await cliSae(values.sae, log), model, settings, log);
	const tokens = await inspectText(model, runner, values.text, { topFeatures: top });
	if (values.json) {
		process.stdout.write(JSON.stringify({ model: model.name, sae: values.sae, hook: runner.hookName, tokens }) + '\n');
	} else {
		for (const t of tokens) {
			const features = t.features.map(([i, a]) => `#${i} ${a.toFixed(2)}`).join(', ');
			process.stdout.write(`${JSON.stringify(t.text).padEnd(16)} [${t.start},${t.end})  ${features || '—'}\n`);
		}
	}
	await runner.dispose();
	await model.dispose();
}

/** A local circuit-tracer folder with model_kind cross_layer_transcoder. */
function isCrossLayerTranscoder(p: string): boolean {
	const dir = path.resolve(p);
	return fs.existsSync(dir) && fs.statSync(dir).isDirectory() && isCircuitTracerFolder(dir) && readCircuitTracerConfig(dir).model_kind === 'cross_layer_transcoder';
}

/** Inspect with a cross-layer transcoder: every layer's features, each named by its source layer (L1 #5). */
async function inspectWithClt(model: LanguageModel, dir: string, text: string, top: number, values: CliValues, settings: SessionSettings, log: (m: string) => void): Promise<void> {
	const runner = CltRunner.forModel(loadCrossLayerTranscoder(path.resolve(dir)), model, settings, log);
	try {
		const tokens = await inspectTextWithClt(model, runner, text, { topFeatures: top });
		if (values.json) {
			process.stdout.write(JSON.stringify({ model: model.name, sae: dir, hooks: runner.inputHooks, tokens }) + '\n');
		} else {
			for (const t of tokens) {
				const features = t.features.map(([l, i, a]) => `L${l} #${i} ${a.toFixed(2)}`).join(', ');
				process.stdout.write(`${JSON.stringify(t.text).padEnd(16)} [${t.start},${t.end})  ${features || '—'}\n`);
			}
		}
	} finally {
		await runner.dispose();
		await model.dispose();
	}
}

function isTrainable(arch: string): arch is TrainableSaeArchitecture {
	return (TRAINABLE_SAE_ARCHITECTURES as readonly string[]).includes(arch);
}

export async function trainCommand(modelArg: string | undefined, values: CliValues): Promise<void> {
	const arch = values.arch ?? 'topk';
	if (!isTrainable(arch)) throw new CliError(`--arch ${arch}: choose ${TRAINABLE_SAE_ARCHITECTURES.slice(0, -1).join(', ')} or ${TRAINABLE_SAE_ARCHITECTURES.at(-1)}`);
	// Each architecture takes one sparsity setting: --k, --l1 or --l0.
	const sparsity = SPARSITY_SETTING[arch];
	for (const setting of ['k', 'l1', 'l0'] as const) {
		if (setting !== sparsity && values[setting] !== undefined) {
			const takers = TRAINABLE_SAE_ARCHITECTURES.filter((a) => SPARSITY_SETTING[a] === setting).join(' and ');
			throw new CliError(`--${setting} applies to ${takers} SAEs; ${arch} takes --${sparsity}`);
		}
	}
	const bDecInit = values['b-dec-init'] ?? TRAIN_DEFAULTS.bDecInit;
	if (bDecInit !== 'geometric_median' && bDecInit !== 'mean' && bDecInit !== 'zeros') throw new CliError(`--b-dec-init ${bDecInit}: choose geometric_median, mean or zeros`);
	if (!values.out) throw new CliError('train needs --out DIR for the run folder and the trained SAE');
	if (values['d-sae'] === undefined) throw new CliError('train needs --d-sae N (the dictionary width)');
	if (values.tokens === undefined) throw new CliError('train needs --tokens N (the training token budget)');
	const settings = sessionSettings(values);
	const log = (m: string) => {
		if (!values.json) process.stderr.write(`${m}\n`);
	};
	// Before the model loads and the activation buffer fills: a run that could not save fails now.
	checkRunFolder({ out: path.resolve(values.out), resume: values.resume ?? false, overwrite: values.overwrite ?? false });
	if (values.skip && !values['hook-out']) throw new CliError('--skip is for transcoders: give --hook-out too');
	const { source, metadata, model } = await trainingSource(modelArg, values, settings, log);
	// A transcoder's rows are [input | output]: the output hook's width.
	const transcoderWidth = values['hook-out'] && model ? perTokenWidth(model.hookPoint(values['hook-out']), values['hook-out']) : 0;
	const config = trainConfigFor(
		{
			architecture: arch,
			dSae: intOption(values['d-sae'], 'd-sae', 0, 1),
			tokens: intOption(values.tokens, 'tokens', 0, 1),
			k: values.k === undefined ? undefined : intOption(values.k, 'k', 32, 1),
			l1: values.l1 === undefined ? undefined : numberOption(values.l1, 'l1', 0, 0),
			l0: values.l0 === undefined ? undefined : numberOption(values.l0, 'l0', 0, 0),
			batchSize: intOption(values.batch, 'batch', TRAIN_DEFAULTS.batchSize, 1),
			lr: numberOption(values.lr, 'lr', TRAIN_DEFAULTS.lr, 0),
			seed: intOption(values.seed, 'seed', 0),
			bDecInit,
			...(transcoderWidth ? { transcoder: { dOut: transcoderWidth, skip: values.skip ?? false } } : {}),
		},
		source.dIn - transcoderWidth,
	);
	const steps = Math.ceil(config.totalTokens / config.batchSize);
	const abort = new AbortController();
	const onSignal = () => abort.abort();
	process.once('SIGINT', onSignal);
	process.once('SIGTERM', onSignal);
	const progress = progressPrinter(steps, !values.json);
	const result = await runTraining(source, {
		out: path.resolve(values.out),
		config,
		metadata,
		settings,
		resume: values.resume ?? false,
		overwrite: values.overwrite ?? false,
		signal: abort.signal,
		onStep: progress,
		log,
	});
	process.off('SIGINT', onSignal);
	process.off('SIGTERM', onSignal);
	await model?.dispose();
	const summary = {
		out: result.saeDir,
		cancelled: result.cancelled,
		steps: result.steps,
		tokens: result.tokens,
		tokens_per_s: Math.round(result.tokensPerSecond),
		final: result.final && { loss: result.final.loss, mse: result.final.mse, l0: result.final.l0, explained_variance: result.final.explainedVariance, dead_fraction: result.final.deadFraction },
	};
	if (values.json) process.stdout.write(JSON.stringify(summary) + '\n');
	else process.stderr.write(`\n${result.cancelled ? 'cancelled; resume with --resume' : `saved the ${transcoderWidth ? 'transcoder' : 'SAE'} (SAELens format) to ${result.saeDir}`}\n`);
	if (result.cancelled) process.exitCode = 130;
}

async function trainingSource(
	modelArg: string | undefined,
	values: CliValues,
	settings: ReturnType<typeof sessionSettings>,
	log: (m: string) => void,
): Promise<{ source: ActivationSource; metadata: SaeMetadata; model?: LanguageModel }> {
	if (values.activations !== undefined) {
		if (modelArg !== undefined || values.corpus !== undefined) throw new CliError('give either <model> --hook --corpus, or --activations FILE, not both');
		if (values['hook-out'] !== undefined) throw new CliError('--hook-out (a transcoder) needs <model> --hook --corpus: cached activations hold one hook');
		const source = await loadCachedActivations(values.activations, intOption(values.seed, 'seed', 0));
		return { source, metadata: { hook_name: values.hook ?? '', model_name: 'cached activations', dataset_path: values.activations } };
	}
	if (modelArg === undefined) throw new CliError('train needs <model> --hook H --corpus PATH, or --activations FILE');
	if (!values.hook) throw new CliError('train needs --hook H (a hook point; feature-lens hooks <model> lists them)');
	if (!values.corpus) throw new CliError('train needs --corpus PATH (a folder, a text or JSONL file, or "demo")');
	const model = await openModel(modelArg, settings, log);
	if (values['hook-out'] !== undefined) model.hookPoint(values['hook-out']);
	const { source, metadata } = await modelTrainingSource(model, {
		hookName: values.hook,
		...(values['hook-out'] ? { hookNameOut: values['hook-out'] } : {}),
		corpus: values.corpus,
		excludeSpecialTokens: values['exclude-special-tokens'] ?? false,
		contextSize: values['context-size'] === undefined ? undefined : intOption(values['context-size'], 'context-size', 128, 2),
		bufferRows: intOption(values['buffer-rows'], 'buffer-rows', 65536, 2),
		seed: intOption(values.seed, 'seed', 0),
	});
	return { source, metadata, model };
}

function progressPrinter(totalSteps: number, enabled: boolean): (m: StepMetrics) => void {
	let last = 0;
	return (m) => {
		if (!enabled) return;
		const now = performance.now();
		if (now - last < 500 && m.step !== totalSteps) return;
		last = now;
		const line = `step ${m.step}/${totalSteps}  loss ${m.loss.toFixed(4)}  mse ${m.mse.toFixed(4)}  L0 ${m.l0.toFixed(1)}  EV ${m.explainedVariance.toFixed(3)}  dead ${(100 * m.deadFraction).toFixed(1)}%  ${Math.round(m.tokensPerSecond)} tok/s`;
		process.stderr.write(process.stderr.isTTY ? `\r${line}` : `${line}\n`);
	};
}

export async function evalCommand(modelArg: string, values: CliValues): Promise<void> {
	if (!values.sae) throw new CliError('eval needs --sae DIR');
	if (!values.corpus) throw new CliError('eval needs --corpus PATH (a folder, a text or JSONL file, or "demo")');
	const settings = sessionSettings(values);
	const log = (m: string) => {
		if (!values.json) process.stderr.write(`${m}\n`);
	};
	const model = await openModel(modelArg, settings, log);
	const sae = await cliSae(values.sae, log);
	const runner = SaeRunner.forModel(sae, model, settings, log);
	const contextSize = intOption(values['context-size'], 'context-size', Math.min(sae.cfg.metadata.context_size ?? 128, model.cfg.nCtx), 2);
	const tokens = intOption(values.tokens, 'tokens', 100_000, 1);
	const metrics = await evaluateSae(model, runner, corpusWindows(model, corpusDocuments(values.corpus), contextSize, sae.cfg.metadata.prepend_bos !== false), {
		tokens,
		contextSize,
		batchContexts: 8,
		onProgress: (done, total) => {
			if (!values.json && process.stderr.isTTY) process.stderr.write(`\revaluating ${done}/${total} tokens`);
		},
	});
	const { log10_density: _density, ...summary } = metrics;
	if (values.json) {
		process.stdout.write(JSON.stringify(summary) + '\n');
	} else {
		process.stderr.write('\n');
		for (const [k, v] of Object.entries(summary)) process.stdout.write(`${k.padEnd(24)} ${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(4) : v}\n`);
	}
	await runner.dispose();
	await model.dispose();
}
