// Real-scale parity for the Gemma families: a Gemma-2-2B- and a Gemma-3-1B-shaped bf16 checkpoint
// (random weights, real configs and names, sharded with an index; bench/familyCheckpoint.ts)
// against ../shared/bench/torch_lm_reference.py: max |Δ| of the last-position logits and of a few
// hooks over the whole prompt, greedy ids with the KV cache, and what loading took (time, peak
// RSS, PSS). Ours and the reference run one after the other (each holds the model as float32).
//
//   node --import tsx bench/familyScale.bench.ts gemma-2-2b|gemma-3-1b [--seq N] [--new N] [--threads 2]
//
// The default prompt of Gemma-3-1B (600 tokens) is longer than its 512-token window; Gemma-2-2B's
// 4096-token window is beyond what the reference computes here in reasonable time, so its
// default prompt (64 tokens) checks shapes, norms and soft-caps, not the window. Prints one
// JSON object; no pass/fail. Checkpoints are written to bench/.work (git-ignored).

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { generate } from '../src/engine/models/generate';
import { LanguageModel } from '../src/engine/models/languageModel';
import { seededRandom } from '../src/engine/models/sampling';
import { FAMILY_CONFIGS, writeFamilyCheckpoint } from './familyCheckpoint';

const REFERENCE = path.resolve(__dirname, '..', '..', 'shared', 'bench', 'torch_lm_reference.py');
const WORK = path.join(__dirname, '.work');

function arg(name: string, fallback: string): string {
	const i = process.argv.indexOf(name);
	return i > 0 ? process.argv[i + 1]! : fallback;
}

function memory(): { rssMiB: number; peakRssMiB: number; pssMiB: number } {
	const kib = (file: string, key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(fs.readFileSync(file, 'utf8'))?.[1] ?? NaN);
	return {
		rssMiB: Math.round(kib('/proc/self/status', 'VmRSS') / 1024),
		peakRssMiB: Math.round(kib('/proc/self/status', 'VmHWM') / 1024),
		pssMiB: Math.round(kib('/proc/self/smaps_rollup', 'Pss') / 1024),
	};
}

function maxAbsDiff(got: ArrayLike<number>, want: ArrayLike<number>): number {
	if (got.length !== want.length) throw new Error(`length ${got.length} ≠ ${want.length}`);
	let max = 0;
	for (let i = 0; i < got.length; i++) max = Math.max(max, Math.abs(got[i]! - want[i]!));
	return max;
}

interface Plan {
	dir: string;
	ids: number[];
	hooks: string[];
	newTokens: number;
	threads: number;
	golden: string;
	generated: string;
}

/** Ours, in its own process so that its peak memory is its own: load, forward with hooks, greedy generation, compared with the reference's files. */
async function runOurs(plan: Plan): Promise<void> {
	const t0 = performance.now();
	const model = LanguageModel.load(plan.dir, { executionProvider: 'cpu', threads: plan.threads });
	await model.prepare();
	const loadS = (performance.now() - t0) / 1000;
	const afterLoad = memory();
	const ref = JSON.parse(fs.readFileSync(plan.golden, 'utf8')) as { logits_last: number[]; hooks: Record<string, { values: number[] }> };
	const t1 = performance.now();
	const out = await model.forward({ ids: [plan.ids], hooks: plan.hooks, logits: 'last' });
	const forwardS = (performance.now() - t1) / 1000;
	const hooks: Record<string, number> = {};
	for (const h of plan.hooks) hooks[h] = maxAbsDiff(out.hooks[h]!.data as Float32Array, ref.hooks[h]!.values);
	const ids = [...plan.ids];
	for await (const step of generate(model, plan.ids, { maxNewTokens: plan.newTokens, temperature: 0, stopAtEos: false })) ids.push(step.id);
	const refIds = (JSON.parse(fs.readFileSync(plan.generated, 'utf8')) as { ids: number[] }).ids;
	console.log(
		JSON.stringify({
			weightsGiB: +(model.weightBytes() / 2 ** 30).toFixed(2),
			loadS: +loadS.toFixed(1),
			forwardS: +forwardS.toFixed(1),
			afterLoad,
			atEnd: memory(),
			maxAbsLogits: maxAbsDiff(out.logits!.data as Float32Array, ref.logits_last),
			maxAbsLogit: ref.logits_last.reduce((m, v) => Math.max(m, Math.abs(v)), 0),
			maxAbsHooks: hooks,
			greedyIdentical: JSON.stringify(ids) === JSON.stringify(refIds),
			greedy: ids.slice(plan.ids.length),
			referenceGreedy: refIds.slice(plan.ids.length),
		}),
	);
	await model.dispose();
}

/** The reference under /usr/bin/time: its stdout into `file`, its peak RSS and wall time back. */
function reference(plan: Plan, args: string[], file: string): { peakRssMiB: number; wallS: number } {
	const timing = `${file}.time`;
	const stdout = fs.openSync(file, 'w');
	try {
		execFileSync('/usr/bin/time', ['-f', '%M %e', '-o', timing, '/usr/bin/python3', REFERENCE, plan.dir, ...args, '--threads', String(plan.threads)], { stdio: ['ignore', stdout, 'inherit'] });
	} finally {
		fs.closeSync(stdout);
	}
	const [kib, wall] = fs.readFileSync(timing, 'utf8').trim().split(/\s+/).slice(-2).map(Number);
	return { peakRssMiB: Math.round(kib! / 1024), wallS: wall! };
}

async function main(): Promise<void> {
	if (process.argv[2] === '--ours') return runOurs(JSON.parse(process.argv[3]!) as Plan);
	const name = process.argv[2] ?? 'gemma-3-1b';
	const cfg = FAMILY_CONFIGS[name];
	if (!cfg) throw new Error(`usage: familyScale.bench.ts ${Object.keys(FAMILY_CONFIGS).join('|')} [--seq N] [--new N] [--threads T]`);
	const dir = path.join(WORK, `${name}-random`);
	if (!fs.existsSync(path.join(dir, 'model.safetensors.index.json'))) {
		const t0 = performance.now();
		const params = writeFamilyCheckpoint(name, dir);
		console.error(`${name}: ${(params / 1e9).toFixed(2)}B parameters written in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
	}
	const L = cfg.num_hidden_layers as number;
	const random = seededRandom(5);
	const seq = Number(arg('--seq', name === 'gemma-3-1b' ? '600' : '64'));
	const ids = [2, ...Array.from({ length: seq - 1 }, () => Math.floor(random() * (cfg.vocab_size as number)))];
	// A sliding layer (0) and a global one (Gemma 2: 1; Gemma 3: 5), the last block's MLP and output.
	const global = name === 'gemma-3-1b' ? 5 : 1;
	const hooks = [
		'hook_embed',
		'blocks.0.attn.hook_z',
		'blocks.0.hook_resid_post',
		`blocks.${global}.hook_attn_out`,
		`blocks.${global}.hook_resid_post`,
		`blocks.${L - 1}.hook_mlp_out`,
		`blocks.${L - 1}.hook_resid_post`,
	];
	const plan: Plan = {
		dir,
		ids,
		hooks,
		newTokens: Number(arg('--new', '8')),
		threads: Number(arg('--threads', '2')),
		golden: path.join(WORK, `${name}.golden.json`),
		generated: path.join(WORK, `${name}.generate.json`),
	};
	const golden = reference(plan, ['golden', '--ids', ids.join(','), '--hooks', hooks.join(',')], plan.golden);
	const generated = reference(plan, ['generate', '--ids', ids.join(','), '--new', String(plan.newTokens)], plan.generated);
	const ours = JSON.parse(
		execFileSync(process.execPath, ['--import', 'tsx', __filename, '--ours', JSON.stringify(plan)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 }),
	) as Record<string, unknown>;
	console.log(JSON.stringify({ model: name, seq, newTokens: plan.newTokens, threads: plan.threads, ours, reference: { golden, generate: generated } }, null, 1));
}

void main();
