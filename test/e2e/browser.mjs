// What every end-to-end script shares: Debian's Chromium launched the same way (CHROMIUM
// overrides its path), code-server started with its log kept for failure reports, and polling
// waits for conditions Playwright's locators cannot express.

import { spawn } from 'node:child_process';
import { chromium } from 'playwright-core';

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export function launchChromium() {
	return chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

/** code-server on 127.0.0.1:`port` with the extensions in `extensionsDir`, opening `workspace`. */
export function startCodeServer({ codeServer, extensionsDir, userData, workspace, port }) {
	const server = spawn(
		codeServer,
		[
			'--auth',
			'none',
			'--bind-addr',
			`127.0.0.1:${port}`,
			'--disable-telemetry',
			'--disable-update-check',
			'--disable-workspace-trust',
			'--extensions-dir',
			extensionsDir,
			'--user-data-dir',
			userData,
			workspace,
		],
		{ stdio: ['ignore', 'pipe', 'pipe'] },
	);
	let log = '';
	server.stdout.on('data', (d) => {
		log += d;
	});
	server.stderr.on('data', (d) => {
		log += d;
	});
	return {
		url: `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`,
		/** Everything code-server printed so far. */
		log: () => log,
		listening: (ms) => waitFor(() => log.includes('HTTP server listening'), ms, 'code-server to listen'),
		kill: () => server.kill(),
		/** Stops it and waits until it has exited (its profile is then free for the next one). */
		stop: () =>
			new Promise((resolve) => {
				if (server.exitCode !== null || server.signalCode !== null) return resolve();
				server.once('exit', () => resolve());
				server.kill();
			}),
	};
}

/** Polls a synchronous check every 200 ms. */
export async function waitFor(check, ms, what) {
	const end = Date.now() + ms;
	while (Date.now() < end) {
		if (check()) return;
		await new Promise((r) => setTimeout(r, 200));
	}
	throw new Error(`timed out waiting for ${what}`);
}

/** Polls an asynchronous check every 250 ms; a check that throws counts as not yet. */
export async function waitUntil(check, ms, what) {
	const end = Date.now() + ms;
	while (Date.now() < end) {
		try {
			if (await check()) return;
		} catch {
			/* not there yet */
		}
		await new Promise((r) => setTimeout(r, 250));
	}
	throw new Error(`timed out waiting for ${what}`);
}

/**
 * Runs a command from the palette (F1), once the row titled exactly `title` (or `title…`) shows, by clicking
 * that row (Enter would run whichever row the palette ranked first: "Trace Completion" also
 * matches "Trace a Token of the Inline Completion"). A webview holding the focus may swallow F1,
 * or take the typed title while the palette opens: then the palette is closed, the focus goes
 * back to the editor tab `refocusTab`, and it is tried again (four times in all).
 */
export async function runCommand(page, title, refocusTab = 'a.py') {
	// The title, or the title and the ellipsis of a command that asks for more ("Load SAE…").
	const exact = new RegExp(`^\\s*${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}…?\\s*$`);
	const row = page
		.locator('.quick-input-list .monaco-list-row')
		.filter({ has: page.locator('.label-name', { hasText: exact }) })
		.first();
	for (let attempt = 1; ; attempt++) {
		try {
			await page.keyboard.press('F1');
			await page.waitForSelector('.quick-input-widget:not(.hidden)', { timeout: 5000 });
			await page.keyboard.type(title);
			await row.waitFor({ timeout: attempt === 4 ? 20000 : 10000 });
			break;
		} catch (err) {
			if (attempt === 4) throw err;
			await page.keyboard.press('Escape');
			await page.locator('.tabs-container .tab', { hasText: refocusTab }).first().click();
		}
	}
	await row.click();
}

/**
 * Types `text` into the input box titled `title` and presses Enter. Waits for that title, not just
 * any visible quick input: the command palette that ran the command may still be showing while the
 * command loads the engine, and text typed then would go to the palette.
 */
export async function answerInputBox(page, title, text, timeout = 120000) {
	const widget = quickInputTitled(page, title);
	await widget.waitFor({ timeout });
	const input = widget.locator('.quick-input-box input').first();
	await input.fill(text);
	await input.press('Enter');
}

/** The visible quick input (an input box or a quick pick) titled `title`. */
export function quickInputTitled(page, title) {
	return page.locator('.quick-input-widget:not(.hidden)', { has: page.locator('.quick-input-title', { hasText: title }) }).first();
}

/** Chooses item `index` (0 = the first) of the quick pick titled `title`, once it shows. */
export async function choosePick(page, title, index, timeout = 120000) {
	const widget = quickInputTitled(page, title);
	await widget.waitFor({ timeout });
	await widget.locator('.quick-input-list .monaco-list-row').first().waitFor({ timeout: 30000 });
	const input = widget.locator('.quick-input-box input').first();
	for (let i = 0; i < index; i++) await input.press('ArrowDown');
	await input.press('Enter');
}

/** Opens a.py from the explorer and selects `count` whole lines after its first `skip`. */
export async function openAndSelectLines(page, skip, count) {
	await page.getByRole('treeitem', { name: /a\.py/ }).click({ timeout: 30000 });
	await page.waitForSelector('.monaco-editor .view-lines', { timeout: 30000 });
	await page.click('.monaco-editor .view-lines');
	await page.keyboard.press('Control+Home');
	for (let i = 0; i < skip; i++) await page.keyboard.press('ArrowDown');
	await page.keyboard.down('Shift');
	for (let i = 0; i < count; i++) await page.keyboard.press('ArrowDown');
	await page.keyboard.up('Shift');
}

/** Opens a.py from the explorer and selects its lines 4–6 (the workspace's read_lines function), which the smoke tests inspect. */
export async function openAndSelectFunction(page) {
	await openAndSelectLines(page, 3, 3);
}

/** Records why a smoke test failed: the error, the tail of code-server's log and a screenshot of the browser's first page (`shot`), if it is still there. */
export async function recordFailure(results, err, { server, browser, shot, logChars = 1500 }) {
	results.error = err instanceof Error ? err.message : String(err);
	results.serverLogTail = server.log().slice(-logChars);
	await browser
		?.contexts()[0]
		?.pages()[0]
		?.screenshot({ path: shot })
		.catch(() => undefined);
}

/** Runs Inspect Selection, waits for the decorations, and returns Feature Lens's hover over the `read_lines` token once it shows. */
export async function inspectAndHoverReadLines(page) {
	await runCommand(page, 'Feature Lens: Inspect Selection');
	await page.waitForSelector('.monaco-editor [class*="ced-"]', { timeout: 120000 });
	await page.keyboard.press('ArrowRight');
	const token = page
		.locator('.monaco-editor .view-lines span span')
		.filter({ hasText: /^read_lines$/ })
		.first();
	const box = await token.boundingBox();
	await page.mouse.move(box.x + 4, box.y + box.height / 2);
	await page.mouse.move(box.x + 8, box.y + box.height / 2);
	const hover = page.locator('.monaco-hover-content', { hasText: 'Feature Lens' }).first();
	await hover.waitFor({ state: 'visible', timeout: 20000 });
	return hover;
}
