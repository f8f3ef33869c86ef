// The Hub through the engine process, as the extension drives it: an hf: model and SAE loaded
// with progress notifications, a download cancelled mid-file and resumed, the Hub settings
// request, and the release listing for a model.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CancellationTokenSource, ResponseError } from 'vscode-jsonrpc';
import { LoadModelRequest, LoadSaeRequest } from '../../src/protocol/engineProtocol';
import { ConfigureHubRequest, FetchFromHubRequest, HubProgressNotification, ListSaeReleasesRequest } from '../../src/protocol/hubProtocol';
import type { HubProgress } from '../../src/protocol/hubProtocol';
import { fixtureModel, testEngine } from '../helpers';
import { LocalHub, folderFiles } from './localHub';

let hub: LocalHub;
const engine = testEngine();
const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-hubengine-'));

before(async () => {
	hub = await LocalHub.start();
	hub.addCommit('test-org/gpt2-tiny', folderFiles(fixtureModel('gpt2-tiny')));
	hub.addCommit('test-org/gpt2-tiny-copy', folderFiles(fixtureModel('gpt2-tiny')));
	const saes: Record<string, Buffer> = {};
	for (const [f, data] of Object.entries(folderFiles(path.join(__dirname, '..', 'fixtures', 'sae', 'topk-v6')))) saes[`l1/${f}`] = data;
	hub.addCommit('test-org/saes', saes);
	// The engine child inherits this process's environment when it starts.
	process.env.HF_ENDPOINT = hub.endpoint;
	process.env.HF_HOME = path.join(cacheDir, 'hf-home');
	delete process.env.HF_TOKEN;
	delete process.env.HF_HUB_OFFLINE;
});

after(async () => {
	await engine.stop();
	await hub.close();
});

async function progressOf(requestId: string): Promise<{ events: HubProgress[]; dispose: () => void }> {
	const running = await engine.ensureStarted();
	const events: HubProgress[] = [];
	const sub = running.connection.onNotification(HubProgressNotification, (p) => {
		if (p.requestId === requestId) events.push(p);
	});
	return { events, dispose: () => sub.dispose() };
}

describe('Hub requests through the engine', () => {
	it('loads an hf: model into the configured cache with progress, then an hf: SAE for it', async () => {
		await engine.request(ConfigureHubRequest, { cacheDir });
		const progress = await progressOf('m1');
		const info = await engine.request(LoadModelRequest, { model: 'hf:test-org/gpt2-tiny', requestId: 'm1' });
		progress.dispose();
		assert.equal(info.name, 'test-org/gpt2-tiny');
		assert.ok(info.dir.startsWith(path.join(cacheDir, 'models--test-org--gpt2-tiny', 'snapshots')), info.dir);
		const downloading = progress.events.filter((p) => p.phase === 'downloading');
		assert.ok(downloading.length > 0 && downloading[0]!.bytesTotal > 0 && downloading[0]!.bytesDone === 0);
		assert.equal(progress.events.at(-1)!.phase, 'done');
		const sae = await engine.request(LoadSaeRequest, { path: 'hf:test-org/saes/l1', requestId: 's1' });
		assert.equal(sae.hookName, 'blocks.1.hook_resid_post');
		assert.equal(sae.dSae, 64);
	});

	it('a cancelled load stops mid-file (JSON-RPC "request cancelled") and the next load resumes it', async () => {
		hub.faults.push({ match: /^\/blobs\//, stallAfter: 2048, times: 1 });
		const progress = await progressOf('m2');
		const source = new CancellationTokenSource();
		const running = await engine.ensureStarted();
		const sub = running.connection.onNotification(HubProgressNotification, (p) => {
			if (p.requestId === 'm2' && p.file === 'model.safetensors' && p.bytesDone > 0) source.cancel();
		});
		await assert.rejects(engine.request(LoadModelRequest, { model: 'hf:test-org/gpt2-tiny-copy', requestId: 'm2' }, source.token), (e: unknown) => e instanceof ResponseError && e.code === -32800);
		sub.dispose();
		progress.dispose();
		hub.requests.length = 0;
		const info = await engine.request(LoadModelRequest, { model: 'hf:test-org/gpt2-tiny-copy', requestId: 'm3' });
		assert.equal(info.name, 'test-org/gpt2-tiny-copy');
		assert.deepEqual(
			hub.requests.filter((r) => r.server === 'cdn').map((r) => r.range),
			['bytes=2048-'],
		);
	});

	it('fetches without loading and pins the reference to the commit, which then loads with no request', async () => {
		const got = await engine.request(FetchFromHubRequest, { ref: 'hf:test-org/saes/l1', kind: 'sae', requestId: 'f1' });
		assert.match(got.pinned, /^hf:test-org\/saes@[0-9a-f]{40}\/l1$/);
		assert.equal(got.pinned, `hf:test-org/saes@${got.commit}/l1`);
		hub.requests.length = 0;
		await engine.request(LoadSaeRequest, { path: got.pinned });
		assert.equal(hub.requests.length, 0);
	});

	it("lists the releases for a model with their SAEs' hooks, widths, L0 and Neuronpedia ids", async () => {
		const r = await engine.request(ListSaeReleasesRequest, { model: 'openai-community/gpt2' });
		assert.match(r.source, /jbloomAus\/SAELens sae_lens\/pretrained_saes\.yaml @ 91ca16cc \(sae-lens 6\.18\.0\)/);
		const jb = r.releases.find((x) => x.release === 'gpt2-small-res-jb');
		assert.ok(jb, r.releases.map((x) => x.release).join());
		const l8 = jb.saes.find((s) => s.id === 'blocks.8.hook_resid_pre')!;
		assert.equal(l8.hookName, 'blocks.8.hook_resid_pre');
		assert.equal(l8.neuronpediaId, 'gpt2-small/8-res-jb');
		assert.equal(l8.loadable, true);
		const gemma = await engine.request(ListSaeReleasesRequest, { model: 'google/gemma-2-2b' });
		const res = gemma.releases.find((x) => x.release === 'gemma-scope-2b-pt-res')!;
		const emb = res.saes.find((s) => s.id.startsWith('embedding/'))!;
		assert.equal(emb.hookName, 'hook_embed');
		assert.equal(emb.width, 4096);
		assert.ok(res.saes.some((s) => s.hookName === 'blocks.12.hook_resid_post' && s.width === 16384 && typeof s.l0 === 'number'));
	});
});
