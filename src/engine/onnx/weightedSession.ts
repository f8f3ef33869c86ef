// An onnxruntime session whose graph takes weights as inputs (GraphBuilder.weightInput): every
// run is fed the same shared tensors besides the caller's own inputs.

import type * as ort from 'onnxruntime-node';

export class WeightedSession {
	constructor(
		readonly session: ort.InferenceSession,
		/** The weight tensors this graph declared, by input name; shared with other sessions, never copied. */
		private readonly weightFeeds: Readonly<Record<string, ort.Tensor>>,
		/** The provider the session runs on. */
		readonly provider: 'cpu' | 'cuda',
	) {}

	run(feeds: Record<string, ort.Tensor>, fetches?: readonly string[]): Promise<ort.InferenceSession.ReturnType> {
		const all = { ...feeds, ...this.weightFeeds };
		return fetches ? this.session.run(all, [...fetches]) : this.session.run(all);
	}

	release(): Promise<void> {
		return this.session.release();
	}
}
