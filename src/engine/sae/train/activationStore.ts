// Model activations for SAE training: the corpus is tokenized into context windows (documents
// joined by EOS, BOS prepended as SAELens does), the model runs only up to the hook, and rows
// go into a shuffle buffer. Half the buffer is served in random order, then refilled with
// fresh activations, so batches mix tokens from many documents and positions.

import { ModelConfigError } from '../../models/decoderConfig';
import { perTokenWidth } from '../../models/hookPoints';
import type { LanguageModel } from '../../models/languageModel';
import { seededRandom, shuffledIndices } from '../../models/sampling';
import type { ActivationSource } from './activationSource';
import { corpusWindows } from './corpus';
import { TrainingCancelled } from './saeTrainer';

export interface StoreOptions {
	hookName: string;
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

	private constructor(private readonly model: LanguageModel, private readonly documents: () => Iterable<string>, private readonly options: StoreOptions, dIn: number) {
		this.dIn = dIn;
		this.buffer = new Float32Array(options.bufferRows * dIn);
		this.random = seededRandom(options.seed);
		this.bos = options.prependBos ? model.cfg.bosTokenId : undefined;
		const specialIds = [model.cfg.bosTokenId, ...model.cfg.eosTokenIds].filter((id): id is number => id !== undefined);
		this.special = new Set(options.excludeSpecialTokens ? specialIds : []);
		this.tokenStream = corpusWindows(model, documents, options.contextSize, options.prependBos);
	}

	static async create(model: LanguageModel, documents: () => Iterable<string>, options: StoreOptions): Promise<ModelActivationStore> {
		const dIn = perTokenWidth(model.hookPoint(options.hookName), options.hookName);
		if (!model.tokenizer) throw new ModelConfigError(`${model.dir} has no tokenizer.json, so a text corpus cannot be used`);
		if (options.contextSize > model.cfg.nCtx) throw new ModelConfigError(`context size ${options.contextSize} is longer than the model's context of ${model.cfg.nCtx}`);
		const store = new ModelActivationStore(model, documents, options, dIn);
		await store.fill(0, options.bufferRows);
		store.reshuffle();
		return store;
	}

	get rows(): number {
		return this.options.bufferRows;
	}

	async next(count: number, out: Float32Array): Promise<void> {
		const half = this.options.bufferRows >> 1;
		for (let r = 0; r < count; r++) {
			if (this.cursor === half) {
				// Refill the rows just served with new activations, then mix everything again.
				const served = this.order.slice(0, half);
				await this.fillRows(served);
				this.reshuffle();
			}
			const row = this.order[this.cursor++]!;
			out.set(this.buffer.subarray(row * this.dIn, (row + 1) * this.dIn), r * this.dIn);
		}
	}

	private reshuffle(): void {
		this.order = shuffledIndices(this.options.bufferRows, this.random);
		this.cursor = 0;
	}

	private async fill(start: number, count: number): Promise<void> {
		await this.fillRows(Uint32Array.from({ length: count }, (_, i) => start + i));
	}

	/** Writes fresh activation rows into the given buffer slots. */
	private async fillRows(slots: Uint32Array): Promise<void> {
		const { hookName, batchContexts } = this.options;
		const skip = this.bos === undefined ? 0 : 1;
		let next = 0;
		while (next < slots.length) {
			if (this.options.signal?.aborted) throw new TrainingCancelled();
			const batch: number[][] = [];
			for (let i = 0; i < batchContexts; i++) batch.push(await this.nextContext());
			const out = await this.model.forward({ ids: batch, hooks: [hookName], logits: 'none' });
			const act = out.hooks[hookName]!.data as Float32Array;
			const seq = batch[0]!.length;
			for (let b = 0; b < batch.length && next < slots.length; b++) {
				for (let t = skip; t < seq && next < slots.length; t++) {
					if (this.special.has(batch[b]![t]!)) {
						this.skippedSpecial++;
						continue;
					}
					const slot = slots[next++]!;
					this.buffer.set(act.subarray((b * seq + t) * this.dIn, (b * seq + t + 1) * this.dIn), slot * this.dIn);
					this.produced++;
				}
			}
		}
	}

	private async nextContext(): Promise<number[]> {
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
