// Extension entry point: wires the engine process to VS Code (log channel, status bar,
// commands). Stays thin: no onnxruntime, no tensor math in the extension host.

import * as vscode from 'vscode';
import { runReported } from './runReported';
import type { ExecutionProvider, InspectResult, ModelInfo } from '../protocol/engineProtocol';
import { demoSaeDir } from '../engine/models/modelPaths';
import { EngineProcess } from './engineProcess';
import { EngineStatusItem } from './engineStatusItem';
import { FeaturesTreeProvider } from './inspection/featuresTree';
import { INSPECTION_COMMANDS, InspectionController } from './inspection/inspectionController';
import { registerFeatureDashboards } from './dashboard/dashboardCommands';
import type { FeatureDashboards } from './dashboard/dashboardPanel';
import { ModelPanel } from './modelPanel';
import { ModelSession } from './modelSession';
import { loadModelWithProgress } from './modelLoading';
import { registerSteering } from './steering/steeringCommands';
import type { Steering } from './steering/steeringCommands';
import { TRAIN_SAE_COMMAND, trainSae } from './training/trainSaeCommand';
import { registerFirstRun } from './firstRun';
import { HUB_COMMANDS, HubSettingsSource, registerHubCommands } from './hub/hubCommands';

export const COMMANDS = {
	selectModel: 'featureLens.selectModel',
	showModel: 'featureLens.showModel',
	loadSae: 'featureLens.loadSae',
	restartEngine: 'featureLens.restartEngine',
	showLog: 'featureLens.showLog',
	statusMenu: 'featureLens.statusMenu',
} as const;

let engine: EngineProcess | undefined;

/** What `activate` returns to other extensions and to tests run inside VS Code (test/vscode). */
export interface FeatureLensApi {
	/** The latest Inspect Selection result (tokens, offsets, features, labels), if any. */
	lastInspection(): InspectResult | undefined;
}

export function activate(context: vscode.ExtensionContext): FeatureLensApi {
	let lastInspection: InspectResult | undefined;
	const log = vscode.window.createOutputChannel('Feature Lens', { log: true });
	const status = new EngineStatusItem(COMMANDS.statusMenu);
	let model: ModelInfo | undefined;
	/** What the status bar says is loaded: the model, and the SAE once one is. */
	let loadedLabel: string | undefined;
	const hubSettings = new HubSettingsSource(context);
	void hubSettings.load();

	engine = new EngineProcess({
		enginePath: context.asAbsolutePath('dist/engine.js'),
		nodePath: process.execPath,
		initialize: () => {
			const cfg = vscode.workspace.getConfiguration('featureLens');
			// Labels, notes and analyses go to global storage, which survives updates of the extension.
			return {
				executionProvider: cfg.get<ExecutionProvider>('executionProvider', 'auto'), threads: cfg.get<number>('threads', 0),
				userDataDir: context.globalStorageUri.fsPath, hub: hubSettings.settings(),
			};
		},
		log: (level, message) => log[level](message),
		onState: (state) => {
			if (state.kind !== 'ready' && state.kind !== 'busy') {
				model = undefined;
				loadedLabel = undefined;
			}
			status.update(state, loadedLabel);
		},
		onCrash: (reason) => {
			void vscode.window.showErrorMessage(`Feature Lens engine stopped (${reason}). It restarts on the next request.`, 'Show Log')
				.then((choice) => { if (choice) log.show(); });
		},
	});
	const running = engine;
	const features = new FeaturesTreeProvider(INSPECTION_COMMANDS.focusFeature);
	// Assigned below; the session clears highlights made with a previous SAE when a new one loads.
	let inspection: InspectionController | undefined;
	let dashboards: FeatureDashboards | undefined;
	let steering: Steering | undefined;
	const session = new ModelSession(running, demoSaeDir(), (loaded) => {
		inspection?.clear();
		model = loaded.model;
		loadedLabel = `${loaded.model.name} · ${loaded.sae.architecture} ${loaded.sae.dSae} @ ${loaded.sae.hookName}`;
		features.setLoaded(loaded.model, loaded.sae);
		dashboards?.saeLoaded(loaded.sae.source);
		steering?.saeLoaded();
		status.update(running.current, loadedLabel);
		log.info(`ready: ${loaded.model.name} with SAE ${loaded.sae.source}`);
	});

	const loadModel = async (name: string): Promise<void> => {
		// Loading a model drops the engine's SAE (and the previous model, even if this load fails):
		// the next inspection loads what the settings say.
		session.invalidate();
		model = await loadModelWithProgress(running, name);
		inspection?.clear();
		loadedLabel = model.name;
		features.setLoaded(model);
		status.update(running.current, loadedLabel);
		void vscode.window.showInformationMessage(`Feature Lens: ${model.name} ready (${model.modelType}, ${model.nLayers} layers, ${model.hookPoints.length} hook points).`);
	};

	registerFirstRun(context);
	dashboards = registerFeatureDashboards(context, running, session, log);
	context.subscriptions.push(...registerHubCommands(running, session, log, hubSettings, (name) => loadModel(name)));
	steering = registerSteering(context, running, session, log);
	context.subscriptions.push(
		log,
		status,
		(inspection = new InspectionController(running, session, (result) => {
			lastInspection = result;
			features.setInspection(result);
		})),
		vscode.window.registerTreeDataProvider('featureLens.features', features),
		vscode.commands.registerCommand(TRAIN_SAE_COMMAND, () => runReported(log, () => trainSae(running, context.extensionUri, () => session.invalidate(), async (saeDir) => {
			await vscode.workspace.getConfiguration('featureLens').update('sae', saeDir, vscode.ConfigurationTarget.Global);
			await session.ensureReady();
		}))),
		vscode.commands.registerCommand(COMMANDS.loadSae, async () => {
			const picked = await vscode.window.showOpenDialog({
				canSelectFolders: true, canSelectFiles: true, canSelectMany: false, openLabel: 'Load SAE',
				filters: { 'Gemma Scope params': ['npz'] }, title: 'A SAELens folder (cfg.json + sae_weights.safetensors) or a Gemma Scope params.npz',
			});
			if (!picked?.[0]) return;
			await vscode.workspace.getConfiguration('featureLens').update('sae', picked[0].fsPath, vscode.ConfigurationTarget.Global);
			await runReported(log, async () => {
				const loaded = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Feature Lens: loading the SAE…' }, () => session.ensureReady());
				void vscode.window.showInformationMessage(`Feature Lens: SAE ready (${loaded.sae.architecture}, ${loaded.sae.dSae} features at ${loaded.sae.hookName}).`);
			});
		}),
		{ dispose: () => void running.stop() },
		vscode.commands.registerCommand(COMMANDS.showLog, () => log.show()),
		vscode.commands.registerCommand(COMMANDS.restartEngine, async () => {
			await running.restart();
			log.info('engine restarted by the user');
		}),
		vscode.commands.registerCommand(COMMANDS.selectModel, async () => {
			const pick = await vscode.window.showQuickPick(
				[{ label: 'demo', description: 'the embedded Python code model' }, { label: 'Choose a checkpoint folder…', description: 'config.json + *.safetensors' }],
				{ title: 'Feature Lens: Select Model' },
			);
			if (!pick) return;
			let name = pick.label;
			if (name !== 'demo') {
				const folder = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Use this checkpoint' });
				if (!folder?.[0]) return;
				name = folder[0].fsPath;
			}
			await vscode.workspace.getConfiguration('featureLens').update('model', name, vscode.ConfigurationTarget.Global);
			await runReported(log, () => loadModel(name));
		}),
		vscode.commands.registerCommand(COMMANDS.showModel, async () => {
			try {
				if (!model) await loadModel(vscode.workspace.getConfiguration('featureLens').get<string>('model', 'demo'));
				ModelPanel.show(context.extensionUri, { model: model! });
			} catch (err) {
				const message = err instanceof Error ? err.message : String(err);
				log.error(message);
				ModelPanel.show(context.extensionUri, { error: `Could not load the model: ${message}` });
			}
		}),
		vscode.commands.registerCommand(COMMANDS.statusMenu, async () => {
			const items = [
				{ label: '$(search) Inspect Selection', command: 'featureLens.inspectSelection' },
				{ label: '$(info) Show Model', command: COMMANDS.showModel },
				{ label: '$(library) Load SAE…', command: COMMANDS.loadSae },
				{ label: '$(cloud-download) Load SAE from Release…', command: HUB_COMMANDS.loadSaeFromRelease },
				{ label: '$(beaker) Train SAE…', command: TRAIN_SAE_COMMAND },
				{ label: '$(graph) Open Feature Dashboard…', command: 'featureLens.openFeatureDashboard' },
				{ label: '$(list-filter) Search Features…', command: 'featureLens.searchFeatures' },
				{ label: '$(sparkle) Steer Selection', command: 'featureLens.steerSelection' },
				{ label: '$(symbol-class) Select Model…', command: COMMANDS.selectModel },
				{ label: '$(cloud-download) Open Model from Hub…', command: HUB_COMMANDS.openModelFromHub },
				{ label: '$(debug-restart) Restart Engine', command: COMMANDS.restartEngine },
				{ label: '$(output) Show Log', command: COMMANDS.showLog },
			];
			const pick = await vscode.window.showQuickPick(items, { title: 'Feature Lens' });
			if (pick) await vscode.commands.executeCommand(pick.command);
		}),
	);
	return { lastInspection: () => lastInspection };
}

export async function deactivate(): Promise<void> {
	await engine?.stop();
}
