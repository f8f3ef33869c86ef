// The feature protocol through the engine process, as the extension drives it: analyse with
// progress and cancel, dashboards, labels, search and "test your own text" over JSON-RPC.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import { LoadModelRequest, LoadSaeRequest } from '../../src/protocol/engineProtocol';
import { AnalyzeFeaturesRequest, AnalyzeProgressNotification, FeatureDashboardRequest, FeatureTextRequest, SearchFeaturesRequest, SetFeatureLabelRequest } from '../../src/protocol/featureProtocol';
import { saeKey } from '../../src/engine/features/analysisStore';
import { fixtureModel, testDataDir, testEngine } from '../helpers';

const CORPUS = path.join(__dirname, '..', '..', 'src', 'engine', 'models', '*.ts');

describe('feature requests through the engine process', () => {
	const data = testDataDir();
	const engine = testEngine(data);
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-server-'));
	after(async () => {
		await engine.stop();
		fs.rmSync(tmp, { recursive: true, force: true });
	});

	it('analyses with progress, serves dashboards, labels, search and text, and cancels', async () => {
		await engine.request(LoadModelRequest, { model: fixtureModel('gpt2-tiny') });
		await assert.rejects(engine.request(FeatureDashboardRequest, { featureIndex: 0 }), /no SAE is loaded/);
		const saeDir = path.join(tmp, 'sae');
		fs.cpSync(path.join(__dirname, '..', 'fixtures', 'sae', 'topk-v6'), saeDir, { recursive: true });
		const info = await engine.request(LoadSaeRequest, { path: saeDir });
		assert.equal(info.contentHash, saeKey(saeDir).sha256);

		const running = await engine.ensureStarted();
		const progress: { done: number; total: number }[] = [];
		const sub = running.connection.onNotification(AnalyzeProgressNotification, (p) => {
			if (p.requestId === 'a1') progress.push(p);
		});
		const result = await engine.request(AnalyzeFeaturesRequest, { requestId: 'a1', corpus: CORPUS, tokens: 800 });
		assert.equal(result.cancelled, false);
		assert.equal(result.reused, false);
		assert.ok(result.tokens >= 800);
		assert.equal(result.dir, path.join(data, 'saes', info.contentHash));
		assert.ok(progress.length >= 1 && progress.at(-1)!.done === progress.at(-1)!.total, JSON.stringify(progress));
		assert.equal((await engine.request(AnalyzeFeaturesRequest, { requestId: 'a2', corpus: CORPUS, tokens: 800 })).reused, true);

		const d = await engine.request(FeatureDashboardRequest, { featureIndex: 3 });
		assert.equal(d.analysed, true);
		assert.equal(d.dSae, 64);
		assert.equal(d.hookName, 'blocks.1.hook_resid_post');
		assert.equal(d.logitLens.positive.length, 10);
		assert.equal(d.neighbours.length, 10);
		assert.equal(d.quantiles.length, 5);
		await assert.rejects(engine.request(FeatureDashboardRequest, { featureIndex: 64 }), /out of range/);

		const labelled = await engine.request(SetFeatureLabelRequest, { featureIndex: 3, label: 'colons', notes: 'after def' });
		assert.equal(labelled.label, 'colons');
		const hits = await engine.request(SearchFeaturesRequest, { query: 'colon', limit: 5 });
		assert.equal(hits[0]!.featureIndex, 3);
		const byText = await engine.request(SearchFeaturesRequest, { text: 'def f():', limit: 3 });
		assert.ok(byText.length > 0 && byText.every((h, i) => i === 0 || h.score <= byText[i - 1]!.score));
		const on = await engine.request(FeatureTextRequest, { featureIndex: byText[0]!.featureIndex, text: 'def f():' });
		assert.ok(Math.abs(Math.max(...on.tokens.map((t) => t.activation)) - byText[0]!.score) < 1e-5);

		const cancel = new CancellationTokenSource();
		const sub2 = running.connection.onNotification(AnalyzeProgressNotification, (p) => {
			if (p.requestId === 'a3') cancel.cancel();
		});
		const cancelled = await engine.request(AnalyzeFeaturesRequest, { requestId: 'a3', corpus: CORPUS, tokens: 50_000, force: true }, cancel.token);
		assert.equal(cancelled.cancelled, true);
		// The earlier analysis is still there.
		assert.equal((await engine.request(FeatureDashboardRequest, { featureIndex: 3 })).analysedTokens, result.tokens);
		sub.dispose();
		sub2.dispose();
	});
});
