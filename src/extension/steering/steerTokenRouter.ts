// Routes the engine's streamed steering tokens (steer/token) to whoever started the request,
// by request id. vscode-jsonrpc keeps one handler per notification method on a connection, so
// the sidebar and the inline completions cannot each register their own: one router registers
// once per engine connection (again after a restart) and dispatches. Free of `vscode`.

import { SteerTokenNotification } from '../../protocol/steerProtocol';
import type { EngineProcess } from '../engineProcess';

export interface SteerTokenEvent {
	which: 'baseline' | 'steered';
	sweepIndex?: number;
	id: number;
	text: string;
}

type Connection = Awaited<ReturnType<EngineProcess['ensureStarted']>>['connection'];

export class SteerTokenRouter {
	private readonly listeners = new Map<string, (token: SteerTokenEvent) => void>();
	private readonly wired = new WeakSet<Connection>();

	constructor(private readonly engine: EngineProcess) {}

	/** Starts the engine if needed and sends `requestId`'s tokens to `listener` until disposed. */
	async listen(requestId: string, listener: (token: SteerTokenEvent) => void): Promise<{ dispose(): void }> {
		const running = await this.engine.ensureStarted();
		if (!this.wired.has(running.connection)) {
			this.wired.add(running.connection);
			running.connection.onNotification(SteerTokenNotification, ({ requestId: id, which, sweepIndex, id: tokenId, text }) => {
				this.listeners.get(id)?.({ which, ...(sweepIndex !== undefined ? { sweepIndex } : {}), id: tokenId, text });
			});
		}
		this.listeners.set(requestId, listener);
		return { dispose: () => { if (this.listeners.get(requestId) === listener) this.listeners.delete(requestId); } };
	}
}
