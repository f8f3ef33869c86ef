// The steering sidebar webview bundle in Debian's Chromium (playwright-core), under the real CSP
// document from webviewDocument(), with a stub of the webview API answering as the host does.
// Labels and streamed tokens carry HTML/script payloads: they must show as literal text and run
// nothing. It also drives the sidebar by keyboard (add a feature by number with Enter, step the
// strength with the arrow keys), checks what the webview posts (the generate request carries
// the strength typed), that baseline and steered columns fill with the differing tokens marked,
// and that the state (features, prompt, run) comes back after a reload through getState.
// Screenshot: test-results/e2e/steering-fixture.png.
//
//   node esbuild.mjs && node --import tsx test/e2e/steeringView.ts

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { launchChromium } from './browser.mjs';
import { serveWebview } from './webviewPage';

const ROOT = path.resolve(__dirname, '..', '..');
const shots = path.join(ROOT, 'test-results', 'e2e');
fs.mkdirSync(shots, { recursive: true });
const bundle = path.join(ROOT, 'dist', 'webview', 'steering.js');
if (!fs.existsSync(bundle)) throw new Error(`${bundle} is missing: run "node esbuild.mjs" first`);

const PAYLOADS = ['<img src=x onerror=window.__pwned=1>', '</script><script>window.__pwned=1</script>', '"><svg onload=window.__pwned=1>'];

/** Installed before the page's scripts: the VS Code webview API, answering like the host would. State lives in sessionStorage so a reload keeps it, as VS Code does. */
function stub(args: { payloads: string[] }): void {
	const w = window as unknown as Record<string, unknown>;
	const posted = JSON.parse(sessionStorage.getItem('posted') ?? '[]') as { type: string }[];
	const violations: string[] = [];
	w['__posted'] = posted;
	w['__violations'] = violations;
	document.addEventListener('securitypolicyviolation', (e) => violations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample} ${e.sourceFile}:${e.lineNumber}`));
	const reply = (m: unknown, delay = 10) => setTimeout(() => window.postMessage(m, '*'), delay);
	const sae = { source: '/saes/demo', hookName: 'blocks.2.hook_resid_pre', dSae: 3072, modelName: 'pycode', nCtx: 256 };
	w['acquireVsCodeApi'] = () => ({
		getState: (): unknown => (JSON.parse(sessionStorage.getItem('state') ?? 'null') as unknown) ?? undefined,
		setState: (s: unknown) => sessionStorage.setItem('state', JSON.stringify(s)),
		postMessage: (m: { type: string; query?: string; featureIndex?: number; prompt?: string }) => {
			posted.push(m);
			sessionStorage.setItem('posted', JSON.stringify(posted));
			if (m.type === 'ready') {
				reply({ type: 'setup', setup: { entries: [], positions: 'all' }, sampling: { maxNewTokens: 64, temperature: 0.5, topP: 1, seed: 16 } });
				reply({ type: 'context', sae, inlineEnabled: false });
				reply({ type: 'presets', names: [args.payloads[2]] });
			}
			if (m.type === 'search') reply({ type: 'searchResults', query: m.query, hits: [{ featureIndex: 7, label: args.payloads[0], detail: 'density 1.2% · max 9.0' }] });
			if (m.type === 'lookupLabel') reply({ type: 'featureLabel', featureIndex: m.featureIndex, label: args.payloads[1] });
			if (m.type === 'sweep') {
				const sweep = m as unknown as { strengths: number[]; featureIndex: number };
				const run = { kind: 'sweep', runId: 's1', prompt: m.prompt, featureIndex: sweep.featureIndex, mode: 'add', strengths: sweep.strengths, entries: sweep.strengths.map(() => []) };
				reply({ type: 'runStarted', run });
				const entries = sweep.strengths.map((_, i) => [
					{ id: 1, text: 'x' },
					{ id: 10 + i, text: i ? ` # ${args.payloads[2]}` : ' = 1' },
				]);
				entries.forEach((tokens, i) => reply({ type: 'tokens', runId: 's1', which: 'steered', sweepIndex: i, tokens }, 20 + 10 * i));
				reply({ type: 'runEnded', run: { ...run, entries, done: { cancelled: false } } }, 80);
			}
			if (m.type === 'generate') {
				const runId = 'r1';
				const run = { kind: 'compare', runId, prompt: m.prompt, baseline: [], steered: [] };
				reply({ type: 'runStarted', run });
				const baseline = [
					{ id: 1, text: 'def' },
					{ id: 2, text: ' f' },
					{ id: 3, text: '(x):' },
					{ id: 4, text: '\n' },
				];
				const steered = [
					{ id: 1, text: 'def' },
					{ id: 9, text: args.payloads[0] },
					{ id: 8, text: args.payloads[1] },
					{ id: 4, text: '\n' },
				];
				reply({ type: 'tokens', runId, which: 'baseline', tokens: baseline.slice(0, 2) }, 20);
				reply({ type: 'tokens', runId, which: 'steered', tokens: steered.slice(0, 2) }, 30);
				reply({ type: 'tokens', runId, which: 'baseline', tokens: baseline.slice(2) }, 40);
				reply({ type: 'tokens', runId, which: 'steered', tokens: steered.slice(2) }, 50);
				reply({ type: 'runEnded', run: { ...run, baseline, steered, done: { baselineStop: 'maxTokens', steeredStop: 'maxTokens', cancelled: false } } }, 80);
			}
		},
	});
	document.addEventListener('DOMContentLoaded', () => {
		document.body.classList.add('vscode-dark');
		const vars: Record<string, string> = {
			'--vscode-foreground': '#cccccc',
			'--vscode-editor-background': '#1f1f1f',
			'--vscode-sideBar-background': '#181818',
			'--vscode-descriptionForeground': '#9d9d9d',
			'--vscode-font-family': 'sans-serif',
			'--vscode-font-size': '13px',
			'--vscode-editor-font-family': 'monospace',
			'--vscode-panel-border': '#2b2b2b',
			'--vscode-focusBorder': '#0078d4',
			'--vscode-textLink-foreground': '#4daafc',
			'--vscode-button-background': '#0078d4',
			'--vscode-button-foreground': '#ffffff',
			'--vscode-diffEditor-insertedTextBackground': '#9ccc2c33',
			'--vscode-diffEditor-removedTextBackground': '#ff000033',
			'--vscode-errorForeground': '#f85149',
		};
		for (const [k, v] of Object.entries(vars)) document.documentElement.style.setProperty(k, v);
	});
}

function stubSource(args: Parameters<typeof stub>[0]): { content: string } {
	return { content: `window.__name = (f) => f;\n(${stub.toString()})(${JSON.stringify(args)});` };
}

async function main(): Promise<void> {
	const server = await serveWebview({ bundle: 'steering', title: 'Steering' });
	const { base } = server;
	const results: Record<string, unknown> = {};
	const browser = await launchChromium();
	try {
		const page = await browser.newPage({ viewport: { width: 380, height: 1100 } });
		const errors: string[] = [];
		page.on('pageerror', (e) => errors.push(e.message));
		await page.addInitScript(stubSource({ payloads: PAYLOADS }));
		await page.goto(base);
		await page.waitForSelector('#feature-search', { timeout: 20000 });
		await page.waitForFunction(() => document.querySelector('.sae-line')?.textContent?.includes('3,072'), undefined, { timeout: 10000 });

		// Add feature 1132 by number with the keyboard.
		await page.locator('#feature-search input').focus();
		await page.keyboard.type('1132');
		await page.keyboard.press('Enter');
		await page.waitForSelector('li.entry[data-feature="1132"]', { timeout: 5000 });
		// Its label (a payload) arrives from the host and shows as text.
		await page.waitForFunction(() => document.querySelector('li.entry .label')?.textContent?.includes('<script>'), undefined, { timeout: 5000 });
		// The strength box has the focus after adding; ArrowUp steps it and the slider follows.
		await page.keyboard.press('ArrowUp');
		await page.keyboard.press('ArrowUp');
		const strength = await page.evaluate(() => ({
			box: document.querySelector<HTMLInputElement>('li.entry .strength-box')?.value,
			slider: document.querySelector<HTMLInputElement>('li.entry input[type=range]')?.value,
		}));
		assert.deepEqual(strength, { box: '22', slider: '22' }, 'arrow keys step the strength box and the slider follows');
		// A label search shows hits; clicking one adds it.
		await page.locator('#feature-search input').fill('comment');
		await page.waitForSelector('.hits .hit', { timeout: 5000 });
		await page.locator('.hits .hit').first().click();
		await page.waitForSelector('li.entry[data-feature="7"]', { timeout: 5000 });

		await page.locator('#prompt textarea').fill('import os\n\n\ndef read_lines(path):\n');
		await page.locator('#generate').click();
		await page.waitForFunction(() => document.querySelectorAll('.column.steered .tok').length === 4 && document.querySelector('.column.steered .caption')?.textContent === '', undefined, {
			timeout: 5000,
		});
		const columns = await page.evaluate(() => ({
			baseline: Array.from(document.querySelectorAll('.column.baseline .tok')).map((e) => e.textContent),
			steered: Array.from(document.querySelectorAll('.column.steered .tok')).map((e) => e.textContent),
			added: Array.from(document.querySelectorAll('.column.steered .tok.added')).map((e) => e.textContent),
			removed: Array.from(document.querySelectorAll('.column.baseline .tok.removed')).map((e) => e.textContent),
			summary: document.querySelector('.diff-summary')?.textContent,
		}));
		assert.deepEqual(columns.added, [PAYLOADS[0], PAYLOADS[1]], 'the steered tokens that differ are marked');
		assert.deepEqual(columns.removed, [' f', '(x):'], 'the baseline tokens that differ are marked');
		assert.equal(columns.summary, '2 of 4 steered tokens differ from the baseline.');
		const generate = await page.evaluate(() => (window as unknown as { __posted: { type: string }[] }).__posted.find((m) => m.type === 'generate'));
		assert.deepEqual(
			(generate as unknown as { setup: unknown }).setup,
			{
				entries: [
					{ featureIndex: 1132, label: PAYLOADS[1], mode: 'add', strength: 22, enabled: true },
					{ featureIndex: 7, label: PAYLOADS[0], mode: 'add', strength: 20, enabled: true },
				],
				positions: 'all',
			},
			'generate carries the features with the strengths set',
		);
		await page.locator('.column.steered vscode-button', { hasText: 'Insert' }).click();
		const inserted = await page.evaluate(() => (window as unknown as { __posted: { type: string; text?: string }[] }).__posted.find((m) => m.type === 'insert'));
		assert.equal(inserted?.text, `def${PAYLOADS[0]}${PAYLOADS[1]}\n`, 'Insert posts the steered completion');

		const safety = await page.evaluate(() => ({
			pwned: (window as unknown as Record<string, unknown>)['__pwned'],
			handlerAttributes: Array.from(document.querySelectorAll('*')).flatMap((e) =>
				Array.from(e.attributes)
					.filter((a) => /^on/i.test(a.name))
					.map(() => e.tagName),
			),
			foreign: document.querySelectorAll('img, iframe, object, embed, script:not([nonce]), svg, style:not([nonce])').length,
			violations: (window as unknown as { __violations: string[] }).__violations,
		}));
		assert.equal(safety.pwned, undefined, 'a payload executed');
		assert.deepEqual(safety.handlerAttributes, []);
		assert.equal(safety.foreign, 0, 'elements created from payloads');
		assert.deepEqual(safety.violations, [], 'our own code triggered CSP violations');
		await page.screenshot({ path: path.join(shots, 'steering-fixture.png'), fullPage: true });

		// A sweep over #7's strength, the other feature held fixed.
		await page.locator('.sweep-box summary').click();
		await page.locator('#sweep-strengths input').fill('-10, 0 25');
		await page.locator('#run-sweep').click();
		await page.waitForFunction(() => document.querySelectorAll('.results.sweep .column').length === 3 && !document.querySelector('.results.sweep .caption')?.textContent, undefined, { timeout: 5000 });
		const sweepPosted = await page.evaluate(
			() => (window as unknown as { __posted: { type: string }[] }).__posted.find((m) => m.type === 'sweep') as unknown as { strengths: number[]; featureIndex: number },
		);
		assert.deepEqual(sweepPosted.strengths, [-10, 0, 25], 'the typed strengths are sent');
		assert.equal(sweepPosted.featureIndex, 1132, 'the first listed feature is swept by default');
		const sweepRows = await page.evaluate(() =>
			Array.from(document.querySelectorAll('.results.sweep .column')).map((c) => c.querySelector('h3')?.textContent + ': ' + c.querySelector('.tokens')?.textContent),
		);
		assert.deepEqual(sweepRows, ['Strength -10: x = 1', `Strength 0: x # ${PAYLOADS[2]}`, `Strength 25: x # ${PAYLOADS[2]}`]);
		await page.screenshot({ path: path.join(shots, 'steering-fixture-sweep.png'), fullPage: true });
		results['sweep'] = sweepRows;
		assert.equal(await page.evaluate(() => (window as unknown as Record<string, unknown>)['__pwned'] ?? document.querySelectorAll('svg, img').length), 0, 'sweep tokens rendered as text');
		// Back to the comparison for the reload check.
		await page.locator('#generate').click();
		await page.waitForFunction(() => document.querySelectorAll('.column.steered .tok').length === 4 && document.querySelector('.column.steered .caption')?.textContent === '', undefined, {
			timeout: 5000,
		});

		// Reload: features, prompt and the run come back from getState.
		await page.reload();
		await page.waitForSelector('li.entry[data-feature="7"]', { timeout: 10000 });
		await page.waitForSelector('.column.steered .tok', { timeout: 10000 });
		const restored = await page.evaluate(() => ({
			entries: Array.from(document.querySelectorAll('li.entry')).map((e) => (e as HTMLElement).dataset['feature']),
			prompt: document.querySelector<HTMLInputElement>('#prompt')?.value,
			steered: document.querySelectorAll('.column.steered .tok').length,
		}));
		assert.deepEqual(restored, { entries: ['1132', '7'], prompt: 'import os\n\n\ndef read_lines(path):\n', steered: 4 }, 'state survives a reload');
		assert.deepEqual(errors, [], 'page errors');
		results['columns'] = columns;
		results['restored'] = restored;
		results['ok'] = true;
	} catch (err) {
		results['ok'] = false;
		results['error'] = err instanceof Error ? err.stack : String(err);
	} finally {
		await browser.close();
		server.close();
	}
	console.log(JSON.stringify(results, null, 2));
	process.exitCode = results['ok'] ? 0 : 1;
}

void main();
