// The one owner of what the engine has loaded: the model and the SAE. Everything in the host
// that needs them asks here (ensureModel, ensureReady), and the user's choices go through here
// too (loadModel, loadSae): the load is tried first and the setting is written only after it
// succeeded, so a failed or cancelled load changes no setting. Whoever shows what is loaded
// (the status item, the Features view, dashboards, the steering view) follows onDidChange.
// Free of `vscode`: settings and progress are passed in, so it is tested against the real engine.

import { Emitter } from 'vscode-jsonrpc';
import type { CancellationToken, Event } from 'vscode-jsonrpc';
import { DEMO, LoadModelProgressNotification, LoadModelRequest, LoadSaeRequest, saeSite } from '../protocol/engineProtocol';
import type { LoadModelProgress, ModelInfo, SaeInfo } from '../protocol/engineProtocol';
import type { EngineProcess } from './engineProcess';

/** What the engine has loaded: a model, and an SAE for it once one is loaded. */
export interface Loaded {
	model: ModelInfo;
	sae?: SaeInfo;
}

/** A model with its SAE: what inspection, dashboards and steering need. */
export interface Ready {
	model: ModelInfo;
	sae: SaeInfo;
}

/** The `model` and `sae` settings, read and written (the user's settings in VS Code). */
export interface SessionSettings {
	/** The model reference ('demo' when empty) and the SAE reference ('' when unset). */
	read(): { model: string; sae: string };
	write(key: 'model' | 'sae', value: string): Promise<void>;
}

/** How a model load is shown to the user: progress in bytes, and Cancel. */
export type ModelLoadUi = <T>(model: string, load: (onProgress: (p: LoadModelProgress) => void, token: CancellationToken) => Promise<T>) => Promise<T>;

interface State {
	/** The engine process these were loaded into: a restarted engine has nothing loaded. */
	pid: number | undefined;
	/** The references they were loaded from, as the settings hold them. */
	modelRef: string;
	model: ModelInfo;
	saeRef?: string;
	sae?: SaeInfo;
}

export class ModelSession {
	private state: State | undefined;
	private readonly changed = new Emitter<Loaded | undefined>();
	/** Fires after every load that succeeded, and when what was loaded is gone (the engine stopped). */
	readonly onDidChange: Event<Loaded | undefined> = this.changed.event;
	/** Loads run one at a time, in the order they were asked for. */
	private queue: Promise<unknown> = Promise.resolve();
	private pendingReady: Promise<Ready> | undefined;

	constructor(
		private readonly engine: EngineProcess,
		private readonly settings: SessionSettings,
		private readonly modelLoadUi: ModelLoadUi,
	) {}

	/** What is loaded in the running engine, as far as the host knows. */
	get current(): Loaded | undefined {
		const s = this.state;
		if (!s || s.pid !== this.engine.pid) return undefined;
		return s.sae ? { model: s.model, sae: s.sae } : { model: s.model };
	}

	/** A line for the status bar: the model, and the SAE once one is loaded. */
	describe(): string | undefined {
		const loaded = this.current;
		if (!loaded) return undefined;
		const { model, sae } = loaded;
		return sae ? `${model.name} · ${sae.architecture} ${sae.dSae} @ ${saeSite(sae)}` : model.name;
	}

	/** The engine stopped or restarted: nothing is loaded any more. */
	forget(): void {
		if (!this.state) return;
		this.state = undefined;
		this.changed.fire(undefined);
	}

	/** The model the settings name, loaded if it is not. */
	ensureModel(): Promise<ModelInfo> {
		return this.serially(() => this.modelFromSettings());
	}

	/** The model and SAE the settings name (the demo SAE for the demo model when none is set), loaded if they are not. */
	ensureReady(): Promise<Ready> {
		this.pendingReady ??= this.serially(async () => {
			const settings = this.settings.read();
			const saeRef = settings.sae || (settings.model === DEMO ? DEMO : '');
			if (!saeRef) throw new Error('no SAE is set for this model: choose one with "Feature Lens: Load SAE…" or the featureLens.sae setting');
			const model = await this.modelFromSettings();
			if (this.state?.saeRef === saeRef && this.state.sae) return { model, sae: this.state.sae };
			return { model, sae: await this.loadSaeNow(saeRef) };
		}).finally(() => {
			this.pendingReady = undefined;
		});
		return this.pendingReady;
	}

	/** Loads a model the user chose (replacing the SAE), then makes it the `model` setting. */
	loadModel(ref: string): Promise<ModelInfo> {
		return this.serially(async () => {
			const model = await this.loadModelNow(ref);
			await this.settings.write('model', ref);
			return model;
		});
	}

	/** Loads an SAE the user chose for the model the settings name, then makes it the `sae` setting. */
	loadSae(ref: string): Promise<Ready> {
		return this.serially(async () => {
			const model = await this.modelFromSettings();
			const sae = await this.loadSaeNow(ref);
			await this.settings.write('sae', ref);
			return { model, sae };
		});
	}

	private async modelFromSettings(): Promise<ModelInfo> {
		const { model } = this.settings.read();
		const running = await this.engine.ensureStarted();
		const s = this.state;
		if (s && s.modelRef === model && s.pid === running.child.pid) return s.model;
		return this.loadModelNow(model);
	}

	private async loadModelNow(ref: string): Promise<ModelInfo> {
		// The engine keeps its model through a load that fails early, but not always (a load that
		// needs the memory unloads it first), so after any attempt the host assumes nothing.
		this.forget();
		const model = await this.modelLoadUi(ref, (onProgress, token) => this.engine.requestWithProgress(LoadModelRequest, { model: ref }, LoadModelProgressNotification, onProgress, token));
		this.state = { pid: this.engine.pid, modelRef: ref, model };
		this.changed.fire(this.current);
		return model;
	}

	private async loadSaeNow(ref: string): Promise<SaeInfo> {
		// A failed SAE load leaves the engine's SAE as it was.
		const sae = await this.engine.request(LoadSaeRequest, { path: ref });
		const s = this.state;
		if (!s) throw new Error('internal: an SAE was loaded with no model');
		this.state = { ...s, saeRef: ref, sae };
		this.changed.fire(this.current);
		return sae;
	}

	private serially<T>(work: () => Promise<T>): Promise<T> {
		const next = this.queue.then(work, work);
		this.queue = next.catch(() => undefined);
		return next;
	}
}
