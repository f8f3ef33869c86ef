// End-to-end steering in a real VS Code (code-server + Debian Chromium + playwright-core): select
// a function in a Python file, run "Feature Lens: Steer Selection" (the Steering sidebar opens
// with the selection as its prompt), add the demo SAE's comment feature #1132 by number, set its
// strength, Generate, and check that the baseline and steered columns both fill and differ;
// insert the steered completion into the editor; then turn on steered inline completions, type,
// wait for ghost text and accept it with Tab. Screenshots: test-results/e2e/ and, with
// --screenshots DIR, DIR/steering-sidebar.png and DIR/inline-steering.png.
//
//   node test/e2e/steeringSmoke.mjs --code-server DIR/node_modules/.bin/code-server --extensions-dir DIR/ext [--screenshots media/screenshots]
//
// Every process it starts is stopped at the end; it binds only to 127.0.0.1.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { choosePick, launchChromium, openAndSelectLines, quickInputTitled, recordFailure, runCommand, startCodeServer, waitUntil } from './browser.mjs';
import { webviewWith } from './webviewFrame.mjs';

const args = process.argv.slice(2);
const arg = (flag) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
const codeServer = arg('--code-server');
const extensionsDir = arg('--extensions-dir');
const readmeShots = arg('--screenshots');
const port = 8000 + Math.floor(Math.random() * 1000);
const shots = path.resolve('test-results', 'e2e');
fs.mkdirSync(shots, { recursive: true });

const FEATURE = 1132;
const STRENGTH = 30;
const SOURCE =
	'import os\n\n\ndef read_lines(path):\n    """Read a file and return its lines."""\n    with open(path) as f:\n        return [line.rstrip() for line in f]\n\n\ndef count_words(text):\n';
const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-ws-'));
fs.writeFileSync(path.join(workspace, 'a.py'), SOURCE);
const userData = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-ud-'));
// Inline suggestions on (the default) and no other completion UI in the way of Tab.
fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
fs.writeFileSync(
	path.join(userData, 'User', 'settings.json'),
	JSON.stringify({
		'editor.inlineSuggest.enabled': true,
		'editor.quickSuggestions': { other: false, comments: false, strings: false },
		'editor.suggestOnTriggerCharacters': false,
		'workbench.startupEditor': 'none',
		'editor.minimap.enabled': false,
	}),
);

const server = startCodeServer({ codeServer, extensionsDir, userData, workspace, port });

const results = {};
let browser;
try {
	await server.listening(30000);
	browser = await launchChromium();
	const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
	await page.goto(server.url);
	await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
	// Select lines 1–5: the imports, the def line and the docstring.
	await openAndSelectLines(page, 0, 5);
	await runCommand(page, 'Feature Lens: Steer Selection');

	// The Steering sidebar opens with the selection as its prompt.
	const view = await webviewWith(page, '#feature-search', 60000);
	await waitUntil(async () => (await view.locator('#prompt').evaluate((e) => e.value)).includes('def read_lines'), 30000, 'the prompt to hold the selection');
	results.prompt = await view.locator('#prompt').evaluate((e) => e.value);
	// For the screenshot: the Features view collapsed and a wider sidebar, so the columns sit side by side.
	await page
		.locator('.pane-header', { hasText: /^Features/i })
		.first()
		.click();
	const sidebar = await page.locator('.part.sidebar').boundingBox();
	await page.mouse.move(sidebar.x + sidebar.width, sidebar.y + 200);
	await page.mouse.down();
	await page.mouse.move(sidebar.x + 360, sidebar.y + 200, { steps: 5 });
	await page.mouse.move(sidebar.x + 640, sidebar.y + 200, { steps: 5 });
	await page.mouse.up();
	// Add the feature by number (no label search needed) and set its strength in the box.
	await view.locator('#feature-search input').click();
	await page.keyboard.type(String(FEATURE));
	await page.keyboard.press('Enter');
	const entry = view.locator(`li.entry[data-feature="${FEATURE}"]`);
	await entry.waitFor({ timeout: 60000 });
	await entry.locator('.strength-box input').fill(String(STRENGTH));
	await waitUntil(async () => (await entry.locator('input[type=range]').evaluate((e) => e.value)) === String(STRENGTH), 10000, 'the slider to follow the box');
	results.strength = STRENGTH;

	const t0 = Date.now();
	await view.locator('#generate').click();
	await waitUntil(async () => (await view.locator('.diff-summary').count()) > 0 && (await view.locator('.column.steered .caption').innerText()) !== 'generating…', 120000, 'the completions');
	results.generateMs = Date.now() - t0;
	results.baseline = await view.locator('.column.baseline .tokens').innerText();
	results.steered = await view.locator('.column.steered .tokens').innerText();
	results.diffSummary = await view.locator('.diff-summary').innerText();
	results.markedTokens = await view.locator('.column.steered .tok.added').count();
	const error = (await view.locator('.notice.error').count()) ? await view.locator('.notice.error').innerText() : '';
	if (error) results.viewError = error;
	await view.locator('.results').scrollIntoViewIfNeeded();
	await page.screenshot({ path: path.join(shots, 'steering-sidebar.png') });
	if (readmeShots) await page.screenshot({ path: path.join(readmeShots, 'steering-sidebar.png') });

	// Insert the steered completion at the end of the selection.
	await view.locator('.column.steered vscode-button', { hasText: 'Insert' }).click();
	await waitUntil(async () => (await saved(page)).length > SOURCE.length, 20000, 'the insertion');
	const inserted = await saved(page);
	results.insertedChars = inserted.length - SOURCE.length;

	// Steered inline completions: turn on, type at the end of the file, accept the ghost text with Tab.
	await runCommand(page, 'Feature Lens: Toggle Steered Inline Completions');
	await page.locator('.statusbar-item', { hasText: 'Steer: on' }).first().waitFor({ timeout: 20000 });
	await page.click('.monaco-editor .view-lines');
	await page.keyboard.press('Control+End');
	await page.keyboard.type('    words = text.');
	const ghost = page.locator('.monaco-editor .ghost-text, .monaco-editor .ghost-text-decoration').first();
	await ghost.waitFor({ state: 'visible', timeout: 60000 });
	await page.screenshot({ path: path.join(shots, 'inline-steering.png') });
	if (readmeShots) await page.screenshot({ path: path.join(readmeShots, 'inline-steering.png') });
	// What the editor shows as ghost text, read just before Tab: the first line's part after the
	// cursor, then any further lines (Monaco draws spaces as no-break spaces).
	results.ghostText = (await page.locator('.monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text').allInnerTexts()).map((t) => t.replace(/\u00a0/g, ' '));
	await page.keyboard.press('Tab');
	const typed = `${inserted}    words = text.`;
	await waitUntil(async () => (await saved(page)).length > typed.length, 10000, 'Tab to accept the inline completion');
	const afterTab = await saved(page);
	if (!afterTab.startsWith(typed)) throw new Error(`the file does not start with what was typed: ${JSON.stringify(afterTab.slice(-200))}`);
	results.accepted = afterTab.slice(typed.length);
	results.acceptedLine = afterTab.split('\n').find((l) => l.includes('words = text.'));
	results.acceptedChars = results.accepted.length;
	// Tab inserted the ghost text shown, not something else: compared with white space folded,
	// since the shown pieces are split by line and the saved file may differ in trailing spaces.
	const fold = (t) => t.replace(/\s+/g, ' ').trim();
	results.acceptedIsGhostText = fold(results.accepted) === fold(results.ghostText.join('\n'));
	if (!results.acceptedIsGhostText) throw new Error(`Tab inserted ${JSON.stringify(results.accepted)}, the ghost text shown was ${JSON.stringify(results.ghostText)}`);

	// The inline completion's tokens are offered for tracing (the trace itself is the sidebar's, below:
	// a whole file's prompt is a 20 s graph here, too long for this test).
	await runCommand(page, 'Feature Lens: Trace a Token of the Inline Completion');
	const inlinePick = quickInputTitled(page, 'Trace a Token of the inline completion');
	await inlinePick.locator('.quick-input-list .monaco-list-row').first().waitFor({ timeout: 30000 });
	results.inlineTokens = [];
	for (const row of await inlinePick.locator('.quick-input-list .monaco-list-row').all()) results.inlineTokens.push((await row.locator('.label-name').first().innerText()).trim());
	await page.keyboard.press('Escape');
	const inlineText = results.inlineTokens
		.filter((t) => !t.startsWith('('))
		.join('')
		.replace(/·/g, ' ')
		.replace(/⏎/g, '\n')
		.replace(/→/g, '\t')
		.trim();
	if (!inlineText.startsWith(results.accepted.trim()))
		throw new Error(`the inline completion's tokens ${JSON.stringify(results.inlineTokens)} are not its ghost text ${JSON.stringify(results.accepted)}`);

	// Trace the third token of the sidebar's steered completion.
	const sidebarView = await webviewWith(page, '.column.steered', 30000);
	await sidebarView.locator('.column.steered vscode-button', { hasText: 'Trace' }).click();
	await choosePick(page, 'Trace a Token of the steered completion', 2);
	const graph = await webviewWith(page, '.graph-description', 180000);
	results.steeredTrace = {
		title: await graph.locator('h1').innerText(),
		description: await graph.locator('.graph-description').innerText(),
		nodes: await graph.locator('g.node').count(),
		logits: await graph.locator('g.node.logit').count(),
	};
	await page.screenshot({ path: path.join(shots, 'steering-trace.png') });

	results.ok =
		results.prompt.includes('def read_lines') &&
		results.baseline.trim().length > 0 &&
		results.steered.trim().length > 0 &&
		results.baseline !== results.steered &&
		results.markedTokens > 0 &&
		results.insertedChars > 0 &&
		results.acceptedChars > 0 &&
		results.acceptedIsGhostText &&
		results.inlineTokens.length > 0 &&
		results.steeredTrace.nodes > 0 &&
		results.steeredTrace.description.includes(`${FEATURE}:add=${STRENGTH}`);
} catch (err) {
	await recordFailure(results, err, { server, browser, shot: path.join(shots, 'steering-failure.png'), logChars: 2000 });
} finally {
	await browser?.close();
	server.kill();
}
console.log(JSON.stringify(results, null, 2));
process.exitCode = results.ok ? 0 : 1;

/** The file's text after saving the editor (what is on screen would include ghost text). */
async function saved(page) {
	await page.keyboard.press('Control+S');
	// Saved when the editor's tab no longer shows it dirty.
	await page.locator('.tabs-container .tab:not(.dirty)', { hasText: 'a.py' }).first().waitFor({ timeout: 10000 });
	return fs.readFileSync(path.join(workspace, 'a.py'), 'utf8');
}
