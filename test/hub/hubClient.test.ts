// The Hub client against a local Hub speaking real HTTP: the cache layout Python shares, no
// request when the cache answers, offline mode, resume after a cut or a cancel, verification,
// and the messages for gated, missing and failing requests.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { hubEnvironment } from '../../src/engine/hub/hubEnvironment';
import type { HubEnvironment } from '../../src/engine/hub/hubEnvironment';
import { HubCancelled, HubError } from '../../src/engine/hub/hubErrors';
import { formatHubRef, parseHubRef } from '../../src/engine/hub/hubRef';
import { fetchRepoFiles } from '../../src/engine/hub/hubSnapshot';
import type { HubFetchProgress } from '../../src/engine/hub/hubSnapshot';
import { modelFileSelector } from '../../src/engine/hub/modelFiles';
import { fixtureModel } from '../helpers';
import { LocalHub, closedPort, folderFiles, gitOid, sha256 } from './localHub';

const REPO = 'test-org/gpt2-tiny';
const SHARDED = 'test-org/llama-tiny-bf16';

let hub: LocalHub;
let cacheDir: string;
let mainSha: string;
const gpt2Files = folderFiles(fixtureModel('gpt2-tiny'));

function env(extra: Partial<HubEnvironment> = {}): HubEnvironment {
	return { endpoint: hub.endpoint, cacheDir, offline: false, ...extra };
}

async function fetchModel(arg: string, e = env(), onProgress?: (p: HubFetchProgress) => void, signal?: AbortSignal) {
	const ref = parseHubRef(arg);
	return fetchRepoFiles(ref, modelFileSelector(arg, ref.path), { env: e, retryBaseMs: 5, downloadIdleMs: 300, onProgress, signal });
}

before(async () => {
	hub = await LocalHub.start();
	mainSha = hub.addCommit(REPO, { ...gpt2Files, 'README.md': Buffer.from('# tiny\n'), 'pytorch_model.bin': Buffer.from('pickle bytes') });
	hub.addCommit(SHARDED, folderFiles(fixtureModel('llama-tiny-bf16')));
	hub.addCommit('test-org/pickles', { 'config.json': Buffer.from('{}'), 'pytorch_model.bin': Buffer.from('pickle') });
	hub.addCommit('test-org/gated', { ...gpt2Files }, 'main', ['good-token']);
	const nested: Record<string, Buffer> = {};
	for (const [k, v] of Object.entries(gpt2Files)) nested[`checkpoints/step-100/${k}`] = v;
	hub.addCommit('test-org/nested', nested);
});

after(async () => hub.close());

beforeEach(() => {
	cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-hub-'));
	hub.requests.length = 0;
	hub.faults.length = 0;
	hub.pageSize = 1000;
});

describe('hf: references', () => {
	it('parses repo, revision and folder', () => {
		assert.deepEqual(parseHubRef('hf:jbloom/GPT2-Small-SAEs-Reformatted/blocks.8.hook_resid_pre'), { repoId: 'jbloom/GPT2-Small-SAEs-Reformatted', revision: 'main', path: 'blocks.8.hook_resid_pre' });
		assert.deepEqual(parseHubRef('hf:google/gemma-scope-2b-pt-res@v1.0/layer_3/width_16k/average_l0_7'), {
			repoId: 'google/gemma-scope-2b-pt-res',
			revision: 'v1.0',
			path: 'layer_3/width_16k/average_l0_7',
		});
		assert.deepEqual(parseHubRef('hf:org/m@refs%2Fpr%2F3'), { repoId: 'org/m', revision: 'refs/pr/3', path: '' });
		assert.equal(formatHubRef(parseHubRef('hf:org/m@refs%2Fpr%2F3/a/b')), 'hf:org/m@refs%2Fpr%2F3/a/b');
	});
	it('refuses what is not a repository id or a path inside it', () => {
		for (const bad of ['hf:gpt2', 'hf:/x', 'hf:a--b/c', 'hf:org/name/../x', 'hf:org/name@', 'hf:o r g/n']) {
			assert.throws(() => parseHubRef(bad), HubError, bad);
		}
	});
});

describe('environment', () => {
	it('follows huggingface_hub: HF_HUB_CACHE, else HF_HOME/hub, else XDG_CACHE_HOME/huggingface/hub; HF_TOKEN, else the token file', () => {
		const home = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-hfhome-'));
		fs.writeFileSync(path.join(home, 'token'), 'hf_file_token\n');
		assert.equal(hubEnvironment({ HF_HUB_CACHE: '/c/hub', HF_HOME: home }).cacheDir, '/c/hub');
		const fromHome = hubEnvironment({ HF_HOME: home });
		assert.equal(fromHome.cacheDir, path.join(home, 'hub'));
		assert.equal(fromHome.token, 'hf_file_token');
		assert.equal(fromHome.tokenSource, path.join(home, 'token'));
		assert.equal(hubEnvironment({ XDG_CACHE_HOME: '/x' }).cacheDir, '/x/huggingface/hub');
		assert.equal(hubEnvironment({ HF_HOME: home, HF_TOKEN: ' hf_env ' }).token, 'hf_env');
		assert.equal(hubEnvironment({ HOME: os.homedir(), HF_HUB_CACHE: '~/hfc' }).cacheDir, path.join(os.homedir(), 'hfc'));
		assert.equal(hubEnvironment({ HF_ENDPOINT: 'http://127.0.0.1:9/' }).endpoint, 'http://127.0.0.1:9');
		for (const v of ['1', 'true', 'YES', 'on']) assert.equal(hubEnvironment({ HF_HUB_OFFLINE: v }).offline, true, v);
		for (const v of ['0', 'false', '']) assert.equal(hubEnvironment({ HF_HUB_OFFLINE: v }).offline, false, v);
		assert.equal(hubEnvironment({ HF_HUB_CACHE: '/c' }, { cacheDir: '/setting', token: 't' }).cacheDir, '/setting');
	});
});

describe('downloads into the huggingface_hub cache layout', () => {
	it('writes blobs named by sha256 (LFS) or git sha1, relative snapshot symlinks and refs/main, byte-identical, and never sends the token to the CDN', async () => {
		const progress: HubFetchProgress[] = [];
		const got = await fetchModel(`hf:${REPO}`, env({ token: 'secret' }), (p) => progress.push(p));
		const storage = path.join(cacheDir, 'models--test-org--gpt2-tiny');
		assert.equal(got.commit, mainSha);
		assert.equal(got.dir, path.join(storage, 'snapshots', mainSha));
		assert.equal(fs.readFileSync(path.join(storage, 'refs', 'main'), 'utf8'), mainSha);
		assert.deepEqual(got.files.sort(), ['config.json', 'model.safetensors', 'tokenizer.json']);
		for (const f of got.files) {
			const data = gpt2Files[f]!;
			const pointer = path.join(got.dir, f);
			const etag = f.endsWith('.safetensors') ? sha256(data) : gitOid(data);
			assert.equal(fs.readlinkSync(pointer), path.join('..', '..', 'blobs', etag), f);
			assert.ok(fs.readFileSync(pointer).equals(data), f);
		}
		// Pickles and the README are not fetched.
		assert.equal(hub.requestsTo(/pytorch_model|README/).length, 0);
		assert.ok(hub.requests.filter((r) => r.server === 'hub').every((r) => r.authorization === 'Bearer secret'));
		const cdn = hub.requests.filter((r) => r.server === 'cdn');
		assert.equal(cdn.length, 1);
		assert.equal(cdn[0]!.authorization, undefined);
		// The size to download was known before the download began.
		const first = progress.find((p) => p.phase === 'downloading')!;
		const expected = ['config.json', 'model.safetensors', 'tokenizer.json'].reduce((a, f) => a + gpt2Files[f]!.length, 0);
		assert.deepEqual([first.bytesDone, first.bytesTotal, first.filesTotal], [0, expected, 3]);
		assert.equal(progress.at(-1)!.phase, 'done');
		assert.equal(got.downloadedBytes, expected);
	});

	it('fetches the shards a safetensors index lists, following the tree listing across pages', async () => {
		hub.pageSize = 2;
		const got = await fetchModel(`hf:${SHARDED}`);
		assert.ok(got.files.includes('model-00001-of-00002.safetensors') && got.files.includes('model-00002-of-00002.safetensors') && got.files.includes('model.safetensors.index.json'));
		assert.ok(hub.requestsTo(/cursor=/).length > 0);
		for (const f of got.files) assert.ok(fs.readFileSync(path.join(got.dir, f)).equals(fs.readFileSync(path.join(fixtureModel('llama-tiny-bf16'), f))));
	});

	it('a folder inside a repository is a checkpoint of its own', async () => {
		const got = await fetchModel('hf:test-org/nested/checkpoints/step-100');
		assert.ok(got.dir.endsWith(path.join('snapshots', got.commit, 'checkpoints', 'step-100')));
		assert.ok(fs.existsSync(path.join(got.dir, 'model.safetensors')));
	});

	it('a second use makes no request for a commit sha, and one revision lookup (no download) for a branch', async () => {
		await fetchModel(`hf:${REPO}`);
		hub.requests.length = 0;
		await fetchModel(`hf:${REPO}@${mainSha}`);
		assert.equal(hub.requests.length, 0);
		const again = await fetchModel(`hf:${REPO}`);
		assert.deepEqual(
			hub.requests.map((r) => r.url.split('?')[0]),
			[`/api/models/${REPO}/revision/main`],
		);
		assert.equal(again.downloadedBytes, 0);
	});

	it('offline: answers from refs/ and the snapshot without any request, and says so when the cache lacks it', async () => {
		await fetchModel(`hf:${REPO}`);
		hub.requests.length = 0;
		const got = await fetchModel(`hf:${REPO}`, env({ offline: true }));
		assert.equal(got.commit, mainSha);
		assert.equal(got.contacted, false);
		await assert.rejects(fetchModel(`hf:${SHARDED}`, env({ offline: true })), /offline \(HF_HUB_OFFLINE is set\): hf:test-org\/llama-tiny-bf16 has never been downloaded/);
		assert.equal(hub.requests.length, 0);
	});

	it('falls back to the cached commit of a branch when the Hub cannot be reached', async () => {
		await fetchModel(`hf:${REPO}`);
		const got = await fetchModel(`hf:${REPO}`, env({ endpoint: `http://127.0.0.1:${await closedPort()}` }));
		assert.equal(got.commit, mainSha);
	});

	it('uses a cache folder laid out the way huggingface_hub documents it, as is', async () => {
		// blobs/<etag>, snapshots/<sha>/<file> -> ../../blobs/<etag>, refs/main = <sha> (no newline): what Python leaves.
		const sha = 'a'.repeat(40);
		const storage = path.join(cacheDir, 'models--python-org--cached');
		fs.mkdirSync(path.join(storage, 'blobs'), { recursive: true });
		fs.mkdirSync(path.join(storage, 'snapshots', sha), { recursive: true });
		fs.mkdirSync(path.join(storage, 'refs'), { recursive: true });
		fs.writeFileSync(path.join(storage, 'refs', 'main'), sha);
		for (const [f, data] of Object.entries(gpt2Files)) {
			const etag = f.endsWith('.safetensors') ? sha256(data) : gitOid(data);
			fs.writeFileSync(path.join(storage, 'blobs', etag), data);
			fs.symlinkSync(path.join('..', '..', 'blobs', etag), path.join(storage, 'snapshots', sha, f));
		}
		const bySha = await fetchModel(`hf:python-org/cached@${sha}`);
		const offline = await fetchModel('hf:python-org/cached', env({ offline: true }));
		assert.equal(bySha.dir, path.join(storage, 'snapshots', sha));
		assert.equal(offline.dir, bySha.dir);
		assert.equal(hub.requests.length, 0);
	});
});

describe('resuming and verifying', () => {
	it('a connection cut mid-file resumes with a Range request and ends byte-identical', async () => {
		hub.faults.push({ match: /^\/blobs\//, cutAfter: 1000, times: 1 });
		const got = await fetchModel(`hf:${REPO}`);
		const ranges = hub.requests.filter((r) => r.server === 'cdn').map((r) => r.range);
		assert.deepEqual(ranges, [undefined, 'bytes=1000-']);
		assert.ok(fs.readFileSync(path.join(got.dir, 'model.safetensors')).equals(gpt2Files['model.safetensors']!));
	});

	it('a response that stops sending is dropped after the idle timeout and resumed', async () => {
		hub.faults.push({ match: /^\/blobs\//, stallAfter: 3000, times: 1 });
		const got = await fetchModel(`hf:${REPO}`);
		assert.deepEqual(
			hub.requests.filter((r) => r.server === 'cdn').map((r) => r.range),
			[undefined, 'bytes=3000-'],
		);
		assert.ok(fs.readFileSync(path.join(got.dir, 'model.safetensors')).equals(gpt2Files['model.safetensors']!));
	});

	it('a cancelled download keeps its .incomplete blob, and the next one resumes it', async () => {
		const abort = new AbortController();
		hub.faults.push({ match: /^\/blobs\//, stallAfter: 4096, times: 1 });
		const doneBefore = ['config.json', 'tokenizer.json'].reduce((a, f) => a + gpt2Files[f]!.length, 0);
		await assert.rejects(
			fetchModel(
				`hf:${REPO}`,
				env(),
				(p) => {
					if (p.file === 'model.safetensors' && p.bytesDone >= doneBefore + 4096) abort.abort();
				},
				abort.signal,
			),
			HubCancelled,
		);
		const blob = path.join(cacheDir, 'models--test-org--gpt2-tiny', 'blobs', sha256(gpt2Files['model.safetensors']!));
		const partial = fs.statSync(`${blob}.incomplete`).size;
		assert.equal(partial, 4096);
		assert.ok(!fs.existsSync(blob));
		hub.requests.length = 0;
		const got = await fetchModel(`hf:${REPO}`);
		assert.deepEqual(
			hub.requests.filter((r) => r.server === 'cdn').map((r) => r.range),
			[`bytes=${partial}-`],
		);
		assert.ok(fs.readFileSync(path.join(got.dir, 'model.safetensors')).equals(gpt2Files['model.safetensors']!));
		assert.ok(!fs.existsSync(`${blob}.incomplete`));
	});

	it('bytes that do not match the listed sha256 are removed and reported', async () => {
		hub.faults.push({ match: /^\/blobs\//, corrupt: true, times: 1 });
		await assert.rejects(fetchModel(`hf:${REPO}`), /model\.safetensors in test-org\/gpt2-tiny: the downloaded bytes have sha256 [0-9a-f]{64}, the Hub lists [0-9a-f]{64}/);
		const blobs = fs.readdirSync(path.join(cacheDir, 'models--test-org--gpt2-tiny', 'blobs'));
		assert.ok(!blobs.some((b) => b.startsWith(sha256(gpt2Files['model.safetensors']!))), blobs.join());
	});
});

describe('errors', () => {
	it('gated models say where to accept the licence (401 without a token, 403 with one that has no access)', async () => {
		const page = `${hub.endpoint}/test-org/gated`;
		await assert.rejects(fetchModel('hf:test-org/gated'), (e: Error) => e instanceof HubError && e.message.includes(`accept the licence at ${page}`) && e.message.includes('set HF_TOKEN'));
		await assert.rejects(
			fetchModel('hf:test-org/gated', env({ token: 'other', tokenSource: 'HF_TOKEN' })),
			(e: Error) => e.message.includes(`is gated: accept the licence at ${page}`) && e.message.includes('the token from HF_TOKEN'),
		);
		const ok = await fetchModel('hf:test-org/gated', env({ token: 'good-token' }));
		assert.ok(fs.existsSync(path.join(ok.dir, 'model.safetensors')));
	});

	it('missing repositories, revisions and weights are named', async () => {
		await assert.rejects(fetchModel('hf:test-org/nope'), new RegExp(`${hub.endpoint.replace(/[.]/g, '\\.')} has no repository test-org/nope`));
		await assert.rejects(fetchModel(`hf:${REPO}@v9`), /test-org\/gpt2-tiny has no revision "v9"/);
		await assert.rejects(fetchModel('hf:test-org/pickles'), /has only PyTorch pickle weights \(pytorch_model\.bin\), which Feature Lens never loads/);
		await assert.rejects(fetchModel(`hf:${REPO}/no/such/folder`), /hf:test-org\/gpt2-tiny\/no\/such\/folder: no such file or folder at commit/);
	});

	it('retries 429 (honouring Retry-After) and 5xx, then succeeds', async () => {
		hub.faults.push({ match: /\/revision\//, status: 429, headers: { 'Retry-After': '0' }, times: 2 });
		hub.faults.push({ match: /\/tree\//, status: 503, times: 1 });
		hub.faults.push({ match: /^\/blobs\//, status: 502, times: 1 });
		const got = await fetchModel(`hf:${REPO}`);
		assert.ok(fs.existsSync(path.join(got.dir, 'model.safetensors')));
		assert.equal(hub.requestsTo(/\/revision\//).length, 3);
	});

	it('gives up with a clear message when 429 or 5xx persist', async () => {
		hub.faults.push({ match: /\/revision\//, status: 429, headers: { 'Retry-After': '0' }, times: 100 });
		await assert.rejects(fetchModel(`hf:${REPO}`), /is rate-limiting requests \(HTTP 429, 6 tries\) for test-org\/gpt2-tiny; wait a few minutes/);
		hub.faults.length = 0;
		hub.faults.push({ match: /\/revision\//, status: 500, times: 100 });
		await assert.rejects(fetchModel(`hf:${REPO}`), /answered HTTP 500 .* \(6 tries\); the Hub may be down/);
	});

	it('an unreachable Hub with nothing cached says so', async () => {
		await assert.rejects(
			fetchModel(`hf:${REPO}`, env({ endpoint: `http://127.0.0.1:${await closedPort()}` })),
			/cannot reach http:\/\/127\.0\.0\.1:\d+ for test-org\/gpt2-tiny \(ECONNREFUSED, 6 tries\)/,
		);
	});
});
