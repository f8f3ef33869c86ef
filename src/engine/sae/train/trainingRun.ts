// A training run as a folder: run.json (config), metrics.jsonl, an atomically written
// checkpoint a killed run resumes from, and at the end the SAE in SAELens format.
//
// Losing as little as possible: a checkpoint every tenth of the run or every 30 s, whichever
// comes first, and on cancel (Ctrl-C, SIGTERM, the editor's Cancel); a resumed run truncates
// metrics.jsonl to the checkpoint's step, so each step is logged once. Nothing is deleted
// unless asked: resuming needs a checkpoint, and starting over in a run folder needs
// `overwrite`. The folder's writability and free space are checked before any work.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeSafetensors, readSafetensorsHeader, readTensor } from '../../io/safetensors';
import type { SessionSettings } from '../../onnx/session';
import { writeAtomic } from '../../io/atomicWrite';
import { DiskError, checkWritable, diskError, diskFreeBytes } from '../../io/disk';
import { saveSae } from '../saeFormat';
import type { SaeMetadata } from '../saeTypes';
import type { ActivationSource, SourcePosition } from './activationSource';
import { stateNames } from './optimizerGraph';
import { SaeTrainer, rowWidth } from './saeTrainer';
import type { StepMetrics, TrainConfig } from './saeTrainer';

export interface RunOptions {
	out: string;
	config: TrainConfig;
	metadata: SaeMetadata;
	settings: SessionSettings;
	/** Continue from out/checkpoint.safetensors (which must exist). */
	resume: boolean;
	/** Start over in a folder that already holds a run, deleting its checkpoint and metrics. */
	overwrite?: boolean;
	/** Checkpoint at least this often, in seconds (default 30) and in steps (default a tenth of the run). */
	checkpointSeconds?: number;
	checkpointSteps?: number;
	/** Free bytes on the output's disk (the real figure by default; tests pass their own). */
	diskFree?: (dir: string) => number;
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
const METRICS = 'metrics.jsonl';
const RUN = 'run.json';

export class RunFolderError extends Error {}

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
	writeAtomic(
		path.join(out, CHECKPOINT),
		encodeSafetensors(tensors, {
			step: String(trainer.step),
			tokens_seen: String(tokensSeen),
			batch_threshold: String(trainer.batchThreshold),
			...(position ? { source_position: JSON.stringify(position) } : {}),
		}),
	);
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
	return { tokensSeen: Number(metadata.tokens_seen), position: metadata.source_position ? (JSON.parse(metadata.source_position) as SourcePosition) : undefined };
}

/**
 * Bytes a run writes at most: the SAE (float32 parameters), its checkpoint (parameters and two
 * Adam moments, plus per-latent counters) and, while a checkpoint is replaced atomically, a
 * second one.
 */
export function runBytes(config: TrainConfig): number {
	const dOut = config.transcoder?.dOut ?? config.dIn;
	const params = (config.dIn + dOut) * config.dSae + 2 * config.dSae + dOut + (config.transcoder?.skip ? config.dIn * dOut : 0);
	const checkpoint = 3 * 4 * params + 12 * config.dSae;
	return 4 * params + 4 * config.dSae + 2 * checkpoint;
}

/**
 * Checks the run folder before any work: resuming needs a checkpoint, starting over in a run's
 * folder needs `overwrite`, the folder must be writable and, given the run's size, have room.
 * Callers run it before loading a model and filling the activation buffer; runTraining again.
 */
export function checkRunFolder(options: Pick<RunOptions, 'out' | 'resume' | 'overwrite' | 'diskFree'> & { config?: TrainConfig }): void {
	const { out } = options;
	const has = (f: string) => fs.existsSync(path.join(out, f));
	if (options.resume && !has(CHECKPOINT)) {
		throw new RunFolderError(
			`${out}: there is no ${CHECKPOINT} to resume from; run without --resume to start a new run there` +
				(has(RUN) || has(METRICS) ? ` (with --overwrite: it already holds a run's ${[RUN, METRICS].filter(has).join(' and ')}, which would be deleted)` : ''),
		);
	}
	if (!options.resume && (has(CHECKPOINT) || has(RUN) || has(METRICS)) && !options.overwrite) {
		throw new RunFolderError(
			`${out} already holds a training run (${[RUN, CHECKPOINT, METRICS].filter(has).join(', ')}): ` + 'resume it with --resume, or start over with --overwrite (deleting its checkpoint and metrics)',
		);
	}
	checkWritable(out, options.config ? runBytes(options.config) : 0, 'the SAE and its checkpoints', options.diskFree ?? diskFreeBytes);
}

/** Keeps the metrics of steps up to `step` (a resumed run logs the later ones again); a line cut by a kill goes too. */
function truncateMetrics(out: string, step: number): void {
	const file = path.join(out, METRICS);
	if (!fs.existsSync(file)) return;
	const kept: string[] = [];
	for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
		try {
			if ((JSON.parse(line) as StepMetrics).step <= step) kept.push(line);
		} catch {
			// An empty or half-written line.
		}
	}
	writeAtomic(file, kept.map((l) => `${l}\n`).join(''));
}

/** Trains (or resumes) an SAE into `options.out`; the final SAE is saved there in SAELens format. */
export async function runTraining(source: ActivationSource, options: RunOptions): Promise<RunResult> {
	const { out, config } = options;
	checkRunFolder(options);
	const log = options.log ?? (() => {});
	const trainer = await SaeTrainer.create(config, options.settings, log);
	const fireCounts = new Float64Array(config.dSae);
	let tokensSeen = 0;
	if (options.resume) {
		const saved = loadCheckpoint(out, trainer, fireCounts);
		tokensSeen = saved.tokensSeen;
		truncateMetrics(out, trainer.step);
		if (saved.position && source.seek) await source.seek(saved.position);
		log(`resuming from step ${trainer.step} of ${trainer.totalSteps}${saved.position ? ` at context window ${saved.position.contexts} of the corpus` : ''}`);
	} else {
		for (const f of [CHECKPOINT, METRICS]) fs.rmSync(path.join(out, f), { force: true });
		const width = rowWidth(config);
		const sample = new Float32Array(Math.min(config.batchSize * 4, source.rows) * width);
		await source.next(sample.length / width, sample);
		await trainer.initialize(sample);
		writeAtomic(path.join(out, RUN), JSON.stringify({ trainer: config.architecture, config, metadata: options.metadata }, null, 2) + '\n');
	}
	const everySteps = options.checkpointSteps ?? Math.max(1, Math.ceil(trainer.totalSteps / 10));
	const everyMs = 1000 * (options.checkpointSeconds ?? 30);
	const speeds: number[] = [];
	let final: StepMetrics | undefined;
	let lastCheckpoint = { time: performance.now(), step: trainer.step };
	let cancelled = false;
	try {
		await trainer.train(source, {
			signal: options.signal,
			onStep: (m) => {
				final = m;
				speeds.push(m.tokensPerSecond);
				tokensSeen = m.tokens;
				const metricsFile = path.join(out, METRICS);
				try {
					fs.appendFileSync(metricsFile, JSON.stringify(m) + '\n');
				} catch (err) {
					throw diskError(err, 'append to', metricsFile);
				}
				options.onStep?.(m);
				if (m.step - lastCheckpoint.step >= everySteps || performance.now() - lastCheckpoint.time >= everyMs) {
					saveCheckpoint(out, trainer, fireCounts, tokensSeen, source);
					lastCheckpoint = { time: performance.now(), step: m.step };
				}
			},
			onFireCounts: (counts) => {
				for (let j = 0; j < counts.length; j++) fireCounts[j]! += counts[j]!;
			},
		});
	} catch (err) {
		if (!options.signal?.aborted || err instanceof DiskError) throw err;
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
