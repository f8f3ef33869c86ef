// The first-run path: "Inspect the Demo" (a Python snippet the demo model knows, inspected in
// an untitled editor, so it works before any folder is open) and "Get Started", which opens
// the walkthrough (contributes.walkthroughs). The Features view's welcome content links both.

import * as vscode from 'vscode';
import { COMMANDS } from './commands';

/** The walkthrough's id in package.json (contributes.walkthroughs). */
export const WALKTHROUGH_ID = 'featureLens.gettingStarted';

/** Standard-library style code, what the demo model was trained on; the comments show off the comment-marker feature 1132. */
export const DEMO_SNIPPET = `import os


def read_lines(path):
    """Return the lines of a text file, without their line endings."""
    # A missing file has no lines.
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\\n") for line in f]
`;

export function registerFirstRun(context: vscode.ExtensionContext): void {
	context.subscriptions.push(
		vscode.commands.registerCommand(COMMANDS.inspectDemo, async () => {
			const document = await vscode.workspace.openTextDocument({ language: 'python', content: DEMO_SNIPPET });
			const editor = await vscode.window.showTextDocument(document);
			const end = document.lineAt(document.lineCount - 1).range.end;
			editor.selection = new vscode.Selection(new vscode.Position(0, 0), end);
			await vscode.commands.executeCommand(COMMANDS.inspectSelection);
		}),
		vscode.commands.registerCommand(COMMANDS.openWalkthrough, async () => {
			// VS Code (1.100) leaves a Welcome page that is in the middle of another walkthrough as it
			// is, so ours would not show where VS Code opened its own at startup: go back to the
			// page's overview first. Outside a Welcome page this command does nothing.
			await vscode.commands.executeCommand('welcome.goBack').then(undefined, () => undefined);
			await vscode.commands.executeCommand('workbench.action.openWalkthrough', `${context.extension.id}#${WALKTHROUGH_ID}`, false);
		}),
	);
}
