// A training run as a folder: run.json (config), metrics.jsonl, an atomically written
// checkpoint a killed run resumes from, and at the end the SAE in SAELens format.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeSafetensors, readSafetensorsHeader, readTensor } from '../../io/safetensors';
import type { SessionSettings } from '../../onnx/session';
import { writeAtomic } from '../../io/atomicWrite';
import { saveSae } from '../saeFormat';
import type { SaeMetadata } from '../saeTypes';
import type { ActivationSource, SourcePosition } from './activationSource';
import { stateNames } from './optimizerGraph';
import { SaeTrainer } from './saeTrainer';
import type { StepMetrics, TrainConfig } from './saeTrainer';

export interface RunOptions {
	out: string;
	config: TrainConfig;
	metadata: SaeMetadata;
	settings: SessionSettings;
	/** Continue from out/checkpoint.safetensors when it exists. */
	resume: boolean;
	/** Seconds between checkpoints. */
	checkpointEvery: number;
	signal?: AbortSignal;
	onStep?: (m: StepMetrics) => void;
	log?: (m: string) => void;
}

export interface RunResult {
	steps: number;
	tokens: number;
	final: StepMetrics | undefined;
	/** Median tokens/s of the training steps. */
	tokensPerSecond: number;
	saeDir: string;
	cancelled: boolean;
}

const CHECKPOINT = 'checkpoint.safetensors';

function saveCheckpoint(out: string, trainer: SaeTrainer, fireCounts: Float64Array, tokensSeen: number, source: ActivationSource): void {
	const f32 = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
	const tensors: Parameters<typeof encodeSafetensors>[0] = {};
	for (const p of trainer.paramNames) {
		tensors[p] = { dtype: 'F32', shape: [trainer.params[p]!.length], data: f32(trainer.params[p]!) };
		for (const s of [stateNames(p).m, stateNames(p).v]) tensors[s] = { dtype: 'F32', shape: [trainer.moments[s]!.length], data: f32(trainer.moments[s]!) };
	}
	tensors.steps_since_fired = { dtype: 'U8', shape: [trainer.stepsSinceFired.byteLength], data: new Uint8Array(trainer.stepsSinceFired.buffer.slice(0)) };
	tensors.fire_counts = { dtype: 'F64', shape: [fireCounts.length], data: new Uint8Array(fireCounts.buffer.slice(0)) };
	const position = source.position?.();
	writeAtomic(path.join(out, CHECKPOINT), encodeSafetensors(tensors, {
		step: String(trainer.step), tokens_seen: String(tokensSeen), batch_threshold: String(trainer.batchThreshold),
		...(position ? { source_position: JSON.stringify(position) } : {}),
	}));
}

function loadCheckpoint(out: string, trainer: SaeTrainer, fireCounts: Float64Array): { tokensSeen: number; position?: SourcePosition } {
	const file = path.join(out, CHECKPOINT);
	const { tensors, metadata } = readSafetensorsHeader(file);
	const get = (name: string): Buffer => {
		const entry = tensors.find((t) => t.name === name);
		if (!entry) throw new Error(`${file}: checkpoint is missing ${name}`);
		const data = readTensor(entry).data;
		return Buffer.from(new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice());
	};
	const asF32 = (b: Buffer) => new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
	for (const p of trainer.paramNames) {
		trainer.params[p] = asF32(get(p));
		trainer.moments[stateNames(p).m] = asF32(get(stateNames(p).m));
		trainer.moments[stateNames(p).v] = asF32(get(stateNames(p).v));
	}
	const since = get('steps_since_fired');
	trainer.stepsSinceFired.set(new Uint32Array(since.buffer, since.byteOffset, since.byteLength / 4));
	const counts = get('fire_counts');
	fireCounts.set(new Float64Array(counts.buffer, counts.byteOffset, counts.byteLength / 8));
	trainer.step = Number(metadata.step);
	trainer.batchThreshold = Number(metadata.batch_threshold ?? 0);
	return { tokensSeen: Number(metadata.tokens_seen), position: metadata.source_position ? JSON.parse(metadata.source_position) as SourcePosition : undefined };
}

/** Trains (or resumes) an SAE into `options.out`; the final SAE is saved there in SAELens format. */
export async function runTraining(source: ActivationSource, options: RunOptions): Promise<RunResult> {
	const { out, config } = options;
	fs.mkdirSync(out, { recursive: true });
	const log = options.log ?? (() => {});
	const trainer = await SaeTrainer.create(config, options.settings, log);
	const fireCounts = new Float64Array(config.dSae);
	let tokensSeen = 0;
	const resuming = options.resume && fs.existsSync(path.join(out, CHECKPOINT));
	if (resuming) {
		const saved = loadCheckpoint(out, trainer, fireCounts);
		tokensSeen = saved.tokensSeen;
		if (saved.position && source.seek) await source.seek(saved.position);
		log(`resuming from step ${trainer.step} of ${trainer.totalSteps}${saved.position ? ` at context window ${saved.position.contexts} of the corpus` : ''}`);
	} else {
		const sample = new Float32Array(Math.min(config.batchSize * 4, source.rows) * config.dIn);
		await source.next(sample.length / config.dIn, sample);
		await trainer.initialize(sample);
		writeAtomic(path.join(out, 'run.json'), JSON.stringify({ trainer: config.architecture, config, metadata: options.metadata }, null, 2) + '\n');
		fs.rmSync(path.join(out, 'metrics.jsonl'), { force: true });
	}
	const speeds: number[] = [];
	let final: StepMetrics | undefined;
	let lastCheckpoint = performance.now();
	let cancelled = false;
	try {
		await trainer.train(source, {
			signal: options.signal,
			onStep: (m) => {
				final = m;
				speeds.push(m.tokensPerSecond);
				tokensSeen = m.tokens;
				fs.appendFileSync(path.join(out, 'metrics.jsonl'), JSON.stringify(m) + '\n');
				options.onStep?.(m);
				if (performance.now() - lastCheckpoint > options.checkpointEvery * 1000) {
					saveCheckpoint(out, trainer, fireCounts, tokensSeen, source);
					lastCheckpoint = performance.now();
				}
			},
			onFireCounts: (counts) => { for (let j = 0; j < counts.length; j++) fireCounts[j]! += counts[j]!; },
		});
	} catch (err) {
		if (!options.signal?.aborted) throw err;
		cancelled = true;
	} finally {
		source.close?.();
	}
	// A cancelled run keeps a checkpoint to resume from; a finished one writes the SAE.
	saveCheckpoint(out, trainer, fireCounts, tokensSeen, source);
	if (!cancelled) {
		const sae = trainer.toSae(options.metadata, out);
		const tokens = Math.max(1, trainer.step * config.batchSize);
		sae.logSparsity = Float32Array.from(fireCounts, (c) => Math.log10(c / tokens + 1e-10));
		saveSae(out, sae);
	}
	await trainer.dispose();
	const sorted = [...speeds].sort((a, b) => a - b);
	return { steps: trainer.step, tokens: trainer.step * config.batchSize, final, tokensPerSecond: sorted[sorted.length >> 1] ?? 0, saeDir: out, cancelled };
}
