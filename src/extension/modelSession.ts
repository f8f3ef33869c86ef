// Keeps the engine's model and SAE in line with the settings: loads them on first use, and
// again after the engine restarts or the settings change.

import * as vscode from 'vscode';
import { LoadSaeRequest } from '../protocol/engineProtocol';
import type { ModelInfo, SaeInfo } from '../protocol/engineProtocol';
import type { EngineProcess } from './engineProcess';
import { loadModelWithProgress } from './modelLoading';

export interface Loaded {
	model: ModelInfo;
	sae: SaeInfo;
}

export class ModelSession {
	private loaded: { key: string; pid: number | undefined; value: Loaded } | undefined;
	private pending: Promise<Loaded> | undefined;

	constructor(
		private readonly engine: EngineProcess,
		/** The demo SAE shipped with the extension, used when the model is the demo and no SAE is set. */
		private readonly demoSaePath: string,
		private readonly onLoaded: (loaded: Loaded) => void,
	) {}

	get current(): Loaded | undefined {
		return this.loaded?.value;
	}

	/** Forgets what is loaded, after something else changed the engine's model (e.g. training). */
	invalidate(): void {
		this.loaded = undefined;
	}

	/** The model and SAE the settings ask for, loaded in the running engine. */
	async ensureReady(): Promise<Loaded> {
		const cfg = vscode.workspace.getConfiguration('featureLens');
		const model = cfg.get<string>('model', 'demo') || 'demo';
		const saeSetting = cfg.get<string>('sae', '');
		const sae = saeSetting || (model === 'demo' ? this.demoSaePath : '');
		if (!sae) throw new Error('no SAE is set for this model: choose one with "Feature Lens: Load SAE…" or the featureLens.sae setting');
		const key = JSON.stringify([model, sae]);
		const running = await this.engine.ensureStarted();
		const pid = running.child.pid;
		if (this.loaded && this.loaded.key === key && this.loaded.pid === pid) return this.loaded.value;
		this.pending ??= (async () => {
			// Whatever was loaded is gone once a load starts, even if this one fails or is cancelled.
			this.loaded = undefined;
			const modelInfo = await loadModelWithProgress(this.engine, model);
			const saeInfo = await this.engine.request(LoadSaeRequest, { path: sae });
			const value = { model: modelInfo, sae: saeInfo };
			this.loaded = { key, pid, value };
			this.onLoaded(value);
			return value;
		})().finally(() => { this.pending = undefined; });
		return this.pending;
	}
}
