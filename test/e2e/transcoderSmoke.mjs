// End-to-end run with a transcoder selected, in a real VS Code (code-server + Debian Chromium +
// playwright-core): the featureLens.sae setting names layer 2 of the demo transcoder set
// (models/pycode/transcoders/layer_2.safetensors, circuit-tracer's layout, in the installed
// extension). Inspect a selection: the hover names the layer and both hooks; open a feature's
// dashboard from the hover (its logit lens reads the decoder at hook_mlp_out); steer with that
// feature from the Steering sidebar and see the completion change. Screenshots: test-results/e2e/.
//
//   node test/e2e/transcoderSmoke.mjs --code-server DIR/node_modules/.bin/code-server --extensions-dir DIR/ext
//
// Every process it starts is stopped at the end; it binds only to 127.0.0.1.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { inspectAndHoverReadLines, launchChromium, openAndSelectFunction, recordFailure, runCommand, startCodeServer, waitUntil } from './browser.mjs';
import { webviewWith } from './webviewFrame.mjs';

const args = process.argv.slice(2);
const arg = (flag) => args[args.indexOf(flag) + 1];
const codeServer = arg('--code-server');
const extensionsDir = arg('--extensions-dir');
const port = 9000 + Math.floor(Math.random() * 1000);
const shots = path.resolve('test-results', 'e2e');
fs.mkdirSync(shots, { recursive: true });

const installed = fs.readdirSync(extensionsDir).find((d) => d.startsWith('feature-lens.feature-lens-'));
if (!installed) throw new Error(`no Feature Lens in ${extensionsDir}`);
const TRANSCODER = path.join(extensionsDir, installed, 'models', 'pycode', 'transcoders', 'layer_2.safetensors');
const SITE = 'layer 2 transcoder blocks.2.ln2.hook_normalized → blocks.2.hook_mlp_out';
const SOURCE = 'import os\n\n\ndef read_lines(path):\n    with open(path) as f:\n        return [line.rstrip() for line in f]\n';
const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-ws-'));
fs.writeFileSync(path.join(workspace, 'a.py'), SOURCE);
const userData = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-ud-'));
fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
fs.writeFileSync(
	path.join(userData, 'User', 'settings.json'),
	JSON.stringify({
		'featureLens.sae': TRANSCODER,
		'workbench.startupEditor': 'none',
		'editor.minimap.enabled': false,
		'editor.quickSuggestions': { other: false, comments: false, strings: false },
	}),
);

const server = startCodeServer({ codeServer, extensionsDir, userData, workspace, port });
const results = { transcoder: TRANSCODER };
let browser;
try {
	if (!fs.existsSync(TRANSCODER)) throw new Error(`the package has no demo transcoder set: ${TRANSCODER}`);
	await server.listening(30000);
	browser = await launchChromium();
	const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
	await page.goto(server.url);
	await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
	await openAndSelectFunction(page);

	// Inspect: decorations, and a hover that names the transcoder's layer and hooks.
	const hover = await inspectAndHoverReadLines(page);
	results.hoverHeader = (await hover.innerText()).split('\n')[0];
	if (!results.hoverHeader.includes(SITE)) throw new Error(`the hover does not name the transcoder's layer: ${results.hoverHeader}`);
	const row = hover.locator('li', { has: page.locator('a', { hasText: 'dashboard' }) }).first();
	results.hoverFeature = (await row.innerText()).match(/feature (\d+)/)?.[1];
	if (!results.hoverFeature) throw new Error(`the hover row names no feature: ${await row.innerText()}`);
	await page.screenshot({ path: path.join(shots, 'transcoder-1-hover.png') });

	// The feature's dashboard: its title, and a logit lens read through hook_mlp_out.
	await row.locator('a', { hasText: 'dashboard' }).first().click();
	const dashboard = await webviewWith(page, '#logit-lens, .load-error', 120000);
	if (await dashboard.locator('.load-error').count()) throw new Error(`the dashboard could not load: ${await dashboard.locator('.load-error').innerText()}`);
	await dashboard.locator('#logit-lens tr').first().waitFor({ timeout: 60000 });
	results.dashboardTitle = await dashboard.locator('h1').first().innerText();
	results.logitRows = await dashboard.locator('#logit-lens tr').count();
	const testInput = dashboard.locator('#test-input textarea');
	await testInput.fill('def read_lines(path):');
	await testInput.press('Control+Enter');
	await dashboard.locator('#test-text .token').first().waitFor({ timeout: 60000 });
	results.testTextTokens = await dashboard.locator('#test-text .token').count();
	await page.waitForTimeout(500);
	await page.screenshot({ path: path.join(shots, 'transcoder-2-dashboard.png') });

	// Steering with the feature: added at hook_mlp_out, the completion changes.
	await page.locator('.tabs-container .tab', { hasText: 'a.py' }).first().click();
	await page.click('.monaco-editor .view-lines');
	await page.keyboard.press('Control+Home');
	await page.keyboard.down('Shift');
	for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowDown');
	await page.keyboard.up('Shift');
	await runCommand(page, 'Feature Lens: Steer Selection');
	const view = await webviewWith(page, '#feature-search', 60000);
	await waitUntil(async () => (await view.locator('#prompt').evaluate((e) => e.value)).includes('def read_lines'), 30000, 'the prompt to hold the selection');
	await view.locator('#feature-search input').click();
	await page.keyboard.type(results.hoverFeature);
	await page.keyboard.press('Enter');
	const entry = view.locator(`li.entry[data-feature="${results.hoverFeature}"]`);
	await entry.waitFor({ timeout: 60000 });
	await entry.locator('.strength-box input').fill('40');
	await view.locator('#generate').click();
	await waitUntil(async () => (await view.locator('.diff-summary').count()) > 0 && (await view.locator('.column.steered .caption').innerText()) !== 'generating…', 120000, 'the completions');
	results.baseline = await view.locator('.column.baseline .tokens').innerText();
	results.steered = await view.locator('.column.steered .tokens').innerText();
	results.diffSummary = await view.locator('.diff-summary').innerText();
	if (await view.locator('.notice.error').count()) results.viewError = await view.locator('.notice.error').innerText();
	await page.screenshot({ path: path.join(shots, 'transcoder-3-steering.png') });

	results.ok =
		results.hoverHeader.includes(SITE) &&
		new RegExp(`^Feature ${results.hoverFeature}\\b`).test(results.dashboardTitle) &&
		results.logitRows > 0 &&
		results.testTextTokens > 0 &&
		results.baseline.trim().length > 0 &&
		results.steered.trim().length > 0 &&
		results.baseline !== results.steered &&
		!results.viewError;
} catch (err) {
	await recordFailure(results, err, { server, browser, shot: path.join(shots, 'transcoder-failure.png') });
} finally {
	await browser?.close();
	server.kill();
}
console.log(JSON.stringify(results, null, 2));
process.exitCode = results.ok ? 0 : 1;
