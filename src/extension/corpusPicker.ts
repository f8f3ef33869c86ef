// Choosing a corpus: the demo corpus, workspace files by glob (honouring files.exclude and
// .gitignore), or a file. Shared by Train SAE… and Analyse Features…, so both offer the same choices.

import * as vscode from 'vscode';
import { DEMO } from '../protocol/engineProtocol';
import { filterGitignored } from './training/gitignoreFilter';

interface Choice<T> extends vscode.QuickPickItem {
	value: T;
}

/** "demo", a file path, or the matching workspace files; undefined when the user backs out. `purpose` names the text, e.g. "Training text". */
export async function askCorpus(title: string, purpose: string): Promise<string | string[] | undefined> {
	const kind = await vscode.window.showQuickPick<Choice<typeof DEMO | 'workspace' | 'file'>>(
		[
			{ label: 'Demo corpus', description: 'held-out Python standard library files shipped with Feature Lens', value: DEMO },
			{ label: 'Workspace files…', description: 'by glob, honouring files.exclude and .gitignore', value: 'workspace' },
			{ label: 'A file…', description: 'a text file, or JSONL with a "text" field', value: 'file' },
		],
		{ title, placeHolder: purpose },
	);
	if (!kind) return undefined;
	if (kind.value === DEMO) return DEMO;
	if (kind.value === 'file') {
		const picked = await vscode.window.showOpenDialog({ canSelectMany: false, title: purpose });
		return picked?.[0]?.fsPath;
	}
	const glob = await vscode.window.showInputBox({ title, prompt: `${purpose}: workspace files (glob)`, value: '**/*.py' });
	if (!glob) return undefined;
	// findFiles leaves out files.exclude; .gitignore is applied here.
	const found = (await vscode.workspace.findFiles(glob, undefined, 50_000)).filter((f) => f.scheme === 'file').map((f) => f.fsPath);
	const files = filterGitignored(
		found,
		(vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath),
	);
	if (files.length === 0) {
		void vscode.window.showWarningMessage(
			found.length === 0 ? `Feature Lens: no workspace files match ${glob}.` : `Feature Lens: all ${found.length} workspace files matching ${glob} are ignored by .gitignore.`,
		);
		return undefined;
	}
	return files;
}
