// Wires steering into VS Code: the Steering sidebar view, "Steer Selection", "Steer with this
// Feature" (for the dashboard, hovers and the Features view), and the steered inline
// completions with their toggle command and status-bar item.

import * as vscode from 'vscode';
import { runReported } from '../runReported';
import type { EngineProcess } from '../engineProcess';
import type { ModelSession } from '../modelSession';
import { featureIndexFromArg, featureNumberError } from '../dashboard/featureArgs';
import { CurrentSteering } from './currentSteering';
import { ContrastVectors } from './contrastVectors';
import { INLINE_COMMANDS, InlineSteeringStatus, SteeredInlineCompletions, inlineSteeringEnabled, toggleInlineSteering } from './inlineSteering';
import { PresetStore } from './presets';
import { STEERING_VIEW_ID, SteeringViewProvider } from './steeringView';
import { STEERING_LIMITS } from '../../protocol/steeringViewMessages';

export const STEERING_COMMANDS = {
	steerSelection: 'featureLens.steerSelection',
	steerFeature: 'featureLens.steerFeature',
	toggleInline: INLINE_COMMANDS.toggle,
	/** Registered by the dashboard module; the sidebar's feature labels link to it. */
	openDashboard: 'featureLens.openFeatureDashboard',
} as const;

export interface Steering {
	/** Call after the session loaded a model and SAE. */
	saeLoaded(): void;
}

export function registerSteering(context: vscode.ExtensionContext, engine: EngineProcess, session: ModelSession, log: vscode.LogOutputChannel): Steering {
	const current = new CurrentSteering(context.workspaceState);
	const contrast = new ContrastVectors(engine, () => session.current?.sae.hookName);
	const status = new InlineSteeringStatus(current);
	const view = new SteeringViewProvider({
		extensionUri: context.extensionUri, engine, session, current,
		presets: new PresetStore(context.globalState), inlineEnabled: inlineSteeringEnabled, contrast,
		commands: { openDashboard: STEERING_COMMANDS.openDashboard, toggleInline: STEERING_COMMANDS.toggleInline }, log,
	});
	const inline = new SteeredInlineCompletions(engine, session, current, log, contrast);

	context.subscriptions.push(
		current,
		status,
		view,
		inline,
		current.onDidChange(() => status.update()),
		vscode.window.registerWebviewViewProvider(STEERING_VIEW_ID, view, { webviewOptions: { retainContextWhenHidden: false } }),
		vscode.languages.registerInlineCompletionItemProvider({ pattern: '**' }, inline),
		vscode.workspace.onDidChangeConfiguration((e) => {
			if (!e.affectsConfiguration('featureLens.inlineSteering.enabled')) return;
			status.update();
			view.inlineChanged();
		}),
		vscode.commands.registerCommand(STEERING_COMMANDS.toggleInline, () => runReported(log, async () => {
			const on = await toggleInlineSteering();
			vscode.window.setStatusBarMessage(`Feature Lens: steered inline completions ${on ? 'on' : 'off'}`, 3000);
		})),
		vscode.commands.registerCommand(STEERING_COMMANDS.steerSelection, () => runReported(log, async () => {
			const editor = vscode.window.activeTextEditor;
			if (!editor) throw new Error('open a file and select the text to steer from');
			const { selection, document } = editor;
			// No selection: the current line up to the cursor.
			const prompt = selection.isEmpty
				? document.lineAt(selection.active.line).text.slice(0, selection.active.character)
				: document.getText(selection);
			if (!prompt.trim()) throw new Error('select the text the model should continue');
			if (prompt.length > STEERING_LIMITS.prompt) throw new Error(`the selection is longer than ${STEERING_LIMITS.prompt} characters; select less (the model only sees its context anyway)`);
			await view.steerPrompt(prompt);
		})),
		vscode.commands.registerCommand(STEERING_COMMANDS.steerFeature, (arg: unknown) => runReported(log, async () => {
			let featureIndex = featureIndexFromArg(arg);
			if (featureIndex === undefined) {
				const loaded = await session.ensureReady();
				const text = await vscode.window.showInputBox({
					title: 'Feature Lens: Steer with Feature', prompt: `Feature number (0 to ${loaded.sae.dSae - 1}) of the SAE at ${loaded.sae.hookName}`,
					placeHolder: 'e.g. 1132', validateInput: (v) => featureNumberError(v, loaded.sae.dSae),
				});
				if (text === undefined) return;
				featureIndex = Number(text.trim().replace(/^#/, ''));
			}
			await view.steerFeature(featureIndex);
		})),
	);
	return {
		saeLoaded: () => {
			// Vectors were taken with the previous model or at the previous SAE's hook.
			contrast.clear();
			view.saeLoaded();
		},
	};
}
