// Extension tests inside a real VS Code desktop, for machines that can download it:
// `npm run test:vscode` (@vscode/test-cli + @vscode/test-electron, config in .vscode-test.mjs).
// These offline machines run the same flows in code-server instead (test/e2e, `npm run test:e2e`).
// Mocha BDD, run in the extension host with the built extension (dist/) under development.

const assert = require('node:assert/strict');
const vscode = require('vscode');

const SNIPPET = 'import os\n\ndef read_lines(path):\n    # one stripped line per entry\n    with open(path) as f:\n        return [line.rstrip() for line in f]\n';

describe('Feature Lens in VS Code', function () {
	this.timeout(180_000);
	let api;

	before(async () => {
		const extension = vscode.extensions.getExtension('feature-lens.feature-lens');
		assert.ok(extension, 'the extension is installed under development');
		api = await extension.activate();
	});

	it('contributes its commands', async () => {
		const commands = await vscode.commands.getCommands(true);
		for (const id of [
			'featureLens.inspectSelection',
			'featureLens.inspectDemo',
			'featureLens.openWalkthrough',
			'featureLens.trainSae',
			'featureLens.openFeatureDashboard',
			'featureLens.steerSelection',
		]) {
			assert.ok(commands.includes(id), id);
		}
	});

	it('Inspect Selection runs the demo model and SAE on the selected lines, with exact token offsets', async () => {
		const document = await vscode.workspace.openTextDocument({ language: 'python', content: SNIPPET });
		const editor = await vscode.window.showTextDocument(document);
		const start = document.offsetAt(new vscode.Position(2, 0));
		editor.selection = new vscode.Selection(document.positionAt(start), document.positionAt(SNIPPET.length));
		await vscode.commands.executeCommand('featureLens.inspectSelection');
		const result = api.lastInspection();
		assert.ok(result, 'an inspection result');
		assert.equal(result.hookName, 'blocks.2.hook_resid_pre');
		const selected = SNIPPET.slice(start);
		assert.ok(result.tokens.length > 10);
		for (const t of result.tokens) assert.equal(selected.slice(t.start, t.end), t.text);
		assert.ok(
			result.tokens.some((t) => t.features.length > 0),
			'features fire',
		);
		await vscode.commands.executeCommand('featureLens.clearHighlights');
	});
});
