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
import { InlineSteeringStatus, SteeredInlineCompletions, inlineSteeringEnabled, toggleInlineSteering } from './inlineSteering';
import { PresetStore } from './presets';
import { SteeringViewProvider } from './steeringView';
import { STEERING_LIMITS } from '../../protocol/steeringViewMessages';
import { COMMANDS, SETTINGS_SECTION, VIEWS } from '../commands';

export function registerSteering(context: vscode.ExtensionContext, engine: EngineProcess, session: ModelSession, log: vscode.LogOutputChannel): void {
	const current = new CurrentSteering(context.workspaceState);
	const contrast = new ContrastVectors(engine, () => session.current?.sae?.hookName);
	const status = new InlineSteeringStatus(current);
	const view = new SteeringViewProvider({
		extensionUri: context.extensionUri,
		engine,
		session,
		current,
		presets: new PresetStore(context.globalState),
		inlineEnabled: inlineSteeringEnabled,
		contrast,
		log,
	});
	const inline = new SteeredInlineCompletions(engine, session, current, log, contrast);

	context.subscriptions.push(
		current,
		status,
		view,
		inline,
		current.onDidChange(() => status.update()),
		session.onDidChange(() => {
			// Vectors were taken with the previous model or at the previous SAE's hook; the view's range checks and presets follow the SAE.
			contrast.clear();
			view.saeLoaded();
		}),
		vscode.window.registerWebviewViewProvider(VIEWS.steering, view, { webviewOptions: { retainContextWhenHidden: false } }),
		vscode.languages.registerInlineCompletionItemProvider({ pattern: '**' }, inline),
		vscode.workspace.onDidChangeConfiguration((e) => {
			if (!e.affectsConfiguration(`${SETTINGS_SECTION}.inlineSteering.enabled`)) return;
			status.update();
			view.inlineChanged();
		}),
		vscode.commands.registerCommand(COMMANDS.toggleInlineSteering, () =>
			runReported(log, async () => {
				const on = await toggleInlineSteering();
				vscode.window.setStatusBarMessage(`Feature Lens: steered inline completions ${on ? 'on' : 'off'}`, 3000);
			}),
		),
		vscode.commands.registerCommand(COMMANDS.acceptedInlineCompletion, (key: unknown) => inline.accepted(key)),
		vscode.commands.registerCommand(COMMANDS.traceInlineCompletion, async () => {
			const completion = inline.traceable;
			if (!completion) {
				void vscode.window.showInformationMessage('Feature Lens: no steered inline completion has been shown yet (turn them on with "Steer: off" in the status bar, then pause while typing).');
				return;
			}
			await vscode.commands.executeCommand(COMMANDS.traceCompletionToken, completion);
		}),
		vscode.commands.registerCommand(COMMANDS.steerSelection, () =>
			runReported(log, async () => {
				const editor = vscode.window.activeTextEditor;
				if (!editor) throw new Error('open a file and select the text to steer from');
				const { selection, document } = editor;
				// No selection: the current line up to the cursor.
				const prompt = selection.isEmpty ? document.lineAt(selection.active.line).text.slice(0, selection.active.character) : document.getText(selection);
				if (!prompt.trim()) throw new Error('select the text the model should continue');
				if (prompt.length > STEERING_LIMITS.prompt) throw new Error(`the selection is longer than ${STEERING_LIMITS.prompt} characters; select less (the model only sees its context anyway)`);
				await view.steerPrompt(prompt);
			}),
		),
		vscode.commands.registerCommand(COMMANDS.steerFeature, (arg: unknown) =>
			runReported(log, async () => {
				let featureIndex = featureIndexFromArg(arg);
				if (featureIndex === undefined) {
					const loaded = await session.ensureReady();
					const text = await vscode.window.showInputBox({
						title: 'Feature Lens: Steer with Feature',
						prompt: `Feature number (0 to ${loaded.sae.dSae - 1}) of the SAE at ${loaded.sae.hookName}`,
						placeHolder: 'e.g. 1132',
						validateInput: (v) => featureNumberError(v, loaded.sae.dSae),
					});
					if (text === undefined) return;
					featureIndex = Number(text.trim().replace(/^#/, ''));
				}
				await view.steerFeature(featureIndex);
			}),
		),
	);
}
