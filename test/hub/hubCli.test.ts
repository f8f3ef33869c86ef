// The CLI with hf: models and release: SAEs against a local Hub on 127.0.0.1: the same
// results as from the folders, a refreshed registry, offline runs that make no request, and
// clear errors. Runs the built dist/cli.js with HF_ENDPOINT and HF_HUB_CACHE set, as a user would.

import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fixtureModel } from '../helpers';
import { LocalHub, folderFiles } from './localHub';

const CLI = path.join(__dirname, '..', '..', 'dist', 'cli.js');
const SAE_DIR = path.join(__dirname, '..', 'fixtures', 'sae', 'topk-v6');
const TEXT = 'def f(x):\n    return x';

let hub: LocalHub;
let home: string;

interface Run {
	status: number | null;
	stdout: string;
	stderr: string;
}

function cli(args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
	const env: Record<string, string> = {
		PATH: process.env.PATH ?? '',
		HOME: home,
		HF_ENDPOINT: hub.endpoint,
		HF_HUB_CACHE: path.join(home, 'hub'),
		HF_HOME: path.join(home, 'hf'),
		XDG_CACHE_HOME: path.join(home, 'cache'),
		...extraEnv,
	};
	return new Promise((resolve) => {
		const child = spawn(process.execPath, [CLI, ...args, '--ep', 'cpu', '--threads', '1'], { env });
		let stdout = '';
		let stderr = '';
		child.stdout.on('data', (d: Buffer) => {
			stdout += d.toString();
		});
		child.stderr.on('data', (d: Buffer) => {
			stderr += d.toString();
		});
		child.on('close', (status) => resolve({ status, stdout, stderr }));
	});
}

const REGISTRY = `gpt2-tiny-test:
  conversion_func: null
  model: gpt2-tiny
  repo_id: test-org/gpt2-tiny-saes
  config_overrides:
    dataset_path: NeelNanda/pile-10k
  saes:
  - id: blocks.1.hook_resid_post
    path: saes/blocks.1.hook_resid_post
    l0: 4.0
    neuronpedia: gpt2-tiny/1-test
gemma-scope-2b-pt-res:
  conversion_func: gemma_2
  model: gemma-2-2b
  repo_id: google/gemma-scope-2b-pt-res
  saes:
  - id: layer_3/width_16k/average_l0_7
    path: layer_3/width_16k/average_l0_7
    l0: 7
`;

before(async () => {
	hub = await LocalHub.start();
	home = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-hubcli-'));
	hub.addCommit('test-org/gpt2-tiny', folderFiles(fixtureModel('gpt2-tiny')));
	const saes: Record<string, Buffer> = {};
	for (const [f, data] of Object.entries(folderFiles(SAE_DIR))) saes[`saes/blocks.1.hook_resid_post/${f}`] = data;
	// Another SAE in the same repository, which loading the first must not download.
	for (const [f, data] of Object.entries(folderFiles(SAE_DIR))) saes[`saes/other/${f}`] = data;
	hub.addCommit('test-org/gpt2-tiny-saes', saes);
	hub.addCommit('test-org/sae-registry', { 'sae_lens/pretrained_saes.yaml': Buffer.from(REGISTRY) });
	hub.addCommit('test-org/gated-model', folderFiles(fixtureModel('gpt2-tiny')), 'main', ['nobody']);
});

after(async () => hub.close());

describe('feature-lens with hf: and release:', () => {
	it('run hf:org/name gives what the same folder gives, names the model by its repository, and a second run needs no download', async () => {
		const fromHub = await cli(['run', 'hf:test-org/gpt2-tiny', '--text', TEXT, '--json']);
		assert.equal(fromHub.status, 0, fromHub.stderr);
		const local = await cli(['run', fixtureModel('gpt2-tiny'), '--text', TEXT, '--json']);
		const a = JSON.parse(fromHub.stdout) as { model: string; tokens: unknown; logits_last: number[] };
		const b = JSON.parse(local.stdout) as { model: string; tokens: unknown; logits_last: number[] };
		assert.equal(a.model, 'test-org/gpt2-tiny');
		assert.deepEqual(a.tokens, b.tokens);
		assert.deepEqual(a.logits_last, b.logits_last);
		assert.match(fromHub.stderr, /downloading 3 file\(s\)/);
		hub.requests.length = 0;
		const again = await cli(['run', 'hf:test-org/gpt2-tiny', '--text', TEXT, '--json']);
		assert.equal(again.status, 0, again.stderr);
		assert.equal(hub.requests.filter((r) => r.url.includes('/resolve/') || r.server === 'cdn').length, 0, 'no file downloaded again');
	});

	it('offline (HF_HUB_OFFLINE=1) runs from the cache with no request at all', async () => {
		hub.requests.length = 0;
		const r = await cli(['run', 'hf:test-org/gpt2-tiny', '--text', TEXT, '--json'], { HF_HUB_OFFLINE: '1' });
		assert.equal(r.status, 0, r.stderr);
		assert.equal(hub.requests.length, 0);
		const missing = await cli(['run', 'hf:test-org/not-cached', '--text', TEXT], { HF_HUB_OFFLINE: '1' });
		assert.equal(missing.status, 2);
		assert.match(missing.stderr, /feature-lens: error: offline \(HF_HUB_OFFLINE is set\): hf:test-org\/not-cached has never been downloaded/);
		assert.equal(hub.requests.length, 0);
	});

	it('--sae release:<release>/<sae id> downloads only that SAE (after a registry refresh from the Hub) and inspects like the folder', async () => {
		const refresh = await cli(['releases', '--refresh', 'hf:test-org/sae-registry/sae_lens/pretrained_saes.yaml', '--json']);
		assert.equal(refresh.status, 0, refresh.stderr);
		assert.deepEqual((JSON.parse(refresh.stdout) as { releases: number }).releases, 2);
		const listed = await cli(['releases', '--model', 'test-org/gpt2-tiny', '--release', 'gpt2-tiny-test']);
		assert.match(listed.stdout, /release:gpt2-tiny-test\/blocks\.1\.hook_resid_post {2}blocks\.1\.hook_resid_post, L0 4, neuronpedia gpt2-tiny\/1-test/);
		hub.requests.length = 0;
		const fromRelease = await cli(['inspect', 'hf:test-org/gpt2-tiny', '--sae', 'release:gpt2-tiny-test/blocks.1.hook_resid_post', '--text', TEXT, '--json']);
		assert.equal(fromRelease.status, 0, fromRelease.stderr);
		const fetched = hub.requests.filter((r) => r.url.includes('/resolve/')).map((r) => r.url);
		assert.ok(fetched.length > 0 && fetched.every((u) => u.includes('saes/blocks.1.hook_resid_post/')), fetched.join('\n'));
		const local = await cli(['inspect', fixtureModel('gpt2-tiny'), '--sae', SAE_DIR, '--text', TEXT, '--json']);
		assert.deepEqual((JSON.parse(fromRelease.stdout) as { tokens: unknown }).tokens, (JSON.parse(local.stdout) as { tokens: unknown }).tokens);
		// The same SAE by its hf: path.
		const byPath = await cli(['inspect', 'hf:test-org/gpt2-tiny', '--sae', 'hf:test-org/gpt2-tiny-saes/saes/blocks.1.hook_resid_post', '--text', TEXT, '--json']);
		assert.deepEqual((JSON.parse(byPath.stdout) as { tokens: unknown }).tokens, (JSON.parse(local.stdout) as { tokens: unknown }).tokens);
	});

	it("an analysis of an SAE in the Hub cache goes to Feature Lens's data folder, not into the cache", async () => {
		const corpus = path.join(home, 'corpus.txt');
		fs.writeFileSync(corpus, 'def f(x):\n    return x + 1\n'.repeat(100));
		const r = await cli(['analyze', 'hf:test-org/gpt2-tiny', '--sae', 'release:gpt2-tiny-test/blocks.1.hook_resid_post', '--corpus', corpus, '--tokens', '1500', '--json']);
		assert.equal(r.status, 0, r.stderr);
		// By the SAE's content hash, as for any SAE.
		const dir = (JSON.parse(r.stdout) as { dir: string }).dir;
		assert.match(path.relative(path.join(home, 'cache', 'feature-lens'), dir), /^saes[\\/][0-9a-f]{64}$/);
		assert.ok(fs.existsSync(path.join(dir, 'analysis.json')));
		const inCache = fs
			.readdirSync(path.join(home, 'hub'), { recursive: true })
			.map(String)
			.filter((f) => f.includes('feature-lens'));
		assert.deepEqual(inCache, []);
		// Nor is it exported into the cache.
		const exported = await cli(['analyze', 'hf:test-org/gpt2-tiny', '--sae', 'release:gpt2-tiny-test/blocks.1.hook_resid_post', '--corpus', corpus, '--tokens', '1500', '--export']);
		assert.equal(exported.status, 2);
		assert.match(exported.stderr, /is in the Hugging Face cache, which holds only what the Hub serves: copy the SAE folder elsewhere to export/);
	});

	it('the shipped registry lists SAELens releases; unknown releases and unsupported formats are named', async () => {
		const fresh = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-noreg-'));
		const shipped = await cli(['releases', '--model', 'gpt2-small', '--release', 'gpt2-small-res-jb'], { XDG_CACHE_HOME: fresh });
		assert.equal(shipped.status, 0, shipped.stderr);
		assert.match(shipped.stdout, /jbloom\/GPT2-Small-SAEs-Reformatted/);
		assert.match(shipped.stdout, /release:gpt2-small-res-jb\/blocks\.8\.hook_resid_pre {2}blocks\.8\.hook_resid_pre, L0 [\d.]+, neuronpedia gpt2-small\/8-res-jb/);
		assert.match(shipped.stderr, /registry: jbloomAus\/SAELens sae_lens\/pretrained_saes\.yaml @ 91ca16cc/);
		const unknown = await cli(['inspect', 'demo', '--sae', 'release:no-such-release/x', '--text', 'x'], { XDG_CACHE_HOME: fresh });
		assert.equal(unknown.status, 2);
		assert.match(unknown.stderr, /no release "no-such-release" in the SAE registry/);
	});

	it('a gated model says where to accept the licence', async () => {
		const r = await cli(['run', 'hf:test-org/gated-model', '--text', TEXT]);
		assert.equal(r.status, 2);
		assert.ok(r.stderr.startsWith(`feature-lens: error: test-org/gated-model is gated: accept the licence at ${hub.endpoint}/test-org/gated-model (then set HF_TOKEN`), r.stderr);
	});
});
