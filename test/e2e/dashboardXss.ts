// The dashboard webview bundle rendered in Debian's Chromium (playwright-core), fed fixture
// data full of HTML/script payloads through a stub of the webview API (`acquireVsCodeApi`,
// installed before the page's scripts, as VS Code does). It checks that every payload shows up
// as literal text, that nothing ran (window.__pwned) and no element came from a payload, both
// under the real CSP document from webviewDocument() and in a page without any CSP (so the
// rendering itself is inert, not just blocked), that our own code causes no CSP violation,
// that the CSP does block an inline script, and that the keyboard and messages work.
// Screenshots: test-results/e2e/dashboard-fixture-*.png.
//
//   node esbuild.mjs && node --import tsx test/e2e/dashboardXss.ts

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { launchChromium } from './browser.mjs';
import { serveWebview } from './webviewPage';
import type { Page } from 'playwright-core';
import type { FeatureDashboardData, FeatureTextActivations } from '../../src/protocol/featureProtocol';

const ROOT = path.resolve(__dirname, '..', '..');
const shots = path.join(ROOT, 'test-results', 'e2e');
fs.mkdirSync(shots, { recursive: true });
const bundle = path.join(ROOT, 'dist', 'webview', 'dashboard.js');
if (!fs.existsSync(bundle)) throw new Error(`${bundle} is missing: run "node esbuild.mjs" first`);

const PAYLOADS = ['<img src=x onerror=window.__pwned=1>', '</script><script>window.__pwned=1</script>', '"><svg onload=window.__pwned=1>'];
const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'dashboard', name), 'utf8')) as FeatureDashboardData;
const analysed = fixture('feature-analysed.json');
const unanalysed = fixture('feature-unanalysed.json');
// The fixture must really carry the payloads, or this test proves nothing.
for (const p of PAYLOADS) assert.ok(JSON.stringify(analysed).includes(JSON.stringify(p).slice(1, -1)), `fixture lacks ${p}`);

const testTextReply: FeatureTextActivations = {
	featureIndex: analysed.featureIndex,
	tokens: ['def', ' f', PAYLOADS[0]!, '\n', PAYLOADS[1]!, PAYLOADS[2]!].map((text, i) => ({ id: i, text, start: 0, end: 0, activation: i % 2 ? 3 + i : 0 })),
};

/** Installed before the page's scripts: the VS Code webview API, answering like the host would. */
function stub(args: { data: FeatureDashboardData; textReply: FeatureTextActivations; payload: string }): void {
	const w = window as unknown as Record<string, unknown>;
	const posted: unknown[] = [];
	const violations: string[] = [];
	w['__posted'] = posted;
	w['__violations'] = violations;
	document.addEventListener('securitypolicyviolation', (e) => violations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample} ${e.sourceFile}:${e.lineNumber}:${e.columnNumber}`));
	let state: unknown;
	const reply = (m: unknown) => setTimeout(() => window.postMessage(m, '*'), 10);
	w['acquireVsCodeApi'] = () => ({
		getState: () => state,
		setState: (s: unknown) => {
			state = s;
		},
		postMessage: (m: { type: string; label?: string; notes?: string }) => {
			posted.push(m);
			if (m.type === 'ready') reply({ type: 'data', data: args.data });
			if (m.type === 'testText') reply({ type: 'textActivations', result: args.textReply });
			if (m.type === 'saveLabel') reply({ type: 'labelSaved', summary: { ...args.data, label: args.payload }, userLabel: args.payload, notes: m.notes });
		},
	});
	// Dark-theme variables as VS Code sets them (CSSOM, which the CSP allows), for the screenshots.
	document.addEventListener('DOMContentLoaded', () => {
		document.body.classList.add('vscode-dark');
		const vars: Record<string, string> = {
			'--vscode-foreground': '#cccccc',
			'--vscode-editor-background': '#1f1f1f',
			'--vscode-editor-foreground': '#cccccc',
			'--vscode-descriptionForeground': '#9d9d9d',
			'--vscode-font-family': 'sans-serif',
			'--vscode-font-size': '13px',
			'--vscode-editor-font-family': 'monospace',
			'--vscode-panel-border': '#2b2b2b',
			'--vscode-focusBorder': '#0078d4',
			'--vscode-textLink-foreground': '#4daafc',
			'--vscode-charts-blue': '#3794ff',
			'--vscode-charts-red': '#f14c4c',
			'--vscode-featureLens-activation5': '#FF7A0099',
			'--vscode-button-background': '#0078d4',
			'--vscode-button-foreground': '#ffffff',
		};
		for (const [k, v] of Object.entries(vars)) document.documentElement.style.setProperty(k, v);
	});
}

/** The stub as page source; `__name` is the helper tsx's transform adds around named functions, which pages lack. */
function stubSource(args: Parameters<typeof stub>[0]): { content: string } {
	return { content: `window.__name = (f) => f;\n(${stub.toString()})(${JSON.stringify(args)});` };
}

interface Findings {
	pwned: unknown;
	handlerAttributes: string[];
	foreignElements: number;
	tokenText: string;
	bodyText: string;
	violations: string[];
}

async function findings(page: Page): Promise<Findings> {
	return page.evaluate(() => {
		const all = Array.from(document.querySelectorAll('*'));
		const shadowText = (root: ParentNode): string =>
			Array.from(root.querySelectorAll('*'))
				.map((e) => (e.shadowRoot ? shadowText(e.shadowRoot) : ''))
				.join(' ');
		return {
			pwned: (window as unknown as Record<string, unknown>)['__pwned'],
			handlerAttributes: all.flatMap((e) =>
				Array.from(e.attributes)
					.filter((a) => /^on/i.test(a.name))
					.map((a) => `${e.tagName}[${a.name}]`),
			),
			// Elements a payload could have produced: images, frames, scripts other than ours, SVGs other than our charts.
			foreignElements: document.querySelectorAll('img, iframe, object, embed, script:not([nonce]), svg:not(.histogram), style').length,
			tokenText: Array.from(document.querySelectorAll('.token, .token-cell, .neighbour-label'))
				.map((e) => e.textContent)
				.join('\u0001'),
			bodyText: document.body.innerText + ' ' + shadowText(document),
			violations: (window as unknown as { __violations: string[] }).__violations,
		};
	});
}

async function main(): Promise<void> {
	const server = await serveWebview({ bundle: 'dashboard', title: 'Feature <dashboard>', variants: { '/bare': (html) => html.replace(/<meta http-equiv="Content-Security-Policy"[^>]*>/, '') } });
	const { base } = server;

	const results: Record<string, unknown> = {};
	const browser = await launchChromium();
	try {
		for (const variant of ['csp', 'bare'] as const) {
			const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
			const errors: string[] = [];
			page.on('pageerror', (e) => errors.push(e.message));
			await page.addInitScript(stubSource({ data: analysed, textReply: testTextReply, payload: PAYLOADS[0]! }));
			await page.goto(`${base}/${variant === 'csp' ? '' : 'bare'}`);
			await page.waitForSelector('#top-examples .token', { timeout: 20000 });
			const sections = await page.evaluate(() => ['activations', 'logit-lens', 'neighbours', 'test-text', 'top-examples', 'quantile-0', 'label-editor'].filter((id) => document.getElementById(id)));
			assert.deepEqual(sections.length, 7, `sections rendered: ${sections}`);

			// Interactions: test text, keyboard on tokens, neighbour, label save.
			await page
				.locator('#test-input textarea')
				.fill('def f(x): return x', { timeout: 10000 })
				.catch(async () => {
					await page.locator('#test-input').click();
					await page.keyboard.type('def f(x): return x');
				});
			await page.locator('#test-text vscode-button').click();
			await page.waitForSelector('#test-text .token', { timeout: 10000 });
			const firstToken = page.locator('#top-examples .token[tabindex="0"]').first();
			await firstToken.focus();
			await page.keyboard.press('ArrowRight');
			await page.keyboard.press('Enter');
			const detail = await page.locator('#top-examples .token-detail').first().innerText();
			assert.match(detail, /activation \d/, 'Enter on a token reads out its activation');
			await page.locator('#neighbours button.link').first().press('Enter');
			await page.locator('#label-input').click();
			await page.keyboard.type('renamed');
			await page.locator('#label-editor vscode-button').click();
			await page.waitForFunction(() => document.querySelector('#label-editor .status')?.textContent === 'saved', undefined, { timeout: 10000 });
			const posted = await page.evaluate(() => (window as unknown as { __posted: { type: string }[] }).__posted.map((m) => m.type));
			for (const t of ['ready', 'testText', 'openFeature', 'saveLabel']) assert.ok(posted.includes(t), `webview posted ${t} (got ${posted})`);

			const f = await findings(page);
			assert.equal(f.pwned, undefined, `${variant}: a payload executed`);
			assert.deepEqual(f.handlerAttributes, [], `${variant}: event-handler attributes in the DOM`);
			assert.equal(f.foreignElements, 0, `${variant}: elements created from payloads`);
			for (const p of PAYLOADS) assert.ok(f.tokenText.includes(p), `${variant}: payload not shown literally: ${p}`);
			assert.ok(f.tokenText.includes('⟨U+202E⟩gnp.exe'), `${variant}: bidi override not made visible`);
			assert.ok(f.bodyText.includes(PAYLOADS[0]!), `${variant}: saved hostile label not shown as text`);
			assert.deepEqual(errors, [], `${variant}: page errors`);
			if (variant === 'csp') {
				assert.deepEqual(f.violations, [], 'our own code triggered CSP violations');
				const meta = await page.evaluate(() => document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content') ?? '');
				assert.match(meta, /default-src 'none'/);
				assert.match(meta, /script-src 'nonce-/);
				// The CSP is live: an inline script (what an HTML injection would add) does not run.
				const inlineRan = await page.evaluate(async () => {
					const s = document.createElement('script');
					s.textContent = 'window.__inline = 1';
					document.body.append(s);
					await new Promise((r) => setTimeout(r, 50));
					return (window as unknown as Record<string, unknown>)['__inline'] === 1;
				});
				assert.equal(inlineRan, false, 'the CSP did not block an inline script');
				results['cspMeta'] = meta;
			}
			await page.screenshot({ path: path.join(shots, `dashboard-fixture-${variant}.png`), fullPage: true });
			results[variant] = { sections, posted, tokenChars: f.tokenText.length };
			await page.close();
		}

		// Not analysed yet: logit lens, neighbours and the "Analyse corpus…" button.
		const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
		await page.addInitScript(stubSource({ data: unanalysed, textReply: testTextReply, payload: PAYLOADS[0]! }));
		await page.goto(base);
		await page.waitForSelector('#analysis vscode-button', { timeout: 20000 });
		await page.locator('#analysis vscode-button').click();
		const posted = await page.evaluate(() => (window as unknown as { __posted: { type: string }[] }).__posted.map((m) => m.type));
		assert.ok(posted.includes('analyze'), 'the Analyse button posts analyze');
		const f = await findings(page);
		assert.ok((await page.locator('#logit-lens').count()) === 1 && (await page.locator('#neighbours').count()) === 1, 'logit lens and neighbours without an analysis');
		assert.equal(await page.locator('#top-examples').count(), 0);
		assert.equal(f.pwned, undefined);
		await page.screenshot({ path: path.join(shots, 'dashboard-fixture-unanalysed.png'), fullPage: true });
		results['unanalysed'] = { posted };
		results['ok'] = true;
	} catch (err) {
		results['ok'] = false;
		results['error'] = err instanceof Error ? err.message : String(err);
	} finally {
		await browser.close();
		server.close();
	}
	console.log(JSON.stringify(results, null, 2));
	process.exitCode = results['ok'] ? 0 : 1;
}

void main();
