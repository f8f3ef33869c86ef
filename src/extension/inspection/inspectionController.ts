// "Feature Lens: Inspect Selection": runs the selection (or the current line) through the model
// and SAE in the engine, colours each token's exact range by activation, and answers hovers
// with the token's top features. Highlights are dropped as soon as the document changes, so
// they are never left on the wrong characters.

import * as vscode from 'vscode';
import { InspectProgressNotification, InspectRequest, saeSite } from '../../protocol/engineProtocol';
import type { InspectResult } from '../../protocol/engineProtocol';
import { errorMessage, isCancelled } from '../../protocol/errors';
import type { EngineProcess } from '../engineProcess';
import type { ModelSession } from '../modelSession';
import { LEVELS, computeHighlights, escapeMarkdown, hoverLines, tokenAt } from './highlights';
import type { HighlightMode } from './highlights';
import { neuronpediaFeatureUrl } from '../hub/neuronpedia';
import { COMMANDS, SETTINGS_SECTION } from '../commands';

interface Inspection {
	document: vscode.TextDocument;
	version: number;
	/** Document offset where the inspected text starts. */
	base: number;
	result: InspectResult;
	mode: HighlightMode;
}

export class InspectionController implements vscode.Disposable {
	private readonly decorationTypes: vscode.TextEditorDecorationType[];
	private readonly inspections = new Map<string, Inspection>();
	private readonly disposables: vscode.Disposable[] = [];

	constructor(
		private readonly engine: EngineProcess,
		private readonly session: ModelSession,
		/** Told about each finished inspection (undefined when highlights are cleared). */
		private readonly onInspected: (result: InspectResult | undefined) => void = () => {},
	) {
		this.decorationTypes = Array.from({ length: LEVELS }, (_, i) =>
			vscode.window.createTextEditorDecorationType({
				backgroundColor: new vscode.ThemeColor(`featureLens.activation${i + 1}`),
				borderRadius: '2px',
			}),
		);
		this.disposables.push(
			vscode.commands.registerCommand(COMMANDS.inspectSelection, () => this.inspectSelection()),
			vscode.commands.registerCommand(COMMANDS.clearHighlights, () => this.clear()),
			vscode.commands.registerCommand(COMMANDS.focusFeature, (featureIndex: number) => this.focus(featureIndex)),
			vscode.languages.registerHoverProvider({ pattern: '**' }, { provideHover: (doc, pos) => this.hover(doc, pos) }),
			vscode.workspace.onDidChangeTextDocument((e) => {
				if (e.contentChanges.length > 0 && this.inspections.has(e.document.uri.toString())) this.clear(e.document);
			}),
			vscode.window.onDidChangeVisibleTextEditors(() => this.render()),
			vscode.workspace.onDidChangeConfiguration((e) => {
				if (e.affectsConfiguration(`${SETTINGS_SECTION}.highlight`)) this.render();
			}),
		);
	}

	async inspectSelection(): Promise<void> {
		const editor = vscode.window.activeTextEditor;
		if (!editor) {
			void vscode.window.showInformationMessage('Feature Lens: open a file and select some text to inspect.');
			return;
		}
		const range = editor.selection.isEmpty ? editor.document.lineAt(editor.selection.active.line).range : editor.selection;
		const text = editor.document.getText(range);
		if (text.trim().length === 0) {
			void vscode.window.showInformationMessage('Feature Lens: the selection is empty; select some text (or put the cursor on a non-empty line).');
			return;
		}
		const document = editor.document;
		const version = document.version;
		const topFeatures = vscode.workspace.getConfiguration(SETTINGS_SECTION).get<number>('hover.topFeatures', 5);
		await vscode.window
			.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Feature Lens', cancellable: true }, async (progress, token) => {
				progress.report({ message: 'loading the model and SAE…' });
				await this.session.ensureReady();
				if (token.isCancellationRequested) return; // cancelled while the model and SAE were loading
				let reported = 0;
				const result = await this.engine.requestWithProgress(
					InspectRequest,
					{ text, topFeatures },
					InspectProgressNotification,
					(p) => {
						const pct = (100 * p.done) / p.total;
						progress.report({ message: `inspecting ${p.done}/${p.total} tokens`, increment: pct - reported });
						reported = pct;
					},
					token,
				);
				if (document.version !== version) return; // edited meanwhile: the offsets no longer hold
				const dense = new Set(this.session.current?.sae?.denseFeatures ?? []);
				this.inspections.set(document.uri.toString(), { document, version, base: document.offsetAt(range.start), result, mode: { kind: 'strongest', ignore: dense } });
				this.render();
				this.onInspected(result);
			})
			.then(undefined, (err: unknown) => {
				if (isCancelled(err)) return;
				void vscode.window.showErrorMessage(`Feature Lens: ${errorMessage(err)}`);
			});
	}

	/** Re-colours the inspected text by one feature. */
	focus(featureIndex: number): void {
		for (const inspection of this.inspections.values()) inspection.mode = { kind: 'feature', featureIndex };
		this.render();
		void vscode.window.setStatusBarMessage(`Feature Lens: colouring by feature ${featureIndex}`, 3000);
	}

	clear(document?: vscode.TextDocument): void {
		if (document) this.inspections.delete(document.uri.toString());
		else this.inspections.clear();
		this.render();
		if (this.inspections.size === 0) this.onInspected(undefined);
	}

	private render(): void {
		for (const editor of vscode.window.visibleTextEditors) {
			const inspection = this.inspections.get(editor.document.uri.toString());
			const byLevel: vscode.Range[][] = Array.from({ length: LEVELS }, () => []);
			if (inspection) {
				const minFraction = vscode.workspace.getConfiguration(SETTINGS_SECTION).get<number>('highlight.minFraction', 0.05);
				for (const h of computeHighlights(inspection.result.tokens, inspection.base, inspection.mode, minFraction)) {
					byLevel[h.level - 1]!.push(new vscode.Range(editor.document.positionAt(h.start), editor.document.positionAt(h.end)));
				}
			}
			this.decorationTypes.forEach((type, i) => editor.setDecorations(type, byLevel[i]!));
		}
	}

	private hover(document: vscode.TextDocument, position: vscode.Position): vscode.Hover | undefined {
		const inspection = this.inspections.get(document.uri.toString());
		if (!inspection || inspection.version !== document.version) return undefined;
		const index = tokenAt(inspection.result.tokens, inspection.base, document.offsetAt(position));
		if (index === undefined) return undefined;
		const token = inspection.result.tokens[index]!;
		const md = new vscode.MarkdownString(undefined, true);
		md.isTrusted = { enabledCommands: [COMMANDS.focusFeature, COMMANDS.openFeatureDashboard, COMMANDS.steerFeature] };
		const { hookName, hookNameOut } = inspection.result;
		md.appendMarkdown(`**Feature Lens** · token “${escapeMarkdown(token.text)}” at ${escapeMarkdown(saeSite({ hookName, ...(hookNameOut ? { transcoder: { hookNameOut } } : {}) }))}\n\n`);
		const rows = hoverLines(token, new Map(Object.entries(inspection.result.labels ?? {}).map(([i, label]) => [Number(i), label])));
		const dense = new Set(this.session.current?.sae?.denseFeatures ?? []);
		const neuronpediaId = this.session.current?.sae?.neuronpediaId;
		if (rows.length === 0) md.appendMarkdown('No feature fires on this token.');
		for (const row of rows) {
			const args = encodeURIComponent(JSON.stringify([row.featureIndex]));
			const link = `command:${COMMANDS.focusFeature}?${args}`;
			const dashboard = `[dashboard](command:${COMMANDS.openFeatureDashboard}?${args} "Open this feature's dashboard")`;
			const steer = `[steer](command:${COMMANDS.steerFeature}?${args} "Steer with this feature")`;
			const neuronpedia = neuronpediaId ? ` · [Neuronpedia](${neuronpediaFeatureUrl(neuronpediaId, row.featureIndex)} "This feature on Neuronpedia")` : '';
			md.appendMarkdown(
				`- [feature ${row.featureIndex}](${link} "Colour the text by this feature") · ${dashboard} · ${steer}${neuronpedia} · ${row.activation.toFixed(2)} · ${(100 * row.share).toFixed(0)}%${row.label ? ` · ${escapeMarkdown(row.label)}` : ''}${dense.has(row.featureIndex) ? ' · dense (fires on >10% of tokens)' : ''}\n`,
			);
		}
		const start = document.positionAt(inspection.base + token.start);
		const end = document.positionAt(inspection.base + token.end);
		return new vscode.Hover(md, new vscode.Range(start, end));
	}

	dispose(): void {
		for (const d of [...this.disposables, ...this.decorationTypes]) d.dispose();
	}
}
