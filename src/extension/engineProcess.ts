// The engine child process and its JSON-RPC connection: started on first use, watched, and
// started again on the next request after it dies. Free of `vscode` imports so it is tested
// in plain Node.

import * as cp from 'node:child_process';
import { createMessageConnection, ResponseError, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import type { CancellationToken, MessageConnection, NotificationType, RequestType } from 'vscode-jsonrpc/node';
import { withHugePages } from './hugePages';
import { ActivityNotification, InitializeRequest, LogNotification, ShutdownRequest } from '../protocol/engineProtocol';
import type { InitializeParams, InitializeResult, LogLevel } from '../protocol/engineProtocol';
import { REQUEST_CANCELLED, errorMessage } from '../protocol/errors';

export type EngineState =
	| { kind: 'stopped' }
	| { kind: 'starting' }
	| { kind: 'ready'; info: InitializeResult }
	| { kind: 'busy'; info: InitializeResult; what: string }
	| { kind: 'crashed'; reason: string }
	/** The engine runs but refused to initialize (e.g. a machine onnxruntime-node has no build for); every request fails with `reason`. */
	| { kind: 'unusable'; reason: string };

export interface EngineProcessOptions {
	/** The bundled engine script (dist/engine.js). */
	enginePath: string;
	/** A Node-compatible executable: VS Code's own with ELECTRON_RUN_AS_NODE, or node. */
	nodePath: string;
	initialize: () => InitializeParams;
	log: (level: LogLevel, message: string) => void;
	onState: (state: EngineState) => void;
	/** Called once per unexpected exit, so the UI reports each crash exactly once. */
	onCrash?: (reason: string) => void;
}

interface Running {
	child: cp.ChildProcess;
	connection: MessageConnection;
	ready: Promise<InitializeResult>;
	info?: InitializeResult;
	stopping: boolean;
	/** Progress handlers by notification method and request id: vscode-jsonrpc keeps one handler per method, so one router per method dispatches to every request in flight. */
	progress: Map<string, Map<string, (params: never) => void>>;
}

/** A progress notification names the request it reports on. */
export interface RequestProgress {
	requestId: string;
}

let requestCounter = 0;

export class EngineProcess {
	private running: Running | undefined;
	private state: EngineState = { kind: 'stopped' };

	constructor(private readonly options: EngineProcessOptions) {}

	get current(): EngineState {
		return this.state;
	}

	/**
	 * Sends a request, starting the engine first if it is not running. Rejects if the engine dies
	 * meanwhile; a cancelled request rejects with code REQUEST_CANCELLED (`isCancelled`).
	 */
	async request<P, R>(type: RequestType<P, R, void>, params: P, token?: CancellationToken): Promise<R> {
		const running = await this.ensureStarted();
		// vscode-jsonrpc sends no cancellation for a token that is already cancelled: the engine would do all the work.
		if (token?.isCancellationRequested) throw new ResponseError(REQUEST_CANCELLED, `${type.method} cancelled before it was sent`);
		let onExit: ((code: number | null, signal: NodeJS.Signals | null) => void) | undefined;
		const exited = new Promise<never>((_, reject) => {
			onExit = (code, signal) => reject(new Error(`the engine stopped while working (${describeExit(code, signal)})`));
			running.child.once('exit', onExit);
		});
		try {
			return await Promise.race([running.connection.sendRequest(type, params, token), exited]);
		} finally {
			running.child.off('exit', onExit!);
		}
	}

	/**
	 * Sends a request that reports progress (or streams results) by `progress` notifications: a
	 * fresh `requestId` is put into the params, and only this request's notifications reach
	 * `onProgress`, however many requests of the kind overlap. The one way the host listens to
	 * the engine's per-request notifications: vscode-jsonrpc keeps one handler per method, so
	 * nothing else registers one.
	 */
	async requestWithProgress<P extends { requestId?: string }, R, N extends RequestProgress>(
		type: RequestType<P, R, void>,
		params: Omit<P, 'requestId'>,
		progress: NotificationType<N>,
		onProgress: (params: N) => void,
		token?: CancellationToken,
	): Promise<R> {
		const running = await this.ensureStarted();
		const requestId = `${type.method}#${++requestCounter}`;
		let handlers = running.progress.get(progress.method);
		if (!handlers) {
			const routes = new Map<string, (params: never) => void>();
			running.progress.set(progress.method, (handlers = routes));
			running.connection.onNotification(progress, (p: N) => routes.get(p.requestId)?.(p as never));
		}
		handlers.set(requestId, onProgress);
		try {
			return await this.request(type, { ...params, requestId } as P, token);
		} finally {
			handlers.delete(requestId);
		}
	}

	/** Starts the engine (if needed) and waits until it has answered `initialize`. */
	async ensureStarted(): Promise<Running> {
		if (!this.running) this.running = this.spawn();
		const running = this.running;
		await running.ready;
		return running;
	}

	async restart(): Promise<void> {
		await this.stop();
		await this.ensureStarted();
	}

	/** Asks the engine to shut down, then kills it if it has not exited within a second. */
	async stop(): Promise<void> {
		const running = this.running;
		if (!running) return;
		running.stopping = true;
		this.running = undefined;
		const exited = new Promise<void>((resolve) => {
			if (running.child.exitCode !== null || running.child.signalCode !== null) resolve();
			else running.child.once('exit', () => resolve());
		});
		try {
			await Promise.race([running.connection.sendRequest(ShutdownRequest), delay(1000)]);
		} catch {
			// Already gone: nothing to shut down.
		}
		running.connection.dispose();
		running.child.kill();
		await Promise.race([exited, delay(2000)]);
		if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGKILL');
		this.setState({ kind: 'stopped' });
	}

	/** The engine's process id, for tests and the log. */
	get pid(): number | undefined {
		return this.running?.child.pid;
	}

	private spawn(): Running {
		this.setState({ kind: 'starting' });
		const child = cp.spawn(this.options.nodePath, [this.options.enginePath], {
			env: { ...withHugePages(process.env), ELECTRON_RUN_AS_NODE: '1' },
			stdio: ['pipe', 'pipe', 'pipe'],
		});
		const reader = new StreamMessageReader(child.stdout);
		// When the stream stops inside a message (an engine killed between the writer's header and
		// body writes), the reader re-arms a 10 s "partial message" timer forever, and disposing the
		// connection does not clear it: the host process could then never exit. Nothing here listens
		// for partial-message events, so the timer is switched off.
		reader.partialMessageTimeout = 0;
		const connection = createMessageConnection(reader, new StreamMessageWriter(child.stdin));
		const running: Running = { child, connection, ready: Promise.resolve(undefined as never), stopping: false, progress: new Map() };
		child.stderr.setEncoding('utf8');
		child.stderr.on('data', (chunk: string) => {
			for (const line of chunk.split('\n')) if (line.trim()) this.options.log('warn', `[engine stderr] ${line}`);
		});
		connection.onNotification(LogNotification, ({ level, message }) => this.options.log(level, message));
		// Output that is not the protocol (a native library writing to stdout, a broken frame) leaves
		// the stream unreadable: the engine is stopped and, as after a crash, started again on the next request.
		connection.onError(([error]) => {
			if (this.running !== running || running.child.exitCode !== null) return;
			this.options.log('error', `the engine's messages could not be read (${error.message.split('\n')[0]}); stopping it`);
			running.child.kill('SIGKILL');
		});
		connection.onNotification(ActivityNotification, (activity) => {
			if (this.running !== running || !running.info) return;
			this.setState(activity.state === 'busy' ? { kind: 'busy', info: running.info, what: activity.what } : { kind: 'ready', info: running.info });
		});
		child.on('exit', (code, signal) => this.onExit(running, code, signal));
		child.on('error', (err) => this.onExit(running, null, null, err.message));
		connection.listen();
		running.ready = connection.sendRequest(InitializeRequest, this.options.initialize()).then((info) => {
			running.info = info;
			if (this.running === running) this.setState({ kind: 'ready', info });
			return info;
		});
		running.ready.catch((err: unknown) => {
			// A spawn failure also rejects `ready` (through onExit, which sets the state); otherwise the engine said why it cannot work.
			if (this.running === running && running.child.exitCode === null) this.setState({ kind: 'unusable', reason: errorMessage(err) });
		});
		return running;
	}

	private onExit(running: Running, code: number | null, signal: NodeJS.Signals | null, error?: string): void {
		running.connection.dispose();
		if (running.stopping || this.running !== running) return;
		this.running = undefined;
		const reason = error ?? describeExit(code, signal);
		this.options.log('error', `engine exited unexpectedly (${reason}); it will restart on the next request`);
		this.setState({ kind: 'crashed', reason });
		this.options.onCrash?.(reason);
	}

	private setState(state: EngineState): void {
		this.state = state;
		this.options.onState(state);
	}
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
	return signal ? `killed by ${signal}` : `exit code ${code}`;
}

function delay(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
