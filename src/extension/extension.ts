// Extension entry point: creates the engine process, the model session that owns what it has
// loaded, and the views, and lets each part register its commands. What the commands do lives
// in their modules. The host stays thin: no onnxruntime, no tensor math, no engine code.

import * as vscode from 'vscode';
import { DEMO } from '../protocol/engineProtocol';
import type { ExecutionProvider, InspectResult } from '../protocol/engineProtocol';
import { COMMANDS, SETTINGS_SECTION, VIEWS } from './commands';
import { registerAttribution } from './attribution/traceCommands';
import { registerFeatureDashboards } from './dashboard/dashboardCommands';
import { registerEngineCommands } from './engineCommands';
import { EngineProcess } from './engineProcess';
import { EngineStatusItem } from './engineStatusItem';
import { registerFirstRun } from './firstRun';
import { HubSettingsSource, registerHubCommands } from './hub/hubCommands';
import { FeaturesTreeProvider } from './inspection/featuresTree';
import { InspectionController } from './inspection/inspectionController';
import { registerModelCommands } from './modelCommands';
import { showModelLoad } from './modelLoading';
import { ModelSession } from './modelSession';
import type { SessionSettings } from './modelSession';
import { runReported } from './runReported';
import { registerSteering } from './steering/steeringCommands';
import { trainSae } from './training/trainSaeCommand';

let engine: EngineProcess | undefined;

/** What `activate` returns to other extensions and to tests run inside VS Code (test/vscode). */
export interface FeatureLensApi {
	/** The latest Inspect Selection result (tokens, offsets, features, labels), if any. */
	lastInspection(): InspectResult | undefined;
}

/** The user's `featureLens.model` and `featureLens.sae`, which the session writes after a load succeeded. */
const userSettings: SessionSettings = {
	read: () => {
		const cfg = vscode.workspace.getConfiguration(SETTINGS_SECTION);
		return { model: cfg.get<string>('model', '') || DEMO, sae: cfg.get<string>('sae', '') };
	},
	write: async (key, value) => {
		await vscode.workspace.getConfiguration(SETTINGS_SECTION).update(key, value, vscode.ConfigurationTarget.Global);
	},
};

export function activate(context: vscode.ExtensionContext): FeatureLensApi {
	let lastInspection: InspectResult | undefined;
	const log = vscode.window.createOutputChannel('Feature Lens', { log: true });
	const status = new EngineStatusItem(COMMANDS.statusMenu);
	const hubSettings = new HubSettingsSource(context);
	void hubSettings.load();
	// Assigned right below; the engine's state callbacks only run once it starts.
	let session: ModelSession | undefined;
	const running = (engine = new EngineProcess({
		enginePath: context.asAbsolutePath('dist/engine.js'),
		nodePath: process.execPath,
		initialize: () => {
			const cfg = vscode.workspace.getConfiguration(SETTINGS_SECTION);
			// Labels, notes and analyses go to global storage, which survives updates of the extension.
			return {
				executionProvider: cfg.get<ExecutionProvider>('executionProvider', 'auto'),
				threads: cfg.get<number>('threads', 0),
				userDataDir: context.globalStorageUri.fsPath,
				hub: hubSettings.settings(),
			};
		},
		log: (level, message) => log[level](message),
		onState: (state) => {
			if (state.kind !== 'ready' && state.kind !== 'busy') session?.forget();
			status.update(state, session?.describe());
		},
		onCrash: (reason) => {
			void vscode.window.showErrorMessage(`Feature Lens engine stopped (${reason}). It restarts on the next request.`, 'Show Log').then((choice) => {
				if (choice) log.show();
			});
		},
	}));
	const models = (session = new ModelSession(running, userSettings, showModelLoad));
	const features = new FeaturesTreeProvider();
	const inspection = new InspectionController(running, models, (result) => {
		lastInspection = result;
		features.setInspection(result);
	});

	context.subscriptions.push(
		log,
		status,
		inspection,
		{ dispose: () => void running.stop() },
		vscode.window.registerTreeDataProvider(VIEWS.features, features),
		models.onDidChange((loaded) => {
			// Highlights made with another model or SAE no longer mean anything.
			inspection.clear();
			features.setLoaded(loaded);
			status.update(running.current, models.describe());
			if (loaded?.sae) log.info(`ready: ${loaded.model.name} with SAE ${loaded.sae.source}`);
		}),
		vscode.commands.registerCommand(COMMANDS.trainSae, () => runReported(log, () => trainSae(running, models, context.extensionUri))),
		...registerHubCommands(running, models, log, hubSettings),
	);
	registerFirstRun(context);
	registerEngineCommands(context, running, log);
	registerModelCommands(context, models, log);
	registerFeatureDashboards(context, running, models, log);
	registerSteering(context, running, models, log);
	registerAttribution(context, running, models, log);
	return { lastInspection: () => lastInspection };
}

export async function deactivate(): Promise<void> {
	await engine?.stop();
}
