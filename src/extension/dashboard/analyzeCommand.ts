// "Feature Lens: Analyse Features…": one streaming pass of the engine over a corpus (the demo
// corpus, workspace files or a file, as for Train SAE…) computing every feature's statistics
// and examples for the loaded SAE, with progress and Cancel in a notification. Open dashboards
// show "analysing" meanwhile and reload when it ends.

import * as vscode from 'vscode';
import { AnalyzeFeaturesRequest, AnalyzeProgressNotification } from '../../protocol/featureProtocol';
import type { AnalyzeResult } from '../../protocol/featureProtocol';
import { errorMessage, isCancelled } from '../../protocol/errors';
import { COMMANDS } from '../commands';
import { askCorpus } from '../corpusPicker';
import type { EngineProcess } from '../engineProcess';
import type { ModelSession } from '../modelSession';
import type { FeatureDashboards } from './dashboardPanel';

/** Tokens analysed unless the user asks for another amount. */
export const DEFAULT_ANALYSIS_TOKENS = 200_000;

export async function analyzeFeatures(engine: EngineProcess, session: ModelSession, dashboards: FeatureDashboards): Promise<AnalyzeResult | undefined> {
	if (dashboards.isAnalysing) {
		void vscode.window.showInformationMessage('Feature Lens: an analysis is already running.');
		return undefined;
	}
	const loaded = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Feature Lens: loading the model and SAE…' }, () => session.ensureReady());
	const title = (step: number) => `Feature Lens: Analyse Features of ${loaded.sae.hookName} (${step}/2)`;
	const corpus = await askCorpus(title(1), 'Text to analyse');
	if (!corpus) return undefined;
	const text = await vscode.window.showInputBox({
		title: title(2),
		prompt: 'Tokens to analyse (more tokens: better examples and statistics, longer run)',
		value: String(DEFAULT_ANALYSIS_TOKENS),
		validateInput: (v) => {
			const n = Number(v.replace(/[_,\s]/g, ''));
			return Number.isInteger(n) && n >= 1024 && n <= 1e10 ? undefined : 'A whole number of at least 1024';
		},
	});
	if (text === undefined) return undefined;
	return runAnalysis(engine, dashboards, corpus, Number(text.replace(/[_,\s]/g, '')), false);
}

async function runAnalysis(engine: EngineProcess, dashboards: FeatureDashboards, corpus: string | string[], tokens: number, force: boolean): Promise<AnalyzeResult | undefined> {
	const what = Array.isArray(corpus) ? `${corpus.length} workspace files` : corpus;
	dashboards.setAnalysing(true);
	let result: AnalyzeResult;
	try {
		result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Feature Lens: analysing features on ${what}`, cancellable: true }, (progress, token) => {
			let reported = 0;
			return engine.requestWithProgress(
				AnalyzeFeaturesRequest,
				{ corpus, tokens, force },
				AnalyzeProgressNotification,
				(p) => {
					if (p.total <= 0) return;
					const pct = (100 * p.done) / p.total;
					progress.report({ message: `${p.done.toLocaleString('en-US')} / ${p.total.toLocaleString('en-US')} tokens`, increment: pct - reported });
					reported = pct;
				},
				token,
			);
		});
	} catch (err) {
		if (isCancelled(err)) void vscode.window.showInformationMessage('Feature Lens: analysis cancelled; the previous results (if any) are unchanged.');
		else void vscode.window.showErrorMessage(`Feature Lens: analysis failed: ${errorMessage(err)}`);
		return undefined;
	} finally {
		dashboards.setAnalysing(false);
	}
	dashboards.refreshAll();
	if (result.cancelled) {
		void vscode.window.showInformationMessage('Feature Lens: analysis cancelled; the previous results (if any) are unchanged.');
		return result;
	}
	if (result.reused) {
		const choice = await vscode.window.showInformationMessage(
			`Feature Lens: this SAE already has an analysis of ${what} (${result.tokens.toLocaleString('en-US')} tokens); it is used as it is.`,
			'Recompute',
		);
		if (choice === 'Recompute') return runAnalysis(engine, dashboards, corpus, tokens, true);
		return result;
	}
	const open = dashboards.openFeatures.length === 0 ? ['Open Feature Dashboard'] : [];
	const choice = await vscode.window.showInformationMessage(
		`Feature Lens: analysed ${result.tokens.toLocaleString('en-US')} tokens at ${Math.round(result.tokensPerSecond).toLocaleString('en-US')} tok/s: ${result.dead} dead and ${result.dense} dense features. Saved in ${result.dir}.`,
		...open,
	);
	if (choice) await vscode.commands.executeCommand(COMMANDS.openFeatureDashboard);
	return result;
}
