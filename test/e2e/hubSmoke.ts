// End-to-end: a model and an SAE release from a local Hub through the editor, with no folder
// picked by hand. A local Hub on 127.0.0.1 (test/hub/localHub.ts) serves a GPT-2-small-shaped
// checkpoint (124M parameters, f32, 0.5 GB, GPT-2's config and weight names, seeded random
// weights), a SAELens-format SAE repository for its blocks.8.hook_resid_pre and a SAELens
// registry file; code-server's engine
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
import { answerInputBox, launchChromium, runCommand, startCodeServer } from './browser.mjs';
import { LocalHub, folderFiles } from '../hub/localHub';
import { encodeSafetensors } from '../../src/engine/io/safetensors';
import { gpt2Weights, writeCheckpoint } from '../../tools/fixtures/checkpointWriter';
import { gaussian } from '../../tools/fixtures/random';

const args = process.argv.slice(2);
const arg = (flag: string) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
const codeServer = arg('--code-server')!;
const extensionsDir = arg('--extensions-dir')!;
const port = 9000 + Math.floor(Math.random() * 1000);
const shots = path.resolve('test-results', 'e2e');
fs.mkdirSync(shots, { recursive: true });

const REGISTRY = `gpt2-small-shaped-res:
  conversion_func: null
  model: gpt2-small-shaped
  repo_id: test-org/gpt2-small-shaped-saes
  saes:
  - id: blocks.8.hook_resid_pre
    path: blocks.8.hook_resid_pre
    l0: 32.0
    neuronpedia: gpt2-small-shaped/8-res
`;

/** GPT-2 small's shape and config keys (12 layers, d_model 768, 50,257-token vocabulary, 1,024 positions). */
const GPT2_SMALL = { n_layer: 12, n_embd: 768, n_head: 12, vocab_size: 50257, n_positions: 1024, n_ctx: 1024 };

/** A GPT-2-small-shaped checkpoint folder (its tokenizer is the fixtures' small byte-level one: ids stay below the vocabulary). */
function gpt2SmallShaped(dir: string): void {
	const d = GPT2_SMALL.n_embd;
	writeCheckpoint(
		dir,
		{
			config: {
				architectures: ['GPT2LMHeadModel'],
				model_type: 'gpt2',
				activation_function: 'gelu_new',
				n_inner: null,
				layer_norm_epsilon: 1e-5,
				bos_token_id: 50256,
				eos_token_id: 50256,
				initializer_range: 0.02,
				...GPT2_SMALL,
			},
			weights: gpt2Weights(GPT2_SMALL.vocab_size, GPT2_SMALL.n_layer, d, 4 * d, GPT2_SMALL.n_positions),
			dtype: 'F32',
			shards: 1,
			keyPrefix: '',
		},
		11,
	);
}

/** A SAELens v6 TopK SAE (d_sae 3072, k 32) for the checkpoint's blocks.8.hook_resid_pre, seeded random weights. */
function saeFiles(): Record<string, Buffer> {
	const dIn = GPT2_SMALL.n_embd;
	const dSae = 3072;
	const rand = gaussian(5);
	const f32 = (n: number, std: number) => new Uint8Array(Float32Array.from({ length: n }, () => std * rand()).buffer);
	const cfg = {
		d_in: dIn,
		d_sae: dSae,
		dtype: 'float32',
		device: 'cpu',
		apply_b_dec_to_input: true,
		normalize_activations: 'none',
		reshape_activations: 'none',
		k: 32,
		rescale_acts_by_decoder_norm: true,
		architecture: 'topk',
		metadata: {
			sae_lens_version: '6.5.1',
			model_name: 'gpt2-small-shaped',
			model_class_name: 'HookedTransformer',
			hook_name: 'blocks.8.hook_resid_pre',
			hook_head_index: null,
			context_size: 128,
			prepend_bos: true,
		},
	};
	const weights = encodeSafetensors({
		W_enc: { dtype: 'F32', shape: [dIn, dSae], data: f32(dIn * dSae, 0.05) },
		b_enc: { dtype: 'F32', shape: [dSae], data: f32(dSae, 0.01) },
		W_dec: { dtype: 'F32', shape: [dSae, dIn], data: f32(dSae * dIn, 0.05) },
		b_dec: { dtype: 'F32', shape: [dIn], data: f32(dIn, 0.01) },
	});
	return { 'blocks.8.hook_resid_pre/cfg.json': Buffer.from(JSON.stringify(cfg, null, 2)), 'blocks.8.hook_resid_pre/sae_weights.safetensors': weights };
}

async function main(): Promise<void> {
	const hub = await LocalHub.start();
	const checkpoint = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-gpt2-small-shaped-'));
	gpt2SmallShaped(checkpoint);
	hub.addCommit('test-org/gpt2-small-shaped', folderFiles(checkpoint));
	fs.rmSync(checkpoint, { recursive: true, force: true });
	hub.addCommit('test-org/gpt2-small-shaped-saes', saeFiles());
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
		await answerInputBox(page, 'Feature Lens: Refresh SAE Releases', 'hf:test-org/registry/pretrained_saes.yaml');
		await notification('1 SAE releases (1 SAEs)').waitFor({ timeout: 120_000 });

		await runCommand(page, 'Feature Lens: Open Model from Hub');
		await answerInputBox(page, 'Feature Lens: Open Model from Hub', 'test-org/gpt2-small-shaped');
		await page.locator('.statusbar-item', { hasText: 'Feature Lens · test-org/gpt2-small-shaped' }).first().waitFor({ timeout: 120_000 });
		results.modelDownloads = hub.requests.filter((r) => r.server === 'cdn' || r.url.includes('/resolve/')).length;
		await page.screenshot({ path: path.join(shots, 'hub-1-model.png') });

		await runCommand(page, 'Feature Lens: Load SAE from Release');
		await choose('gpt2-small-shaped-res');
		await choose('blocks.8.hook_resid_pre');
		// The status bar names what is loaded (a toast may already have hidden again).
		await page.locator('.statusbar-item', { hasText: 'test-org/gpt2-small-shaped · topk 3072 @ blocks.8.hook_resid_pre' }).first().waitFor({ timeout: 120_000 });
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
		const href =
			(await page.locator('.monaco-hover-content a', { hasText: 'Neuronpedia' }).first().getAttribute('data-href')) ??
			(await page.locator('.monaco-hover-content a', { hasText: 'Neuronpedia' }).first().getAttribute('href'));
		if (!href?.startsWith('https://www.neuronpedia.org/gpt2-small-shaped/8-res/')) throw new Error(`the hover has no Neuronpedia link (${hoverText}; href ${String(href)})`);
		results.neuronpediaLink = href;
		await page.screenshot({ path: path.join(shots, 'hub-4-hover.png') });

		// What the settings now say, and that the files are in the Python cache layout. The model and
		// SAE settings are per machine: code-server keeps them in the machine's settings, not the user's.
		const settings = JSON.parse(fs.readFileSync(path.join(userData, 'Machine', 'settings.json'), 'utf8')) as Record<string, string>;
		results.modelSetting = settings['featureLens.model'];
		results.saeSetting = settings['featureLens.sae'];
		if (!/^hf:test-org\/gpt2-small-shaped@[0-9a-f]{40}$/.test(String(results.modelSetting))) throw new Error(`featureLens.model is ${String(results.modelSetting)}`);
		if (results.saeSetting !== 'release:gpt2-small-shaped-res/blocks.8.hook_resid_pre') throw new Error(`featureLens.sae is ${String(results.saeSetting)}`);
		for (const repo of ['models--test-org--gpt2-small-shaped', 'models--test-org--gpt2-small-shaped-saes']) {
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
