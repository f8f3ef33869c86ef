// End-to-end smoke run in a real VS Code (code-server + Debian Chromium + playwright-core):
// open a Python file, select lines, run "Feature Lens: Inspect Selection", and check that
// decorations appear and the hover lists features. Screenshots go to test-results/e2e/.
//
//   node test/e2e/inspectSmoke.mjs --code-server DIR/node_modules/.bin/code-server --extensions-dir DIR/ext
//
// Every process it starts is stopped at the end; it binds only to 127.0.0.1.

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';

const args = process.argv.slice(2);
const arg = (flag) => args[args.indexOf(flag) + 1];
const codeServer = arg('--code-server');
const extensionsDir = arg('--extensions-dir');
const port = 8000 + Math.floor(Math.random() * 1000);
const shots = path.resolve('test-results', 'e2e');
fs.mkdirSync(shots, { recursive: true });

const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-ws-'));
fs.writeFileSync(path.join(workspace, 'a.py'), 'import os\n\n\ndef read_lines(path):\n    with open(path) as f:\n        return [line.rstrip() for line in f]\n');
const userData = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-ud-'));

const server = spawn(codeServer, ['--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
	'--extensions-dir', extensionsDir, '--user-data-dir', userData, workspace], { stdio: ['ignore', 'pipe', 'pipe'] });
let serverLog = '';
server.stdout.on('data', (d) => { serverLog += d; });
server.stderr.on('data', (d) => { serverLog += d; });

const results = {};
let browser;
try {
	await waitFor(() => serverLog.includes('HTTP server listening'), 30000, 'code-server to listen');
	browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
	const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
	await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`);
	await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
	await page.getByRole('treeitem', { name: /a\.py/ }).click({ timeout: 30000 });
	await page.waitForSelector('.monaco-editor .view-lines', { timeout: 30000 });
	await page.click('.monaco-editor .view-lines');
	await page.keyboard.press('Control+Home');
	// Select lines 4–6 (the function).
	for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowDown');
	await page.keyboard.down('Shift');
	for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowDown');
	await page.keyboard.up('Shift');
	await page.screenshot({ path: path.join(shots, '1-selection.png') });
	const t0 = Date.now();
	await page.keyboard.press('F1');
	await page.keyboard.type('Feature Lens: Inspect Selection');
	await page.keyboard.press('Enter');
	await page.waitForSelector('.monaco-editor [class*="ced-"]', { timeout: 120000 });
	results.commandToDecorationsMs = Date.now() - t0;
	results.decorations = await page.locator('.monaco-editor [class*="ced-"]').count();
	await page.screenshot({ path: path.join(shots, '2-highlights.png') });
	// Drop the selection, then rest the mouse on the token "read_lines".
	await page.keyboard.press('ArrowRight');
	const token = page.locator('.monaco-editor .view-lines span span').filter({ hasText: /^read_lines$/ }).first();
	const box = await token.boundingBox();
	await page.mouse.move(box.x + 4, box.y + box.height / 2);
	await page.mouse.move(box.x + 8, box.y + box.height / 2);
	const hover = page.locator('.monaco-hover-content', { hasText: 'Feature Lens' }).first();
	await hover.waitFor({ state: 'visible', timeout: 20000 });
	results.hover = (await hover.innerText()).slice(0, 300);
	await page.screenshot({ path: path.join(shots, '3-hover.png') });
	// The Features view in the Feature Lens activity-bar container lists the active features.
	await page.keyboard.press('Escape');
	await page.locator('.activitybar a[aria-label^="Feature Lens"]').first().click();
	const featureItem = page.locator('.monaco-list-row', { hasText: /^Feature \d+/ }).first();
	await featureItem.waitFor({ state: 'visible', timeout: 20000 });
	results.featuresView = await page.locator('.monaco-list-row', { hasText: /Feature \d+/ }).count();
	await featureItem.click();
	await page.screenshot({ path: path.join(shots, '4-features-view.png') });

	// Train SAE…: defaults all the way, but a small width and token budget.
	await page.click('.monaco-editor .view-lines');
	await page.keyboard.press('F1');
	await page.keyboard.type('Feature Lens: Train SAE');
	await page.keyboard.press('Enter');
	const answer = async (text) => {
		await page.waitForSelector('.quick-input-widget:not(.hidden)', { timeout: 30000 });
		await page.waitForTimeout(300);
		if (text !== undefined) await page.keyboard.type(text);
		await page.keyboard.press('Enter');
		await page.waitForTimeout(300);
	};
	await answer(); // hook: the middle layer's resid_pre
	await answer(); // architecture: topk
	await answer('256'); // d_sae
	await answer('8'); // k
	await answer(); // corpus: the demo corpus
	await answer('40960'); // tokens
	await page.screenshot({ path: path.join(shots, '5-train-output-folder.png') });
	await answer(); // output folder in the workspace
	const trained = page.locator('.notifications-toasts .notification-list-item-message', { hasText: 'SAE trained' }).first();
	// (the message appears after the new SAE has been evaluated)
	await trained.waitFor({ state: 'visible', timeout: 180000 });
	results.trainNotification = await trained.innerText();
	results.trainedSae = fs.existsSync(path.join(workspace, '.feature-lens', 'saes', 'blocks.2.hook_resid_pre-topk-256', 'sae_weights.safetensors'));
	// The training monitor panel charted the run.
	const monitor = page.frameLocator('iframe.webview').frameLocator('iframe#active-frame');
	await monitor.locator('p.status', { hasText: 'done:' }).waitFor({ timeout: 30000 });
	results.monitorStatus = await monitor.locator('p.status', { hasText: 'done:' }).innerText();
	results.monitorCharts = await monitor.locator('.uplot').count();
	await monitor.locator('p.status', { hasText: 'Evaluation on' }).waitFor({ timeout: 60000 });
	results.monitorEvaluation = await monitor.locator('p.status', { hasText: 'Evaluation on' }).innerText();
	await page.screenshot({ path: path.join(shots, '6-trained.png') });
	results.ok = results.decorations > 0 && /feature \d+/.test(results.hover) && results.featuresView > 0 && results.trainedSae && results.monitorCharts === 5;
} catch (err) {
	results.error = err instanceof Error ? err.message : String(err);
	results.serverLogTail = serverLog.slice(-2000);
} finally {
	await browser?.close();
	server.kill();
}
console.log(JSON.stringify(results, null, 2));
process.exitCode = results.ok ? 0 : 1;

async function waitFor(check, ms, what) {
	const end = Date.now() + ms;
	while (Date.now() < end) {
		if (check()) return;
		await new Promise((r) => setTimeout(r, 200));
	}
	throw new Error(`timed out waiting for ${what}`);
}
