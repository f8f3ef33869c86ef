// The commands that choose what is loaded: Select Model…, Load SAE… and Show Model. The
// loading itself, and the settings written after it succeeded, are the ModelSession's.

import * as vscode from 'vscode';
import { DEMO } from '../protocol/engineProtocol';
import type { ModelInfo } from '../protocol/engineProtocol';
import { errorMessage } from '../protocol/errors';
import { COMMANDS } from './commands';
import { ModelPanel } from './modelPanel';
import type { ModelSession, Ready } from './modelSession';
import { runReported } from './runReported';

/** Loads a model the user chose and says so; the session makes it the `model` setting once it loaded. */
export async function openModel(session: ModelSession, ref: string): Promise<ModelInfo> {
	const model = await session.loadModel(ref);
	void vscode.window.showInformationMessage(`Feature Lens: ${model.name} ready (${model.modelType}, ${model.nLayers} layers, ${model.hookPoints.length} hook points).`);
	return model;
}

/** Loads an SAE the user chose and says so; the session makes it the `sae` setting once it loaded. */
export async function openSae(session: ModelSession, ref: string): Promise<Ready> {
	const loaded = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Feature Lens: loading the SAE…' }, () => session.loadSae(ref));
	void vscode.window.showInformationMessage(`Feature Lens: SAE ready (${loaded.sae.architecture}, ${loaded.sae.dSae} features at ${loaded.sae.hookName}).`);
	return loaded;
}

export function registerModelCommands(context: vscode.ExtensionContext, session: ModelSession, log: vscode.LogOutputChannel): void {
	context.subscriptions.push(
		vscode.commands.registerCommand(COMMANDS.selectModel, () =>
			runReported(log, async () => {
				const pick = await vscode.window.showQuickPick(
					[
						{ label: DEMO, description: 'the embedded Python code model' },
						{ label: 'Choose a checkpoint folder…', description: 'config.json + *.safetensors' },
					],
					{ title: 'Feature Lens: Select Model' },
				);
				if (!pick) return;
				let ref = pick.label;
				if (ref !== DEMO) {
					const folder = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Use this checkpoint' });
					if (!folder?.[0]) return;
					ref = folder[0].fsPath;
				}
				await openModel(session, ref);
			}),
		),
		vscode.commands.registerCommand(COMMANDS.loadSae, () =>
			runReported(log, async () => {
				const picked = await vscode.window.showOpenDialog({
					canSelectFolders: true,
					canSelectFiles: true,
					canSelectMany: false,
					openLabel: 'Load SAE',
					filters: { 'SAE and transcoder files': ['npz', 'safetensors'] },
					title: 'A SAELens folder (cfg.json + sae_weights.safetensors), a Gemma Scope params.npz or params.safetensors, or one layer of a circuit-tracer transcoder set (layer_L.safetensors)',
				});
				if (!picked?.[0]) return;
				await openSae(session, picked[0].fsPath);
			}),
		),
		vscode.commands.registerCommand(COMMANDS.showModel, async () => {
			try {
				ModelPanel.show(context.extensionUri, { model: await session.ensureModel() });
			} catch (err) {
				const message = errorMessage(err);
				log.error(message);
				ModelPanel.show(context.extensionUri, { error: `Could not load the model: ${message}` });
			}
		}),
		// An open model panel shows the model that is loaded now.
		session.onDidChange((loaded) => {
			if (loaded) ModelPanel.update(loaded.model);
		}),
	);
}
