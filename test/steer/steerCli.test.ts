// `feature-lens generate --steer`, as scripts use it: JSON output, the baseline, Neuronpedia's
// defaults, and clear errors.

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { fixtureModel } from '../helpers';

const CLI = path.join(__dirname, '..', '..', 'dist', 'cli.js');
const TOPK_SAE = path.join(__dirname, '..', 'fixtures', 'sae', 'topk-v6');

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
	const r = spawnSync(process.execPath, [CLI, ...args, '--ep', 'cpu', '--threads', '1'], { encoding: 'utf8' });
	return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface SteerJson {
	steer: { features: { featureIndex: number; mode: string; strength: number }[]; positions: string };
	sampling: { maxNewTokens: number; temperature: number; topP: number; seed: number };
	prompt: string;
	steered: { ids: number[]; text: string; stopReason: string };
	baseline?: { ids: number[]; text: string; stopReason: string };
}

describe('feature-lens generate --steer', () => {
	it('prints the steered completion and the same-seed baseline as JSON, with Neuronpedia defaults', () => {
		const r = cli(
			'generate',
			fixtureModel('gpt2-tiny'),
			'--sae',
			TOPK_SAE,
			'--prompt',
			'def f(self):',
			'--steer',
			'3:clamp=40,9:add=25,4:cap=0',
			'--positions',
			'generated',
			'--baseline',
			'--max-new-tokens',
			'10',
			'--json',
		);
		assert.equal(r.status, 0, r.stderr);
		const out = JSON.parse(r.stdout) as SteerJson;
		assert.deepEqual(out.steer.features, [
			{ featureIndex: 3, mode: 'clamp', strength: 40 },
			{ featureIndex: 9, mode: 'add', strength: 25 },
			{ featureIndex: 4, mode: 'cap', strength: 0 },
		]);
		assert.equal(out.steer.positions, 'generated');
		assert.deepEqual(out.sampling, { maxNewTokens: 10, temperature: 0.5, topP: 1, seed: 16 });
		assert.equal(out.steered.ids.length, 10);
		assert.equal(out.baseline!.ids.length, 10);
		assert.equal(out.steered.ids[0], out.baseline!.ids[0], 'generated-only steering starts from the unsteered prompt');
		assert.notDeepEqual(out.steered.ids, out.baseline!.ids);
		// The baseline is the ordinary generate command with the same settings.
		const plain = cli('generate', fixtureModel('gpt2-tiny'), '--prompt', 'def f(self):', '--max-new-tokens', '10', '--temperature', '0.5', '--seed', '16', '--json');
		assert.equal(plain.status, 0, plain.stderr);
		// Both print the prompt's text and completions of the same shape: what the model added after it.
		const plainOut = JSON.parse(plain.stdout) as Pick<SteerJson, 'prompt'> & { completion: SteerJson['steered'] };
		assert.equal(plainOut.prompt, out.prompt);
		assert.deepEqual(plainOut.completion, out.baseline);
	});

	it('streams the steered text without --baseline', () => {
		const r = cli('generate', fixtureModel('gpt2-tiny'), '--sae', TOPK_SAE, '--prompt', 'x = ', '--steer', '5=10', '--max-new-tokens', '6');
		assert.equal(r.status, 0, r.stderr);
		assert.match(r.stdout, /^steered: 5:add=10 \(all positions\)\nx = /);
	});

	it('says what is wrong with bad steering arguments', () => {
		const model = fixtureModel('gpt2-tiny');
		const bad = (pattern: RegExp, ...args: string[]) => {
			const r = cli('generate', model, '--prompt', 'x', ...args);
			assert.equal(r.status, 2, r.stdout);
			assert.match(r.stderr, pattern);
		};
		bad(/--steer needs --sae DIR/, '--steer', '1:add=2');
		bad(/--sae goes with --steer/, '--sae', TOPK_SAE, '--max-new-tokens', '3');
		bad(/unknown mode "boost"/, '--sae', TOPK_SAE, '--steer', '1:boost=2');
		bad(/feature 64 is not in the SAE \(feature indices run 0\.\.63\)/, '--sae', TOPK_SAE, '--steer', '64:add=2');
		bad(/--positions must be all or generated/, '--sae', TOPK_SAE, '--steer', '1:add=2', '--positions', 'prompt');
	});
	it('steers with a contrast vector alone (no SAE needed with --contrast-hook) and checks its flags', () => {
		const args = [
			'generate',
			fixtureModel('gpt2-tiny'),
			'--prompt',
			'def f(self):',
			'--contrast-positive',
			'# a comment',
			'--contrast-negative',
			'x = 1',
			'--contrast-hook',
			'blocks.0.hook_resid_post',
			'--contrast-strength',
			'7.5',
			'--baseline',
			'--max-new-tokens',
			'8',
			'--json',
		];
		const r = cli(...args);
		assert.equal(r.status, 0, r.stderr);
		const out = JSON.parse(r.stdout) as SteerJson & { steer: { vectors: { hookName: string; strength: number; label: string }[] } };
		assert.deepEqual(out.steer.features, []);
		assert.deepEqual(out.steer.vectors, [{ hookName: 'blocks.0.hook_resid_post', strength: 7.5, label: '"# a comment" − "x = 1"' }]);
		assert.notDeepEqual(out.steered.ids, out.baseline!.ids, 'the vector changes the completion');
		// Strength 0 is the baseline exactly.
		const zero = JSON.parse(cli(...args.map((a) => (a === '7.5' ? '0' : a))).stdout) as SteerJson;
		assert.deepEqual(zero.steered.ids, zero.baseline!.ids);
		const half = cli('generate', fixtureModel('gpt2-tiny'), '--prompt', 'x', '--contrast-positive', 'a', '--contrast-hook', 'blocks.0.hook_resid_post', '--max-new-tokens', '2');
		assert.equal(half.status, 2);
		assert.match(half.stderr, /needs both --contrast-positive TEXT and --contrast-negative TEXT/);
		const noHook = cli('generate', fixtureModel('gpt2-tiny'), '--prompt', 'x', '--contrast-positive', 'a', '--contrast-negative', 'b', '--max-new-tokens', '2');
		assert.equal(noHook.status, 2);
		assert.match(noHook.stderr, /--contrast-hook H/);
	});
});
