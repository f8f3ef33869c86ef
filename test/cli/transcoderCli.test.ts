// The transcoder commands of the built CLI: train a skip transcoder with --hook-out, a set with
// `transcoders` (circuit-tracer layout written), and `eval --transcoders` reporting the CE-loss
// score with every MLP replaced and per-layer EV and L0; inspect on one layer of the set; a
// cross-layer transcoder through eval --transcoders and inspect.

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { writeRandomClt } from '../saeFixtures';

const CLI = path.join(__dirname, '..', '..', 'dist', 'cli.js');

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
	const r = spawnSync(process.execPath, [CLI, ...args, '--ep', 'cpu', '--threads', '1'], { encoding: 'utf8' });
	return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('feature-lens transcoder commands', () => {
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-tc-cli-'));

	it('train --hook-out --skip saves a SAELens skip_transcoder; --skip alone is refused', () => {
		const out = path.join(tmp, 'one');
		const r = cli(
			'train',
			'demo',
			'--hook',
			'blocks.1.ln2.hook_normalized',
			'--hook-out',
			'blocks.1.hook_mlp_out',
			'--skip',
			'--corpus',
			'demo',
			'--arch',
			'standard',
			'--l1',
			'0.5',
			'--d-sae',
			'64',
			'--tokens',
			'4096',
			'--batch',
			'1024',
			'--buffer-rows',
			'2048',
			'--out',
			out,
			'--json',
		);
		assert.equal(r.status, 0, r.stderr);
		const cfg = JSON.parse(fs.readFileSync(path.join(out, 'cfg.json'), 'utf8')) as Record<string, unknown>;
		assert.equal(cfg.architecture, 'skip_transcoder');
		assert.equal(cfg.d_out, 192);
		const bad = cli('train', 'demo', '--hook', 'blocks.1.ln2.hook_normalized', '--skip', '--corpus', 'demo', '--arch', 'standard', '--d-sae', '64', '--tokens', '4096', '--out', path.join(tmp, 'bad'));
		assert.equal(bad.status, 2, bad.stderr);
		assert.match(bad.stderr, /--skip is for transcoders: give --hook-out too/);
	});

	it('transcoders trains every layer and writes the set; eval --transcoders reports ce_loss_score, per-layer EV and L0', () => {
		const runs = path.join(tmp, 'runs');
		const set = path.join(tmp, 'set');
		const r = cli(
			'transcoders',
			'demo',
			'--arch',
			'batchtopk',
			'--k',
			'8',
			'--d-sae',
			'64',
			'--tokens',
			'4096',
			'--batch',
			'1024',
			'--buffer-rows',
			'2048',
			'--corpus',
			'demo',
			'--out',
			runs,
			'--set',
			set,
			'--half',
			'--json',
		);
		assert.equal(r.status, 0, r.stderr);
		assert.deepEqual(fs.readdirSync(set).sort(), ['config.yaml', 'layer_0.safetensors', 'layer_1.safetensors', 'layer_2.safetensors', 'layer_3.safetensors']);
		assert.match(fs.readFileSync(path.join(set, 'config.yaml'), 'utf8'), /model_kind: transcoder_set\nfeature_input_hook: ln2\.hook_normalized\nfeature_output_hook: hook_mlp_out\n/);
		const e = cli('eval', 'demo', '--transcoders', set, '--corpus', 'demo', '--tokens', '512', '--json');
		assert.equal(e.status, 0, e.stderr);
		const m = JSON.parse(e.stdout) as {
			tokens: number;
			ce_loss_score: number;
			ce_loss_with_transcoders: number;
			ce_loss_without_transcoders: number;
			layers: { hook_name: string; explained_variance: number; l0: number }[];
		};
		assert.ok(m.tokens >= 512);
		assert.ok(Number.isFinite(m.ce_loss_score) && m.ce_loss_with_transcoders > m.ce_loss_without_transcoders);
		assert.deepEqual(
			m.layers.map((l) => l.hook_name),
			[0, 1, 2, 3].map((l) => `blocks.${l}.ln2.hook_normalized`),
		);
		for (const l of m.layers) assert.ok(l.l0 > 0 && l.explained_variance > -1 && l.explained_variance < 1);
		// One layer of the set inspects like any SAE.
		const i = cli('inspect', 'demo', '--sae', path.join(set, 'layer_2.safetensors'), '--text', 'def f(x):', '--json');
		assert.equal(i.status, 0, i.stderr);
		assert.equal((JSON.parse(i.stdout) as { hook: string }).hook, 'blocks.2.ln2.hook_normalized');
	});

	it("a cross-layer transcoder folder: eval --transcoders reports every layer with all MLPs replaced; inspect names each feature's layer", () => {
		const clt = path.join(tmp, 'clt');
		fs.mkdirSync(clt);
		writeRandomClt(clt, { dModel: 192, dSae: 32, nLayers: 4 });
		const e = cli('eval', 'demo', '--transcoders', clt, '--corpus', 'demo', '--tokens', '128', '--context-size', '32', '--json');
		assert.equal(e.status, 0, e.stderr);
		const m = JSON.parse(e.stdout) as { tokens: number; ce_loss_score: number; layers: { hook_name_out: string; l0: number; explained_variance: number }[] };
		assert.ok(m.tokens >= 128 && Number.isFinite(m.ce_loss_score));
		assert.deepEqual(
			m.layers.map((l) => l.hook_name_out),
			[0, 1, 2, 3].map((l) => `blocks.${l}.hook_mlp_out`),
		);
		for (const l of m.layers) assert.ok(l.l0 > 0 && Number.isFinite(l.explained_variance));
		const i = cli('inspect', 'demo', '--sae', clt, '--text', 'def f(x):', '--top', '6', '--json');
		assert.equal(i.status, 0, i.stderr);
		const out = JSON.parse(i.stdout) as { hooks: string[]; tokens: { features: [number, number, number][] }[] };
		assert.equal(out.hooks.length, 4);
		const layers = new Set(out.tokens.flatMap((t) => t.features.map(([l]) => l)));
		assert.ok(layers.size > 1 && [...layers].every((l) => l >= 0 && l < 4), `layers ${[...layers].join(', ')}`);
	});
});
