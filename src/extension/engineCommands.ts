// The engine's own commands: Restart Engine, Show Log, and the menu the status-bar item opens.

import * as vscode from 'vscode';
import { COMMANDS } from './commands';
import type { EngineProcess } from './engineProcess';

/** The status item's menu, in order: what to do with the loaded model, then what to load, then the engine. */
export const STATUS_MENU: readonly { label: string; command: string }[] = [
	{ label: '$(search) Inspect Selection', command: COMMANDS.inspectSelection },
	{ label: '$(info) Show Model', command: COMMANDS.showModel },
	{ label: '$(library) Load SAE…', command: COMMANDS.loadSae },
	{ label: '$(cloud-download) Load SAE from Release…', command: COMMANDS.loadSaeFromRelease },
	{ label: '$(beaker) Train SAE…', command: COMMANDS.trainSae },
	{ label: '$(graph) Open Feature Dashboard…', command: COMMANDS.openFeatureDashboard },
	{ label: '$(list-filter) Search Features…', command: COMMANDS.searchFeatures },
	{ label: '$(sparkle) Steer Selection', command: COMMANDS.steerSelection },
	{ label: '$(symbol-class) Select Model…', command: COMMANDS.selectModel },
	{ label: '$(cloud-download) Open Model from Hub…', command: COMMANDS.openModelFromHub },
	{ label: '$(debug-restart) Restart Engine', command: COMMANDS.restartEngine },
	{ label: '$(output) Show Log', command: COMMANDS.showLog },
];

export function registerEngineCommands(context: vscode.ExtensionContext, engine: EngineProcess, log: vscode.LogOutputChannel): void {
	context.subscriptions.push(
		vscode.commands.registerCommand(COMMANDS.showLog, () => log.show()),
		vscode.commands.registerCommand(COMMANDS.restartEngine, async () => {
			await engine.restart();
			log.info('engine restarted by the user');
		}),
		vscode.commands.registerCommand(COMMANDS.statusMenu, async () => {
			const pick = await vscode.window.showQuickPick(STATUS_MENU, { title: 'Feature Lens' });
			if (pick) await vscode.commands.executeCommand(pick.command);
		}),
	);
}
