// Debounced, cancellable requests for inline completions: a request waits a moment before it
// runs, and is dropped (or, once running, cancelled through its token, which cancels the
// JSON-RPC request) when the editor cancels it on the next keystroke or a newer request
// starts. Only the newest request ever runs, so typing never queues work. Free of `vscode`
// (the editor's CancellationToken satisfies CancelSignal), unit-tested.

import { CancellationTokenSource } from 'vscode-jsonrpc';
import type { CancellationToken } from 'vscode-jsonrpc';

/** The part of a CancellationToken the debouncer listens to. */
export interface CancelSignal {
	readonly isCancellationRequested: boolean;
	onCancellationRequested(listener: () => void): { dispose(): void };
}

/** Resolves true after `ms`, or false as soon as `token` is cancelled (at once if it already is). */
export function delayUnlessCancelled(ms: number, token: CancelSignal): Promise<boolean> {
	if (token.isCancellationRequested) return Promise.resolve(false);
	return new Promise((resolve) => {
		const sub = token.onCancellationRequested(() => {
			clearTimeout(timer);
			sub.dispose();
			resolve(false);
		});
		const timer = setTimeout(() => {
			sub.dispose();
			resolve(true);
		}, ms);
	});
}

export class DebouncedRequests {
	private current: CancellationTokenSource | undefined;

	constructor(private readonly delayMs: number) {}

	/** True while a request waits or runs. */
	get pending(): boolean {
		return this.current !== undefined;
	}

	/**
	 * Runs `work` after the delay unless `outer` is cancelled or a newer `run` starts first;
	 * `work`'s token is cancelled by either afterwards. Undefined when it did not run or was
	 * cancelled (whatever `work` returned then is stale).
	 */
	async run<T>(outer: CancelSignal, work: (token: CancellationToken) => Promise<T>): Promise<T | undefined> {
		this.current?.cancel();
		const source = new CancellationTokenSource();
		this.current = source;
		const sub = outer.onCancellationRequested(() => source.cancel());
		if (outer.isCancellationRequested) source.cancel();
		try {
			if (!(await delayUnlessCancelled(this.delayMs, source.token))) return undefined;
			const result = await work(source.token);
			return source.token.isCancellationRequested ? undefined : result;
		} finally {
			sub.dispose();
			if (this.current === source) this.current = undefined;
			source.dispose();
		}
	}

	/** Cancels the waiting or running request, if any. */
	cancel(): void {
		this.current?.cancel();
	}
}
