// End-to-end run of feature dashboards in a real VS Code (code-server + Debian Chromium +
// playwright-core): inspect a selection, open a feature's dashboard from the hover's
// "dashboard" link, check that its sections render with the demo SAE's data, reload the window
// and check the panel serializer restores it, then search features by text. Screenshots go to
// test-results/e2e/; the dashboard's also to media/screenshots/dashboard.png (README).
//
//   node test/e2e/dashboardSmoke.mjs --code-server DIR/node_modules/.bin/code-server --extensions-dir DIR/ext
//
// Every process it starts is stopped at the end; it binds only to 127.0.0.1.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { answerInputBox, inspectAndHoverReadLines, launchChromium, openAndSelectFunction, runCommand, recordFailure, startCodeServer } from './browser.mjs';
import { webviewWith } from './webviewFrame.mjs';

const args = process.argv.slice(2);
const arg = (flag) => args[args.indexOf(flag) + 1];
const codeServer = arg('--code-server');
const extensionsDir = arg('--extensions-dir');
const port = 9000 + Math.floor(Math.random() * 1000);
const shots = path.resolve('test-results', 'e2e');
fs.mkdirSync(shots, { recursive: true });

const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-ws-'));
fs.writeFileSync(path.join(workspace, 'a.py'), 'import os\n\n\ndef read_lines(path):\n    with open(path) as f:\n        return [line.rstrip() for line in f]\n');
const userData = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-ud-'));

const server = startCodeServer({ codeServer, extensionsDir, userData, workspace, port });

const SECTIONS = ['label-editor', 'activations', 'logit-lens', 'neighbours', 'test-text', 'top-examples', 'quantile-0'];
const results = {};
let browser;
try {
	await server.listening(30000);
	browser = await launchChromium();
	const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
	await page.goto(server.url);
	await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
	await openAndSelectFunction(page);
	const hover = await inspectAndHoverReadLines(page);
	// The first feature row's dashboard link, and the feature that row names.
	const row = hover.locator('li', { has: page.locator('a', { hasText: 'dashboard' }) }).first();
	const link = row.locator('a', { hasText: 'dashboard' }).first();
	results.hoverFeature = (await row.innerText()).match(/feature (\d+)/)?.[1];
	if (!results.hoverFeature) throw new Error(`the hover row names no feature: ${await row.innerText()}`);
	await link.click();

	const dashboard = await webviewWith(page, '#top-examples .token, #analysis, .load-error', 120000);
	const outcome = await Promise.race([
		dashboard
			.locator('#top-examples .token')
			.first()
			.waitFor({ timeout: 120000 })
			.then(() => 'rendered'),
		dashboard
			.locator('#analysis')
			.first()
			.waitFor({ timeout: 120000 })
			.then(() => 'not analysed'),
		dashboard
			.locator('.load-error')
			.first()
			.waitFor({ timeout: 120000 })
			.then(() => 'error'),
	]);
	results.outcome = outcome;
	if (outcome === 'error') throw new Error(`the dashboard could not load: ${await dashboard.locator('.load-error').innerText()}`);
	results.title = await dashboard.locator('h1').first().innerText();
	// The panel that opened is the hovered feature's, not just some dashboard.
	if (!new RegExp(`^Feature ${results.hoverFeature}\\b`).test(results.title))
		throw new Error(`the hover's dashboard link was for feature ${results.hoverFeature}, the panel opened is "${results.title}"`);
	results.sections = [];
	for (const id of SECTIONS) if (await dashboard.locator(`#${id}`).count()) results.sections.push(id);
	results.exampleTokens = await dashboard.locator('#top-examples .token').count();
	results.logitRows = await dashboard.locator('#logit-lens tr').count();
	await page.waitForTimeout(500);
	await page.screenshot({ path: path.join(shots, 'dashboard-1.png') });

	// Test your own text: the feature's activation per token.
	const testInput = dashboard.locator('#test-input textarea');
	await testInput.fill('def read_lines(path):');
	await testInput.press('Control+Enter');
	await dashboard.locator('#test-text .token').first().waitFor({ timeout: 60000 });
	results.testTextTokens = await dashboard.locator('#test-text .token').count();

	// A neighbour opens its own dashboard.
	await dashboard.locator('#neighbours button.link').first().click();
	await page.waitForFunction(() => document.querySelectorAll('.tabs-container .tab').length >= 3, undefined, { timeout: 30000 });
	results.tabs = await page.locator('.tabs-container .tab').allInnerTexts();

	// Reload the window: the serializer restores the open dashboards.
	// (Developer: Reload Window shuts the workbench down properly, so its editor state is saved.)
	await runCommand(page, 'Developer: Reload Window');
	await page.waitForTimeout(3000);
	await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
	const restored = await webviewWith(page, 'header h1', 120000);
	await restored.locator('h1').first().waitFor({ timeout: 120000 });
	results.restoredTitle = await restored.locator('h1').first().innerText();
	results.restoredTabs = await page.locator('.tabs-container .tab').allInnerTexts();

	// Search Features by the text "return": a second quick pick ranks features firing on it.
	await runCommand(page, 'Feature Lens: Search Features');
	await page.waitForSelector('.quick-input-widget:not(.hidden)', { timeout: 30000 });
	await page.keyboard.type('return');
	const byText = page.locator('.quick-input-list .monaco-list-row', { hasText: 'fire on' }).first();
	await byText.waitFor({ timeout: 30000 });
	await byText.click();
	const hit = page.locator('.quick-input-list .monaco-list-row', { hasText: /Feature \d+/ }).first();
	await hit.waitFor({ timeout: 60000 });
	results.searchHit = await hit.innerText();
	await page.screenshot({ path: path.join(shots, 'dashboard-2-search.png') });
	await page.keyboard.press('Escape');

	// The README's picture: the comment-marker feature #1132 (the one the steering demo uses),
	// opened by number from the command palette, in one editor group with the side bar hidden so
	// both of its columns show.
	await runCommand(page, 'Feature Lens: Open Feature Dashboard');
	await answerInputBox(page, 'Feature Lens: Open Feature Dashboard', '1132');
	const readme = await webviewWith(page, 'header h1', 120000, 'Feature 1132');
	await readme.locator('#top-examples .token').first().waitFor({ timeout: 60000 });
	await runCommand(page, 'View: Join All Editor Groups');
	await page.waitForTimeout(500);
	await runCommand(page, 'View: Toggle Primary Side Bar Visibility');
	await page.waitForTimeout(1500);
	// Moving a webview re-creates its frame.
	const maximized = await webviewWith(page, 'header h1', 60000, 'Feature 1132');
	await maximized.locator('#top-examples .token').first().waitFor({ timeout: 60000 });
	await page.waitForTimeout(500);
	results.readmeTitle = await maximized.locator('h1').first().innerText();
	await page.screenshot({ path: path.join(shots, 'dashboard-3-readme.png') });
	if (outcome === 'rendered') fs.copyFileSync(path.join(shots, 'dashboard-3-readme.png'), path.resolve('media', 'screenshots', 'dashboard.png'));

	results.ok =
		outcome === 'rendered' &&
		results.title.startsWith(`Feature ${results.hoverFeature}`) &&
		SECTIONS.every((s) => results.sections.includes(s)) &&
		results.exampleTokens > 0 &&
		results.testTextTokens > 0 &&
		/^Feature \d+/.test(results.restoredTitle);
} catch (err) {
	await recordFailure(results, err, { server, browser, shot: path.join(shots, 'dashboard-failure.png') });
} finally {
	await browser?.close();
	server.kill();
}
console.log(JSON.stringify(results, null, 2));
process.exitCode = results.ok ? 0 : 1;
