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
