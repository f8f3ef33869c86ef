// The status-bar item that shows what the engine is doing; clicking it opens the engine menu.

import * as vscode from 'vscode';
import type { EngineState } from './engineProcess';

export class EngineStatusItem implements vscode.Disposable {
	private readonly item: vscode.StatusBarItem;

	constructor(command: string) {
		this.item = vscode.window.createStatusBarItem('featureLens.engine', vscode.StatusBarAlignment.Left, 10);
		this.item.name = 'Feature Lens Engine';
		this.item.command = command;
		this.update({ kind: 'stopped' }, undefined);
		this.item.show();
	}

	update(state: EngineState, modelName: string | undefined): void {
		const { text, tooltip, error } = describe(state, modelName);
		this.item.text = text;
		this.item.tooltip = tooltip;
		this.item.backgroundColor = error ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
	}

	dispose(): void {
		this.item.dispose();
	}
}

function describe(state: EngineState, modelName: string | undefined): { text: string; tooltip: string; error?: boolean } {
	const model = modelName ? ` · ${modelName}` : '';
	switch (state.kind) {
		case 'stopped':
			return { text: '$(beaker) Feature Lens', tooltip: 'Feature Lens engine: not started (starts on first use)' };
		case 'starting':
			return { text: '$(loading~spin) Feature Lens', tooltip: 'Feature Lens engine: starting' };
		case 'ready':
			return { text: `$(beaker) Feature Lens${model}`, tooltip: `Feature Lens engine ${state.info.engineVersion} (pid ${state.info.pid}), onnxruntime ${state.info.onnxruntimeVersion}: ready` };
		case 'busy':
			return { text: `$(loading~spin) Feature Lens${model}`, tooltip: `Feature Lens engine: ${state.what}` };
		case 'crashed':
			return { text: '$(error) Feature Lens', tooltip: `Feature Lens engine stopped (${state.reason}); it restarts on the next request`, error: true };
		case 'unusable':
			return { text: '$(error) Feature Lens', tooltip: state.reason, error: true };
	}
}
