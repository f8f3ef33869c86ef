// The engine's end of the JSON-RPC connection over stdio, guarded against a broken or hostile
// host: every request's parameters are checked against its schema (src/protocol/requestParams.ts)
// before its handler runs, and answered InvalidParams naming the field otherwise; a body that is
// not JSON is answered ParseError; a broken frame (a Content-Length that is not a number, a
// header without one) leaves the stream unreadable, so the connection is closed with the reason
// logged and the host starts a new engine.

import { ErrorCodes, ResponseError, StreamMessageReader, StreamMessageWriter, createMessageConnection } from 'vscode-jsonrpc/node';
import type { CancellationToken, Logger, MessageConnection, ResponseMessage } from 'vscode-jsonrpc/node';
import { checkParams, REQUEST_PARAMS } from '../protocol/requestParams';

export interface EngineConnectionOptions {
	/** Where the connection's own complaints go (the engine's log notification); settles once sent. */
	log: (level: 'warn' | 'error', message: string) => Promise<unknown> | void;
	/** Called once when the stream is broken beyond repair, with the reason; resolves when the engine may exit. */
	onBroken: (reason: string) => Promise<void>;
	input?: NodeJS.ReadableStream;
	output?: NodeJS.WritableStream;
}

/** Exit code of an engine that closed a connection whose framing broke (the extension restarts it). */
export const BROKEN_CONNECTION_EXIT = 3;

export function engineConnection(options: EngineConnectionOptions): MessageConnection {
	const output = options.output ?? process.stdout;
	const writer = new StreamMessageWriter(output);
	const logger: Logger = {
		error: (m) => void options.log('warn', `protocol: ${m}`),
		warn: (m) => void options.log('warn', `protocol: ${m}`),
		info: () => {},
		log: () => {},
	};
	const connection = createMessageConnection(new StreamMessageReader(options.input ?? process.stdin), writer, logger);
	let broken = false;
	connection.onError(([error]) => {
		if (broken) return;
		if (error instanceof SyntaxError) {
			// The frame was whole, so the stream is still in step: answer as JSON-RPC says (no id to answer to) and go on.
			void options.log('warn', `protocol: a message was not JSON (${error.message})`);
			void writer.write({ jsonrpc: '2.0', id: null, error: { code: ErrorCodes.ParseError, message: `not JSON: ${error.message}` } } as ResponseMessage);
			return;
		}
		broken = true;
		const reason = `the host's message stream is broken (${error.message.split('\n')[0]}); closing the connection`;
		process.stderr.write(`feature-lens engine: ${reason}\n`);
		// The host still reads what the engine writes: the reason reaches its log before the exit.
		void Promise.allSettled([options.log('error', reason), options.onBroken(reason)])
			.then(() => new Promise<void>((resolve) => output.write('', () => resolve())))
			.finally(() => process.exit(BROKEN_CONNECTION_EXIT));
	});
	return { ...connection, onRequest: validatingOnRequest(connection) };
}

type Handler = (params: unknown, token: CancellationToken) => unknown;

/**
 * connection.onRequest with every handler behind its request's parameter check. A request type
 * without a schema is a programming error, caught when the handler is registered.
 */
function validatingOnRequest(connection: MessageConnection): MessageConnection['onRequest'] {
	return ((type: { method: string } | string, handler: Handler) => {
		const method = typeof type === 'string' ? type : type.method;
		if (typeof handler !== 'function' || !REQUEST_PARAMS.has(method)) {
			throw new Error(`internal: the engine serves ${String(method)} without a parameter schema in src/protocol/requestParams.ts`);
		}
		return connection.onRequest(method, (...args: unknown[]) => {
			// vscode-jsonrpc passes by-position parameters spread out, then the token.
			const token = args.pop() as CancellationToken;
			if (args.length > 1) throw new ResponseError(ErrorCodes.InvalidParams, `${method}: expected one parameter object, got ${args.length} parameters by position`);
			const check = checkParams(method, args[0]);
			if (!check.ok) throw new ResponseError(ErrorCodes.InvalidParams, check.message);
			return handler(check.params, token);
		});
	}) as MessageConnection['onRequest'];
}
