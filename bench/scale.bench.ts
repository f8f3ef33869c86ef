// Real models at real scale: random-weight checkpoints with real models' exact configs, names
// and shapes (../shared/bench/make_scale_checkpoint.py), loaded as a user would, then used the
// way the editor uses them (inspect with an SAE, hooks, generation, steering) in one engine,
// with the time until the model is ready, the peak RSS and PSS of the process over all of it
// (and after the model-only steps, before an SAE's sessions add theirs), and parity with the
// PyTorch reference (logits and hooks, greedy tokens).
//
//   npm run bench:scale                       (all three models)
//   node --import tsx bench/scale.bench.ts gpt2-small [llama-3.2-1b qwen2.5-0.5b] [--threads 2] [--no-reference]
//
// Each model runs in a child process so its memory is its own; the parent samples the child's
// RSS and PSS (/proc/<pid>/smaps_rollup: memory-mapped weights shared by several mappings count
// once in PSS and once per mapping in RSS). Prints one JSON object; no pass/fail. Checkpoints are
// written to bench/.work (git-ignored) on first use: about 3.5 GB of disk for all three.

import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { LanguageModel } from '../src/engine/models/languageModel';
import { generate } from '../src/engine/models/generate';
import { SaeRunner } from '../src/engine/sae/saeRunner';
import type { Sae } from '../src/engine/sae/saeTypes';
import { steeredGenerate } from '../src/engine/steer/steeredGenerate';
import { gaussian } from '../tools/fixtures/random';
import { withHugePages } from '../src/extension/hugePages';

const SHARED_BENCH = path.resolve(__dirname, '..', '..', 'shared', 'bench');
const WORK = path.join(__dirname, '.work');
const MODELS = ['gpt2-small', 'llama-3.2-1b', 'qwen2.5-0.5b'] as const;
type ModelName = (typeof MODELS)[number];
const PROMPT_LENGTH = 24;
const NEW_TOKENS = 16;

interface ChildReport {
	ready_ms: number;
	/** Peak RSS (VmHWM) once loaded, after the model-only steps (hooks, generation), and at the end (with the SAE's sessions). */
	peak_rss_bytes: { ready: number; model_only: number; with_sae: number };
	/** PSS at those three points. */
	pss_bytes: { ready: number; model_only: number; with_sae: number };
	weight_bytes: number;
	steps_ms: Record<string, number>;
	gen_tokens_per_s: number;
	sessions_open: number;
	ids: number[];
	logits_last: number[];
	hooks: Record<string, number[]>;
	greedy: number[];
}

function args(): { models: ModelName[]; threads: number; reference: boolean } {
	const a = process.argv.slice(2);
	const models = a.filter((x): x is ModelName => (MODELS as readonly string[]).includes(x));
	const t = a.indexOf('--threads');
	return { models: models.length ? models : [...MODELS], threads: t >= 0 ? Number(a[t + 1]) : 2, reference: !a.includes('--no-reference') };
}

function checkpoint(name: ModelName): string {
	const dir = path.join(WORK, `scale-${name}`);
	if (!fs.existsSync(path.join(dir, 'config.json'))) {
		execFileSync('/usr/bin/python3', [path.join(SHARED_BENCH, 'make_scale_checkpoint.py'), dir, name], { stdio: 'inherit' });
	}
	return dir;
}

/** Prompt ids spread over the vocabulary, the same for us and the reference. */
function promptIds(vocab: number): number[] {
	return Array.from({ length: PROMPT_LENGTH }, (_, i) => (7919 * (i + 1) + 104729 * i * i) % vocab);
}

function hooksFor(nLayers: number): string[] {
	const mid = Math.floor(nLayers / 2);
	return [`blocks.0.hook_resid_post`, `blocks.${mid}.hook_resid_pre`, `blocks.${mid}.hook_mlp_out`, `blocks.${nLayers - 1}.hook_resid_post`];
}

/** A TopK SAE with seeded random weights at a hook of width dIn, as the editor's inspect and steering use one. */
function randomSae(hookName: string, dIn: number, modelName: string): Sae {
	const dSae = 4 * dIn;
	const normal = gaussian(11);
	const t = (n: number, shape: number[], std: number) => {
		const data = Float32Array.from({ length: n }, () => std * normal());
		return { dtype: 'F32' as const, shape, data: Buffer.from(data.buffer) };
	};
	return {
		source: 'bench random SAE',
		cfg: {
			d_in: dIn,
			d_sae: dSae,
			dtype: 'float32',
			architecture: 'topk',
			k: 32,
			apply_b_dec_to_input: true,
			normalize_activations: 'none',
			reshape_activations: 'none',
			metadata: { hook_name: hookName, model_name: modelName },
		},
		weights: { W_enc: t(dIn * dSae, [dIn, dSae], 1 / Math.sqrt(dIn)), b_enc: t(dSae, [dSae], 0.01), W_dec: t(dSae * dIn, [dSae, dIn], 1 / Math.sqrt(dIn)), b_dec: t(dIn, [dIn], 0.01) },
		rawConfig: {},
	};
}

/** The child: load, then inspect, hooks, generate and steer, timing each; prints a ChildReport. */
async function child(dir: string, threads: number): Promise<void> {
	const time = async <T>(steps: Record<string, number>, name: string, work: () => Promise<T>): Promise<T> => {
		const t0 = performance.now();
		const r = await work();
		steps[name] = Math.round(performance.now() - t0);
		return r;
	};
	const steps: Record<string, number> = {};
	const t0 = performance.now();
	const model = LanguageModel.load(dir, { executionProvider: 'cpu', threads });
	await model.prepare();
	const readyMs = performance.now() - t0;
	const { cfg } = model;
	const ids = promptIds(cfg.dVocab);
	const hooks = hooksFor(cfg.nLayers);
	const saeHook = `blocks.${Math.floor(cfg.nLayers / 2)}.hook_resid_pre`;
	const runner = SaeRunner.forModel(randomSae(saeHook, cfg.dModel, model.name), model, { executionProvider: 'cpu', threads });

	const peakReady = peakRss();
	const pssReady = pssOf(process.pid) ?? 0;
	const golden = await time(steps, 'hooks', () => model.forward({ ids: [ids], hooks, logits: 'last' }));
	const greedy: number[] = [];
	await time(steps, 'generate', async () => {
		for await (const t of generate(model, ids, { maxNewTokens: NEW_TOKENS, temperature: 0, stopAtEos: false })) greedy.push(t.id);
	});
	const genTokensPerS = (NEW_TOKENS / steps.generate!) * 1000;
	const peakModelOnly = peakRss();
	const pssModelOnly = pssOf(process.pid) ?? 0;
	await time(steps, 'inspect', async () => {
		const out = await model.forward({ ids: [ids], hooks: [saeHook], logits: 'none' });
		return runner.run(out.hooks[saeHook]!.data as Float32Array, ids.length, { acts: false, topFeatures: 5, recons: false, error: false });
	});
	await time(steps, 'steer_add', () =>
		steeredGenerate(model, runner, {
			prompt: { ids },
			steer: { features: [{ featureIndex: 3, mode: 'add', strength: 8 }], vectors: [], positions: 'all' },
			maxNewTokens: 8,
			temperature: 0,
			topP: 1,
			seed: 16,
			baseline: false,
		}),
	);
	await time(steps, 'steer_clamp', () =>
		steeredGenerate(model, runner, {
			prompt: { ids },
			steer: { features: [{ featureIndex: 3, mode: 'clamp', strength: 8 }], vectors: [], positions: 'all' },
			maxNewTokens: 8,
			temperature: 0,
			topP: 1,
			seed: 16,
			baseline: false,
		}),
	);
	const report: ChildReport = {
		ready_ms: Math.round(readyMs),
		peak_rss_bytes: { ready: peakReady, model_only: peakModelOnly, with_sae: peakRss() },
		pss_bytes: { ready: pssReady, model_only: pssModelOnly, with_sae: pssOf(process.pid) ?? 0 },
		weight_bytes: model.weightBytes(),
		steps_ms: steps,
		gen_tokens_per_s: Number(genTokensPerS.toFixed(2)),
		sessions_open: model.cachedGraphCount(),
		ids,
		logits_last: Array.from(golden.logits!.data as Float32Array),
		hooks: Object.fromEntries(hooks.map((h) => [h, Array.from(golden.hooks[h]!.data as Float32Array)])),
		greedy,
	};
	process.stdout.write(JSON.stringify(report));
	await runner.dispose();
	await model.dispose();
}

/** This process's peak resident set so far (VmHWM). */
function peakRss(): number {
	return Number(/^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) * 1024;
}

/** A process's resident set, from its status counters (cheap: no page-table walk). */
function rssOf(pid: number): number | undefined {
	try {
		return Number(/^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
	} catch {
		return undefined;
	}
}

/** A process's proportional set size. smaps_rollup walks the page tables under the process's memory lock, which stalls its page faults, so it is read seldom. */
function pssOf(pid: number): number | undefined {
	try {
		return Number(/^Pss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0) * 1024;
	} catch {
		return undefined;
	}
}

/** Runs the child for one model, sampling its RSS every 20 ms and its PSS every 2 s (the child also reports its PSS after each phase). */
function runChild(dir: string, threads: number): Promise<{ report: ChildReport; peakRss: number; peakPss: number }> {
	return new Promise((resolve, reject) => {
		// As the extension starts its engine and the CLI starts itself: with glibc asking for huge pages.
		const p = spawn(process.execPath, ['--import', 'tsx', __filename, '--child', dir, '--threads', String(threads)], { stdio: ['ignore', 'pipe', 'inherit'], env: withHugePages(process.env) });
		let out = '';
		let peakRss = 0;
		let peakPss = 0;
		let ticks = 0;
		const timer = setInterval(() => {
			peakRss = Math.max(peakRss, rssOf(p.pid!) ?? 0);
			if (ticks++ % 100 === 0) peakPss = Math.max(peakPss, pssOf(p.pid!) ?? 0);
		}, 20);
		p.stdout.setEncoding('utf8');
		p.stdout.on('data', (d: string) => {
			out += d;
		});
		p.on('exit', (code) => {
			clearInterval(timer);
			if (code !== 0) reject(new Error(`child for ${dir} exited with ${code}`));
			else resolve({ report: JSON.parse(out) as ChildReport, peakRss, peakPss });
		});
	});
}

function maxAbsDiff(a: readonly number[], b: readonly number[]): number {
	if (a.length !== b.length) return Infinity;
	let m = 0;
	for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
	return m;
}

async function main(): Promise<void> {
	const a = args();
	if (process.argv.includes('--child')) return child(process.argv[process.argv.indexOf('--child') + 1]!, a.threads);
	const results: Record<string, unknown> = {};
	for (const name of a.models) {
		const dir = checkpoint(name);
		const { report, peakRss, peakPss } = await runChild(dir, a.threads);
		const f32Bytes = report.weight_bytes;
		const result: Record<string, unknown> = {
			float32_weight_gb: Number((f32Bytes / 1e9).toFixed(3)),
			ready_s: report.ready_ms / 1000,
			peak_rss_gb: Number((peakRss / 1e9).toFixed(3)),
			peak_pss_gb: Number((Math.max(peakPss, ...Object.values(report.pss_bytes)) / 1e9).toFixed(3)),
			peak_rss_vs_weights: Number((peakRss / f32Bytes).toFixed(3)),
			// The same peaks read by the process itself: once ready, after the model-only steps, and with the SAE's sessions too.
			peak_rss_gb_by_phase: Object.fromEntries(Object.entries(report.peak_rss_bytes).map(([k, v]) => [k, Number((v / 1e9).toFixed(3))])),
			model_only_peak_rss_vs_weights: Number((report.peak_rss_bytes.model_only / f32Bytes).toFixed(3)),
			steps_ms: report.steps_ms,
			gen_tokens_per_s: report.gen_tokens_per_s,
			sessions_open_at_end: report.sessions_open,
		};
		if (a.reference) {
			const ref = (mode: string, extra: string[]) =>
				JSON.parse(
					execFileSync('/usr/bin/python3', [path.join(SHARED_BENCH, 'torch_lm_reference.py'), dir, mode, '--ids', report.ids.join(','), ...extra, '--threads', String(a.threads)], {
						encoding: 'utf8',
						maxBuffer: 1 << 30,
					}),
				) as Record<string, unknown>;
			const golden = ref('golden', ['--hooks', Object.keys(report.hooks).join(',')]) as { logits_last: number[]; hooks: Record<string, { values: number[] }> };
			const generated = ref('generate', ['--new', String(NEW_TOKENS)]) as { ids: number[] };
			result.parity = {
				logits_max_abs_diff: maxAbsDiff(report.logits_last, golden.logits_last),
				hooks_max_abs_diff: Object.fromEntries(Object.entries(report.hooks).map(([h, v]) => [h, maxAbsDiff(v, golden.hooks[h]!.values)])),
				greedy_identical: JSON.stringify(generated.ids.slice(report.ids.length)) === JSON.stringify(report.greedy),
			};
		}
		results[name] = result;
		process.stderr.write(`${name}: ${JSON.stringify(result)}\n`);
	}
	console.log(JSON.stringify({ threads: a.threads, onnxruntime: ort.env.versions.common, results }, null, 2));
}

void main();
