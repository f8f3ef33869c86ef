// Model activations for SAE training: the corpus is tokenized into context windows (documents
// joined by EOS, BOS prepended as SAELens does), the model runs only up to the hook, and rows
// go into a shuffle buffer. Half the buffer is served in random order, then refilled with
// fresh activations, so batches mix tokens from many documents and positions.

import { ModelConfigError } from '../../models/decoderConfig';
import { perTokenWidth } from '../../models/hookPoints';
import type { LanguageModel } from '../../models/languageModel';
import { seededRandom, shuffledIndices } from '../../models/sampling';
import type { ActivationSource, SourcePosition } from './activationSource';
import { corpusWindows } from './corpus';
import { TrainingCancelled } from './saeTrainer';

export interface StoreOptions {
	hookName: string;
	/**
	 * A transcoder's output hook: each row is then [hookName | hookNameOut] from the same token
	 * (the MLP's input and output), d_in + d_out wide.
	 */
	hookNameOut?: string;
	/** Tokens per context window, BOS included (SAELens context_size). */
	contextSize: number;
	prependBos: boolean;
	/** Rows in the shuffle buffer. */
	bufferRows: number;
	/** Context windows per model forward. */
	batchContexts: number;
	/** Leave out positions holding special tokens (BOS/EOS), as SAELens exclude_special_tokens. */
	excludeSpecialTokens?: boolean;
	seed: number;
	/** Stops filling the buffer (TrainingCancelled) between model forwards: a fill is many of them. */
	signal?: AbortSignal;
}

export class ModelActivationStore implements ActivationSource {
	readonly dIn: number;
	private readonly buffer: Float32Array;
	private order: Uint32Array = new Uint32Array(0);
	private cursor = 0;
	private readonly random: () => number;
	private tokenStream: AsyncIterator<number[]>;
	private readonly bos: number | undefined;
	private readonly special: ReadonlySet<number>;
	/** Tokens of activations produced so far (one corpus pass may be less than a training run). */
	produced = 0;
	/** Completed passes over the corpus. */
	epochs = 0;
	/** Special-token positions left out (with excludeSpecialTokens). */
	skippedSpecial = 0;
	/** Context windows read from the corpus so far, over all passes. */
	private contexts = 0;
	private filled = false;
	private closed = false;
	/** The next half-buffer, being computed while the current one is served. */
	private prefetch: Promise<Float32Array> | undefined;

	private constructor(
		private readonly model: LanguageModel,
		private readonly documents: () => Iterable<string>,
		private readonly options: StoreOptions,
		dIn: number,
	) {
		this.dIn = dIn;
		this.buffer = new Float32Array(options.bufferRows * dIn);
		this.random = seededRandom(options.seed);
		this.bos = options.prependBos ? model.cfg.bosTokenId : undefined;
		const specialIds = [model.cfg.bosTokenId, ...model.cfg.eosTokenIds].filter((id): id is number => id !== undefined);
		this.special = new Set(options.excludeSpecialTokens ? specialIds : []);
		this.tokenStream = corpusWindows(model, documents, options.contextSize, options.prependBos);
	}

	static async create(model: LanguageModel, documents: () => Iterable<string>, options: StoreOptions): Promise<ModelActivationStore> {
		const width = (hook: string) => perTokenWidth(model.hookPoint(hook), hook);
		const dIn = width(options.hookName) + (options.hookNameOut ? width(options.hookNameOut) : 0);
		if (!model.tokenizer) throw new ModelConfigError(`${model.dir} has no tokenizer.json, so a text corpus cannot be used`);
		if (options.contextSize > model.cfg.nCtx) throw new ModelConfigError(`context size ${options.contextSize} is longer than the model's context of ${model.cfg.nCtx}`);
		// The buffer fills on the first batch, so a resumed run can seek the corpus first.
		return new ModelActivationStore(model, documents, options, dIn);
	}

	position(): SourcePosition {
		return { contexts: this.contexts };
	}

	/**
	 * Skips the context windows an earlier run already read (tokenizing only, no forward), so a
	 * resumed run trains on new text. Rows that were in that run's shuffle buffer but not yet
	 * served are not revisited: at most one buffer of tokens.
	 */
	async seek(position: SourcePosition): Promise<void> {
		if (this.filled) throw new Error('the activation store can only seek before its first batch');
		while (this.contexts < position.contexts) await this.nextContext();
	}

	get rows(): number {
		return this.options.bufferRows;
	}

	async next(count: number, out: Float32Array): Promise<void> {
		if (!this.filled) {
			this.filled = true;
			await this.fill(0, this.options.bufferRows);
			this.reshuffle();
			this.startPrefetch();
		}
		const half = this.options.bufferRows >> 1;
		for (let r = 0; r < count; r++) {
			if (this.cursor === half) {
				// Put the fresh rows (computed while the trainer ran) where the rows just served were, then mix everything again.
				const fresh = await this.takePrefetched();
				const served = this.order.subarray(0, half);
				for (let i = 0; i < half; i++) this.buffer.set(fresh.subarray(i * this.dIn, (i + 1) * this.dIn), served[i]! * this.dIn);
				this.reshuffle();
			}
			const row = this.order[this.cursor++]!;
			out.set(this.buffer.subarray(row * this.dIn, (row + 1) * this.dIn), r * this.dIn);
		}
	}

	/** Stops a prefetch in progress, e.g. when training ends before the next refill. */
	close(): void {
		this.closed = true;
	}

	/**
	 * The next half-buffer of activations. Its corpus pass starts as soon as the previous one is
	 * taken, so tokenizing and the model forward overlap the training steps that serve the
	 * current half (the trainer awaits onnxruntime, leaving the JS thread free).
	 */
	private async takePrefetched(): Promise<Float32Array> {
		const fresh = await (this.prefetch ?? this.produce(this.options.bufferRows >> 1));
		this.startPrefetch();
		return fresh;
	}

	private startPrefetch(): void {
		this.prefetch = this.produce(this.options.bufferRows >> 1);
		this.prefetch.catch(() => {}); // a failure surfaces when it is taken
	}

	private async produce(count: number): Promise<Float32Array> {
		const staging = new Float32Array(count * this.dIn);
		await this.fillRows(
			Uint32Array.from({ length: count }, (_, i) => i),
			staging,
		);
		return staging;
	}

	private reshuffle(): void {
		this.order = shuffledIndices(this.options.bufferRows, this.random);
		this.cursor = 0;
	}

	private async fill(start: number, count: number): Promise<void> {
		await this.fillRows(
			Uint32Array.from({ length: count }, (_, i) => start + i),
			this.buffer,
		);
	}

	/** Writes fresh activation rows into the given row slots of `target`. */
	private async fillRows(slots: Uint32Array, target: Float32Array): Promise<void> {
		const { hookName, batchContexts } = this.options;
		const skip = this.bos === undefined ? 0 : 1;
		let next = 0;
		while (next < slots.length) {
			if (this.closed) throw new Error('the activation store was closed');
			if (this.options.signal?.aborted) throw new TrainingCancelled();
			const batch: number[][] = [];
			for (let i = 0; i < batchContexts; i++) batch.push(await this.nextContext());
			const { hookNameOut } = this.options;
			const out = await this.model.forward({ ids: batch, hooks: hookNameOut ? [hookName, hookNameOut] : [hookName], logits: 'none' });
			const act = out.hooks[hookName]!.data as Float32Array;
			const actOut = hookNameOut ? (out.hooks[hookNameOut]!.data as Float32Array) : undefined;
			// A transcoder's rows: the input's values, then the output's.
			const wIn = actOut ? act.length / (batch.length * batch[0]!.length) : this.dIn;
			const wOut = this.dIn - wIn;
			const seq = batch[0]!.length;
			for (let b = 0; b < batch.length && next < slots.length; b++) {
				for (let t = skip; t < seq && next < slots.length; t++) {
					if (this.special.has(batch[b]![t]!)) {
						this.skippedSpecial++;
						continue;
					}
					const slot = slots[next++]!;
					const at = b * seq + t;
					target.set(act.subarray(at * wIn, (at + 1) * wIn), slot * this.dIn);
					if (actOut) target.set(actOut.subarray(at * wOut, (at + 1) * wOut), slot * this.dIn + wIn);
					this.produced++;
				}
			}
		}
	}

	private async nextContext(): Promise<number[]> {
		this.contexts++;
		let r = await this.tokenStream.next();
		if (r.done) {
			this.epochs++;
			this.tokenStream = corpusWindows(this.model, this.documents, this.options.contextSize, this.options.prependBos);
			r = await this.tokenStream.next();
			if (r.done) throw new ModelConfigError('the corpus has too few tokens for one context window');
		}
		return r.value;
	}
}
