// Host-side dashboard logic that runs without VS Code: checking what a webview posts, reading a
// feature number from any command argument, the search quick pick's plan and texts, the webview
// document's CSP, and that the dashboard fixtures follow the FeatureDashboardData contract.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { featureIndexFromState, parseFromDashboard } from '../../src/extension/dashboard/dashboardMessageGuard';
import { featureIndexFromArg, featureNumberError } from '../../src/extension/dashboard/featureArgs';
import { describeHit, searchPlan } from '../../src/extension/dashboard/searchItems';
import { webviewDocument } from '../../src/extension/webviewDocument';
import { DASHBOARD_LIMITS } from '../../src/protocol/dashboardMessages';
import type { ActivationExample, FeatureDashboardData, FeatureSearchHit } from '../../src/protocol/featureProtocol';

describe('dashboard messages from the webview', () => {
	it('accepts each well-formed message and returns only its known fields', () => {
		assert.deepEqual(parseFromDashboard({ type: 'ready' }), { type: 'ready' });
		assert.deepEqual(parseFromDashboard({ type: 'analyze', extra: 1 }), { type: 'analyze' });
		assert.deepEqual(parseFromDashboard({ type: 'refresh' }), { type: 'refresh' });
		assert.deepEqual(parseFromDashboard({ type: 'steer', featureIndex: 99 }), { type: 'steer' }, "the feature is the panel's own, never the webview's");
		assert.deepEqual(parseFromDashboard({ type: 'openFeature', featureIndex: 7 }), { type: 'openFeature', featureIndex: 7 });
		assert.deepEqual(parseFromDashboard({ type: 'saveLabel', label: 'dict keys', notes: '', x: 1 }), { type: 'saveLabel', label: 'dict keys', notes: '' });
		assert.deepEqual(parseFromDashboard({ type: 'testText', text: 'def f(x):' }), { type: 'testText', text: 'def f(x):' });
	});

	it('rejects unknown types, wrong field types, bad feature numbers and over-long text', () => {
		for (const bad of [
			null,
			'ready',
			42,
			{},
			{ type: 'eval' },
			{ type: 'openFeature' },
			{ type: 'openFeature', featureIndex: -1 },
			{ type: 'openFeature', featureIndex: 1.5 },
			{ type: 'openFeature', featureIndex: '3' },
			{ type: 'saveLabel', label: 'x' },
			{ type: 'saveLabel', label: 3, notes: '' },
			{ type: 'saveLabel', label: 'x'.repeat(DASHBOARD_LIMITS.label + 1), notes: '' },
			{ type: 'testText', text: '   ' },
			{ type: 'testText', text: 'x'.repeat(DASHBOARD_LIMITS.text + 1) },
			{ type: 'testText' },
		])
			assert.equal(parseFromDashboard(bad), undefined, JSON.stringify(bad)?.slice(0, 80));
	});

	it("a restored panel's feature comes from its saved state only when it is a valid index", () => {
		assert.equal(featureIndexFromState({ featureIndex: 12, contextSize: 'snippet' }), 12);
		for (const bad of [undefined, null, {}, { featureIndex: -1 }, { featureIndex: '12' }, { featureIndex: 2.5 }]) assert.equal(featureIndexFromState(bad), undefined);
	});
});

describe('feature command arguments', () => {
	it('reads the feature from hover links (numbers), strings, tree nodes and search hits', () => {
		assert.equal(featureIndexFromArg(42), 42);
		assert.equal(featureIndexFromArg('17'), 17);
		assert.equal(featureIndexFromArg({ kind: 'feature', feature: { featureIndex: 5, max: 1, tokens: 2 } }), 5);
		assert.equal(featureIndexFromArg({ featureIndex: 0, label: 'x' }), 0);
		for (const none of [undefined, null, -1, 1.5, 'abc', '1e3', {}, { feature: {} }, [3]]) assert.equal(featureIndexFromArg(none), undefined, JSON.stringify(none) ?? 'undefined');
	});

	it('typed feature numbers are checked against the SAE width', () => {
		assert.equal(featureNumberError('0', 3072), undefined);
		assert.equal(featureNumberError(' #3071 ', 3072), undefined);
		assert.match(featureNumberError('3072', 3072)!, /3072 features: 0 to 3071/);
		assert.match(featureNumberError('-1', 3072)!, /from 0 to 3071/);
		assert.match(featureNumberError('x', 3072)!, /from 0 to 3071/);
	});
});

describe('search features quick pick', () => {
	it('labels and numbers go to the label search; non-numeric text also offers "fires on this text"', () => {
		assert.deepEqual(searchPlan(''), { textItem: false });
		assert.deepEqual(searchPlan('  '), { textItem: false });
		assert.deepEqual(searchPlan('42'), { query: '42', textItem: false });
		assert.deepEqual(searchPlan('#42'), { query: '42', textItem: false });
		assert.deepEqual(searchPlan(' dict keys '), { query: 'dict keys', textItem: true });
	});

	it('hits read as feature, label and statistics; text hits lead with their activation on the text', () => {
		const hit: FeatureSearchHit = { featureIndex: 810, label: 'QUOTE constants', autoLabel: '', density: 0.0436, meanActivation: 7.39, maxActivation: 23.13, dead: false, dense: false, score: 12.5 };
		assert.deepEqual(describeHit(hit, 'label'), { label: '$(symbol-event) Feature 810', description: 'QUOTE constants', detail: 'density 4.4% · mean 7.39 · max 23.13' });
		assert.equal(describeHit({ ...hit, dense: true }, 'text').detail, 'fires at 12.50 on this text · density 4.4% · mean 7.39 · max 23.13 · dense');
		assert.equal(describeHit({ ...hit, density: 0, meanActivation: 0, maxActivation: 0 }, 'label').detail, 'no corpus statistics yet');
	});
});

describe('webview document', () => {
	const html = webviewDocument({
		cspSource: 'https://x.vscode-cdn.net',
		nonce: 'abc123',
		scriptUri: 'https://x.vscode-cdn.net/dist/webview/dashboard.js',
		styleUris: ['https://x.vscode-cdn.net/a.css'],
		title: 'Feature <5> "q"',
	});

	it('carries a strict CSP: nothing by default, scripts only by nonce, styles and images only from the extension', () => {
		const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)?.[1];
		assert.ok(csp, 'CSP meta present');
		const decoded = csp.replace(/&#39;/g, "'");
		assert.match(decoded, /default-src 'none'/);
		assert.match(decoded, /script-src 'nonce-abc123'(;|$)/);
		assert.match(decoded, /style-src https:\/\/x\.vscode-cdn\.net 'nonce-abc123'/);
		assert.doesNotMatch(decoded, /unsafe-inline|unsafe-eval|\*/);
	});

	it('has exactly one script, external and with the nonce, and escapes the title', () => {
		const scripts = [...html.matchAll(/<script([^>]*)>([^<]*)<\/script>/g)];
		assert.equal(scripts.length, 1);
		assert.match(scripts[0]![1]!, /nonce="abc123" src="https:\/\/x\.vscode-cdn\.net\/dist\/webview\/dashboard\.js"/);
		assert.equal(scripts[0]![2], '');
		assert.match(html, /<title>Feature &#60;5&#62; &#34;q&#34;<\/title>/);
		assert.match(html, /<meta property="csp-nonce" content="abc123">/);
	});
});

describe('dashboard fixtures follow the FeatureDashboardData contract', () => {
	const dir = path.join(__dirname, '..', 'fixtures', 'dashboard');
	for (const file of ['feature-analysed.json', 'feature-unanalysed.json']) {
		it(file, () => {
			const d = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as FeatureDashboardData;
			assert.ok(Number.isInteger(d.featureIndex) && d.featureIndex < d.dSae);
			const checkExample = (e: ActivationExample) => {
				assert.equal(e.activations.length, e.tokens.length);
				assert.equal(e.ids.length, e.tokens.length);
				assert.ok(e.focusIndex >= 0 && e.focusIndex < e.tokens.length);
				assert.equal(e.activations[e.focusIndex], e.focusActivation);
			};
			d.topExamples.forEach(checkExample);
			for (const q of d.quantiles) {
				assert.ok(q.min < q.max && q.contains >= 0 && q.contains <= 1);
				q.examples.forEach(checkExample);
			}
			for (const h of [d.histogram, d.logitLens.histogram]) assert.ok(h.counts.length === 0 || h.edges.length === h.counts.length + 1);
			assert.equal(d.analysed, d.topExamples.length > 0);
			assert.ok(d.logitLens.positive.every((t) => t.value > 0) && d.logitLens.negative.every((t) => t.value < 0));
		});
	}
});
