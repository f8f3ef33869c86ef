// "Feature Lens: Train SAE…": a guided flow (hook, architecture, width, sparsity, corpus, token
// budget, output folder) whose defaults make it one Enter after another, then a cancellable,
// resumable training run in the engine with live metrics (progress notification and the
// training monitor panel); the trained SAE is loaded at the end.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EvaluateSaeRequest, SPARSITY_SETTING, TRAINABLE_SAE_ARCHITECTURES, TrainProgressNotification, TrainSaeRequest } from '../../protocol/engineProtocol';
import type { ModelInfo, TrainSaeParams, TrainSaeResult, TrainableSaeArchitecture } from '../../protocol/engineProtocol';
import { errorMessage, isCancelled } from '../../protocol/errors';
import { askCorpus } from '../corpusPicker';
import { COMMANDS, SETTINGS_SECTION } from '../commands';
import type { EngineProcess } from '../engineProcess';
import type { ModelSession } from '../modelSession';
import { TrainingMonitor } from './trainingMonitor';

/** What the wizard says of each architecture it offers. */
const ARCHITECTURE_DESCRIPTIONS: Readonly<Record<TrainableSaeArchitecture, string>> = {
	topk: 'TopK with AuxK: exactly k latents per token (recommended)',
	batchtopk: 'BatchTopK: k per token on average, saved as JumpReLU',
	standard: 'ReLU + L1 (decoder-norm weighted)',
	jumprelu: 'JumpReLU with an L0 penalty',
};

interface Choice<T> extends vscode.QuickPickItem {
	value: T;
}

/** Trains an SAE on the model the settings name; the session loads the result (and makes it the `sae` setting). */
export async function trainSae(engine: EngineProcess, session: ModelSession, extensionUri: vscode.Uri): Promise<void> {
	const model = await session.ensureModel();
	const params = await askTrainingParams(model);
	if (!params) return;
	await runTraining(
		engine,
		params,
		async (saeDir) => {
			await session.loadSae(saeDir);
		},
		extensionUri,
	);
}

async function askTrainingParams(model: ModelInfo): Promise<Omit<TrainSaeParams, 'requestId'> | undefined> {
	const title = (step: number) => `Feature Lens: Train SAE (${step}/7)`;
	const middle = Math.floor(model.nLayers / 2);
	const hooks = model.hookPoints.filter((h) => h.shape.slice(1).every((d) => typeof d === 'number'));
	// Residual-stream hooks first, the middle layer's resid_pre at the top.
	hooks.sort((a, b) => score(b) - score(a));
	function score(h: ModelInfo['hookPoints'][number]): number {
		return (h.name === `blocks.${middle}.hook_resid_pre` ? 100 : 0) + (h.residual ? 10 : 0) - Math.abs(h.layer - middle) * 0.1;
	}
	const hook = await vscode.window.showQuickPick(
		hooks.map((h): Choice<string> => ({ label: h.name, description: `[${h.shape.join(', ')}]`, value: h.name })),
		{ title: title(1), placeHolder: 'Hook point to train on' },
	);
	if (!hook) return undefined;
	// At an MLP's input, a transcoder (which predicts the MLP's output) is the other choice.
	const transcoder = await askTranscoder(title(1), hook.value, model);
	if (!transcoder) return undefined;
	const architecture = await vscode.window.showQuickPick(
		TRAINABLE_SAE_ARCHITECTURES.filter((a) => transcoderArchitectureAllowed(a, transcoder.value)).map((a): Choice<TrainableSaeArchitecture> => ({
			label: a,
			description: ARCHITECTURE_DESCRIPTIONS[a],
			value: a,
		})),
		{ title: title(2), placeHolder: transcoder.value.hookNameOut ? 'Transcoder activation' : 'Architecture' },
	);
	if (!architecture) return undefined;
	const dIn = hooks
		.find((h) => h.name === hook.value)!
		.shape.slice(1)
		.reduce<number>((a, d) => a * (d as number), 1);
	const defaults = vscode.workspace.getConfiguration(`${SETTINGS_SECTION}.training`);
	const expansion = defaults.get<number>('expansion', 16);
	const dSae = await askInt(title(3), `Dictionary width d_sae (${expansion} × d_in by default)`, Math.round(expansion * dIn), 1, 1 << 20);
	if (dSae === undefined) return undefined;
	const sparsity = await askSparsity(title(4), architecture.value, dSae, defaults.get<number>('k', 32));
	if (!sparsity) return undefined;
	const corpus = await askCorpus(title(5), 'Training text');
	if (!corpus) return undefined;
	const tokens = await askInt(title(6), 'Training tokens', defaults.get<number>('tokens', 1_000_000), 4096, 10_000_000_000);
	if (tokens === undefined) return undefined;
	const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
	const kind = transcoder.value.hookNameOut ? `${transcoder.value.skip ? 'skip-' : ''}transcoder-` : '';
	const defaultOut = path.join(folder ?? os.homedir(), '.feature-lens', 'saes', `${hook.value}-${kind}${architecture.value}-${dSae}`);
	const out = await vscode.window.showInputBox({
		title: title(7),
		prompt: `Output folder (the run and the ${kind ? 'transcoder' : 'SAE'}, in SAELens format)`,
		value: defaultOut,
		validateInput: (v) => (path.isAbsolute(v) ? undefined : 'Give an absolute folder path'),
	});
	if (!out) return undefined;
	// A folder that already holds a run is resumed or started over only when the user says so.
	let resume = false;
	let overwrite = false;
	if (['run.json', 'checkpoint.safetensors', 'metrics.jsonl'].some((f) => fs.existsSync(path.join(out, f)))) {
		const hasCheckpoint = fs.existsSync(path.join(out, 'checkpoint.safetensors'));
		const choice = await vscode.window.showWarningMessage(
			`${out} already holds a training run.`,
			{ modal: true },
			...(hasCheckpoint ? ['Resume It'] : []),
			'Start Over (delete its checkpoint and metrics)',
		);
		if (!choice) return undefined;
		resume = choice === 'Resume It';
		overwrite = !resume;
	}
	return { hookName: hook.value, ...transcoder.value, architecture: architecture.value, dSae, ...sparsity, corpus, tokens, out, resume, overwrite };
}

type TranscoderChoice = Pick<TrainSaeParams, 'hookNameOut' | 'skip'>;

/**
 * At an MLP input (blocks.L.ln2.hook_normalized, blocks.L.mlp.hook_in): an SAE of that hook, or
 * a transcoder to blocks.L.hook_mlp_out, with or without a skip term. Elsewhere: an SAE.
 */
async function askTranscoder(title: string, hookName: string, model: ModelInfo): Promise<Choice<TranscoderChoice> | undefined> {
	const m = /^blocks\.(\d+)\.(ln2\.hook_normalized|mlp\.hook_in)$/.exec(hookName);
	const hookNameOut = m ? `blocks.${m[1]}.hook_mlp_out` : undefined;
	if (!hookNameOut || !model.hookPoints.some((h) => h.name === hookNameOut)) return { label: 'SAE', value: {} };
	return vscode.window.showQuickPick<Choice<TranscoderChoice>>(
		[
			{ label: 'Transcoder', description: `reads ${hookName}, predicts ${hookNameOut} (replaces the MLP)`, value: { hookNameOut } },
			{ label: 'Skip transcoder', description: `a transcoder plus a linear skip term (ReLU + L1)`, value: { hookNameOut, skip: true } },
			{ label: 'SAE', description: `reconstructs ${hookName} itself`, value: {} },
		],
		{ title, placeHolder: 'What to train at this hook' },
	);
}

/** Transcoders are saved as SAELens has them: no TopK transcoder; a skip transcoder is ReLU (skip_transcoder). */
function transcoderArchitectureAllowed(a: TrainableSaeArchitecture, t: TranscoderChoice): boolean {
	if (!t.hookNameOut) return true;
	return t.skip ? a === 'standard' : a !== 'topk';
}

async function askInt(title: string, prompt: string, value: number, min: number, max: number): Promise<number | undefined> {
	const text = await vscode.window.showInputBox({
		title,
		prompt,
		value: String(value),
		validateInput: (v) => {
			const n = Number(v.replace(/[_,\s]/g, ''));
			return Number.isInteger(n) && n >= min && n <= max ? undefined : `A whole number from ${min} to ${max}`;
		},
	});
	return text === undefined ? undefined : Number(text.replace(/[_,\s]/g, ''));
}

async function askSparsity(title: string, architecture: TrainableSaeArchitecture, dSae: number, defaultK: number): Promise<Pick<TrainSaeParams, 'k' | 'l1' | 'l0'> | undefined> {
	const setting = SPARSITY_SETTING[architecture];
	if (setting === 'k') {
		const k = await askInt(title, 'k: active latents per token', Math.min(defaultK, dSae), 1, dSae);
		return k === undefined ? undefined : { k };
	}
	const text = await vscode.window.showInputBox({
		title,
		prompt: `${setting.toUpperCase()} coefficient`,
		value: setting === 'l1' ? '5' : '1',
		validateInput: (v) => (Number.isFinite(Number(v)) && Number(v) >= 0 ? undefined : 'A non-negative number'),
	});
	if (text === undefined) return undefined;
	return { [setting]: Number(text) };
}

async function runTraining(engine: EngineProcess, params: Omit<TrainSaeParams, 'requestId'>, onTrained: (saeDir: string) => Promise<void>, extensionUri: vscode.Uri): Promise<void> {
	const monitor = TrainingMonitor.show(extensionUri);
	monitor.setResume(undefined);
	monitor.post({ type: 'start', run: { hookName: params.hookName, architecture: params.architecture, dSae: params.dSae, tokens: params.tokens, out: params.out }, resumed: params.resume });
	const stop = new vscode.CancellationTokenSource();
	const monitorCancel = monitor.onCancel(() => stop.cancel());
	let result: TrainSaeResult | undefined;
	try {
		result = await vscode.window.withProgress(
			{
				location: vscode.ProgressLocation.Notification,
				title: `Feature Lens: training ${params.architecture} ${params.hookNameOut ? `transcoder ${params.hookName} → ${params.hookNameOut}` : `SAE at ${params.hookName}`}`,
				cancellable: true,
			},
			async (progress, token) => {
				const fromNotification = token.onCancellationRequested(() => stop.cancel());
				let done = 0;
				try {
					return await engine.requestWithProgress(
						TrainSaeRequest,
						params,
						TrainProgressNotification,
						({ metrics: m }) => {
							monitor.post({ type: 'metrics', metrics: m });
							const pct = (100 * m.step) / m.totalSteps;
							progress.report({
								increment: pct - done,
								message: `step ${m.step}/${m.totalSteps} · loss ${m.loss.toPrecision(4)} · L0 ${m.l0.toFixed(1)} · EV ${m.explainedVariance.toFixed(3)} · ${Math.round(m.tokensPerSecond)} tok/s`,
							});
							done = pct;
						},
						stop.token,
					);
				} finally {
					fromNotification.dispose();
				}
			},
		);
	} catch (err) {
		const message = errorMessage(err);
		if (stop.token.isCancellationRequested && isCancelled(err)) {
			// Cancelled while the engine was still filling its first activation buffer: no checkpoint yet.
			monitor.post({ type: 'finished', cancelledBeforeStart: true });
			void vscode.window.showInformationMessage('Feature Lens: training cancelled before its first step.');
			return;
		}
		monitor.post({ type: 'finished', error: message });
		void vscode.window.showErrorMessage(`Feature Lens: training failed: ${message}`);
		return;
	} finally {
		monitorCancel.dispose();
		stop.dispose();
	}
	monitor.post({ type: 'finished', result });
	if (result.cancelled) {
		const resume = () => runTraining(engine, { ...params, resume: true }, onTrained, extensionUri);
		monitor.setResume(() => void resume());
		const choice = await vscode.window.showInformationMessage(`Feature Lens: training stopped at step ${result.steps}; its checkpoint is in ${result.out}.`, 'Resume');
		if (choice === 'Resume') await resume();
		return;
	}
	await onTrained(result.out);
	// Evaluated on (the start of) its own training text: a quick fit check, not generalization.
	const evaluation = await vscode.window
		.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Feature Lens: evaluating the new SAE…', cancellable: true }, (_, token) =>
			engine.request(EvaluateSaeRequest, { corpus: params.corpus, tokens: 20_000 }, token),
		)
		.then(undefined, () => undefined);
	if (evaluation) monitor.post({ type: 'evaluated', metrics: evaluation });
	const ev = evaluation
		? `; on ${evaluation.tokens.toLocaleString()} tokens of its training text: explained variance ${evaluation.explainedVariance.toFixed(3)}, L0 ${evaluation.l0.toFixed(1)}, CE-loss score ${evaluation.ceLossScore.toFixed(3)}`
		: result.final
			? `, explained variance ${result.final.explainedVariance.toFixed(3)}, L0 ${result.final.l0.toFixed(1)}`
			: '';
	const choice = await vscode.window.showInformationMessage(
		`Feature Lens: SAE trained (${result.tokens.toLocaleString()} tokens, ${Math.round(result.tokensPerSecond)} tok/s${ev}); it is loaded.`,
		'Inspect Selection',
	);
	if (choice) await vscode.commands.executeCommand(COMMANDS.inspectSelection);
}
