// End-to-end run of attribution graphs in a real VS Code (code-server + Debian Chromium +
// playwright-core), on the demo model with its transcoder set (the default for the demo model):
// Trace Completion on a selection opens the graph panel (SVG nodes, the scores); clicking a
// feature node opens its dashboard (its layer's transcoder loaded as the SAE); two features of
// one layer are pinned with the keyboard (P) and grouped into a named supernode; steering from
// them shows the baseline and the steered completion side by side. Screenshots: test-results/e2e/,
// and with --screenshots DIR, DIR/attribution-graph.png and DIR/attribution-steer.png for the README.
//
//   node test/e2e/attributionSmoke.mjs --code-server DIR/node_modules/.bin/code-server --extensions-dir DIR/ext [--screenshots media/screenshots]
//
// Every process it starts is stopped at the end; it binds only to 127.0.0.1.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { launchChromium, openAndSelectLines, recordFailure, runCommand, startCodeServer, waitUntil } from './browser.mjs';
import { webviewWith } from './webviewFrame.mjs';

const args = process.argv.slice(2);
const arg = (flag) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
const codeServer = arg('--code-server');
const extensionsDir = arg('--extensions-dir');
const readmeShots = arg('--screenshots');
const port = 9000 + Math.floor(Math.random() * 1000);
const shots = path.resolve('test-results', 'e2e');
fs.mkdirSync(shots, { recursive: true });

const SOURCE = 'import os\n\n\ndef read_lines(path):\n    with open(path) as f:\n        return [line.rstrip() for line in f]\n';
const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-ws-'));
fs.writeFileSync(path.join(workspace, 'a.py'), SOURCE);
const userData = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-ud-'));
fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
fs.writeFileSync(
	path.join(userData, 'User', 'settings.json'),
	JSON.stringify({
		'workbench.startupEditor': 'none',
		'editor.minimap.enabled': false,
		'editor.quickSuggestions': { other: false, comments: false, strings: false },
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
	// The prompt: the file's first five lines, up to "    with open(path) as f:\n".
	await openAndSelectLines(page, 0, 5);

	// Room for the graph: no side bar.
	await page.keyboard.press('Control+B');

	// Trace: the panel shows the graph and its scores.
	await runCommand(page, 'Feature Lens: Trace Completion');
	const panel = await webviewWith(page, 'svg.graph', 180000);
	// The source's tab closed, the panel has the whole width (its group is the only one).
	await page.locator('.tabs-container .tab', { hasText: 'a.py' }).first().locator('.codicon-close').click();
	results.scores = await panel.locator('p.scores').innerText();
	results.nodes = await panel.locator('g.node').count();
	results.featureNodes = await panel.locator('g.node.feature').count();
	results.errorNodes = await panel.locator('g.node.error').count();
	results.logitNodes = await panel.locator('g.node.logit').count();
	results.links = await panel.locator('line.link').count();
	results.tokenLabels = await panel.locator('text.token-label').count();
	if (!/Replacement score \d/.test(results.scores) || !/completeness score \d/.test(results.scores)) throw new Error(`no scores: ${results.scores}`);
	// Hover details by keyboard focus.
	await panel.locator('g.node.feature').first().focus();
	results.details = await panel.locator('.node-details').innerText();
	await page.waitForTimeout(300);
	await page.screenshot({ path: path.join(shots, 'attribution-1-graph.png') });
	if (readmeShots) await page.screenshot({ path: path.join(readmeShots, 'attribution-graph.png') });

	// The pruning slider: the engine prunes the held graph again (fewer nodes at a lower threshold).
	await panel.locator('#node-threshold').evaluate((e) => {
		e.value = '0.4';
		e.dispatchEvent(new Event('input'));
		e.dispatchEvent(new Event('change'));
	});
	await waitUntil(async () => (await panel.locator('g.node').count()) < results.nodes, 60000, 'the graph pruned at 0.4');
	results.nodesAt04 = await panel.locator('g.node').count();
	await panel.locator('#node-threshold').evaluate((e) => {
		e.value = '0.8';
		e.dispatchEvent(new Event('input'));
		e.dispatchEvent(new Event('change'));
	});
	await waitUntil(async () => (await panel.locator('g.node').count()) === results.nodes, 60000, 'the graph pruned at 0.8 again');

	// Two feature nodes of different layers: steering from them clamps each through its own layer's transcoder.
	const pick = await panel.evaluate(() => {
		const byLayer = new Map();
		for (const g of document.querySelectorAll('g.node.feature')) {
			const id = g.getAttribute('data-node-id');
			const layer = id.split('_')[0];
			if (!byLayer.has(layer)) byLayer.set(layer, id);
		}
		return byLayer.size >= 2 ? [...byLayer.values()].slice(0, 2) : undefined;
	});
	if (!pick) throw new Error('the graph has feature nodes of only one layer');
	results.pinned = pick;

	// A feature's dashboard from the graph (Enter on the focused node).
	await panel.locator(`g.node[data-node-id="${pick[0]}"]`).focus();
	await page.keyboard.press('Enter');
	const dashboard = await webviewWith(page, '#logit-lens, .load-error', 180000);
	if (await dashboard.locator('.load-error').count()) throw new Error(`the dashboard could not load: ${await dashboard.locator('.load-error').innerText()}`);
	results.dashboardTitle = await dashboard.locator('h1').first().innerText();
	await page.waitForTimeout(500);
	await page.screenshot({ path: path.join(shots, 'attribution-2-dashboard.png') });

	// Back to the graph (the dashboard closed): pin both with P, group them, steer from them.
	await page
		.locator('.tabs-container .tab', { hasText: /^Feature \d+/ })
		.first()
		.locator('.codicon-close')
		.click();
	await page.locator('.tabs-container .tab', { hasText: 'Attribution Graph' }).first().click();
	const graph = await webviewWith(page, 'svg.graph', 30000);
	for (const id of pick) {
		await graph.locator(`g.node[data-node-id="${id}"]`).focus();
		await page.keyboard.press('p');
	}
	await waitUntil(async () => (await graph.locator('.pin-list input[type="checkbox"]').count()) === 2, 10000, 'two pinned nodes');
	results.pinnedInGraph = await graph.locator('g.node.pinned').count();
	for (const box of await graph.locator('.pin-list input[type="checkbox"]').all()) await box.check();
	await graph.locator('input[aria-label="Supernode name"]').fill('file opening');
	await graph.locator('button', { hasText: 'Group chosen pins' }).click();
	await graph.locator('.supernode-label').first().waitFor({ timeout: 10000 });
	results.supernodes = await graph.locator('.supernode-list li').allInnerTexts();
	await graph.locator('select[aria-label="Steering mode"]').selectOption('scale');
	await graph.locator('input[aria-label="Steering strength"]').fill('2');
	await graph.locator('#steer-pinned').click();
	await graph.locator('.completions').waitFor({ timeout: 180000 });
	results.steerDescription = await graph.locator('.steer-result > p').first().innerText();
	results.baseline = await graph.locator('.completion pre').nth(0).innerText();
	results.steered = await graph.locator('.completion pre').nth(1).innerText();
	results.notice = await graph.locator('.notice').innerText();
	await graph.locator('.completions').scrollIntoViewIfNeeded();
	await page.waitForTimeout(300);
	await page.screenshot({ path: path.join(shots, 'attribution-3-steer.png') });
	if (readmeShots) await page.screenshot({ path: path.join(readmeShots, 'attribution-steer.png') });

	// A window reload brings the panel back with its graph, pins and supernode (no longer prunable).
	// The workbench's own reload, as a user runs it: it saves the editors' state first.
	await runCommand(page, 'Developer: Reload Window', 'Attribution Graph');
	await page.waitForEvent('load', { timeout: 60000 }).catch(() => undefined);
	await page.waitForSelector('.monaco-workbench', { timeout: 120000 });
	const restored = await webviewWith(page, 'g.node.pinned', 120000);
	results.restoredPins = await restored.locator('g.node.pinned').count();
	results.restoredSupernodes = await restored.locator('.supernode-list li').count();
	await restored.locator('.notice', { hasText: 'Restored after a reload' }).waitFor({ timeout: 30000 });
	results.restoredNotice = await restored.locator('.notice').innerText();
	results.restoredSliderDisabled = await restored.locator('#node-threshold').isDisabled();

	results.ok =
		results.featureNodes > 0 &&
		results.logitNodes > 0 &&
		results.links > 0 &&
		results.tokenLabels > 0 &&
		results.nodesAt04 < results.nodes &&
		/^Feature \d+/.test(results.dashboardTitle) &&
		results.pinnedInGraph === 2 &&
		results.supernodes.length === 1 &&
		new Set(results.pinned.map((id) => id.split('_')[0])).size === 2 &&
		results.restoredPins === 2 &&
		results.restoredSupernodes === 1 &&
		results.restoredSliderDisabled &&
		results.baseline.trim().length > 0 &&
		results.steered.length > 0 &&
		results.baseline !== results.steered;
} catch (err) {
	await recordFailure(results, err, { server, browser, shot: path.join(shots, 'attribution-failure.png') });
} finally {
	await browser?.close();
	server.kill();
}
console.log(JSON.stringify(results, null, 2));
process.exitCode = results.ok ? 0 : 1;
