// Where training activations come from. The trainer only asks for the next batch of rows;
// shuffling is index bookkeeping over rows held in memory.

import * as ort from 'onnxruntime-node';
import { seededRandom, shuffledIndices } from '../../models/sampling';
import { DataType } from '../../onnx/onnxProto';
import { GraphBuilder } from '../../onnx/graphBuilder';
import { readSafetensorsHeader, readTensor } from '../../io/safetensors';
import { SaeFormatError } from '../saeTypes';

export interface ActivationSource {
	readonly dIn: number;
	/** Total rows available (one pass), for progress and token budgets. */
	readonly rows: number;
	/** Fills `out` ([count, dIn], row-major) with the next `count` rows, reshuffling at each pass. */
	next(count: number, out: Float32Array): void | Promise<void>;
	/** Rows held out of training, for evaluation, if any. */
	readonly held?: Float32Array;
	/** Where a streaming source is in its corpus, saved in checkpoints so a resumed run reads on from there. */
	position?(): SourcePosition;
	/** Continues from a saved position; only before the first `next`. */
	seek?(position: SourcePosition): Promise<void>;
	/** Stops background work (prefetching) once no more rows are wanted. */
	close?(): void;
}

/** A streaming source's place in its corpus: context windows read so far, over all passes. */
export interface SourcePosition {
	contexts: number;
}

/** Rows in memory, served in a seeded random order that is redrawn at every pass. */
export class InMemoryActivations implements ActivationSource {
	private order: Uint32Array;
	private cursor = 0;
	private readonly random: () => number;

	constructor(
		private readonly data: Float32Array,
		readonly dIn: number,
		seed = 0,
	) {
		if (data.length % dIn !== 0) throw new SaeFormatError(`activations: ${data.length} values are not a whole number of rows of width ${dIn}`);
		this.random = seededRandom(seed);
		this.order = this.shuffled();
	}

	get rows(): number {
		return this.data.length / this.dIn;
	}

	next(count: number, out: Float32Array): void {
		for (let r = 0; r < count; r++) {
			if (this.cursor === this.order.length) {
				this.order = this.shuffled();
				this.cursor = 0;
			}
			const row = this.order[this.cursor++]!;
			out.set(this.data.subarray(row * this.dIn, (row + 1) * this.dIn), r * this.dIn);
		}
	}

	private shuffled(): Uint32Array {
		return shuffledIndices(this.rows, this.random);
	}
}

/**
 * Cached activations as SAELens users keep them: a safetensors file holding one tensor
 * `activations` of shape [N, d_in], f32 or f16 (f16 is widened by an onnxruntime Cast).
 */
export async function loadCachedActivations(file: string, seed = 0): Promise<InMemoryActivations> {
	const { tensors } = readSafetensorsHeader(file);
	const entry = tensors.find((t) => t.name === 'activations');
	if (!entry) throw new SaeFormatError(`${file}: no tensor named "activations" (found: ${tensors.map((t) => t.name).join(', ') || 'none'})`);
	if (entry.shape.length !== 2) throw new SaeFormatError(`${file}: "activations" must be 2-D [N, d_in], got [${entry.shape}]`);
	if (entry.dtype !== 'F32' && entry.dtype !== 'F16') throw new SaeFormatError(`${file}: "activations" must be F32 or F16, got ${entry.dtype}`);
	const [rows, dIn] = entry.shape as [number, number];
	const raw = readTensor(entry).data;
	const bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength).slice(); // own, aligned copy
	const data = entry.dtype === 'F32' ? new Float32Array(bytes.buffer) : await widenHalf(new Uint16Array(bytes.buffer), rows, dIn);
	return new InMemoryActivations(data, dIn, seed);
}

async function widenHalf(half: Uint16Array, rows: number, dIn: number): Promise<Float32Array> {
	const b = new GraphBuilder('widen');
	b.output(b.cast(b.input('x', DataType.FLOAT16, [rows, dIn]), DataType.FLOAT), DataType.FLOAT, [rows, dIn], 'y');
	const session = await ort.InferenceSession.create(b.build());
	try {
		const out = await session.run({ x: new ort.Tensor('float16', half, [rows, dIn]) });
		return out.y!.data as Float32Array;
	} finally {
		await session.release();
	}
}
