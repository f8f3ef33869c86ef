// Forward and generation throughput on a GPT-2-small-shaped random checkpoint, side by side
// with the PyTorch reference on the same weights and threads, plus our forward's FLOP rate as a
// fraction of a plain onnxruntime MatMul's rate measured in the same run.
//
//   npm run bench            (or: node --import tsx bench/forward.bench.ts [--threads 2] [--small])
//
// Prints one JSON object; no pass/fail. The checkpoint is written to bench/.work (git-ignored).

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { LanguageModel } from '../src/engine/models/languageModel';
import { generate } from '../src/engine/models/generate';
import { DataType } from '../src/engine/onnx/onnxProto';
import { GraphBuilder } from '../src/engine/onnx/graphBuilder';
import { gpt2Weights, writeCheckpoint } from '../tools/fixtures/checkpointWriter';

const args = process.argv.slice(2);
const threads = Number(args[args.indexOf('--threads') + 1] ?? 2) || 2;
const small = args.includes('--small');
const SHAPE = small ? { n_layer: 2, n_embd: 128, n_head: 4, vocab_size: 1000, n_positions: 256 } : { n_layer: 12, n_embd: 768, n_head: 12, vocab_size: 50257, n_positions: 1024 };
const BATCH = 8;
const SEQ = 128;
const GEN_TOKENS = 64;
const REFERENCE = path.resolve(__dirname, '..', '..', 'shared', 'bench', 'torch_lm_reference.py');
const WORK = path.join(__dirname, '.work', small ? 'gpt2-bench-small' : 'gpt2-small-random');

function ensureCheckpoint(): void {
	if (fs.existsSync(path.join(WORK, 'model.safetensors'))) return;
	const d = SHAPE.n_embd;
	writeCheckpoint(
		WORK,
		{
			config: { model_type: 'gpt2', n_inner: 4 * d, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5, ...SHAPE },
			weights: gpt2Weights(SHAPE.vocab_size, SHAPE.n_layer, d, 4 * d, SHAPE.n_positions),
			dtype: 'F32',
			shards: 1,
			keyPrefix: '',
		},
		7,
	);
}

function median(xs: number[]): number {
	const s = [...xs].sort((a, b) => a - b);
	return s[s.length >> 1]!;
}

async function timeIt(runs: number, fn: () => Promise<unknown>): Promise<number> {
	await fn();
	const times: number[] = [];
	for (let i = 0; i < runs; i++) {
		const t0 = performance.now();
		await fn();
		times.push((performance.now() - t0) / 1000);
	}
	return median(times);
}

/** Multiply-accumulates per token of a GPT-2 forward with all-position logits, at sequence length `seq`. */
function forwardMacsPerToken(seq: number): number {
	const d = SHAPE.n_embd;
	const perLayer = d * 3 * d + d * d + 2 * d * 4 * d + 2 * ((seq + 1) / 2) * d; // projections + causal QKᵀ and PV
	return SHAPE.n_layer * perLayer + d * SHAPE.vocab_size;
}

/** GFLOP/s of one plain MatMul of the forward's dominant shape ([B·T, d] × [d, 4d]). */
async function matmulPeak(): Promise<number> {
	const m = BATCH * SEQ;
	const k = SHAPE.n_embd;
	const n = 4 * SHAPE.n_embd;
	const b = new GraphBuilder('matmul');
	const x = b.input('x', DataType.FLOAT, [m, k]);
	const w = b.initializer('w', DataType.FLOAT, [k, n], new Uint8Array(Float32Array.from({ length: k * n }, (_, i) => Math.sin(i)).buffer));
	b.output(b.matMul(x, w), DataType.FLOAT, [m, n], 'y');
	const session = await ort.InferenceSession.create(b.build(), { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
	const feed = {
		x: new ort.Tensor(
			'float32',
			Float32Array.from({ length: m * k }, (_, i) => Math.cos(i)),
			[m, k],
		),
	};
	const seconds = await timeIt(10, () => session.run(feed));
	await session.release();
	return (2 * m * k * n) / seconds / 1e9;
}

async function main(): Promise<void> {
	ensureCheckpoint();
	const model = LanguageModel.load(WORK, { executionProvider: 'cpu', threads });
	const ids = Array.from({ length: BATCH }, (_, r) => Array.from({ length: SEQ }, (_, c) => (r * 997 + c * 31) % SHAPE.vocab_size));
	const hooks = [2, 5, 8, 11].map((l) => `blocks.${Math.min(l, SHAPE.n_layer - 1)}.hook_resid_post`).filter((h, i, a) => a.indexOf(h) === i);

	const forwardS = await timeIt(3, () => model.forward({ ids, logits: 'all' }));
	const hooksS = await timeIt(3, () => model.forward({ ids, logits: 'all', hooks }));
	const prompt = [1, 2, 3, 4];
	const genS = await timeIt(2, async () => {
		for await (const _ of generate(model, prompt, { maxNewTokens: GEN_TOKENS, temperature: 0, stopAtEos: false })) {
			/* drain */
		}
	});
	await model.dispose();
	const peak = await matmulPeak();

	const ours = {
		tokens_per_s_forward: (BATCH * SEQ) / forwardS,
		gen_tokens_per_s: GEN_TOKENS / genS,
		forward_gflops: (2 * forwardMacsPerToken(SEQ) * BATCH * SEQ) / forwardS / 1e9,
		hooks_overhead: hooksS / forwardS - 1,
	};
	const reference = JSON.parse(execFileSync('/usr/bin/python3', [REFERENCE, WORK, 'speed', '--batch', String(BATCH), '--seq', String(SEQ), '--threads', String(threads)], { encoding: 'utf8' })) as {
		tokens_per_s_forward: number;
		gen_tokens_per_s: number;
	};
	const round = (x: number, p = 3) => Number(x.toPrecision(p));
	console.log(
		JSON.stringify(
			{
				model: small ? 'gpt2-bench-small (random)' : 'gpt2-small-shaped (random, 124M params)',
				threads,
				batch: BATCH,
				seq: SEQ,
				ours: { tokens_per_s_forward: round(ours.tokens_per_s_forward), gen_tokens_per_s: round(ours.gen_tokens_per_s), forward_gflops: round(ours.forward_gflops) },
				reference,
				matmul_gflops: round(peak),
				ratios: {
					forward_vs_reference: round(ours.tokens_per_s_forward / reference.tokens_per_s_forward),
					generation_vs_reference: round(ours.gen_tokens_per_s / reference.gen_tokens_per_s),
					forward_vs_matmul_peak: round(ours.forward_gflops / peak),
					four_hooks_overhead: round(ours.hooks_overhead),
				},
				goals: { forward_vs_reference: '>= 1.2', generation_vs_reference: '>= 2', forward_vs_matmul_peak: '>= 0.7', four_hooks_overhead: '<= 0.05' },
			},
			null,
			2,
		),
	);
}

void main();
