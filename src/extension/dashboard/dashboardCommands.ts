// Wires feature dashboards into VS Code: the Open Feature Dashboard, Search Features and
// Analyse Features commands, the panel serializer that restores dashboards after a reload, and
// the backend that answers the panels through the engine.

import * as vscode from 'vscode';
import { runReported } from '../runReported';
import { FeatureDashboardRequest, FeatureTextRequest, SetFeatureLabelRequest } from '../../protocol/featureProtocol';
import type { EngineProcess } from '../engineProcess';
import type { ModelSession } from '../modelSession';
import { COMMANDS } from '../commands';
import { analyzeFeatures } from './analyzeCommand';
import { DASHBOARD_VIEW_TYPE, FeatureDashboards } from './dashboardPanel';
import { featureIndexFromArg, featureNumberError } from './featureArgs';
import { searchFeatures } from './searchFeatures';

export function registerFeatureDashboards(context: vscode.ExtensionContext, engine: EngineProcess, session: ModelSession, log: vscode.LogOutputChannel): void {
	const ready = async () => {
		const loaded = await session.ensureReady();
		return loaded.sae;
	};
	const inRange = async (featureIndex: number) => {
		const sae = await ready();
		if (featureIndex >= sae.dSae) throw new Error(`feature ${featureIndex} does not exist: the SAE at ${sae.hookName} has ${sae.dSae} features (0 to ${sae.dSae - 1})`);
	};
	const dashboards: FeatureDashboards = new FeatureDashboards(context.extensionUri, {
		dashboard: async (featureIndex) => {
			await inRange(featureIndex);
			return engine.request(FeatureDashboardRequest, { featureIndex });
		},
		setLabel: async (featureIndex, label, notes) => {
			await inRange(featureIndex);
			return engine.request(SetFeatureLabelRequest, { featureIndex, label, notes });
		},
		activationsOnText: async (featureIndex, text) => {
			await inRange(featureIndex);
			return engine.request(FeatureTextRequest, { featureIndex, text });
		},
		analyze: () =>
			runReported(log, async () => {
				await analyzeFeatures(engine, session, dashboards);
			}),
		log: (message) => log.warn(message),
	});

	const open = async (arg: unknown) => {
		let featureIndex = featureIndexFromArg(arg);
		if (featureIndex === undefined) {
			const sae = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Feature Lens: loading the SAE' }, ready);
			const text = await vscode.window.showInputBox({
				title: 'Feature Lens: Open Feature Dashboard',
				prompt: `Feature number (0 to ${sae.dSae - 1}) of the SAE at ${sae.hookName}`,
				placeHolder: 'e.g. 42',
				validateInput: (v) => featureNumberError(v, sae.dSae),
			});
			if (text === undefined) return;
			featureIndex = Number(text.trim().replace(/^#/, ''));
		}
		dashboards.open(featureIndex);
	};

	context.subscriptions.push(
		dashboards,
		// Dashboards of another SAE than the one now loaded show it instead.
		session.onDidChange((loaded) => {
			if (loaded?.sae) dashboards.saeLoaded(loaded.sae.source);
		}),
		vscode.window.registerWebviewPanelSerializer(DASHBOARD_VIEW_TYPE, {
			deserializeWebviewPanel: async (panel, state: unknown) => {
				dashboards.revive(panel, state);
			},
		}),
		vscode.commands.registerCommand(COMMANDS.openFeatureDashboard, (arg: unknown) => runReported(log, () => open(arg))),
		vscode.commands.registerCommand(COMMANDS.searchFeatures, () => runReported(log, () => searchFeatures(engine, session, (i) => dashboards.open(i)))),
		vscode.commands.registerCommand(COMMANDS.analyzeFeatures, () =>
			runReported(log, async () => {
				await analyzeFeatures(engine, session, dashboards);
			}),
		),
	);
}
