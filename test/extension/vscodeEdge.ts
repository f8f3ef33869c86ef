// The VS Code API at the edge of host-side tests: a stand-in for the `vscode` module that records
// what the extension registers and shows, and answers its questions (quick picks, open dialogs,
// input boxes) from a script the test writes. Only the API's surface is stood in for; the host
// code under test and the engine it drives are the real ones. Import this before any module that
// imports `vscode`.

import * as fs from 'node:fs';
import { Module } from 'node:module';
import * as path from 'node:path';

type Handler = (...args: unknown[]) => unknown;

interface FakeUri {
	fsPath: string;
	path: string;
	toString(): string;
}

function uri(fsPath: string): FakeUri {
	return { fsPath, path: fsPath, toString: () => `file://${fsPath}` };
}

/** A webview panel that records the HTML it was given and the messages posted to it. */
export class FakeWebviewPanel {
	readonly posted: unknown[] = [];
	revealed = 0;
	private receive: Handler | undefined;
	readonly webview = {
		html: '',
		cspSource: 'vscode-resource:',
		asWebviewUri: (u: FakeUri) => u,
		postMessage: async (m: unknown) => {
			this.posted.push(m);
			return true;
		},
		onDidReceiveMessage: (h: Handler) => {
			this.receive = h;
			return { dispose: () => {} };
		},
	};
	constructor(
		readonly viewType: string,
		readonly title: string,
	) {}
	disposed = false;
	onDidDispose(): { dispose(): void } {
		return { dispose: () => {} };
	}
	dispose(): void {
		this.disposed = true;
	}
	reveal(): void {
		this.revealed++;
	}
	/** A message from the webview's script. */
	fromWebview(message: unknown): void {
		this.receive?.(message);
	}
}

/** What the extension did through the API, and the answers the test scripts for it. */
export const edge = {
	commands: new Map<string, Handler>(),
	executed: [] as { command: string; args: unknown[] }[],
	messages: [] as { kind: 'info' | 'error'; text: string }[],
	panels: [] as FakeWebviewPanel[],
	/** registerWebviewPanelSerializer's, by view type: what restores a panel after a window reload. */
	serializers: new Map<string, { deserializeWebviewPanel(panel: FakeWebviewPanel, state: unknown): Promise<void> }>(),
	logShown: 0,
	/** Answers for the next quick picks: chooses the item whose label matches, or dismisses (undefined). */
	quickPicks: [] as (RegExp | undefined)[],
	/** What the last quick pick offered. */
	lastQuickPick: [] as string[],
	/** Answers for the next open dialogs: a path, or undefined for a dismissed dialog. */
	openDialogs: [] as (string | undefined)[],
	/** Answers for the next input boxes (checked by their validateInput first), or undefined for a dismissed one. */
	inputBoxes: [] as (string | undefined)[],
	/** The active editor: a document's text and the selection's offsets into it (none when undefined). */
	editor: undefined as { text: string; selectionStart: number; selectionEnd: number } | undefined,
	/** `featureLens.*` settings as workspace.getConfiguration reads them. */
	settings: new Map<string, unknown>(),
	/** The progress notifications' token: the test cancels it (the Cancel button); a fresh, uncancelled one when undefined. */
	progressToken: undefined as { isCancellationRequested: boolean; onCancellationRequested: (h: () => void) => { dispose(): void } } | undefined,
	/** Answers for the next save dialogs: a path, or undefined for a dismissed dialog. */
	saveDialogs: [] as (string | undefined)[],
	/** Each progress report's message. */
	progressReports: [] as string[],
	reset(): void {
		this.editor = undefined;
		this.progressToken = undefined;
		this.progressReports.length = 0;
		this.saveDialogs.length = 0;
		this.executed.length = 0;
		this.messages.length = 0;
		this.panels.length = 0;
		this.logShown = 0;
		this.quickPicks.length = 0;
		this.openDialogs.length = 0;
		this.inputBoxes.length = 0;
	},
	/** Runs a registered command as VS Code would. */
	async run(command: string, ...args: unknown[]): Promise<unknown> {
		const handler = this.commands.get(command);
		if (!handler) throw new Error(`no command ${command} is registered`);
		return handler(...args);
	},
};

const disposable = { dispose: () => {} };

const fakeVscode = {
	Uri: { file: uri, joinPath: (base: FakeUri, ...parts: string[]) => uri(path.join(base.fsPath, ...parts)) },
	ProgressLocation: { Notification: 15, Window: 10 },
	ViewColumn: { Active: -1, Beside: -2 },
	commands: {
		registerCommand: (id: string, handler: Handler) => {
			edge.commands.set(id, handler);
			return disposable;
		},
		executeCommand: async (command: string, ...args: unknown[]) => {
			edge.executed.push({ command, args });
			return edge.commands.get(command)?.(...args);
		},
	},
	window: {
		showInformationMessage: async (text: string) => {
			edge.messages.push({ kind: 'info', text });
			return undefined;
		},
		showErrorMessage: async (text: string) => {
			edge.messages.push({ kind: 'error', text });
			return undefined;
		},
		showQuickPick: async <T extends { label: string }>(items: readonly T[] | Promise<readonly T[]>) => {
			const list = await items;
			edge.lastQuickPick = list.map((i) => i.label);
			if (!edge.quickPicks.length) throw new Error(`an unscripted quick pick: ${edge.lastQuickPick.join(', ')}`);
			const want = edge.quickPicks.shift();
			return want && list.find((i) => want.test(i.label));
		},
		showOpenDialog: async () => {
			if (!edge.openDialogs.length) throw new Error('an unscripted open dialog');
			const answer = edge.openDialogs.shift();
			return answer === undefined ? undefined : [uri(answer)];
		},
		showSaveDialog: async () => {
			if (!edge.saveDialogs.length) throw new Error('an unscripted save dialog');
			const answer = edge.saveDialogs.shift();
			return answer === undefined ? undefined : uri(answer);
		},
		showInputBox: async (options: { validateInput?: (v: string) => string | undefined }) => {
			if (!edge.inputBoxes.length) throw new Error('an unscripted input box');
			const answer = edge.inputBoxes.shift();
			const invalid = answer === undefined ? undefined : options.validateInput?.(answer);
			if (invalid) throw new Error(`the input box refuses ${answer}: ${invalid}`);
			return answer;
		},
		registerWebviewPanelSerializer: (viewType: string, serializer: { deserializeWebviewPanel(panel: FakeWebviewPanel, state: unknown): Promise<void> }) => {
			edge.serializers.set(viewType, serializer);
			return disposable;
		},
		withProgress: async <T>(
			_options: unknown,
			task: (progress: { report(p: { message?: string }): void }, token: { isCancellationRequested: boolean; onCancellationRequested(h: () => void): typeof disposable }) => Promise<T>,
		) =>
			task(
				{
					report: (p) => {
						if (p.message) edge.progressReports.push(p.message);
					},
				},
				edge.progressToken ?? { isCancellationRequested: false, onCancellationRequested: () => disposable },
			),
		get activeTextEditor() {
			const e = edge.editor;
			if (!e) return undefined;
			return {
				document: { getText: () => e.text, offsetAt: (offset: number) => offset },
				// Offsets stand in for positions: offsetAt above gives them back.
				selection: { start: e.selectionStart, end: e.selectionEnd },
			};
		},
		createWebviewPanel: (viewType: string, title: string) => {
			const panel = new FakeWebviewPanel(viewType, title);
			edge.panels.push(panel);
			return panel;
		},
		setStatusBarMessage: () => disposable,
	},
	env: { clipboard: { writeText: async () => {} } },
	workspace: {
		workspaceFolders: undefined,
		fs: {
			writeFile: async (target: FakeUri, data: Uint8Array) => {
				await fs.promises.writeFile(target.fsPath, data);
			},
		},
		getConfiguration: () => ({
			get: <T>(key: string, fallback: T): T => (edge.settings.has(key) ? (edge.settings.get(key) as T) : fallback),
			update: async (key: string, value: unknown) => {
				edge.settings.set(key, value);
			},
		}),
	},
	ConfigurationTarget: { Global: 1 },
};

/** A log channel that records its lines; show() is counted in edge.logShown. */
export function fakeLog(): { lines: string[]; info(m: string): void; error(m: string): void; warn(m: string): void; show(): void } {
	const lines: string[] = [];
	return {
		lines,
		info: (m) => lines.push(`info: ${m}`),
		error: (m) => lines.push(`error: ${m}`),
		warn: (m) => lines.push(`warn: ${m}`),
		show: () => {
			edge.logShown++;
		},
	};
}

/** A context whose subscriptions are kept, for registerXCommands(context, …). */
export function fakeContext(): { subscriptions: { dispose(): void }[]; extensionUri: FakeUri; asAbsolutePath(relative: string): string } {
	const root = path.join(__dirname, '..', '..');
	return { subscriptions: [], extensionUri: uri(root), asAbsolutePath: (relative) => path.join(root, relative) };
}

// Node resolves `vscode` to the stand-in from here on (the real module exists only inside VS Code).
const load = (Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown })._load;
(Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown })._load = function (request: string, ...rest: unknown[]) {
	return request === 'vscode' ? fakeVscode : load.call(this, request, ...rest);
};
