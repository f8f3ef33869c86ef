// VS Code's default keybindings on Linux, Windows and macOS, as test/extension/manifest.test.ts
// checks ours against them: code-server (VS Code 1.100.3, installed by the e2e into
// ~/.cache/feature-lens-e2e) shows "Preferences: Open Default Keyboard Shortcuts (JSON)" for
// the operating system its browser reports, so one Linux machine dumps all three by opening
// the workbench with each system's user agent. No extension is installed: these are VS
// Code's own and its built-in extensions'. Writes test/fixtures/vscode-keybindings/*.json.
//   node tools/keybindings/dumpDefaults.mjs [--code-server PATH]

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, runCommand, startCodeServer, waitUntil } from '../../test/e2e/browser.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const codeServer = args.includes('--code-server') ? args[args.indexOf('--code-server') + 1] : path.join(os.homedir(), '.cache', 'feature-lens-e2e', 'node_modules', '.bin', 'code-server');
const VERSION = '1.100.3';
const SYSTEMS = {
	linux: { userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36', mod: 'Control' },
	win32: { userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36', mod: 'Control' },
	darwin: { userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36', mod: 'Meta' },
};

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-keys-'));
const workspace = path.join(tmp, 'ws');
fs.mkdirSync(workspace);
fs.writeFileSync(path.join(workspace, 'a.py'), 'x = 1\n');
const server = startCodeServer({ codeServer, extensionsDir: path.join(tmp, 'ext'), userData: path.join(tmp, 'ud'), workspace, port: 9000 + Math.floor(Math.random() * 1000) });
let browser;
try {
	await server.listening(30000);
	browser = await launchChromium();
	const out = path.join(root, 'test', 'fixtures', 'vscode-keybindings');
	fs.mkdirSync(out, { recursive: true });
	for (const [system, { userAgent, mod }] of Object.entries(SYSTEMS)) {
		const context = await browser.newContext({ userAgent, viewport: { width: 1400, height: 900 } });
		await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(server.url).origin });
		const page = await context.newPage();
		await page.goto(server.url);
		await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
		await page.getByRole('treeitem', { name: /a\.py/ }).click({ timeout: 30000 });
		await page.waitForSelector('.monaco-editor .view-lines', { timeout: 30000 });
		await runCommand(page, 'Preferences: Open Default Keyboard Shortcuts (JSON)');
		await page.locator('.tabs-container .tab', { hasText: 'Default Keybindings' }).first().waitFor({ timeout: 30000 });
		await page.waitForTimeout(1000);
		await page.locator('.editor-instance .monaco-editor .view-lines').last().click();
		let text = '';
		// The clipboard is the browser's, shared by its contexts: empty it so another system's copy is never read.
		await page.evaluate(() => navigator.clipboard.writeText(''));
		await waitUntil(
			async () => {
				// Select all is the editor's own command (Cmd+A as a Mac); copying is Chromium's, Ctrl+C on this Linux machine whatever the page thinks it runs on.
				await page.keyboard.press(`${mod}+A`);
				await page.keyboard.press('Control+C');
				text = await page.evaluate(() => navigator.clipboard.readText());
				return text.includes('"command"');
			},
			20000,
			'the default keybindings on the clipboard',
		);
		// The file is JSON with line comments (and a commented list of unbound commands at the end).
		const bindings = JSON.parse(
			text
				.split('\n')
				.filter((l) => !/^\s*\/\//.test(l))
				.join('\n'),
		);
		const rows = bindings.map((b) => [b.key, b.command, b.when ?? '']);
		fs.writeFileSync(
			path.join(out, `${VERSION}-${system}.json`),
			`${JSON.stringify({ vscode: VERSION, system, source: 'code-server 4.100.3, Preferences: Open Default Keyboard Shortcuts (JSON)', bindings: rows }, null, 0).replace(/\],\[/g, '],\n[')}\n`,
		);
		console.log(`${system}: ${rows.length} default keybindings`);
		await context.close();
	}
} finally {
	await browser?.close();
	server.kill();
	fs.rmSync(tmp, { recursive: true, force: true });
}
