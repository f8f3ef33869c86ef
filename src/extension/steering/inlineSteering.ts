// Steered completions at the cursor: an inline completion provider (off by default) that asks
// the local model for a short continuation of the text before the cursor with the sidebar's
// steering applied, shown as ghost text. Requests are debounced and only the newest runs; the
// editor's cancellation (the next keystroke) cancels the JSON-RPC request, so typing never
// waits on the model. A status-bar item shows whether it is on and toggles it.

import * as vscode from 'vscode';
import { SteerTokenNotification, SteeredGenerateRequest } from '../../protocol/steerProtocol';
import { errorMessage, isCancelled } from '../../protocol/errors';
import type { EngineProcess } from '../engineProcess';
import type { ModelSession } from '../modelSession';
import { COMMANDS, SETTINGS_SECTION } from '../commands';
import type { CurrentSteering } from './currentSteering';
import { DebouncedRequests } from './debounce';
import { ghostText, inlinePrompt } from './inlinePrompt';
import { setupProblems, toSteerSpec } from '../../protocol/steeringSetup';
import type { ContrastVectors } from './contrastVectors';
import { pinnedToSae, shownTokens } from '../attribution/traceToken';
import type { TraceableCompletion } from '../attribution/traceToken';

const ENABLED = 'inlineSteering.enabled';
const MAX_TOKENS = 'inlineSteering.maxNewTokens';
/** Wait this long after a keystroke before asking the model (a newer keystroke restarts it). */
const DEBOUNCE_MS = 300;
/** Lines before the cursor read from the document; the prompt is cut to the context after that. */
const MAX_LINES = 400;
/** Shown completions remembered for their accept command (the editor shows one at a time). */
const KEEP_SHOWN = 8;

export function inlineSteeringEnabled(): boolean {
	return vscode.workspace.getConfiguration(SETTINGS_SECTION).get<boolean>(ENABLED, false);
}

/** Switches steered inline completions on or off (in the scope where the setting is set, else for the user). */
export async function toggleInlineSteering(): Promise<boolean> {
	const cfg = vscode.workspace.getConfiguration(SETTINGS_SECTION);
	const next = !inlineSteeringEnabled();
	const inspect = cfg.inspect<boolean>(ENABLED);
	const target =
		inspect?.workspaceFolderValue !== undefined
			? vscode.ConfigurationTarget.WorkspaceFolder
			: inspect?.workspaceValue !== undefined
				? vscode.ConfigurationTarget.Workspace
				: vscode.ConfigurationTarget.Global;
	await cfg.update(ENABLED, next, target);
	return next;
}

export class SteeredInlineCompletions implements vscode.InlineCompletionItemProvider {
	private readonly requests = new DebouncedRequests(DEBOUNCE_MS);
	private lastProblem: string | undefined;
	/** Completions recently shown as ghost text (their tokens up to what they showed), by the number their item's accept command carries. */
	private readonly shown = new Map<number, TraceableCompletion>();
	private shownCount = 0;
	private lastShown: TraceableCompletion | undefined;
	private lastAccepted: TraceableCompletion | undefined;

	constructor(
		private readonly engine: EngineProcess,
		private readonly session: ModelSession,
		private readonly steering: CurrentSteering,
		private readonly log: vscode.LogOutputChannel,
		private readonly contrast: ContrastVectors,
	) {}

	async provideInlineCompletionItems(
		document: vscode.TextDocument,
		position: vscode.Position,
		_context: vscode.InlineCompletionContext,
		token: vscode.CancellationToken,
	): Promise<vscode.InlineCompletionItem[] | undefined> {
		if (!inlineSteeringEnabled()) return undefined;
		const before = document.getText(new vscode.Range(Math.max(0, position.line - MAX_LINES), 0, position.line, position.character));
		if (before.trim().length === 0) return undefined;
		const maxNewTokens = Math.max(1, Math.min(64, vscode.workspace.getConfiguration(SETTINGS_SECTION).get<number>(MAX_TOKENS, 16)));
		try {
			const shown = await this.requests.run(token, async (requestToken): Promise<{ text: string; completion: TraceableCompletion } | undefined> => {
				const loaded = await this.session.ensureReady();
				const prompt = inlinePrompt(before, { nCtx: loaded.model.nCtx, maxNewTokens });
				if (prompt === undefined || requestToken.isCancellationRequested) return undefined;
				const { setup, sampling } = this.steering;
				const problems = setupProblems(setup, loaded.sae.dSae);
				if (problems.length) {
					this.report(`steered inline completions are paused until the sidebar's steering is fixed: ${problems.join('; ')}`);
					return undefined;
				}
				// Ghost text shows the whole completion at once, so its streamed tokens are not listened to.
				const steer = { ...toSteerSpec(setup), vectors: await this.contrast.vectorsFor(setup) };
				const result = await this.engine.requestWithProgress(
					SteeredGenerateRequest,
					{
						prompt,
						steer,
						baseline: false,
						maxNewTokens,
						temperature: sampling.temperature,
						topP: sampling.topP,
						seed: sampling.seed,
					},
					SteerTokenNotification,
					() => {},
					requestToken,
				);
				if (result.cancelled) return undefined;
				const text = ghostText(result.steered.text);
				if (!text) return undefined;
				const pieces = result.steered.pieces ?? [];
				const tokens = shownTokens(
					result.steered.ids.map((id, i) => ({ id, text: pieces[i] ?? '' })),
					text.length,
				);
				return { text, completion: { what: 'inline completion', prompt, promptIds: result.promptIds, tokens, steer: pinnedToSae(steer, loaded.sae.source) } };
			});
			if (!shown) return undefined;
			this.lastShown = shown.completion;
			// Accepting it runs the accept command with its number, so tracing knows which one was taken.
			const key = ++this.shownCount;
			this.shown.set(key, shown.completion);
			for (const old of this.shown.keys()) if (old <= key - KEEP_SHOWN) this.shown.delete(old);
			const item = new vscode.InlineCompletionItem(shown.text, new vscode.Range(position, position));
			item.command = { command: COMMANDS.acceptedInlineCompletion, title: 'Accepted', arguments: [key] };
			return [item];
		} catch (err) {
			// A cancelled request is the normal fate of most of them; anything else goes to the log once.
			if (!token.isCancellationRequested && !isCancelled(err)) this.report(`steered inline completion failed: ${errorMessage(err)}`);
			return undefined;
		}
	}

	/** Its item's accept command: that completion is the one to trace. */
	accepted(key: unknown): void {
		const completion = typeof key === 'number' ? this.shown.get(key) : undefined;
		if (completion) this.lastAccepted = completion;
	}

	/**
	 * The completion "Trace a Token of the Inline Completion" traces: the last one accepted (the
	 * provider has usually shown the next one by then), else the last one shown.
	 */
	get traceable(): TraceableCompletion | undefined {
		return this.lastAccepted ?? this.lastShown;
	}

	dispose(): void {
		this.requests.cancel();
	}

	/** Logs a problem once until it changes, since the provider runs on every pause in typing. */
	private report(problem: string): void {
		if (problem === this.lastProblem) return;
		this.lastProblem = problem;
		this.log.warn(problem);
	}
}

/** The status-bar item: "Steer on/off"; clicking toggles. */
export class InlineSteeringStatus implements vscode.Disposable {
	private readonly item = vscode.window.createStatusBarItem('featureLens.inlineSteering', vscode.StatusBarAlignment.Right, 99);

	constructor(private readonly steering: CurrentSteering) {
		this.item.name = 'Feature Lens: Steered Inline Completions';
		this.item.command = COMMANDS.toggleInlineSteering;
		this.update();
		this.item.show();
	}

	update(): void {
		const on = inlineSteeringEnabled();
		this.item.text = on ? '$(sparkle) Steer: on' : '$(circle-slash) Steer: off';
		this.item.tooltip = on
			? `Steered inline completions are on (${this.steering.describe()}). Click to turn them off.`
			: "Steered inline completions are off. Click to turn them on (they apply the Steering sidebar's features).";
		this.item.accessibilityInformation = { label: `Steered inline completions ${on ? 'on' : 'off'}`, role: 'button' };
	}

	dispose(): void {
		this.item.dispose();
	}
}
