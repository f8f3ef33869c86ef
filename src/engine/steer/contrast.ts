// Contrastive activation addition: the difference of two prompts' mean activations at a hook
// (Turner et al.'s ActAdd / Rimsky et al.'s CAA, with whole-prompt means), to steer with as a
// VectorSteer. Each prompt runs with the model's BOS token in front, as SAEs and
// TransformerLens read text, and the BOS position is left out of the mean: its activation is
// the same for every prompt (and often large), so it would only add noise in proportion to the
// prompts' lengths.

import * as ort from 'onnxruntime-node';
import { ModelConfigError } from '../models/decoderConfig';
import { perTokenWidth } from '../models/hookPoints';
import type { LanguageModel } from '../models/languageModel';
import { DataType } from '../onnx/onnxProto';
import { GraphBuilder } from '../onnx/graphBuilder';
import { createSession } from '../onnx/session';
import type { SessionSettings } from '../onnx/session';

export interface ContrastVector {
	/** mean(positive) − mean(negative), [width]. */
	vector: Float32Array;
	norm: number;
}

const meanDifference = new Map<number, Promise<ort.InferenceSession>>();

/** positive [p, w], negative [q, w] → mean over rows of each, difference [w] and its L2 norm. */
function meanDifferenceSession(width: number, settings: SessionSettings): Promise<ort.InferenceSession> {
	let session = meanDifference.get(width);
	if (!session) {
		const b = new GraphBuilder('contrast');
		const mean = (v: string) => b.op('ReduceMean', [v], { axes: { kind: 'ints', value: [0] }, keepdims: { kind: 'int', value: 0 } });
		const diff = b.sub(mean(b.input('positive', DataType.FLOAT, ['p', width])), mean(b.input('negative', DataType.FLOAT, ['q', width])));
		b.output(diff, DataType.FLOAT, [width], 'vector');
		b.output(b.sqrt(b.op('ReduceSum', [b.mul(diff, diff)], { keepdims: { kind: 'int', value: 0 } })), DataType.FLOAT, [], 'norm');
		session = createSession(b.build(), settings, () => {}).then((s) => s.session);
		session.catch(() => meanDifference.delete(width));
		meanDifference.set(width, session);
	}
	return session;
}

export async function contrastVector(model: LanguageModel, hookName: string, positive: string, negative: string, settings: SessionSettings): Promise<ContrastVector> {
	const point = model.hookPoint(hookName);
	const width = perTokenWidth(point, hookName);
	if (point.shape.length !== 2) throw new ModelConfigError(`${hookName} is not a [pos, width] hook; a contrast vector needs a residual, attn_out, mlp_out or MLP hook`);
	if (!model.tokenizer) throw new ModelConfigError(`${model.dir} has no tokenizer.json, so prompts cannot be read`);
	const bos = model.cfg.bosTokenId;
	const activations = async (text: string, which: string): Promise<ort.Tensor> => {
		const ids = (await model.tokenizer!.encode(text, model.cfg.nCtx)).map((t) => t.id);
		if (ids.length === 0) throw new ModelConfigError(`the ${which} prompt is empty`);
		const input = bos === undefined ? ids : [bos, ...ids];
		if (input.length > model.cfg.nCtx) throw new ModelConfigError(`the ${which} prompt is ${input.length} tokens, longer than the model's context of ${model.cfg.nCtx}`);
		const out = await model.forward({ ids: [input], hooks: [hookName], logits: 'none' });
		const all = out.hooks[hookName]!.data as Float32Array; // [1, seq, width]
		const skip = bos === undefined ? 0 : 1;
		return new ort.Tensor('float32', all.slice(skip * width), [ids.length, width]);
	};
	const feeds = { positive: await activations(positive, 'positive'), negative: await activations(negative, 'negative') };
	const out = await (await meanDifferenceSession(width, settings)).run(feeds);
	return { vector: out.vector!.data as Float32Array, norm: (out.norm!.data as Float32Array)[0]! };
}
