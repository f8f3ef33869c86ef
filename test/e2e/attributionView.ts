// The attribution-graph webview bundle rendered alone in Debian's Chromium (playwright-core),
// fed a graph whose prompt, tokens and labels are HTML/script payloads through a stub of the
// webview API (`acquireVsCodeApi`, installed before the page's scripts, as VS Code does). It
// checks that every payload shows as literal text and nothing ran or was created from one, under
// the real CSP document and without any CSP; that our own code causes no CSP violation and the
// CSP blocks an inline script; and the keyboard: a focused node shows its details, P pins it,
// Enter asks for its dashboard, and steering posts the pins. Screenshot: test-results/e2e/.
//
//   node esbuild.mjs && node --import tsx test/e2e/attributionView.ts

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { launchChromium } from './browser.mjs';
import { serveWebview } from './webviewPage';
import type { GraphJson } from '../../src/protocol/graphJson';

const ROOT = path.resolve(__dirname, '..', '..');
const shots = path.join(ROOT, 'test-results', 'e2e');
fs.mkdirSync(shots, { recursive: true });
const bundle = path.join(ROOT, 'dist', 'webview', 'attribution.js');
if (!fs.existsSync(bundle)) throw new Error(`${bundle} is missing: run "node esbuild.mjs" first`);

const PAYLOADS = ['<img src=x onerror=window.__pwned=1>', '</script><script>window.__pwned=1</script>', '"><svg onload=window.__pwned=1>'];
const graph = JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'attribution', 'demo-with-open.json'), 'utf8')) as GraphJson;
graph.metadata.prompt = `${PAYLOADS[1]} with open(`;
graph.metadata.prompt_tokens[2] = PAYLOADS[0]!;
graph.nodes.find((n) => n.node_id === '2_1884_3')!.clerp = PAYLOADS[2]!;
graph.nodes.find((n) => n.node_id === '5_287_6')!.clerp = PAYLOADS[1]!;
graph.metadata.replacement_score = 0.75;
graph.metadata.completeness_score = 0.9;
graph.metadata.info = { ...graph.metadata.info, description: `Traced under steering: ${PAYLOADS[0]}` };

/** Installed before the page's scripts: the VS Code webview API, answering like the host would. */
function stub(args: { graph: GraphJson; payloads: string[] }): void {
	const w = window as unknown as Record<string, unknown>;
	const posted: unknown[] = [];
	const violations: string[] = [];
	w['__posted'] = posted;
	w['__violations'] = violations;
	document.addEventListener('securitypolicyviolation', (e) => violations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample} ${e.sourceFile}:${e.lineNumber}`));
	const reply = (m: unknown) => setTimeout(() => window.postMessage(m, '*'), 10);
	w['acquireVsCodeApi'] = () => ({
		setState: (state: unknown) => {
			w['__state'] = JSON.parse(JSON.stringify(state));
		},
		postMessage: (m: { type: string }) => {
			posted.push(m);
			if (m.type === 'ready') reply({ type: 'graph', graph: args.graph, nodeThreshold: 0.8, featureCount: 40, edgeCount: 900, prunable: true });
			if (m.type === 'openFeature') reply({ type: 'notice', message: args.payloads[0], error: false });
			if (m.type === 'steer') reply({ type: 'steered', description: args.payloads[2], baseline: args.payloads[0], steered: args.payloads[1] });
		},
	});
}

function stubSource(args: Parameters<typeof stub>[0]): { content: string } {
	return { content: `window.__name = (f) => f;\n(${stub.toString()})(${JSON.stringify(args)});` };
}

async function main(): Promise<void> {
	const server = await serveWebview({ bundle: 'attribution', title: 'Attribution <graph>', variants: { '/bare': (html) => html.replace(/<meta http-equiv="Content-Security-Policy"[^>]*>/, '') } });
	const results: Record<string, unknown> = {};
	const browser = await launchChromium();
	try {
		for (const variant of ['csp', 'bare'] as const) {
			const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
			const errors: string[] = [];
			page.on('pageerror', (e) => errors.push(e.message));
			await page.addInitScript(stubSource({ graph, payloads: PAYLOADS }));
			await page.goto(`${server.base}/${variant === 'csp' ? '' : 'bare'}`);
			await page.waitForSelector('svg.graph g.node', { timeout: 20000 });
			assert.equal(await page.locator('g.node').count(), graph.nodes.length);
			assert.equal(await page.locator('g.node.error rect').count(), 3, 'error nodes drawn as squares');
			assert.match(await page.locator('p.scores').innerText(), /Replacement score 0\.750 · completeness score 0\.900/);

			// Keyboard: details on focus, P pins, Enter asks for the dashboard.
			const node = page.locator('g.node[data-node-id="2_1884_3"]');
			await node.focus();
			const details = await page.locator('.node-details').innerText();
			assert.ok(details.includes(PAYLOADS[2]!) && /layer 2 #1884/.test(details), `details: ${details}`);
			await page.keyboard.press('p');
			await page.locator('g.node[data-node-id="2_753_6"]').focus();
			await page.keyboard.press('P');
			assert.equal(await page.locator('.pin-list input[type="checkbox"]').count(), 2);
			assert.equal(await page.locator('g.node.pinned').count(), 2);
			// What a window reload restores: the graph with its pins, kept as webview state.
			const state = await page.evaluate(() => (window as unknown as { __state: { graph: GraphJson; nodeThreshold: number } }).__state);
			assert.deepEqual(state.graph.qParams.pinnedIds, ['2_1884_3', '2_753_6']);
			assert.equal(state.graph.nodes.length, graph.nodes.length);
			assert.equal(state.nodeThreshold, 0.8);
			assert.equal(await page.locator('.graph-description').innerText(), `Traced under steering: ${PAYLOADS[0]}`);
			await page.keyboard.press('Enter');
			await page.locator('#steer-pinned').click();
			await page.locator('.completions pre').first().waitFor({ timeout: 10000 });
			const posted = await page.evaluate(() => (window as unknown as { __posted: { type: string; nodeId?: string; nodeIds?: string[] }[] }).__posted);
			assert.deepEqual(posted.find((m) => m.type === 'openFeature')?.nodeId, '2_753_6');
			assert.deepEqual(posted.find((m) => m.type === 'steer')?.nodeIds, ['2_1884_3', '2_753_6']);

			const f = await page.evaluate(() => {
				const all = Array.from(document.querySelectorAll('*'));
				return {
					pwned: (window as unknown as Record<string, unknown>)['__pwned'],
					handlerAttributes: all.flatMap((e) =>
						Array.from(e.attributes)
							.filter((a) => /^on/i.test(a.name))
							.map((a) => `${e.tagName}[${a.name}]`),
					),
					foreignElements: document.querySelectorAll('img, iframe, object, embed, script:not([nonce]), svg:not(.graph), style').length,
					labels: Array.from(document.querySelectorAll('text.token-label'))
						.map((e) => e.textContent)
						.join('\u0001'),
					bodyText: document.body.innerText,
					violations: (window as unknown as { __violations: string[] }).__violations,
				};
			});
			assert.equal(f.pwned, undefined, `${variant}: a payload executed`);
			assert.deepEqual(f.handlerAttributes, [], `${variant}: event-handler attributes`);
			assert.equal(f.foreignElements, 0, `${variant}: elements created from payloads`);
			assert.ok(f.labels.includes(PAYLOADS[0]!), `${variant}: token label not literal`);
			for (const p of PAYLOADS) assert.ok(f.bodyText.includes(p), `${variant}: payload not shown literally: ${p}`);
			assert.deepEqual(errors, [], `${variant}: page errors`);
			if (variant === 'csp') {
				assert.deepEqual(f.violations, [], 'our own code triggered CSP violations');
				const inlineRan = await page.evaluate(async () => {
					const s = document.createElement('script');
					s.textContent = 'window.__inline = 1';
					document.body.append(s);
					await new Promise((r) => setTimeout(r, 50));
					return (window as unknown as Record<string, unknown>)['__inline'] === 1;
				});
				assert.equal(inlineRan, false, 'the CSP did not block an inline script');
			}
			await page.screenshot({ path: path.join(shots, `attribution-fixture-${variant}.png`), fullPage: true });
			results[variant] = { posted: posted.map((m) => m.type) };
			await page.close();
		}
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
