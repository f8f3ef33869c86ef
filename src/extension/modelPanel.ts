// "Feature Lens: Show Model": a webview panel with the loaded model's configuration and hook points.

import * as vscode from 'vscode';
import type { ModelInfo } from '../protocol/engineProtocol';
import type { ToModelPanel } from '../protocol/modelPanelMessages';
import { parseFromModelPanel } from './modelPanelMessageGuard';
import { webviewHtml, webviewRoots } from './webviewHtml';

export class ModelPanel {
	private static current: ModelPanel | undefined;
	private ready = false;
	private pending: ToModelPanel | undefined;

	private constructor(private readonly panel: vscode.WebviewPanel) {
		panel.onDidDispose(() => {
			ModelPanel.current = undefined;
		});
		panel.webview.onDidReceiveMessage((raw: unknown) => {
			const message = parseFromModelPanel(raw);
			if (message?.type === 'ready') {
				this.ready = true;
				if (this.pending) void panel.webview.postMessage(this.pending);
			} else if (message?.type === 'copyHook') {
				void vscode.env.clipboard.writeText(message.name);
				void vscode.window.setStatusBarMessage(`Copied ${message.name}`, 2000);
			}
		});
	}

	/** Shows the panel (creating it if needed) and sends it the model, or an error to display. */
	static show(extensionUri: vscode.Uri, content: { model: ModelInfo } | { error: string }): void {
		if (!ModelPanel.current) {
			const panel = vscode.window.createWebviewPanel('featureLens.model', 'Feature Lens: Model', vscode.ViewColumn.Active, {
				enableScripts: true,
				localResourceRoots: webviewRoots(extensionUri),
			});
			panel.webview.html = webviewHtml(panel.webview, extensionUri, 'modelPanel.js', 'Feature Lens: Model');
			ModelPanel.current = new ModelPanel(panel);
		}
		const panel = ModelPanel.current;
		panel.post('model' in content ? { type: 'model', model: content.model } : { type: 'error', message: content.error });
		panel.panel.reveal();
	}

	/** Shows `model` in the panel if it is open. */
	static update(model: ModelInfo): void {
		ModelPanel.current?.post({ type: 'model', model });
	}

	private post(message: ToModelPanel): void {
		this.pending = message;
		if (this.ready) void this.panel.webview.postMessage(message);
	}
}
