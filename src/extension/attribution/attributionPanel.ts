// The attribution-graph panel: a webview that draws one traced graph and sends the user's
// actions (prune, open a feature, save, steer) to the backend the trace command gives it. One
// panel, reused by every trace. Incoming messages pass the guard first.

import * as vscode from 'vscode';
import type { GraphJson } from '../../protocol/graphJson';
import type { GraphSteerMode, ToAttributionPanel } from '../../protocol/attributionPanelMessages';
import { errorMessage, isCancelled } from '../../protocol/errors';
import { parseFromAttributionPanel } from './attributionPanelMessageGuard';
import { webviewHtml, webviewRoots } from '../webviewHtml';

export const ATTRIBUTION_VIEW_TYPE = 'featureLens.attribution';

/** What the panel's actions do; each returns what the panel shows next, or throws a message for it. */
export interface AttributionBackend {
	prune(nodeThreshold: number): Promise<GraphJson>;
	openFeature(nodeId: string): Promise<void>;
	save(pinnedIds: string[], supernodes: [string, ...string[]][]): Promise<void>;
	steer(nodeIds: string[], mode: GraphSteerMode, strength: number, onStart: (description: string) => void): Promise<{ description: string; baseline: string; steered: string }>;
}

export class AttributionPanel {
	private static current: AttributionPanel | undefined;
	private ready = false;
	/** The graph message, re-sent when the webview reloads; later messages go only to a ready webview. */
	private graphMessage: ToAttributionPanel | undefined;
	private backend: AttributionBackend | undefined;
	/** Restored after a window reload (the first `ready` says so). */
	private restored = false;

	private constructor(private readonly panel: vscode.WebviewPanel) {
		panel.onDidDispose(() => {
			AttributionPanel.current = undefined;
		});
		panel.webview.onDidReceiveMessage((raw: unknown) => void this.receive(raw));
	}

	/** Takes over a panel VS Code restored after a window reload, showing `message` (restoredGraph) with `backend`. */
	static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, message: ToAttributionPanel & { type: 'graph' }, backend: AttributionBackend): void {
		AttributionPanel.current?.panel.dispose();
		panel.webview.options = { enableScripts: true, localResourceRoots: webviewRoots(extensionUri) };
		panel.webview.html = webviewHtml(panel.webview, extensionUri, 'attribution.js', 'Feature Lens: Attribution Graph');
		const current = new AttributionPanel(panel);
		AttributionPanel.current = current;
		current.backend = backend;
		current.graphMessage = message;
		current.restored = true;
	}

	/** Shows the panel (creating it if needed) with a new graph and the backend that answers its actions. */
	static show(extensionUri: vscode.Uri, message: ToAttributionPanel & { type: 'graph' }, backend: AttributionBackend): void {
		if (!AttributionPanel.current) {
			const panel = vscode.window.createWebviewPanel(ATTRIBUTION_VIEW_TYPE, 'Feature Lens: Attribution Graph', vscode.ViewColumn.Beside, {
				enableScripts: true,
				retainContextWhenHidden: true,
				localResourceRoots: webviewRoots(extensionUri),
			});
			panel.webview.html = webviewHtml(panel.webview, extensionUri, 'attribution.js', 'Feature Lens: Attribution Graph');
			AttributionPanel.current = new AttributionPanel(panel);
		}
		const current = AttributionPanel.current;
		current.backend = backend;
		current.graphMessage = message;
		current.restored = false;
		current.post(message);
		current.panel.reveal(undefined, true);
	}

	private post(message: ToAttributionPanel): void {
		if (this.ready) void this.panel.webview.postMessage(message);
	}

	private notice(message: string, error: boolean): void {
		this.post({ type: 'notice', message, error });
	}

	private async receive(raw: unknown): Promise<void> {
		const message = parseFromAttributionPanel(raw);
		if (!message) return;
		if (message.type === 'ready') {
			this.ready = true;
			if (this.graphMessage) this.post(this.graphMessage);
			if (this.restored) this.notice('Restored after a reload. The engine no longer holds the whole graph, so the threshold slider is off; trace the prompt again to prune it.', false);
			return;
		}
		const backend = this.backend;
		if (!backend) return;
		try {
			switch (message.type) {
				case 'prune': {
					const graph = await backend.prune(message.nodeThreshold);
					this.post({ type: 'pruned', graph, nodeThreshold: message.nodeThreshold });
					break;
				}
				case 'openFeature':
					await backend.openFeature(message.nodeId);
					break;
				case 'save':
					await backend.save(message.pinnedIds, message.supernodes);
					break;
				case 'steer': {
					const result = await backend.steer(message.nodeIds, message.mode, message.strength, (description) => this.post({ type: 'steering', description }));
					this.post({ type: 'steered', ...result });
					break;
				}
			}
		} catch (err) {
			if (!isCancelled(err)) this.notice(errorMessage(err), true);
		}
	}

	/** Shows a notice in the panel if it is open. */
	static notice(message: string, error: boolean): void {
		AttributionPanel.current?.notice(message, error);
	}
}
