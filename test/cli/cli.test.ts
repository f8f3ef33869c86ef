// The built `feature-lens` CLI, as scripts and later checks use it.

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { describeProviderChoice } from '../../src/engine/onnx/session';
import { terminalText } from '../../src/cli/terminalText';
import { fixtureModel, maxAbsDiff } from '../helpers';

const CLI = path.join(__dirname, '..', '..', 'dist', 'cli.js');

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
	const r = spawnSync(process.execPath, [CLI, ...args, '--ep', 'cpu', '--threads', '1'], { encoding: 'utf8' });
	return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const golden = (name: string) =>
	JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'golden', `${name}.json`), 'utf8')) as {
		ids: number[];
		golden: { logits_last: number[]; hooks: Record<string, { shape: number[]; values: number[] }> };
		generate: { ids: number[] };
	};

describe('feature-lens CLI', () => {
	it('--help lists the commands', () => {
		const r = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
		assert.equal(r.status, 0);
		for (const c of ['run', 'generate', 'hooks', 'demo']) assert.match(r.stdout, new RegExp(`feature-lens ${c}`));
	});

	it('run --ids --hooks --json prints tokens, all last-position logits and full hook values', () => {
		const g = golden('llama-tiny');
		const r = cli('run', fixtureModel('llama-tiny'), '--ids', g.ids.join(','), '--hooks', 'blocks.1.hook_resid_post,blocks.0.mlp.hook_post', '--json');
		assert.equal(r.status, 0, r.stderr);
		const out = JSON.parse(r.stdout) as { tokens: { id: number; text: string; start: number; end: number }[]; logits_last: number[]; hooks: Record<string, { shape: number[]; values: number[] }> };
		assert.deepEqual(
			out.tokens.map((t) => t.id),
			g.ids,
		);
		assert.ok(out.tokens.every((t, i) => t.start === (i === 0 ? 0 : out.tokens[i - 1]!.end) && t.end - t.start === t.text.length));
		assert.equal(out.logits_last.length, 300);
		assert.ok(maxAbsDiff(out.logits_last, g.golden.logits_last) < 1e-4);
		for (const h of ['blocks.1.hook_resid_post', 'blocks.0.mlp.hook_post']) {
			assert.deepEqual(out.hooks[h]!.shape, g.golden.hooks[h]!.shape);
			assert.ok(maxAbsDiff(out.hooks[h]!.values, g.golden.hooks[h]!.values) < 1e-4, h);
		}
	});

	// On a machine with onnxruntime-node's CUDA provider `auto` means the GPU; this checks the CPU-only case.
	const cudaInstalled = fs.existsSync(
		path.join(
			path.dirname(require.resolve('onnxruntime-node')),
			'..',
			'bin',
			'napi-v6',
			process.platform,
			process.arch,
			process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so',
		),
	);
	it('--ep auto on a CPU-only machine runs on the CPU without a CUDA notice; the engine log says once why', { skip: cudaInstalled && 'the CUDA provider is installed here' }, () => {
		const r = spawnSync(process.execPath, [CLI, 'run', fixtureModel('gpt2-tiny'), '--ids', '1,2', '--ep', 'auto', '--threads', '1'], { encoding: 'utf8' });
		assert.equal(r.status, 0, r.stderr);
		assert.doesNotMatch(r.stderr, /CUDA/);
		assert.match(
			describeProviderChoice({ executionProvider: 'auto', threads: 0 }),
			/^execution provider: CPU \(setting "auto", and onnxruntime-node's CUDA provider is not installed; for an NVIDIA GPU, install it with/,
		);
		assert.match(describeProviderChoice({ executionProvider: 'cuda', threads: 0 }), /^execution provider: CPU, although the setting is "cuda"/);
		assert.equal(describeProviderChoice({ executionProvider: 'cpu', threads: 0 }), 'execution provider: CPU (setting "cpu")');
		// Asking for CUDA explicitly still explains, once.
		const cuda = spawnSync(process.execPath, [CLI, 'generate', fixtureModel('gpt2-tiny'), '--ids', '1,2', '--max-new-tokens', '3', '--ep', 'cuda', '--threads', '1'], { encoding: 'utf8' });
		assert.equal(cuda.status, 0, cuda.stderr);
		assert.equal(cuda.stderr.match(/CUDA execution provider unavailable/g)?.length, 1, cuda.stderr);
	});

	it('run --text gives character offsets into the text', () => {
		const text = 'def f(self):\n    return 1';
		const r = cli('run', fixtureModel('gpt2-tiny'), '--text', text, '--json');
		assert.equal(r.status, 0, r.stderr);
		const out = JSON.parse(r.stdout) as { tokens: { text: string; start: number; end: number }[] };
		assert.ok(out.tokens.every((t) => text.slice(t.start, t.end) === t.text));
		assert.equal(out.tokens.at(-1)!.end, text.length);
	});

	it('generate --json with temperature 0 reproduces the reference greedy ids', () => {
		const g = golden('qwen2-tiny');
		const r = cli('generate', fixtureModel('qwen2-tiny'), '--ids', g.ids.join(','), '--max-new-tokens', '32', '--temperature', '0', '--json');
		assert.equal(r.status, 0, r.stderr);
		const out = JSON.parse(r.stdout) as { prompt: string; completion: { ids: number[]; text: string; stopReason: string } };
		// The reference never stops early; the fixture's EOS (2) does not occur in its 32 tokens.
		assert.deepEqual([...g.ids, ...out.completion.ids], g.generate.ids, "the prompt's ids, then the new ones");
		assert.equal(out.completion.ids.length, 32);
		assert.equal(out.completion.stopReason, 'maxTokens');
		assert.equal(typeof out.completion.text, 'string');
		assert.equal(typeof out.prompt, 'string');
	});

	it('model text reaches the terminal with control characters escaped, unless --raw', () => {
		// In gpt2-tiny's byte-level vocabulary, token 215 is the ESC byte that starts terminal escape sequences.
		const escaped = cli('generate', fixtureModel('gpt2-tiny'), '--ids', '215,215', '--max-new-tokens', '1');
		assert.equal(escaped.status, 0, escaped.stderr);
		assert.ok(!escaped.stdout.includes('\x1b'), 'no raw ESC');
		assert.ok(escaped.stdout.startsWith('\\x1b\\x1b'), escaped.stdout);
		const raw = cli('generate', fixtureModel('gpt2-tiny'), '--ids', '215,215', '--max-new-tokens', '1', '--raw');
		assert.ok(raw.stdout.startsWith('\x1b\x1b'), raw.stdout);
		assert.equal(terminalText('a\tb\nc\x07\x9bd'), 'a\tb\nc\\x07\\x9bd');
	});

	it('generate with a seed is reproducible', () => {
		const args = ['generate', fixtureModel('gpt2-tiny'), '--prompt', 'def self', '--max-new-tokens', '12', '--temperature', '0.9', '--top-k', '50', '--top-p', '0.95', '--seed', '11', '--json'];
		const a = cli(...args);
		assert.equal(a.status, 0, a.stderr);
		assert.equal(a.stdout, cli(...args).stdout);
	});

	it('generate demo --prompt "def " works out of the box and streams text', () => {
		const r = spawnSync(process.execPath, [CLI, 'generate', 'demo', '--prompt', 'def ', '--max-new-tokens', '40'], { encoding: 'utf8' });
		assert.equal(r.status, 0, r.stderr);
		assert.match(r.stdout, /^def \S/, 'the healed prompt continues with a name');
		assert.ok(r.stdout.length > 20);
	});

	it("npm run demo's command shows SAE features per token and the SAE's evaluation", () => {
		const r = spawnSync(process.execPath, [CLI, 'demo', '--threads', '2'], { encoding: 'utf8' });
		assert.equal(r.status, 0, r.stderr);
		assert.match(r.stdout, /Top features on each token/);
		assert.match(r.stdout, /"def"\s+\[\d+\] \d+\.\d+/);
		assert.match(r.stdout, /CE-loss score 0\.\d+/);
	});

	const errorCases: [string, string[], RegExp][] = [
		['missing model folder', ['run', '/nonexistent/model', '--ids', '1'], /no such folder/],
		['folder without config.json', ['run', path.join(__dirname, '..', 'fixtures'), '--ids', '1'], /no config\.json/],
		['bad hook name', ['run', fixtureModel('gpt2-tiny'), '--ids', '1,2', '--hooks', 'blocks.0.hook_nothing'], /unknown hook "blocks\.0\.hook_nothing"/],
		['both --ids and --text', ['run', fixtureModel('gpt2-tiny'), '--ids', '1', '--text', 'a'], /exactly one of --ids or --text/],
		['id out of range', ['run', fixtureModel('gpt2-tiny'), '--ids', '1,999'], /outside the vocabulary/],
		['generate without --max-new-tokens', ['generate', fixtureModel('gpt2-tiny'), '--ids', '1'], /--max-new-tokens/],
		['unknown option', ['run', fixtureModel('gpt2-tiny'), '--idz', '1'], /Unknown option '--idz'/],
		['unknown command', ['train-it', 'demo'], /unknown command "train-it"/],
		['bad --top-p', ['generate', fixtureModel('gpt2-tiny'), '--ids', '1', '--max-new-tokens', '2', '--top-p', '3'], /--top-p must be a number in \[0, 1\]/],
	];
	for (const [label, args, message] of errorCases) {
		it(`error: ${label} → one clear line, non-zero exit`, () => {
			const r = cli(...args);
			assert.notEqual(r.status, 0);
			assert.match(r.stderr, message);
			assert.match(r.stderr, /^feature-lens: error: /m);
			assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
			assert.equal(r.stdout, '');
		});
	}
});
