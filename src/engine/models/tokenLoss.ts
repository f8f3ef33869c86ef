// Next-token losses in onnxruntime: per-token cross-entropy of some logits and their KL
// divergence from reference logits, for CE-loss-recovered and KL evaluations.

import * as ort from 'onnxruntime-node';
import { DataType } from '../onnx/onnxProto';
import { GraphBuilder } from '../onnx/graphBuilder';

/** Per-token losses of `logits` [B, T, V] for predicting `ids` shifted by one: nll, kl [B, T−1]. */
export class TokenLoss {
	private constructor(private readonly session: ort.InferenceSession) {}

	static async create(): Promise<TokenLoss> {
		const b = new GraphBuilder('token_loss');
		const logits = b.input('logits', DataType.FLOAT, ['B', 'T', 'V']);
		const reference = b.input('reference', DataType.FLOAT, ['B', 'T', 'V']);
		const labels = b.input('labels', DataType.INT64, ['B', 'T1']); // ids[:, 1:]
		const upToLast = (x: string) => b.slice(x, b.constInt64([0]), b.constInt64([-1]), [1]); // positions 0 … T−2
		const logp = b.op('LogSoftmax', [upToLast(logits)], { axis: { kind: 'int', value: -1 } });
		const logq = b.op('LogSoftmax', [upToLast(reference)], { axis: { kind: 'int', value: -1 } });
		const picked = b.op('GatherElements', [logp, b.unsqueeze(labels, [2])], { axis: { kind: 'int', value: 2 } });
		b.output(b.neg(b.op('Squeeze', [picked, b.constInt64([2])])), DataType.FLOAT, ['B', 'T1'], 'nll');
		const kl = b.op('ReduceSum', [b.mul(b.op('Exp', [logq]), b.sub(logq, logp)), b.constInt64([-1])], { keepdims: { kind: 'int', value: 0 } });
		b.output(kl, DataType.FLOAT, ['B', 'T1'], 'kl');
		return new TokenLoss(await ort.InferenceSession.create(b.build(), { graphOptimizationLevel: 'all' }));
	}

	/** nll of `logits`, and KL(reference ‖ logits), for every position that has a next token. */
	async run(logits: ort.Tensor, reference: ort.Tensor, ids: readonly (readonly number[])[]): Promise<{ nll: Float32Array; kl: Float32Array }> {
		const labels = BigInt64Array.from(ids.flatMap((row) => row.slice(1).map(BigInt)));
		const out = await this.session.run({ logits, reference, labels: new ort.Tensor('int64', labels, [ids.length, ids[0]!.length - 1]) });
		return { nll: out.nll!.data as Float32Array, kl: out.kl!.data as Float32Array };
	}

	async dispose(): Promise<void> {
		await this.session.release();
	}
}

/**
 * Next-token losses summed over batches for a replacement evaluation: the clean model, the model
 * with the replacement in (an SAE spliced in, transcoders in place of MLPs) and with it ablated;
 * their mean CE and KL, and SAELens's CE-loss and KL scores.
 */
export class LossTotals {
	private nllClean = 0;
	private nllReplaced = 0;
	private nllAblated = 0;
	private klReplaced = 0;
	private klAblated = 0;
	private predictions = 0;

	/** Adds one batch: each run's logits [B, T, V] against the clean ones, for `ids` [B][T]. */
	async add(losses: TokenLoss, clean: ort.Tensor, replaced: ort.Tensor, ablated: ort.Tensor, ids: readonly (readonly number[])[]): Promise<void> {
		const c = await losses.run(clean, clean, ids);
		const r = await losses.run(replaced, clean, ids);
		const a = await losses.run(ablated, clean, ids);
		for (let i = 0; i < c.nll.length; i++) {
			this.nllClean += c.nll[i]!;
			this.nllReplaced += r.nll[i]!;
			this.nllAblated += a.nll[i]!;
			this.klReplaced += r.kl[i]!;
			this.klAblated += a.kl[i]!;
		}
		this.predictions += c.nll.length;
	}

	/** Mean CE of each run, mean KL from the clean model, and the scores: (ablated − replaced) / (ablated − clean) and 1 − KL ratio. */
	means(): { ceClean: number; ceReplaced: number; ceAblated: number; ceScore: number; klReplaced: number; klAblated: number; klScore: number } {
		const n = this.predictions;
		const [ceClean, ceReplaced, ceAblated] = [this.nllClean / n, this.nllReplaced / n, this.nllAblated / n];
		const [klReplaced, klAblated] = [this.klReplaced / n, this.klAblated / n];
		return {
			ceClean,
			ceReplaced,
			ceAblated,
			ceScore: (ceAblated - ceReplaced) / (ceAblated - ceClean),
			klReplaced,
			klAblated,
			klScore: (klAblated - klReplaced) / klAblated,
		};
	}
}
