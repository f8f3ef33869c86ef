// Feature dashboard panels: one webview panel per feature of the loaded SAE (revealed when
// already open), restored after a window reload by a WebviewPanelSerializer from the feature
// number the webview keeps in its state. The panel is a thin relay: it asks the backend for the
// feature's data and forwards the webview's requests (label, test text, neighbours, analysis).

import * as vscode from 'vscode';
import { COMMANDS } from '../commands';
import type { FromDashboard, ToDashboard } from '../../protocol/dashboardMessages';
import type { FeatureDashboardData, FeatureSummary, FeatureTextActivations } from '../../protocol/featureProtocol';
import { errorMessage } from '../../protocol/errors';
import { webviewHtml, webviewRoots } from '../webviewHtml';
import { featureIndexFromState, parseFromDashboard } from './dashboardMessageGuard';

export const DASHBOARD_VIEW_TYPE = 'featureLens.featureDashboard';

/** What the panels need from the engine side of the extension. */
export interface DashboardBackend {
	dashboard(featureIndex: number): Promise<FeatureDashboardData>;
	setLabel(featureIndex: number, label: string, notes: string): Promise<FeatureSummary>;
	activationsOnText(featureIndex: number, text: string): Promise<FeatureTextActivations>;
	/** Runs a corpus analysis for the loaded SAE (asking for the corpus); the panels refresh after it. */
	analyze(): Promise<void>;
	/** Reported once per failure the user did not see in a panel (e.g. a failed save). */
	log(message: string): void;
}

export class FeatureDashboards implements vscode.Disposable {
	private readonly panels = new Map<number, DashboardPanel>();
	private analysing = false;

	constructor(
		private readonly extensionUri: vscode.Uri,
		readonly backend: DashboardBackend,
	) {}

	/** Shows feature `featureIndex`'s dashboard, creating its panel if needed. */
	open(featureIndex: number, viewColumn: vscode.ViewColumn = vscode.ViewColumn.Beside): void {
		const existing = this.panels.get(featureIndex);
		if (existing) {
			existing.panel.reveal(viewColumn);
			return;
		}
		const panel = vscode.window.createWebviewPanel(DASHBOARD_VIEW_TYPE, `Feature ${featureIndex}`, viewColumn, this.options());
		this.adopt(panel, featureIndex);
	}

	/** Restores a panel VS Code kept from the last session (WebviewPanelSerializer). */
	revive(panel: vscode.WebviewPanel, state: unknown): void {
		const featureIndex = featureIndexFromState(state);
		if (featureIndex === undefined || this.panels.has(featureIndex)) {
			panel.dispose();
			return;
		}
		panel.webview.options = this.options();
		this.adopt(panel, featureIndex);
	}

	/** Reloads every open dashboard (after an analysis, or when another SAE is loaded). */
	refreshAll(): void {
		for (const p of this.panels.values()) void p.load();
	}

	/** Reloads the dashboards that show another SAE than `saeSource`. */
	saeLoaded(saeSource: string): void {
		for (const p of this.panels.values()) if (p.data && p.data.saeSource !== saeSource) void p.load();
	}

	/** Tells every panel whether an analysis is running (their "Analyse corpus…" buttons wait meanwhile). */
	setAnalysing(running: boolean): void {
		this.analysing = running;
		for (const p of this.panels.values()) p.post({ type: 'analysing', running });
	}

	get isAnalysing(): boolean {
		return this.analysing;
	}

	get openFeatures(): number[] {
		return [...this.panels.keys()];
	}

	dispose(): void {
		for (const p of [...this.panels.values()]) p.panel.dispose();
	}

	private options(): vscode.WebviewPanelOptions & vscode.WebviewOptions {
		// No retainContextWhenHidden: the webview keeps its view options in getState and the
		// host re-sends the data on `ready`, so a hidden dashboard costs no memory.
		return { enableScripts: true, enableFindWidget: true, localResourceRoots: webviewRoots(this.extensionUri) };
	}

	private adopt(panel: vscode.WebviewPanel, featureIndex: number): void {
		panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'feature-lens.svg');
		panel.webview.html = webviewHtml(panel.webview, this.extensionUri, 'dashboard.js', `Feature ${featureIndex}`, ['dashboard.css']);
		const p = new DashboardPanel(panel, featureIndex, this);
		this.panels.set(featureIndex, p);
		panel.onDidDispose(() => {
			if (this.panels.get(featureIndex) === p) this.panels.delete(featureIndex);
		});
		void p.load();
	}
}

class DashboardPanel {
	data: FeatureDashboardData | undefined;
	private error: string | undefined;
	private generation = 0;

	constructor(
		readonly panel: vscode.WebviewPanel,
		readonly featureIndex: number,
		private readonly owner: FeatureDashboards,
	) {
		panel.webview.onDidReceiveMessage((raw: unknown) => {
			const message = parseFromDashboard(raw);
			if (message) void this.handle(message);
			else owner.backend.log(`dashboard ${featureIndex}: ignored a malformed message from the webview`);
		});
	}

	post(message: ToDashboard): void {
		// A webview that is not loaded yet drops the message; `ready` re-sends the current state.
		void this.panel.webview.postMessage(message);
	}

	async load(): Promise<void> {
		const generation = ++this.generation;
		this.post({ type: 'loading', featureIndex: this.featureIndex });
		try {
			const data = await this.owner.backend.dashboard(this.featureIndex);
			if (generation !== this.generation) return;
			this.data = data;
			this.error = undefined;
			this.panel.title = panelTitle(data);
			this.post({ type: 'data', data });
		} catch (err) {
			if (generation !== this.generation) return;
			this.error = errorMessage(err);
			this.post({ type: 'error', featureIndex: this.featureIndex, message: this.error });
		}
	}

	private async handle(message: FromDashboard): Promise<void> {
		switch (message.type) {
			case 'ready':
				if (this.data) this.post({ type: 'data', data: this.data });
				else if (this.error) this.post({ type: 'error', featureIndex: this.featureIndex, message: this.error });
				else this.post({ type: 'loading', featureIndex: this.featureIndex });
				if (this.owner.isAnalysing) this.post({ type: 'analysing', running: true });
				return;
			case 'refresh':
				return this.load();
			case 'openFeature': {
				const dSae = this.data?.dSae;
				if (dSae !== undefined && message.featureIndex >= dSae) return;
				this.owner.open(message.featureIndex, this.panel.viewColumn);
				return;
			}
			case 'analyze':
				return this.owner.backend.analyze();
			case 'steer':
				await vscode.commands.executeCommand(COMMANDS.steerFeature, this.featureIndex);
				return;
			case 'saveLabel':
				try {
					const summary = await this.owner.backend.setLabel(this.featureIndex, message.label, message.notes);
					if (this.data) this.data = { ...this.data, label: summary.label, userLabel: message.label, notes: message.notes };
					if (this.data) this.panel.title = panelTitle(this.data);
					this.post({ type: 'labelSaved', summary, userLabel: message.label, notes: message.notes });
				} catch (err) {
					this.post({ type: 'labelError', message: errorMessage(err) });
				}
				return;
			case 'testText':
				try {
					this.post({ type: 'textActivations', result: await this.owner.backend.activationsOnText(this.featureIndex, message.text) });
				} catch (err) {
					this.post({ type: 'textError', message: errorMessage(err) });
				}
				return;
		}
	}
}

function panelTitle(data: FeatureDashboardData): string {
	const label = data.label.length > 24 ? `${data.label.slice(0, 23)}…` : data.label;
	return label ? `Feature ${data.featureIndex} · ${label}` : `Feature ${data.featureIndex}`;
}
