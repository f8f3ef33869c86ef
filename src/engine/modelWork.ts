// Requests running on the loaded model and SAE. A request joins when it first asks for the
// model; before a new model or SAE replaces the sessions such requests use, the engine cancels
// them (each ends as its own cancel would: a generation with "request cancelled", a training
// run with a checkpoint) and waits until they have ended, so none of them meets a disposed
// session. The request being served is found through AsyncLocalStorage, so handlers need no
// extra argument.

import { AsyncLocalStorage } from 'node:async_hooks';

interface Work {
	readonly abort: AbortController;
	/** Settles when the request's handler has finished. */
	readonly done: Promise<void>;
	/** Whether it has asked for the model (only those are cancelled and waited for). */
	usesModel: boolean;
}

export class ModelWork {
	private readonly scope = new AsyncLocalStorage<Work>();
	private readonly running = new Set<Work>();

	/** Runs one request's handler as a unit of work that a model or SAE change can cancel. */
	async run<T>(handler: () => Promise<T>): Promise<T> {
		let finish!: () => void;
		const work: Work = {
			abort: new AbortController(),
			done: new Promise<void>((resolve) => {
				finish = resolve;
			}),
			usesModel: false,
		};
		this.running.add(work);
		try {
			return await this.scope.run(work, handler);
		} finally {
			this.running.delete(work);
			finish();
		}
	}

	/** Marks the request being served as one that uses the loaded model and SAE. */
	joinModel(): void {
		const work = this.scope.getStore();
		if (work) work.usesModel = true;
	}

	/** The signal that a model or SAE change cancelled the request being served, if it runs as work. */
	signal(): AbortSignal | undefined {
		return this.scope.getStore()?.abort.signal;
	}

	/**
	 * Cancels every other request that uses the model, with `reason`, and resolves once all of
	 * them have ended; the request being served (the load itself) is left alone.
	 */
	async cancelUsers(reason: string): Promise<number> {
		const self = this.scope.getStore();
		const users = [...this.running].filter((w) => w.usesModel && w !== self);
		for (const w of users) w.abort.abort(reason);
		await Promise.all(users.map((w) => w.done));
		return users.length;
	}
}
