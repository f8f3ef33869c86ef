// End-to-end first run and update, in a real VS Code (code-server + Debian Chromium +
// playwright-core). A fresh profile with one build of the package installed: the Feature Lens
// view shows its welcome content, whose Get Started opens the walkthrough (over the Welcome
// page's own walkthrough, which code-server opens at startup); the walkthrough's first steps
// inspect the demo (highlights in an untitled editor, the step ticked), open feature 1132's
// dashboard, where a label is saved, and steer with it. Then the next build is installed over
// it, as an update is, and in the same profile the dashboard still shows the label: labels
// live in VS Code's global storage under the SAE's content hash, not in the extension's
// folder, which the update replaced. Screenshots: test-results/e2e/firstrun-*.png.
//
//   node test/e2e/firstRunSmoke.mjs --code-server CODE_SERVER --extensions-dir DIR --vsix A.vsix --next-vsix B.vsix
//
// Every process it starts is stopped at the end; it binds only to 127.0.0.1.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { answerInputBox, launchChromium, runCommand, startCodeServer, waitUntil } from './browser.mjs';
import { webviewWith } from './webviewFrame.mjs';

const args = process.argv.slice(2);
const arg = (flag) => args[args.indexOf(flag) + 1];
const codeServer = arg('--code-server');
const extensionsDir = arg('--extensions-dir');
const vsix = arg('--vsix');
const nextVsix = arg('--next-vsix');
const shots = path.resolve('test-results', 'e2e');
fs.mkdirSync(shots, { recursive: true });

const FEATURE = 1132;
const LABEL = 'comment marker (my label)';
const EXTENSION_ID = 'feature-lens.feature-lens';
const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-ws-'));
fs.writeFileSync(path.join(workspace, 'notes.txt'), 'A folder without Python files: the demo needs none.\n');
const userData = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-ud-'));

/** Installs a .vsix into the extensions folder the way `code --install-extension` does, replacing an older version. */
function install(file) {
	execFileSync(codeServer, ['--extensions-dir', extensionsDir, '--user-data-dir', userData, '--install-extension', file], { stdio: 'ignore' });
	const manifest = JSON.parse(fs.readFileSync(path.join(extensionsDir, 'extensions.json'), 'utf8'));
	return manifest.find((e) => e.identifier.id === EXTENSION_ID)?.version;
}

/** Every file under `dir` whose name ends with `suffix`. */
function findFiles(dir, suffix) {
	if (!fs.existsSync(dir)) return [];
	return fs
		.readdirSync(dir, { recursive: true })
		.map(String)
		.filter((f) => path.basename(f).endsWith(suffix))
		.map((f) => path.join(dir, f));
}

async function openWorkbench(browser, port) {
	const server = startCodeServer({ codeServer, extensionsDir, userData, workspace, port });
	await server.listening(60_000);
	const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
	page.setDefaultTimeout(30_000);
	page.on('console', (m) => {
		if (m.type() === 'error') consoleErrors.push(m.text().slice(0, 300));
	});
	await page.goto(server.url, { timeout: 60_000 });
	await page.waitForSelector('.monaco-workbench', { timeout: 120_000 });
	return { server, page };
}

/** A webview's dashboard for `feature`, once its label editor shows. */
async function dashboardOf(page, feature) {
	const frame = await webviewWith(page, 'header h1', 120_000, `Feature ${feature}`);
	await frame.locator('#label-input').waitFor({ timeout: 60_000 });
	return frame;
}

const results = { steps: [] };
/** The workbench's and the webviews' console errors, reported when a step fails. */
const consoleErrors = [];
let browser;
let session;
try {
	fs.rmSync(extensionsDir, { recursive: true, force: true });
	results.installed = install(vsix);
	browser = await launchChromium();
	session = await openWorkbench(browser, 9000 + Math.floor(Math.random() * 500));
	const { page } = session;

	// The Feature Lens view before anything is loaded: its welcome content.
	await page.locator('.activitybar .action-item a[aria-label^="Feature Lens"]').first().click();
	const welcome = page.locator('.welcome-view-content', { hasText: 'See which sparse-autoencoder features fire' }).first();
	await welcome.waitFor({ timeout: 30_000 });
	results.welcome = await welcome.innerText();
	await page.screenshot({ path: path.join(shots, 'firstrun-1-welcome.png') });
	results.steps.push('welcome content');

	// Get Started opens our walkthrough, even over the Welcome page's own.
	await welcome.getByRole('button', { name: 'Get Started' }).click();
	await page.locator('.tabs-container .tab', { hasText: 'Walkthrough: Feature Lens' }).first().waitFor({ timeout: 30_000 });
	const walkthrough = page.locator('.gettingStartedContainer').first();
	await walkthrough.locator('h2', { hasText: 'Get Started with Feature Lens' }).first().waitFor();
	results.walkthroughSteps = await walkthrough.locator('.getting-started-step .step-title').allInnerTexts();
	await page.screenshot({ path: path.join(shots, 'firstrun-2-walkthrough.png') });
	results.steps.push('walkthrough');

	// Step 1: inspect the demo, in an untitled editor.
	const stepButton = (name) => walkthrough.locator('a.monaco-button', { hasText: name }).first();
	await stepButton('Inspect the Demo').click();
	await page.locator('.monaco-editor .view-lines', { hasText: 'read_lines' }).first().waitFor({ timeout: 30_000 });
	await page.locator('.monaco-editor [class*="ced-"]').first().waitFor({ timeout: 120_000 });
	results.demoDecorations = await page.locator('.monaco-editor [class*="ced-"]').count();
	await page.screenshot({ path: path.join(shots, 'firstrun-3-demo.png') });
	results.steps.push('inspect the demo');

	// Back in the walkthrough, the first step is ticked; step 2 opens feature 1132's dashboard.
	await page.locator('.tabs-container .tab', { hasText: 'Walkthrough: Feature Lens' }).first().click();
	const firstStep = walkthrough.locator('.getting-started-step', { hasText: 'Inspect the demo' }).first();
	await waitUntil(async () => (await firstStep.getAttribute('aria-checked')) === 'true', 20_000, 'the first step to be ticked');
	await walkthrough.locator('.getting-started-step', { hasText: "Open a feature's dashboard" }).first().click();
	await stepButton(`Open Feature ${FEATURE}`).click();
	let dashboard = await dashboardOf(page, FEATURE);
	await dashboard.locator('#label-input input').fill(LABEL);
	await dashboard.locator('#label-editor vscode-button', { hasText: 'Save' }).click();
	await waitUntil(async () => (await dashboard.locator('#label-editor .status').innerText()) === 'saved', 30_000, 'the label to be saved');
	await page.screenshot({ path: path.join(shots, 'firstrun-4-label.png') });
	results.steps.push('label a feature in its dashboard');

	// Step 3: steer with the same feature; the Steering view lists it.
	await page.locator('.tabs-container .tab', { hasText: 'Walkthrough: Feature Lens' }).first().click();
	await walkthrough.locator('.getting-started-step', { hasText: 'Steer the model' }).first().click();
	await stepButton(`Steer with Feature ${FEATURE}`).click();
	const steering = await webviewWith(page, `li.entry[data-feature="${FEATURE}"]`, 60_000);
	results.steeringEntry = await steering.locator(`li.entry[data-feature="${FEATURE}"]`).innerText();
	await page.screenshot({ path: path.join(shots, 'firstrun-5-steer.png') });
	results.steps.push('steer');

	// The label is in the global storage, under the SAE's content hash; nothing in the extension's folder.
	const storage = path.join(userData, 'User', 'globalStorage', EXTENSION_ID);
	results.labelFiles = findFiles(storage, 'labels.json').map((f) => path.relative(storage, f));
	results.labelFilesInExtension = findFiles(extensionsDir, 'labels.json');
	// The dashboard's tab closed, so the updated window opens it afresh: a dashboard VS Code restores
	// in the same start as the update sometimes stays blank in code-server (its webview never
	// reports ready), which dashboardSmoke's reload test does not see within one version.
	await page
		.locator('.tabs-container .tab', { hasText: `Feature ${FEATURE}` })
		.first()
		.locator('.codicon-close')
		.click();
	await page.locator('.tabs-container .tab', { hasText: `Feature ${FEATURE}` }).waitFor({ state: 'detached', timeout: 10_000 });
	await page.close();
	await session.server.stop();
	session = undefined;

	// The update: the next build over this one, same profile.
	results.updated = install(nextVsix);
	results.extensionFolders = fs.readdirSync(extensionsDir).filter((f) => f.startsWith(EXTENSION_ID));
	session = await openWorkbench(browser, 9500 + Math.floor(Math.random() * 500));
	const next = session.page;
	await next.locator('.activitybar .action-item a[aria-label^="Feature Lens"]').first().waitFor({ timeout: 60_000 });
	await runCommand(next, 'Feature Lens: Open Feature Dashboard', 'Walkthrough');
	await answerInputBox(next, 'Feature Lens: Open Feature Dashboard', String(FEATURE));
	dashboard = await dashboardOf(next, FEATURE);
	await waitUntil(async () => (await dashboard.locator('#label-input').evaluate((e) => e.value)) !== '', 30_000, 'the label to fill in');
	results.labelAfterUpdate = await dashboard.locator('#label-input').evaluate((e) => e.value);
	await next.screenshot({ path: path.join(shots, 'firstrun-6-after-update.png') });
	// The engine that answered ran from the new version's folder (its SAE path says so in the log).
	const logs = findFiles(path.join(userData, 'logs'), 'Feature Lens.log');
	results.loadedFrom = [...new Set(logs.flatMap((f) => fs.readFileSync(f, 'utf8').match(/ready: demo with SAE (\S+)/g) ?? []))];
	results.steps.push('label kept across the update');

	results.ok =
		results.installed !== results.updated &&
		results.walkthroughSteps.length === 5 &&
		results.demoDecorations > 0 &&
		results.labelFiles.length === 1 &&
		/^saes\/[0-9a-f]{64}\/labels\.json$/.test(results.labelFiles[0]) &&
		results.labelFilesInExtension.length === 0 &&
		results.extensionFolders.some((f) => f.endsWith(`-${results.updated}`)) &&
		results.loadedFrom.some((l) => l.includes(`${EXTENSION_ID}-${results.updated}${path.sep}`)) &&
		results.labelAfterUpdate === LABEL;
} catch (err) {
	results.error = err instanceof Error ? err.message : String(err);
	results.serverLogTail = session?.server.log().slice(-1500);
	results.consoleErrors = consoleErrors.slice(-20);
	await session?.page.screenshot({ path: path.join(shots, 'firstrun-failure.png') }).catch(() => undefined);
} finally {
	await browser?.close();
	session?.server.kill();
}
console.log(JSON.stringify(results, null, 2));
process.exitCode = results.ok ? 0 : 1;
