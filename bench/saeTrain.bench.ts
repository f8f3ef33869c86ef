// SAE training-step throughput: our TopK (or ReLU + L1) step graph next to the PyTorch reference
// (../shared/bench/torch_sae_reference.py) at the same shapes and threads, plus the rate of our
// encoder product against a plain onnxruntime MatMul of the same shape, in one run; and, next to
// them, the same trainer training a transcoder (d_out = d_in, rows [x_in | y_out]) and a skip
// transcoder (plus W_skip) at the same shapes.
//
//   node --import tsx bench/saeTrain.bench.ts [--arch topk|standard] [--d-in 768] [--d-sae 12288] [--k 32] [--batch 4096] [--threads 2] [--no-transcoders]

import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { DataType } from '../src/engine/onnx/onnxProto';
import { GraphBuilder } from '../src/engine/onnx/graphBuilder';
import { gaussian } from '../tools/fixtures/random';
import { InMemoryActivations } from '../src/engine/sae/train/activationSource';
import { TRAIN_DEFAULTS, SaeTrainer } from '../src/engine/sae/train/saeTrainer';
import type { TranscoderShape } from '../src/engine/sae/train/stepGraphCommon';

const args = process.argv.slice(2);
const num = (flag: string, fallback: number): number => {
	const i = args.indexOf(flag);
	return i >= 0 ? Number(args[i + 1]) : fallback;
};
const D_IN = num('--d-in', 768);
const D_SAE = num('--d-sae', 12288);
const K = num('--k', 32);
const BATCH = num('--batch', 4096);
const THREADS = num('--threads', 2);
const STEPS = num('--steps', 6);
const ARCH = args.includes('--arch') && args[args.indexOf('--arch') + 1] === 'standard' ? 'standard' : 'topk';
const REFERENCE = path.resolve(__dirname, '..', '..', 'shared', 'bench', 'torch_sae_reference.py');

function median(xs: number[]): number {
	const s = [...xs].sort((a, b) => a - b);
	return s[s.length >> 1]!;
}

function randomRows(rows: number, seed: number): Float32Array {
	const normal = gaussian(seed);
	return Float32Array.from({ length: rows * D_IN }, normal);
}

/** GFLOP/s of the encoder-shaped product [batch, d_in] × [d_in, d_sae] alone. */
async function matmulRate(): Promise<number> {
	const b = new GraphBuilder('matmul');
	const x = b.input('x', DataType.FLOAT, [BATCH, D_IN]);
	const w = b.input('w', DataType.FLOAT, [D_IN, D_SAE]);
	b.output(b.matMul(x, w), DataType.FLOAT, [BATCH, D_SAE], 'y');
	const session = await ort.InferenceSession.create(b.build(), { intraOpNumThreads: THREADS, interOpNumThreads: 1 });
	const feeds = { x: new ort.Tensor('float32', randomRows(BATCH, 1), [BATCH, D_IN]), w: new ort.Tensor('float32', new Float32Array(D_IN * D_SAE).fill(0.01), [D_IN, D_SAE]) };
	await session.run(feeds);
	const times: number[] = [];
	for (let i = 0; i < 3; i++) {
		const t0 = performance.now();
		await session.run(feeds);
		times.push((performance.now() - t0) / 1000);
	}
	await session.release();
	return (2 * BATCH * D_IN * D_SAE) / median(times) / 1e9;
}

/** Median seconds per step of the trainer (an SAE, or a transcoder of that shape) on random rows, and RSS after each step. */
async function measure(transcoder?: TranscoderShape): Promise<{ stepSeconds: number; rss: number[] }> {
	const width = D_IN + (transcoder?.dOut ?? 0);
	const trainer = await SaeTrainer.create(
		{ ...TRAIN_DEFAULTS, architecture: ARCH, dIn: D_IN, dSae: D_SAE, k: K, batchSize: BATCH, totalTokens: BATCH * (STEPS + 2), ...(transcoder ? { transcoder } : {}) },
		{ executionProvider: 'cpu', threads: THREADS },
	);
	const data = randomRows((BATCH * 2 * width) / D_IN, 2);
	await trainer.initialize(data.subarray(0, BATCH * width));
	const stepSeconds: number[] = [];
	const rss: number[] = [];
	await trainer.train(new InMemoryActivations(data, width, 3), {
		onStep: (m) => {
			if (m.step > 2) stepSeconds.push(BATCH / m.tokensPerSecond);
			rss.push(process.memoryUsage().rss);
		},
	});
	await trainer.dispose();
	return { stepSeconds: median(stepSeconds), rss };
}

async function main(): Promise<void> {
	const sae = await measure();
	const stepSeconds = [sae.stepSeconds];
	const rss = sae.rss;
	let transcoders: { transcoder: number; skip_transcoder: number } | undefined;
	if (!args.includes('--no-transcoders')) {
		// Interleaved rounds (SAE, transcoder, skip transcoder, twice), each the fastest of its
		// rounds, so a shared machine's load shifts them alike.
		const tc: number[] = [];
		const skip: number[] = [];
		for (let round = 0; round < 2; round++) {
			tc.push((await measure({ dOut: D_IN, skip: false })).stepSeconds);
			// SAELens saves skip transcoders as ReLU ones only; the step graphs take W_skip with either.
			skip.push((await measure({ dOut: D_IN, skip: true })).stepSeconds);
			if (round === 0) stepSeconds.push((await measure()).stepSeconds);
		}
		transcoders = { transcoder: BATCH / Math.min(...tc), skip_transcoder: BATCH / Math.min(...skip) };
	}
	const ours = BATCH / Math.min(...stepSeconds);
	const peak = await matmulRate();
	const reference = JSON.parse(
		execFileSync('/usr/bin/python3', [REFERENCE, '--arch', ARCH, '--d-in', String(D_IN), '--d-sae', String(D_SAE), '--k', String(K), '--batch', String(BATCH), '--threads', String(THREADS)], {
			encoding: 'utf8',
		}),
	) as { tokens_per_s: number; matmul_gflops: number };
	// The step's one dense product is the encoder; time it against the plain MatMul rate.
	const encoderShare = (2 * BATCH * D_IN * D_SAE) / peak / 1e9;
	const stateBytes = 3 * 2 * D_IN * D_SAE * 4;
	const round = (x: number) => Number(x.toPrecision(3));
	console.log(
		JSON.stringify(
			{
				arch: ARCH,
				d_in: D_IN,
				d_sae: D_SAE,
				k: K,
				batch: BATCH,
				threads: THREADS,
				ours: { tokens_per_s: round(ours), step_ms: round(1000 * median(stepSeconds)), encoder_ms_at_matmul_rate: round(1000 * encoderShare) },
				reference,
				...(transcoders
					? {
							transcoders: {
								tokens_per_s: round(transcoders.transcoder),
								skip_tokens_per_s: round(transcoders.skip_transcoder),
								vs_sae: round(transcoders.transcoder / ours),
								skip_vs_sae: round(transcoders.skip_transcoder / ours),
							},
						}
					: {}),
				matmul_gflops: round(peak),
				ratios: { vs_reference: round(ours / reference.tokens_per_s), step_time_over_encoder_matmul: round(median(stepSeconds) / encoderShare) },
				// RSS after each step: it should plateau once onnxruntime's arena has seen a whole step.
				memory: { rss_mb_by_step: rss.map((r) => round(r / 2 ** 20)), params_and_adam_mb: round(stateBytes / 2 ** 20) },
				goals: { vs_reference: ARCH === 'topk' ? '>= 3' : '>= 1.0' },
			},
			null,
			2,
		),
	);
}

void main();
