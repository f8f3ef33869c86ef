// `feature-lens attribute` on the tiny GPT-2 with a random transcoder set written in
// circuit-tracer's layout: a Neuronpedia graph JSON that our reader loads back, with the scores in
// its metadata, the target token's logit when one is asked for, and clear refusals.

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { graphFromJson } from '../../src/engine/attribution/graphFromJson';
import { parseGraphJson } from '../../src/protocol/graphJson';
import { saveTranscoderSet } from '../../src/engine/sae/circuitTracerFormat';
import { fixtureModel } from '../helpers';
import { inMemoryTranscoder } from '../saeFixtures';

const CLI = path.join(__dirname, '..', '..', 'dist', 'cli.js');

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
	const r = spawnSync(process.execPath, [CLI, ...args, '--ep', 'cpu', '--threads', '1'], { encoding: 'utf8' });
	return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('feature-lens attribute', () => {
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fl-attr-cli-'));
	const set = path.join(tmp, 'set');
	saveTranscoderSet(
		set,
		[0, 1].map((l) => inMemoryTranscoder('jumprelu', { input: `blocks.${l}.ln2.hook_normalized`, output: `blocks.${l}.hook_mlp_out`, dModel: 32, dSae: 48, seed: 3 * l })),
		{ inputHook: 'ln2.hook_normalized', outputHook: 'hook_mlp_out' },
	);
	const model = fixtureModel('gpt2-tiny');

	it('writes Neuronpedia graph JSON with the scores; --target-id adds that logit', () => {
		const out = path.join(tmp, 'graph.json');
		const r = cli('attribute', model, '--transcoders', set, '--ids', '0,5,17,42,100,7', '--target-id', '201', '--out', out, '--json');
		assert.equal(r.status, 0, r.stderr);
		const summary = JSON.parse(r.stdout) as { features: number; edges: number; kept_nodes: number; replacement_score: number; completeness_score: number; logits: { token: string }[] };
		assert.ok(summary.features > 0 && summary.edges > summary.features);
		const json = parseGraphJson(fs.readFileSync(out, 'utf8'));
		assert.equal(json.metadata.slug, 'graph');
		assert.equal(json.metadata.scan, 'gpt2-tiny');
		for (const key of ['replacement_score', 'completeness_score'] as const) {
			const v = json.metadata[key]!;
			assert.ok(v > 0 && v <= 1, `${key} ${v}`);
			assert.equal(v, summary[key]);
		}
		assert.equal(json.nodes.length, summary.kept_nodes);
		const { graph } = graphFromJson(json);
		const logits = graph.nodes.filter((n) => n.kind === 'logit');
		assert.ok(
			logits.some((n) => n.tokenId === 201),
			'the target token is a logit node',
		);
		assert.equal(json.nodes.filter((n) => n.is_target_logit).length, 1);
		assert.equal(graph.nodes.filter((n) => n.kind === 'embedding').length, 6);

		const few = cli('attribute', model, '--transcoders', set, '--ids', '0,5,17,42,100,7', '--max-feature-nodes', '7', '--out', path.join(tmp, 'few.json'), '--json');
		assert.equal(few.status, 0, few.stderr);
		assert.equal((JSON.parse(few.stdout) as { features: number }).features, 7);
		assert.equal(parseGraphJson(fs.readFileSync(path.join(tmp, 'few.json'), 'utf8')).metadata.generation_settings?.max_feature_nodes, 7);
	});

	it('refuses a missing set, a target of several tokens, an SAE that is no transcoder set', () => {
		const out = path.join(tmp, 'x.json');
		const noSet = cli('attribute', model, '--ids', '1,2', '--out', out);
		assert.equal(noSet.status, 2);
		assert.match(noSet.stderr, /--transcoders DIR/);
		const both = cli('attribute', model, '--transcoders', set, '--ids', '1,2', '--prompt', 'x', '--out', out);
		assert.equal(both.status, 2);
		assert.match(both.stderr, /exactly one of --ids or --prompt/);
		const missing = cli('attribute', model, '--transcoders', path.join(tmp, 'nowhere'), '--ids', '1,2', '--out', out);
		assert.notEqual(missing.status, 0);
		assert.match(missing.stderr, /nowhere/);
		assert.ok(!fs.existsSync(out));
	});
});
