// End-to-end run in a real VS Code (code-server + Debian Chromium + playwright-core): open a
// Python file, select lines, run "Feature Lens: Inspect Selection" from the command palette,
// check that decorations sit exactly on the model's token boundaries inside the selection, that
// text on them stays readable (4.5:1) in the default dark, high-contrast, high-contrast light
// and light themes, that its shortcut (the chord Ctrl+K Shift+I) and the editor context menu run it too, and that the hover
// lists features; the Features view; then "Train SAE…" on the workspace files (honouring
// files.exclude and .gitignore) with a small budget, cancelled from the progress notification,
// resumed, evaluated, loaded, and "Inspect Selection" offered at the end.
// Screenshots of every step go to test-results/e2e/, with failure.png and the extension's
// log when a step fails; the measured numbers go to test-results/e2e/results.json.
//
//   node test/e2e/inspectSmoke.mjs --code-server DIR/node_modules/.bin/code-server --extensions-dir DIR/ext
//
// Every process it starts is stopped at the end; it binds only to 127.0.0.1.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { launchChromium, startCodeServer } from './browser.mjs';
import { webviewWith } from './webviewFrame.mjs';

const args = process.argv.slice(2);
const arg = (flag) => args[args.indexOf(flag) + 1];
const codeServer = arg('--code-server');
const extensionsDir = arg('--extensions-dir');
const port = 8000 + Math.floor(Math.random() * 1000);
const shots = path.resolve('test-results', 'e2e');
fs.rmSync(shots, { recursive: true, force: true });
fs.mkdirSync(shots, { recursive: true });

// The fixture workspace. a.py is inspected; the training corpus is **/*.py minus what
// files.exclude (excluded/) and .gitignore (ignored/) leave out: a.py and lib/util.py.
const A_PY = 'import os\n\n\ndef read_lines(path):\n    with open(path) as f:\n        return [line.rstrip() for line in f]\n';
const UTIL_PY = Array.from(
	{ length: 24 },
	(_, i) =>
		`def parse_${i}(text, sep=','):\n    """Split text on sep and strip each field ${i}."""\n    fields = [f.strip() for f in text.split(sep)]\n    return {k: v for k, v in enumerate(fields) if v}\n\n\n`,
).join('');
const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-ws-'));
const wsFiles = {
	'a.py': A_PY,
	'lib/util.py': UTIL_PY,
	'.gitignore': 'ignored/\n',
	'ignored/big.py': UTIL_PY,
	'excluded/gen.py': UTIL_PY,
	'.vscode/settings.json': JSON.stringify({ 'files.exclude': { '**/excluded': true } }),
};
for (const [name, content] of Object.entries(wsFiles)) {
	fs.mkdirSync(path.dirname(path.join(workspace, name)), { recursive: true });
	fs.writeFileSync(path.join(workspace, name), content);
}
const userData = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-ud-'));
// Lines 4–6 of a.py (the function) are selected; the selection ends at the start of line 7.
const SELECTION_START = A_PY.indexOf('def read_lines');
const SELECTED = A_PY.slice(SELECTION_START);
// The demo model's tokens of the selected text, from the engine's own CLI: decorations must start and end on their boundaries.
const cliTokens = JSON.parse(
	execFileSync(process.execPath, ['dist/cli.js', 'run', 'demo', '--text', SELECTED, '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 }),
).tokens;
const boundaries = new Set(cliTokens.flatMap((t) => [SELECTION_START + t.start, SELECTION_START + t.end]));

const results = { steps: [] };
let page;
let currentStep = '';
const server = startCodeServer({ codeServer, extensionsDir, userData, workspace, port });

let browser;
try {
	await step('code-server listens', () => server.listening(60_000));
	browser = await launchChromium();
	page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
	page.setDefaultTimeout(30_000);
	await step('open the workbench', async () => {
		await page.goto(server.url, { timeout: 60_000 });
		await page.waitForSelector('.monaco-workbench', { timeout: 120_000 });
	});
	await step(
		'open a.py',
		async () => {
			await page.getByRole('treeitem', { name: /^a\.py/ }).click();
			await page.locator('.monaco-editor .view-lines', { hasText: 'read_lines' }).waitFor();
		},
		2,
	);
	await step('select lines 4-6', selectFunction, 2);
	await page.screenshot({ path: path.join(shots, '1-selection.png') });

	// Cold: the engine starts, loads the demo model and SAE, then inspects.
	let t0 = await runCommand('Feature Lens: Inspect Selection');
	await step('decorations appear', () => decorations().first().waitFor({ timeout: 180_000 }));
	results.commandToDecorationsColdMs = Date.now() - t0;
	await page.waitForTimeout(500); // let the editor finish painting every level
	await page.screenshot({ path: path.join(shots, '2-highlights.png') });
	results.decorated = await step('decorations sit on token boundaries inside the selection', checkDecorationPlacement);

	// Readable in every kind of theme: the decorations' real colours over the editor background, against the editor's text colour.
	await page.keyboard.press('ArrowRight'); // drop the selection (the cursor goes to its end)
	results.themes = {};
	for (const [theme, kind] of [
		['Default Dark Modern', 'vs-dark'],
		['Default High Contrast', 'hc-black'],
		['Default High Contrast Light', 'hc-light'],
		['Default Light Modern', 'vs'],
	]) {
		await setColorTheme(theme, kind);
		results.themes[theme] = await step(`highlights readable in ${theme}`, checkHighlightContrast, 2);
		await page.screenshot({ path: path.join(shots, `2-highlights-${kind}.png`) });
	}

	// Warm, from the keybinding: clear, select again, Ctrl+K Shift+I.
	await runCommand('Feature Lens: Clear Highlights');
	await step('highlights cleared', () => waitForCount(decorations(), 0, 10_000));
	await step('select lines 4-6 again', selectFunction, 2);
	t0 = Date.now();
	await page.keyboard.press('Control+KeyK');
	await page.keyboard.press('Shift+KeyI');
	await step('Ctrl+K Shift+I decorates the selection', () => decorations().first().waitFor({ timeout: 60_000 }));
	results.commandToDecorationsWarmMs = Date.now() - t0;

	// From the editor's context menu.
	await runCommand('Feature Lens: Clear Highlights');
	await step('highlights cleared again', () => waitForCount(decorations(), 0, 10_000));
	await step(
		'editor context menu: Inspect Selection',
		async () => {
			const { lines, charWidth } = await editorGeometry();
			if (await page.locator('.context-view .monaco-menu').isVisible()) await page.keyboard.press('Escape');
			await page.mouse.click(lines[4].left + 6 * charWidth, (lines[4].top + lines[4].bottom) / 2, { button: 'right' });
			// Pointing at the entry focuses it; Enter runs it (the menu's own mouse handling ignores synthetic clicks).
			const entry = page.locator('.context-view .monaco-menu .action-item', { hasText: 'Inspect Selection' }).first();
			await entry.hover({ timeout: 10_000 });
			await page.keyboard.press('Enter');
			await decorations().first().waitFor({ timeout: 30_000 });
		},
		2,
	);

	// Hover on "read_lines": the hover names the token under the mouse and lists features.
	await page.keyboard.press('ArrowRight'); // drop the selection (the cursor goes to its end)
	results.hover = await step(
		'hover lists features',
		async (attempt) => {
			// The middle of the "r" of read_lines (column 4 of line 4).
			const { lines, charWidth } = await editorGeometry();
			const line = lines[3];
			const x = line.left + 4.5 * charWidth;
			const y = (line.top + line.bottom) / 2;
			await page.mouse.move(x - 40, y - 80); // away first, so the hover opens afresh on a retry
			await page.mouse.move(x - 1, y);
			await page.mouse.move(x + (attempt % 2), y);
			const hover = page.locator('.monaco-hover-content', { hasText: 'Feature Lens' }).first();
			await hover.waitFor({ state: 'visible', timeout: 15_000 });
			const text = await hover.innerText();
			if (!/feature \d+/.test(text)) throw new Error(`the hover lists no features: ${text}`);
			const token = /token “([^”]*)”/.exec(text)?.[1];
			const want = cliTokens.find((t) => t.start <= 4 && t.end > 4);
			if (token !== want?.text) throw new Error(`the hover is for token "${token}", the mouse is on "${want?.text}"`);
			return text.slice(0, 300);
		},
		3,
	);
	await page.waitForTimeout(500); // the hover has faded in
	await page.screenshot({ path: path.join(shots, '3-hover.png') });

	// The Features view in the Feature Lens activity-bar container lists the active features.
	await page.keyboard.press('Escape');
	results.featuresView = await step(
		'Features view lists features',
		async () => {
			await page.locator('.activitybar a[aria-label^="Feature Lens"]').first().click();
			const item = page.locator('.monaco-list-row', { hasText: /^Feature \d+/ }).first();
			await item.waitFor({ state: 'visible', timeout: 20_000 });
			await item.click();
			return page.locator('.monaco-list-row', { hasText: /^Feature \d+/ }).count();
		},
		2,
	);
	await page.screenshot({ path: path.join(shots, '4-features-view.png') });
	// A feature row's command is Colour by Feature: the status bar says which feature now colours the text.
	results.colourByFeature = await step(
		'Colour by Feature from the Features view',
		async () => {
			const row = page.locator('.monaco-list-row', { hasText: /^Feature \d+/ }).first();
			const feature = /^Feature (\d+)/.exec(await row.innerText())?.[1];
			if (feature === undefined) throw new Error(`the row names no feature: ${await row.innerText()}`);
			await row.click();
			await page
				.locator('.statusbar-item', { hasText: `colouring by feature ${feature}` })
				.first()
				.waitFor({ timeout: 10_000 });
			return Number(feature);
		},
		2,
	);
	// Steer with Feature… from the palette: asks for the number, then the Steering view holds that feature.
	await runCommand('Feature Lens: Steer with Feature');
	results.steerWithFeature = await step('Steer with Feature adds the feature to the Steering view', async () => {
		const widget = page.locator('.quick-input-widget:not(.hidden)');
		await widget.locator('.quick-input-title', { hasText: 'Steer with Feature' }).waitFor({ timeout: 30_000 });
		await widget.locator('input').fill('1132');
		await widget.locator('input').press('Enter');
		const view = await webviewWith(page, 'li.entry[data-feature="1132"]', 60_000);
		return view.locator('li.entry').count();
	});
	await page.screenshot({ path: path.join(shots, '4b-steer-with-feature.png') });

	// Train SAE…: defaults, except a small width, k and token budget, on the workspace files.
	await step('select lines 4-6 again', selectFunction, 2);
	await runCommand('Feature Lens: Train SAE');
	await answer(1); // hook: the middle layer's resid_pre
	await answer(2); // architecture: topk
	await answer(3, '256'); // d_sae
	await answer(4, '8'); // k
	await answer(5, 'Workspace files'); // corpus
	await answer(5); // glob: **/*.py
	await answer(6, '409600'); // tokens: 100 steps of 4096
	await page.screenshot({ path: path.join(shots, '5-train-output-folder.png') });
	await answer(7); // output folder in the workspace
	const saeDir = path.join(workspace, '.feature-lens', 'saes', 'blocks.2.hook_resid_pre-topk-256');
	// The training monitor is the webview with charts (the Steering view may be open beside it).
	const monitor = () => webviewWith(page, 'div.charts', 120_000);

	// Cancel from the progress notification once the run has taken a step, then Resume.
	await step('training reports steps', async () => (await monitor()).locator('p.status', { hasText: /step [1-9]/ }).waitFor({ timeout: 120_000 }));
	await step(
		'Cancel in the progress notification',
		() => page.locator('.notifications-toasts .notification-list-item', { hasText: 'training topk SAE' }).getByRole('button', { name: 'Cancel' }).click(),
		2,
	);
	const stopped = page.locator('.notifications-toasts .notification-list-item', { hasText: 'training stopped at step' }).first();
	results.cancelNotification = await step('training stops', async () => {
		await stopped.waitFor({ timeout: 60_000 });
		return stopped.locator('.notification-list-item-message').innerText();
	});
	const stoppedAt = Number(/step (\d+)/.exec(results.cancelNotification)?.[1]);
	if (!(stoppedAt < 100)) throw new Error(`the cancelled run went on to step ${stoppedAt}`);
	results.checkpointAfterCancel = fs.existsSync(path.join(saeDir, 'checkpoint.safetensors'));
	await page.screenshot({ path: path.join(shots, '6-train-cancelled.png') });
	await step('Resume', () => stopped.getByRole('button', { name: 'Resume' }).click(), 2);
	const trained = page.locator('.notifications-toasts .notification-list-item', { hasText: 'SAE trained' }).first();
	// (the message appears after the new SAE has been evaluated and loaded)
	results.trainNotification = await step('training ends, the SAE is evaluated', async () => {
		await trained.waitFor({ timeout: 300_000 });
		return trained.locator('.notification-list-item-message').innerText();
	});
	// The new SAE replaced the old one (its highlights are gone); "Inspect Selection" in the notification uses it.
	results.highlightsAfterTraining = await decorations().count();
	await step('"Inspect Selection" from the notification', async () => {
		await trained.getByRole('button', { name: 'Inspect Selection' }).click();
		await decorations().first().waitFor({ timeout: 60_000 });
	});
	const cfg = JSON.parse(fs.readFileSync(path.join(saeDir, 'cfg.json'), 'utf8'));
	results.trainedSae = fs.existsSync(path.join(saeDir, 'sae_weights.safetensors')) && cfg.d_sae === 256;
	// files.exclude drops excluded/gen.py and .gitignore drops ignored/big.py.
	results.trainingCorpus = cfg.metadata?.dataset_path;
	results.monitorStatus = await step('the monitor shows the finished run', async () => {
		await (await monitor()).locator('p.status', { hasText: 'done:' }).waitFor({ timeout: 30_000 });
		await (await monitor()).locator('p.status', { hasText: 'Evaluation on' }).waitFor({ timeout: 60_000 });
		return (await (await monitor()).locator('p.status').allInnerTexts()).join(' | ');
	});
	results.monitorCharts = await (await monitor()).locator('.uplot').count();
	await page.screenshot({ path: path.join(shots, '7-trained.png') });
	// No progress notification is left behind once the work is done.
	results.progressLeftOpenMs = await step('progress notifications close', async () => {
		const t = Date.now();
		await page
			.locator('.notifications-toasts .notification-list-item', { hasText: /loading the model and SAE|inspecting|training topk|evaluating/ })
			.first()
			.waitFor({ state: 'hidden', timeout: 15_000 });
		return Date.now() - t;
	});
	results.statusBar = await page.locator('.statusbar-item', { hasText: 'Feature Lens' }).first().innerText();
	await page.screenshot({ path: path.join(shots, '8-inspect-with-new-sae.png') });

	// An edit drops the highlights of the edited document (they would sit on the wrong characters).
	await step('an edit clears the highlights', async () => {
		await page.locator('.monaco-editor .view-lines').first().click();
		await page.keyboard.press('Control+End');
		await page.keyboard.type('x');
		await waitForCount(decorations(), 0, 10_000);
		await page.keyboard.press('Control+Z');
	});

	const checks = {
		'decorations on token boundaries': results.decorated.count > 0,
		'highlights readable in four themes': Object.keys(results.themes).length === 4,
		'hover lists features': /feature \d+/.test(results.hover),
		'Features view': results.featuresView > 0,
		'Colour by Feature': Number.isInteger(results.colourByFeature),
		'Steer with Feature': results.steerWithFeature === 1,
		'checkpoint kept after Cancel': results.checkpointAfterCancel,
		'SAE written': results.trainedSae,
		'corpus honours files.exclude and .gitignore': results.trainingCorpus === '2 files',
		'five monitor charts': results.monitorCharts === 5,
		'old highlights cleared when the new SAE loads': results.highlightsAfterTraining === 0,
		'new SAE in the status bar': /topk 256/.test(results.statusBar),
	};
	const failed = Object.entries(checks)
		.filter(([, ok]) => !ok)
		.map(([name]) => name);
	if (failed.length > 0) throw new Error(`checks failed: ${failed.join(', ')}`);
	results.ok = true;
} catch (err) {
	results.ok = false;
	results.failedStep = currentStep;
	results.error = err instanceof Error ? err.message.split('\n')[0] : String(err);
	await page?.screenshot({ path: path.join(shots, 'failure.png') }).catch(() => undefined);
	results.serverLogTail = server.log().slice(-2000);
	const extLog = findFile(userData, /Feature Lens\.log$/);
	if (extLog) {
		fs.copyFileSync(extLog, path.join(shots, 'feature-lens.log'));
		results.extensionLogTail = fs.readFileSync(extLog, 'utf8').slice(-3000);
	}
} finally {
	await browser?.close().catch(() => undefined);
	server.kill();
}
fs.writeFileSync(path.join(shots, 'results.json'), JSON.stringify(results, null, 2));
console.log(JSON.stringify(results, null, 2));
if (results.ok) {
	console.log(`e2e passed: command to decorations ${results.commandToDecorationsColdMs} ms cold (engine start, model and SAE load), ${results.commandToDecorationsWarmMs} ms warm`);
} else {
	console.error(`\ne2e FAILED at step "${results.failedStep}": ${results.error}\nScreenshots (failure.png is the moment it failed) and the extension's log: ${shots}`);
}
process.exitCode = results.ok ? 0 : 1;
await new Promise((r) => setTimeout(r, 200));
process.exit();

/** Runs one named step, retrying it `retries` times; its duration goes into the results. */
async function step(name, fn, retries = 0) {
	currentStep = name;
	const t0 = Date.now();
	for (let attempt = 0; ; attempt++) {
		try {
			const value = await fn(attempt);
			results.steps.push({ name, ms: Date.now() - t0, ...(attempt > 0 ? { attempts: attempt + 1 } : {}) });
			return value;
		} catch (err) {
			if (attempt >= retries) throw err;
			console.error(`step "${name}" failed (attempt ${attempt + 1}), retrying: ${err instanceof Error ? err.message.split('\n')[0] : err}`);
			await page?.screenshot({ path: path.join(shots, `retry-${results.steps.length}-${attempt + 1}.png`) }).catch(() => undefined);
		}
	}
}

/** Runs a command from the palette, checking that the palette lists it before pressing Enter; returns when Enter was pressed. */
async function runCommand(title) {
	return step(
		`command "${title}"`,
		async (attempt) => {
			const input = page.locator('.quick-input-widget:not(.hidden) input');
			if (attempt > 0 && (await input.isVisible())) await page.keyboard.press('Escape');
			await page.keyboard.press('F1');
			await input.waitFor({ state: 'visible', timeout: 10_000 });
			await input.fill(`>${title}`);
			await page.locator('.quick-input-widget:not(.hidden) .monaco-list-row', { hasText: title }).first().waitFor({ timeout: 15_000 });
			const pressed = Date.now();
			await input.press('Enter');
			await input.waitFor({ state: 'hidden', timeout: 10_000 });
			return pressed;
		},
		2,
	);
}

/** Answers step `n` of the Train SAE flow: types `text` (or keeps the default) once the step is showing and valid, then Enter. */
async function answer(n, text) {
	await step(`Train SAE step ${n}${text ? ` (${text})` : ''}`, async () => {
		const widget = page.locator('.quick-input-widget:not(.hidden)');
		await widget.locator('.quick-input-title', { hasText: `(${n}/7)` }).waitFor({ timeout: 30_000 });
		const input = widget.locator('input');
		if (text !== undefined) await input.fill(text);
		// A quick pick needs its list filtered to the choice; an input box must pass validation.
		const list = widget.locator('.quick-input-list .monaco-list-row');
		if (text !== undefined && (await widget.locator('.quick-input-list').isVisible())) await list.filter({ hasText: text }).first().waitFor({ timeout: 10_000 });
		await widget
			.locator('.quick-input-message', { hasText: /whole number|absolute|non-negative/ })
			.waitFor({ state: 'hidden', timeout: 5000 })
			.catch(() => undefined);
		const before = await input.inputValue();
		await input.press('Enter');
		// The widget moves on (new title or prompt) or closes.
		await page.waitForFunction(
			([b, m]) => {
				const w = document.querySelector('.quick-input-widget:not(.hidden)');
				if (!w || w.style.display === 'none') return true;
				const input = w.querySelector('input');
				const title = w.querySelector('.quick-input-title')?.textContent ?? '';
				return !title.includes(`(${m}/7)`) || input?.value !== b;
			},
			[before, n],
			{ timeout: 10_000 },
		);
	});
}

async function selectFunction() {
	await page.locator('.monaco-editor .view-lines').first().click();
	await page.keyboard.press('Control+Home');
	for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowDown');
	await page.keyboard.down('Shift');
	for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowDown');
	await page.keyboard.up('Shift');
	await page.locator('.statusbar-item', { hasText: `(${SELECTED.length} selected)` }).waitFor({ timeout: 5000 });
}

/** Switches the colour theme with the palette's theme picker (clicking the exact entries) and waits until the workbench shows it. */
async function setColorTheme(theme, kind) {
	const widget = page.locator('.quick-input-widget:not(.hidden)');
	// An entry's accessible name is "label" or "label, description"; themes are "Dark Modern, Default Dark Modern".
	const option = async (label) => {
		const exact = new RegExp(`(^|, )${label}(,|$)`);
		const row = widget.getByRole('option', { name: exact }).first();
		await row.waitFor({ timeout: 15_000 }).catch(async () => {
			const labels = await widget.getByRole('option').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')));
			throw new Error(`no entry "${label}" among ${JSON.stringify(labels)}`);
		});
		await row.click();
	};
	await step(
		`colour theme ${theme}`,
		async () => {
			const input = widget.locator('input');
			if (await input.isVisible()) await page.keyboard.press('Escape');
			await page.keyboard.press('F1');
			await input.fill('>Preferences: Color Theme');
			await option('Preferences: Color Theme');
			await input.fill(theme);
			await option(theme);
			await page.locator(`.monaco-workbench.${kind}`).waitFor({ timeout: 10_000 });
			await page.waitForTimeout(300); // the new colours are painted
		},
		2,
	);
}

/** The contrast of the editor's text colour with each highlight colour drawn over the editor background (WCAG AA: 4.5). */
async function checkHighlightContrast() {
	const seen = await page.evaluate(() => {
		const css = getComputedStyle(document.querySelector('.monaco-workbench'));
		const colours = [...document.querySelectorAll('.monaco-editor [class*="ced-"]')].map((el) => getComputedStyle(el).backgroundColor);
		return { background: css.getPropertyValue('--vscode-editor-background').trim(), foreground: css.getPropertyValue('--vscode-editor-foreground').trim(), colours: [...new Set(colours)] };
	});
	const background = parseColour(seen.background);
	const foreground = parseColour(seen.foreground);
	if (seen.colours.length === 0) throw new Error('no highlights to measure');
	const ratios = seen.colours.map((c) => {
		const { rgb, alpha } = parseColour(c);
		const shown = rgb.map((v, i) => alpha * v + (1 - alpha) * background.rgb[i]);
		return Number(contrast(shown, foreground.rgb).toFixed(2));
	});
	const worst = Math.min(...ratios);
	if (!(worst >= 4.5)) throw new Error(`text on a highlight has contrast ${worst} (< 4.5) with ${seen.foreground} on ${seen.background}: ${seen.colours.join(', ')}`);
	return { levels: seen.colours.length, worstContrast: worst };
}

function parseColour(text) {
	const hex = /^#([0-9a-f]{6})([0-9a-f]{2})?$/i.exec(text);
	if (hex) return { rgb: [0, 2, 4].map((i) => parseInt(hex[1].slice(i, i + 2), 16)), alpha: hex[2] ? parseInt(hex[2], 16) / 255 : 1 };
	const fn = /^rgba?\(([^)]*)\)$/.exec(text);
	if (fn) {
		const [r, g, b, a] = fn[1]
			.split(/[,\s/]+/)
			.filter(Boolean)
			.map(Number);
		return { rgb: [r, g, b], alpha: a ?? 1 };
	}
	throw new Error(`cannot read the colour "${text}"`);
}

function contrast(a, b) {
	const lum = (rgb) => {
		const [r, g, bl] = rgb.map((c) => (c / 255 <= 0.03928 ? c / 255 / 12.92 : ((c / 255 + 0.055) / 1.055) ** 2.4));
		return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
	};
	const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
	return (hi + 0.05) / (lo + 0.05);
}

function decorations() {
	return page.locator('.monaco-editor [class*="ced-"]');
}

async function waitForCount(locator, count, ms) {
	const end = Date.now() + ms;
	while ((await locator.count()) !== count) {
		if (Date.now() > end) throw new Error(`expected ${count} of ${locator}, found ${await locator.count()}`);
		await page.waitForTimeout(200);
	}
}

/** The editor's rendered lines (page boxes, text) in document order, and the monospace character width. */
async function editorGeometry() {
	const lines = await page
		.locator('.monaco-editor .view-lines')
		.first()
		.locator('.view-line')
		.evaluateAll((els) =>
			els.map((el) => {
				const r = el.getBoundingClientRect();
				const span = el.querySelector('span');
				// Rendered whitespace (middle dots) and non-breaking spaces stand for spaces.
				const text = el.textContent.replace(/[\u00a0\u00b7\u2e31]/g, ' ');
				return { top: r.top, bottom: r.bottom, left: r.left, text, width: span ? span.getBoundingClientRect().width : 0 };
			}),
		);
	lines.sort((a, b) => a.top - b.top);
	const first = lines.find((l) => l.text === 'import os');
	const charWidth = first ? first.width / first.text.length : 0;
	if (!(charWidth > 0)) throw new Error('could not measure the editor font');
	return { lines, charWidth };
}

/**
 * Maps every decoration's box to document offsets (monospace columns on the line whose box
 * holds it) and checks that it starts and ends on token boundaries inside the selection; a
 * token that spans a line break is drawn in pieces that also start or end at the break.
 */
async function checkDecorationPlacement() {
	const { lines, charWidth } = await editorGeometry();
	const docLines = A_PY.split('\n');
	const lineStarts = docLines.map((_, i) => docLines.slice(0, i).reduce((n, l) => n + l.length + 1, 0));
	const allowed = new Set(boundaries);
	for (const t of cliTokens) {
		for (let p = t.start; p < t.end; p++) if (SELECTED[p] === '\n') allowed.add(SELECTION_START + p).add(SELECTION_START + p + 1);
	}
	const boxes = await decorations().evaluateAll((els) =>
		els.map((el) => {
			const r = el.getBoundingClientRect();
			return { x: r.left, y: (r.top + r.bottom) / 2, w: r.width };
		}),
	);
	const spans = [];
	for (const b of boxes) {
		if (b.w === 0) continue;
		const line = lines.findIndex((l) => b.y >= l.top && b.y < l.bottom);
		if (line < 0 || lines[line].text !== docLines[line]) throw new Error(`a decoration at y=${b.y} is on no known line (${JSON.stringify(lines.map((l) => l.text))})`);
		const start = lineStarts[line] + Math.round((b.x - lines[line].left) / charWidth);
		const end = lineStarts[line] + Math.round((b.x + b.w - lines[line].left) / charWidth);
		const where = `decoration "${A_PY.slice(start, end)}" (offsets ${start}-${end})`;
		if (start < SELECTION_START || end > A_PY.length) throw new Error(`${where} is outside the selection`);
		if (!allowed.has(start) || !allowed.has(end)) throw new Error(`${where} does not start and end on token boundaries`);
		spans.push(A_PY.slice(start, end));
	}
	if (spans.length === 0) throw new Error('no decorations');
	return { count: spans.length, text: spans.slice(0, 16) };
}

function findFile(dir, pattern) {
	for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
		if (entry.isFile() && pattern.test(entry.name)) return path.join(entry.parentPath ?? entry.path, entry.name);
	}
	return undefined;
}
