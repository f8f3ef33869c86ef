// The steering sidebar: a webview view in the Feature Lens container. The host side is a relay
// with a memory: it answers the webview's searches and preset requests, runs generations
// (steeringRuns.ts) and streams their tokens in, inserts or copies completions, and keeps what
// the webview would lose when hidden (its script is not retained): the current run and any
// prompt or feature sent while the view was closed.

import * as vscode from 'vscode';
import { SearchFeaturesRequest } from '../../protocol/featureProtocol';
import type { FeatureSearchHit } from '../../protocol/featureProtocol';
import type { FromSteeringView, PickerHit, SteeringSaeInfo, SteeringSetup, ToSteeringView } from '../../protocol/steeringViewMessages';
import type { SamplingSettings } from '../../protocol/steerProtocol';
import { errorMessage } from '../../protocol/errors';
import type { EngineProcess } from '../engineProcess';
import type { ModelSession, Ready } from '../modelSession';
import { COMMANDS, VIEWS } from '../commands';
import { webviewHtml, webviewRoots } from '../webviewHtml';
import type { CurrentSteering } from './currentSteering';
import { insertionText } from './insertion';
import { presetNameError } from './presets';
import type { PresetStore } from './presets';
import type { ContrastVectors } from './contrastVectors';
import { parseFromSteeringView } from './steeringMessageGuard';
import { SteeringRuns } from './steeringRuns';
import { samplingProblems, setupProblems, typedFeatureNumber } from '../../protocol/steeringSetup';

const SEARCH_LIMIT = 20;

export interface SteeringViewDeps {
	extensionUri: vscode.Uri;
	engine: EngineProcess;
	session: ModelSession;
	current: CurrentSteering;
	presets: PresetStore;
	inlineEnabled: () => boolean;
	contrast: ContrastVectors;
	log: vscode.LogOutputChannel;
}

export class SteeringViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
	private view: vscode.WebviewView | undefined;
	private ready = false;
	/** Messages for a view that is closed or still loading, sent on `ready`. */
	private queued: ToSteeringView[] = [];
	private search: vscode.CancellationTokenSource | undefined;
	private lastEditor: vscode.TextEditor | undefined;
	private readonly runs: SteeringRuns;
	private readonly disposables: vscode.Disposable[] = [];

	constructor(private readonly deps: SteeringViewDeps) {
		this.runs = new SteeringRuns(
			deps.engine,
			{
				started: (run) => this.post({ type: 'runStarted', run }),
				tokens: (runId, which, sweepIndex, tokens) => this.post({ type: 'tokens', runId, which, ...(sweepIndex !== undefined ? { sweepIndex } : {}), tokens }),
				ended: (run) => this.post({ type: 'runEnded', run }),
			},
			(setup) => deps.contrast.vectorsFor(setup),
		);
		this.lastEditor = vscode.window.activeTextEditor;
		this.disposables.push(
			vscode.window.onDidChangeActiveTextEditor((e) => {
				if (e) this.lastEditor = e;
			}),
		);
	}

	resolveWebviewView(view: vscode.WebviewView): void {
		this.view = view;
		this.ready = false;
		// Narrow roots; no retainContextWhenHidden: the webview restores itself from getState and `ready`.
		view.webview.options = { enableScripts: true, localResourceRoots: webviewRoots(this.deps.extensionUri) };
		view.webview.html = webviewHtml(view.webview, this.deps.extensionUri, 'steering.js', 'Steering', ['steering.css']);
		view.webview.onDidReceiveMessage((raw: unknown) => {
			const message = parseFromSteeringView(raw);
			if (message) void this.handle(message);
			else this.deps.log.warn('steering view: ignored a malformed message from the webview');
		});
		view.onDidChangeVisibility(() => {
			if (!view.visible) this.ready = false;
		});
		view.onDidDispose(() => {
			if (this.view === view) this.view = undefined;
			this.ready = false;
		});
	}

	/** Opens the sidebar with `prompt` in its prompt box. */
	async steerPrompt(prompt: string): Promise<void> {
		this.send({ type: 'prompt', prompt });
		await this.reveal();
	}

	/** Opens the sidebar and adds feature `featureIndex` to the list (or focuses it). */
	async steerFeature(featureIndex: number): Promise<void> {
		const loaded = await this.deps.session.ensureReady();
		if (featureIndex >= loaded.sae.dSae) throw new Error(`feature ${featureIndex} does not exist: the SAE at ${loaded.sae.hookName} has ${loaded.sae.dSae} features (0 to ${loaded.sae.dSae - 1})`);
		this.send({ type: 'addFeature', featureIndex, label: await this.labelOf(featureIndex) });
		await this.reveal();
	}

	/** After the session loaded a model and SAE: the view's range checks and presets follow. */
	saeLoaded(): void {
		this.postContext();
		this.postPresets();
	}

	/** After inline completions were switched on or off. */
	inlineChanged(): void {
		this.postContext();
	}

	dispose(): void {
		this.runs.cancel();
		this.search?.cancel();
		for (const d of this.disposables) d.dispose();
	}

	private async reveal(): Promise<void> {
		if (this.view) this.view.show(true);
		else await vscode.commands.executeCommand(`${VIEWS.steering}.focus`);
	}

	/** Posts now when the webview listens, else keeps it for `ready`. */
	private send(message: ToSteeringView): void {
		if (this.view && this.ready) void this.view.webview.postMessage(message);
		else this.queued.push(message);
	}

	/** Posts to a listening webview; dropped otherwise (`ready` re-sends the state). */
	private post(message: ToSteeringView): void {
		if (this.view && this.ready) void this.view.webview.postMessage(message);
	}

	private saeInfo(): SteeringSaeInfo | undefined {
		const loaded = this.deps.session.current;
		return loaded?.sae ? saeInfoOf({ model: loaded.model, sae: loaded.sae }) : undefined;
	}

	private postContext(): void {
		this.post({ type: 'context', sae: this.saeInfo(), inlineEnabled: this.deps.inlineEnabled() });
	}

	private postPresets(): void {
		const sae = this.deps.session.current?.sae;
		this.post({ type: 'presets', names: sae ? this.deps.presets.list(sae).map((p) => p.name) : [] });
	}

	private notice(message: string, error = false): void {
		this.post({ type: 'notice', message, ...(error ? { error } : {}) });
	}

	private async handle(message: FromSteeringView): Promise<void> {
		try {
			await this.dispatch(message);
		} catch (err) {
			const text = errorMessage(err);
			this.deps.log.error(`steering: ${text}`);
			this.notice(text, true);
		}
	}

	private async dispatch(message: FromSteeringView): Promise<void> {
		const { current } = this.deps;
		switch (message.type) {
			case 'ready': {
				this.ready = true;
				this.post({ type: 'setup', setup: current.setup, sampling: current.sampling });
				this.postContext();
				this.postPresets();
				const run = this.runs.view;
				if (run) this.post(this.runs.running ? { type: 'runStarted', run: JSON.parse(JSON.stringify(run)) as typeof run } : { type: 'runEnded', run });
				const queued = this.queued;
				this.queued = [];
				for (const m of queued) this.post(m);
				// Load the model and SAE in the background so the picker can check feature numbers (the session's change event tells the view).
				if (!this.deps.session.current?.sae) this.deps.session.ensureReady().catch((err: unknown) => this.deps.log.warn(`steering view: ${errorMessage(err)}`));
				return;
			}
			case 'setupChanged':
				current.set(message.setup, message.sampling);
				return;
			case 'search':
				return this.searchFeatures(message.query);
			case 'lookupLabel': {
				const label = await this.labelOf(message.featureIndex);
				if (label) this.post({ type: 'featureLabel', featureIndex: message.featureIndex, label });
				return;
			}
			case 'generate': {
				const loaded = await this.checked(message.prompt, message.setup, message.sampling);
				if (!loaded) return;
				current.set(message.setup, message.sampling);
				await this.runs.compare({ prompt: message.prompt, setup: message.setup, sampling: message.sampling, saeSource: loaded.sae.source });
				return;
			}
			case 'sweep': {
				const loaded = await this.checked(message.prompt, message.setup, message.sampling);
				if (!loaded) return;
				await this.runs.sweep(message);
				return;
			}
			case 'cancel':
				this.runs.cancel();
				return;
			case 'insert':
				return this.insert(message.text);
			case 'copy':
				await vscode.env.clipboard.writeText(message.text);
				this.notice(`Copied ${message.text.length} characters.`);
				return;
			case 'savePreset':
				return this.savePreset(message.setup, message.name);
			case 'loadPreset': {
				const loaded = await this.deps.session.ensureReady();
				const preset = this.deps.presets.get(loaded.sae, message.name);
				if (!preset) throw new Error(`no preset "${message.name}" for this SAE`);
				const setup: SteeringSetup = { entries: preset.entries, positions: preset.positions };
				current.set(setup, current.sampling);
				this.post({ type: 'setup', setup });
				this.notice(`Loaded preset "${preset.name}".`);
				return;
			}
			case 'deletePreset': {
				const loaded = await this.deps.session.ensureReady();
				const choice = await vscode.window.showWarningMessage(`Delete the steering preset "${message.name}"?`, { modal: true }, 'Delete');
				if (choice !== 'Delete') return;
				await this.deps.presets.remove(loaded.sae, message.name);
				this.postPresets();
				this.notice(`Deleted preset "${message.name}".`);
				return;
			}
			case 'openDashboard':
				await vscode.commands.executeCommand(COMMANDS.openFeatureDashboard, message.featureIndex);
				return;
			case 'traceToken':
				await vscode.commands.executeCommand(COMMANDS.traceCompletionToken, this.runs.traceable(message.runId, message.which));
				return;
			case 'toggleInline':
				await vscode.commands.executeCommand(COMMANDS.toggleInlineSteering);
				return;
		}
	}

	/** The loaded model and SAE when the request can run; otherwise tells the view what to fix and returns undefined. */
	private async checked(prompt: string, setup: SteeringSetup, sampling: SamplingSettings): Promise<Ready | undefined> {
		const loaded = await this.deps.session.ensureReady();
		this.postContext();
		const problems = [
			...(prompt.length === 0 ? ['the prompt is empty: give the model some text to continue'] : []),
			...setupProblems(setup, loaded.sae.dSae),
			...samplingProblems(sampling, loaded.model.nCtx),
		];
		if (problems.length === 0) return loaded;
		this.notice(problems.join('; '), true);
		return undefined;
	}

	private async searchFeatures(query: string): Promise<void> {
		this.search?.cancel();
		const source = new vscode.CancellationTokenSource();
		this.search = source;
		const loaded = await this.deps.session.ensureReady();
		const { dSae } = loaded.sae;
		const number = typedFeatureNumber(query);
		const hits: PickerHit[] = [];
		let note: string | undefined;
		if (number !== undefined) {
			if (number < dSae) hits.push({ featureIndex: number, label: '', detail: '' });
			else note = `This SAE has ${dSae} features: 0 to ${dSae - 1}.`;
		}
		if (query.trim()) {
			try {
				const found = await this.deps.engine.request(SearchFeaturesRequest, { query: query.trim().replace(/^#(?=\d+$)/, ''), limit: SEARCH_LIMIT }, source.token);
				if (source.token.isCancellationRequested) return;
				for (const h of found) {
					const hit = toPickerHit(h);
					const same = hits.findIndex((x) => x.featureIndex === hit.featureIndex);
					if (same >= 0) hits[same] = hit;
					else hits.push(hit);
				}
				if (hits.length === 0 && !note) note = 'No feature label matches. Labels come from "Feature Lens: Analyse Features…"; a feature number always works.';
			} catch (err) {
				if (source.token.isCancellationRequested) return;
				note ??= `Search failed: ${errorMessage(err)}`;
			}
		}
		if (this.search === source) this.search = undefined;
		source.dispose();
		this.post({ type: 'searchResults', query, hits, ...(note ? { note } : {}) });
	}

	/** The feature's label from the engine's analysis, or "" (none, or the search failed). */
	private async labelOf(featureIndex: number): Promise<string> {
		try {
			const found = await this.deps.engine.request(SearchFeaturesRequest, { query: String(featureIndex), limit: 5 });
			return found.find((h) => h.featureIndex === featureIndex)?.label ?? '';
		} catch {
			return '';
		}
	}

	private async insert(text: string): Promise<void> {
		const editor = vscode.window.activeTextEditor ?? this.lastEditor;
		if (!editor || editor.document.isClosed) throw new Error('no editor to insert into: click into a file first');
		// After the selection (the selection is usually the prompt, so the completion continues it).
		const at = editor.selection.end;
		const inserted = insertionText(text, editor.document.lineAt(at.line).text.slice(at.character));
		const ok = await editor.edit((edit) => edit.insert(at, inserted));
		if (!ok) throw new Error('the editor refused the edit (is the file read-only?)');
		const end = editor.document.positionAt(editor.document.offsetAt(at) + text.length);
		editor.selection = new vscode.Selection(end, end);
		await vscode.window.showTextDocument(editor.document, { viewColumn: editor.viewColumn, preserveFocus: false });
		this.notice(`Inserted ${text.length} characters into ${vscode.workspace.asRelativePath(editor.document.uri)}.`);
	}

	private async savePreset(setup: SteeringSetup, typed?: string): Promise<void> {
		const loaded = await this.deps.session.ensureReady();
		const existing = this.deps.presets.list(loaded.sae).map((p) => p.name);
		const name =
			typed ??
			(await vscode.window.showInputBox({
				title: 'Feature Lens: Save Steering Preset',
				prompt: `A name for this steering (saved for the SAE at ${loaded.sae.hookName})`,
				value: setup.entries
					.filter((e) => e.enabled)
					.map((e) => `#${e.featureIndex} ${e.mode} ${e.strength}`)
					.join(', ')
					.slice(0, 60),
				validateInput: (v) => presetNameError(v) ?? (existing.includes(v.trim()) ? { message: 'Replaces the preset of this name', severity: vscode.InputBoxValidationSeverity.Warning } : undefined),
			}));
		if (name === undefined) return;
		const preset = await this.deps.presets.save(loaded.sae, name, setup);
		this.postPresets();
		this.notice(`Saved preset "${preset.name}"${existing.includes(preset.name) ? ' (replaced)' : ''}.`);
	}
}

export function saeInfoOf(loaded: Ready): SteeringSaeInfo {
	return { source: loaded.sae.source, hookName: loaded.sae.hookName, dSae: loaded.sae.dSae, modelName: loaded.model.name, nCtx: loaded.model.nCtx };
}

function toPickerHit(h: FeatureSearchHit): PickerHit {
	const stats = h.density > 0 || h.maxActivation > 0 ? `density ${(100 * h.density).toPrecision(2)}% · max ${h.maxActivation.toFixed(1)}` : '';
	return { featureIndex: h.featureIndex, label: h.label, detail: [stats, h.dead ? 'dead' : '', h.dense ? 'dense' : ''].filter(Boolean).join(' · ') };
}
