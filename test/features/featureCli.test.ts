// feature-lens analyze and feature-lens feature, as scripts use them; and the demo SAE's
// shipped analysis, which must still match the demo SAE's weights.

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import type { AnalyzeResult, FeatureDashboardData } from '../../src/protocol/featureProtocol';
import { saeKey } from '../../src/engine/features/analysisStore';
import { DATA_DIR_ENV, userDataDir } from '../../src/engine/io/userDataDir';
import { fixtureModel, testDataDir } from '../helpers';

const CLI = path.join(__dirname, '..', '..', 'dist', 'cli.js');
const DEMO_SAE = path.join(__dirname, '..', '..', 'models', 'pycode', 'saes', 'blocks.2.hook_resid_pre');

const DATA = testDataDir();

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
	const r = spawnSync(process.execPath, [CLI, ...args, '--ep', 'cpu', '--threads', '1'], { encoding: 'utf8', env: { ...process.env, [DATA_DIR_ENV]: DATA } });
	return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('feature-lens analyze / feature', () => {
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-cli-features-'));
	after(() => fs.rmSync(tmp, { recursive: true, force: true }));

	it('analyzes with --json, reuses the stored analysis, and prints a feature', () => {
		const sae = path.join(tmp, 'sae');
		fs.cpSync(path.join(__dirname, '..', 'fixtures', 'sae', 'topk-v6'), sae, { recursive: true });
		const corpus = path.join(__dirname, '..', '..', 'src', 'engine', 'models', '*.ts');
		const first = cli('analyze', fixtureModel('gpt2-tiny'), '--sae', sae, '--corpus', corpus, '--tokens', '500', '--json');
		assert.equal(first.status, 0, first.stderr);
		const r1 = JSON.parse(first.stdout) as AnalyzeResult;
		assert.equal(r1.reused, false);
		assert.ok(r1.tokens >= 500);
		assert.equal(r1.dir, path.join(DATA, 'saes', saeKey(sae).sha256));
		assert.equal(fs.existsSync(path.join(sae, 'feature-lens')), false);
		const second = JSON.parse(cli('analyze', fixtureModel('gpt2-tiny'), '--sae', sae, '--corpus', corpus, '--tokens', '500', '--json', '--export').stdout) as AnalyzeResult & { exported: string };
		assert.equal(second.reused, true);
		assert.equal(second.exported, path.join(sae, 'feature-lens'));
		assert.ok(fs.existsSync(path.join(sae, 'feature-lens', 'analysis.json')));
		const human = cli('feature', fixtureModel('gpt2-tiny'), '--sae', sae, '--index', '2');
		assert.equal(human.status, 0, human.stderr);
		assert.match(human.stdout, /^feature 2 of 64 at blocks\.1\.hook_resid_post/);
		assert.match(human.stdout, /logit lens \+: /);
		assert.match(human.stdout, /neighbours: #\d+/);
	});

	it("keeps its data in $FEATURE_LENS_DATA_DIR, else the platform's per-user cache folder", () => {
		assert.equal(userDataDir({ [DATA_DIR_ENV]: '/srv/lens' }, 'linux', '/home/u'), '/srv/lens');
		assert.equal(userDataDir({}, 'linux', '/home/u'), '/home/u/.cache/feature-lens');
		assert.equal(userDataDir({ XDG_CACHE_HOME: '/var/cache/u' }, 'linux', '/home/u'), '/var/cache/u/feature-lens');
		assert.equal(userDataDir({ XDG_CACHE_HOME: 'relative' }, 'linux', '/home/u'), '/home/u/.cache/feature-lens', 'the XDG spec ignores relative paths');
		assert.equal(userDataDir({}, 'darwin', '/Users/u'), '/Users/u/Library/Caches/feature-lens');
		assert.equal(userDataDir({ LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, 'win32', 'C:\\Users\\u'), 'C:\\Users\\u\\AppData\\Local\\feature-lens\\Cache');
	});

	it('explains bad arguments', () => {
		assert.match(cli('analyze', 'demo', '--corpus', 'demo', '--tokens', '10').stderr, /analyze needs --sae DIR/);
		assert.match(cli('analyze', 'demo', '--sae', DEMO_SAE, '--tokens', '10').stderr, /analyze needs --corpus/);
		assert.match(cli('analyze', 'demo', '--sae', DEMO_SAE, '--corpus', 'demo', '--tokens', '0').stderr, /--tokens must be an integer ≥ 1/);
		assert.match(cli('feature', 'demo', '--sae', DEMO_SAE).stderr, /feature needs --index I/);
		const out = cli('feature', 'demo', '--sae', DEMO_SAE, '--index', '3072');
		assert.equal(out.status, 2);
		assert.match(out.stderr, /feature 3072 is out of range: this SAE has 3072 features \(0–3071\)/);
	});

	it('the demo SAE ships with an analysis of its own weights', () => {
		const out = cli('feature', 'demo', '--sae', DEMO_SAE, '--index', '0', '--json');
		assert.equal(out.status, 0, out.stderr);
		const d = JSON.parse(out.stdout) as FeatureDashboardData;
		assert.equal(d.analysed, true, 'models/pycode/saes/blocks.2.hook_resid_pre/feature-lens matches the SAE (rerun npm run analyze:demo after retraining it)');
		assert.equal(d.corpus, 'demo');
		assert.ok(d.analysedTokens > 300_000);
		assert.equal(d.quantiles.length, 5);
		assert.ok(d.topExamples.length > 0 || d.dead);
	});
});
