// End-to-end: a model and an SAE release from a local Hub through the editor, with no folder
// picked by hand. A local Hub on 127.0.0.1 (test/hub/localHub.ts) serves the tiny GPT-2
// checkpoint, a SAELens-format SAE repository and a SAELens registry file; code-server's engine
// is pointed at it with HF_ENDPOINT and at an empty cache with HF_HUB_CACHE. In the palette:
// "Refresh SAE Releases…" (from hf:…/pretrained_saes.yaml), "Open Model from Hub…" (typed repo
// id), "Load SAE from Release…" (release, then SAE), then "Inspect Selection" decorates a.py.
//
//   node --import tsx test/e2e/hubSmoke.ts --code-server DIR/node_modules/.bin/code-server --extensions-dir DIR/ext
//
// Every process it starts is stopped at the end; everything binds to 127.0.0.1.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { launchChromium, runCommand, startCodeServer } from './browser.mjs';
import { LocalHub, folderFiles } from '../hub/localHub';

const args = process.argv.slice(2);
const arg = (flag: string) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
const codeServer = arg('--code-server')!;
const extensionsDir = arg('--extensions-dir')!;
const port = 9000 + Math.floor(Math.random() * 1000);
const shots = path.resolve('test-results', 'e2e');
fs.mkdirSync(shots, { recursive: true });
const fixtures = path.resolve('test', 'fixtures');

const REGISTRY = `gpt2-tiny-res:
  conversion_func: null
  model: gpt2-tiny
  repo_id: test-org/gpt2-tiny-saes
  saes:
  - id: blocks.1.hook_resid_post
    path: blocks.1.hook_resid_post
    l0: 4.0
    neuronpedia: gpt2-tiny/1-res
`;

async function main(): Promise<void> {
	const hub = await LocalHub.start();
	hub.addCommit('test-org/gpt2-tiny', folderFiles(path.join(fixtures, 'models', 'gpt2-tiny')));
	const saes: Record<string, Buffer> = {};
	for (const [f, data] of Object.entries(folderFiles(path.join(fixtures, 'sae', 'topk-v6')))) saes[`blocks.1.hook_resid_post/${f}`] = data;
	hub.addCommit('test-org/gpt2-tiny-saes', saes);
	hub.addCommit('test-org/registry', { 'pretrained_saes.yaml': Buffer.from(REGISTRY) });

	const home = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-hub-e2e-'));
	// code-server's extension host, and so the engine, inherit this environment.
	process.env.HF_ENDPOINT = hub.endpoint;
	process.env.HF_HUB_CACHE = path.join(home, 'hub');
	process.env.HF_HOME = path.join(home, 'hf-home');
	delete process.env.HF_TOKEN;
	delete process.env.HF_HUB_OFFLINE;

	const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-ws-'));
	fs.writeFileSync(path.join(workspace, 'a.py'), 'def read_lines(path):\n    with open(path) as f:\n        return [line for line in f]\n');
	const userData = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-ud-'));
	fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
	fs.writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify({ 'workbench.startupEditor': 'none', 'editor.minimap.enabled': false }));

	const server = startCodeServer({ codeServer, extensionsDir, userData, workspace, port });
	const results: Record<string, unknown> = {};
	let page: Page | undefined;
	const browser = await launchChromium();
	const notification = (text: string | RegExp) => page!.locator('.notifications-toasts .notification-list-item', { hasText: text }).first();
	const input = async (text: string) => {
		const box = page!.locator('.quick-input-widget:not(.hidden) input');
		await box.waitFor({ timeout: 30_000 });
		await box.fill(text);
	};
	const choose = async (label: string) => {
		await page!.locator('.quick-input-widget:not(.hidden) .quick-input-list .monaco-list-row', { hasText: label }).first().waitFor({ timeout: 60_000 });
		await page!.locator('.quick-input-widget:not(.hidden) input').fill(label);
		await page!.keyboard.press('Enter');
	};
	try {
		await server.listening(60_000);
		page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
		await page.goto(server.url, { timeout: 60_000 });
		await page.waitForSelector('.monaco-workbench', { timeout: 120_000 });
		await page.getByRole('treeitem', { name: /^a\.py/ }).click({ timeout: 30_000 });
		await page.locator('.monaco-editor .view-lines', { hasText: 'read_lines' }).waitFor({ timeout: 30_000 });

		// The workbench has the extension's contributions (its activity-bar container) before the first palette command.
		await page.locator('.activitybar [aria-label*="Feature Lens"]').first().waitFor({ timeout: 60_000 });
		await runCommand(page, 'Feature Lens: Refresh SAE Releases');
		await input('hf:test-org/registry/pretrained_saes.yaml');
		await page.keyboard.press('Enter');
		await notification('1 SAE releases (1 SAEs)').waitFor({ timeout: 120_000 });

		await runCommand(page, 'Feature Lens: Open Model from Hub');
		await input('test-org/gpt2-tiny');
		await page.keyboard.press('Enter');
		await page.locator('.statusbar-item', { hasText: 'Feature Lens · test-org/gpt2-tiny' }).first().waitFor({ timeout: 120_000 });
		results.modelDownloads = hub.requests.filter((r) => r.server === 'cdn' || r.url.includes('/resolve/')).length;
		await page.screenshot({ path: path.join(shots, 'hub-1-model.png') });

		await runCommand(page, 'Feature Lens: Load SAE from Release');
		await choose('gpt2-tiny-res');
		await choose('blocks.1.hook_resid_post');
		// The status bar names what is loaded (a toast may already have hidden again).
		await page.locator('.statusbar-item', { hasText: 'test-org/gpt2-tiny · topk 64 @ blocks.1.hook_resid_post' }).first().waitFor({ timeout: 120_000 });
		await page.screenshot({ path: path.join(shots, 'hub-2-sae.png') });

		await page.click('.monaco-editor .view-lines');
		await page.keyboard.press('Control+A');
		await runCommand(page, 'Feature Lens: Inspect Selection');
		await page.locator('.monaco-editor [class*="ced-"]').first().waitFor({ timeout: 120_000 });
		results.decorations = await page.locator('.monaco-editor [class*="ced-"]').count();
		await page.screenshot({ path: path.join(shots, 'hub-3-inspect.png') });
		// The hover links each feature to its Neuronpedia page (the release gives the SAE's Neuronpedia id).
		await page.keyboard.press('ArrowRight');
		const box = (await page.locator('.monaco-editor .view-line', { hasText: 'read_lines' }).first().boundingBox())!;
		let hoverText = '';
		for (let attempt = 0; attempt < 4 && !hoverText.includes('Neuronpedia'); attempt++) {
			await page.mouse.move(box.x + 200, box.y - 60);
			await page.mouse.move(box.x + 30 + attempt, box.y + box.height / 2);
			const hover = page.locator('.monaco-hover-content', { hasText: 'Feature Lens' }).first();
			await hover.waitFor({ state: 'visible', timeout: 15_000 }).catch(() => {});
			hoverText = await hover.innerText().catch(() => '');
		}
		const href = await page.locator('.monaco-hover-content a', { hasText: 'Neuronpedia' }).first().getAttribute('data-href') ?? await page.locator('.monaco-hover-content a', { hasText: 'Neuronpedia' }).first().getAttribute('href');
		if (!href?.startsWith('https://www.neuronpedia.org/gpt2-tiny/1-res/')) throw new Error(`the hover has no Neuronpedia link (${hoverText}; href ${String(href)})`);
		results.neuronpediaLink = href;
		await page.screenshot({ path: path.join(shots, 'hub-4-hover.png') });

		// What the settings now say, and that the files are in the Python cache layout. The model and
		// SAE settings are per machine: code-server keeps them in the machine's settings, not the user's.
		const settings = JSON.parse(fs.readFileSync(path.join(userData, 'Machine', 'settings.json'), 'utf8')) as Record<string, string>;
		results.modelSetting = settings['featureLens.model'];
		results.saeSetting = settings['featureLens.sae'];
		if (!/^hf:test-org\/gpt2-tiny@[0-9a-f]{40}$/.test(String(results.modelSetting))) throw new Error(`featureLens.model is ${String(results.modelSetting)}`);
		if (results.saeSetting !== 'release:gpt2-tiny-res/blocks.1.hook_resid_post') throw new Error(`featureLens.sae is ${String(results.saeSetting)}`);
		for (const repo of ['models--test-org--gpt2-tiny', 'models--test-org--gpt2-tiny-saes']) {
			if (!fs.existsSync(path.join(home, 'hub', repo, 'refs', 'main'))) throw new Error(`no ${repo}/refs/main in the cache`);
		}
		fs.writeFileSync(path.join(shots, 'hub-results.json'), JSON.stringify(results, null, 2));
		process.stdout.write(`hub e2e: ok ${JSON.stringify(results)}\n`);
	} catch (err) {
		await page?.screenshot({ path: path.join(shots, 'hub-failure.png') }).catch(() => {});
		process.stderr.write(`hub e2e failed: ${err instanceof Error ? err.message : String(err)}\n--- code-server log ---\n${server.log().slice(-4000)}\n`);
		process.exitCode = 1;
	} finally {
		await browser.close();
		server.kill();
		await hub.close();
	}
}

void main();
