// The training monitor webview panel: one per window, reused by every run.

import * as vscode from 'vscode';
import type { ToTrainingMonitor } from '../../protocol/trainingMonitorMessages';
import { parseFromTrainingMonitor } from './trainingMonitorMessageGuard';
import { webviewHtml, webviewRoots } from '../webviewHtml';

export class TrainingMonitor {
	private static current: TrainingMonitor | undefined;
	private ready = false;
	private queue: ToTrainingMonitor[] = [];
	private readonly cancelListeners = new Set<() => void>();
	private resumeListener: (() => void) | undefined;

	private constructor(private readonly panel: vscode.WebviewPanel) {
		panel.onDidDispose(() => {
			TrainingMonitor.current = undefined;
		});
		panel.webview.onDidReceiveMessage((raw: unknown) => {
			const message = parseFromTrainingMonitor(raw);
			if (message?.type === 'ready') {
				this.ready = true;
				for (const m of this.queue) void panel.webview.postMessage(m);
				this.queue = [];
			} else if (message?.type === 'cancel') {
				for (const l of this.cancelListeners) l();
			} else if (message?.type === 'resume') {
				this.resumeListener?.();
			}
		});
	}

	static show(extensionUri: vscode.Uri): TrainingMonitor {
		if (!TrainingMonitor.current) {
			const panel = vscode.window.createWebviewPanel(
				'featureLens.trainingMonitor',
				'Feature Lens: Training',
				{ viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
				{
					enableScripts: true,
					retainContextWhenHidden: true,
					localResourceRoots: webviewRoots(extensionUri),
				},
			);
			panel.webview.html = webviewHtml(panel.webview, extensionUri, 'trainingMonitor.js', 'Feature Lens: Training', ['trainingMonitor.css']);
			TrainingMonitor.current = new TrainingMonitor(panel);
		}
		TrainingMonitor.current.panel.reveal(undefined, true);
		return TrainingMonitor.current;
	}

	post(message: ToTrainingMonitor): void {
		if (this.ready) void this.panel.webview.postMessage(message);
		else this.queue.push(message);
	}

	/** Calls `listener` when the user presses Cancel; dispose the result when the run ends. */
	onCancel(listener: () => void): vscode.Disposable {
		this.cancelListeners.add(listener);
		return { dispose: () => this.cancelListeners.delete(listener) };
	}

	/** The action behind Resume (the latest cancelled run). */
	setResume(listener: (() => void) | undefined): void {
		this.resumeListener = listener;
	}
}
