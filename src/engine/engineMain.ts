// The engine process's entry point (dist/engine.js): checks that this machine can run the
// native libraries before the server loads them. On one that cannot (an Intel Mac, musl Linux,
// a package built for another platform), the engine still speaks the protocol and answers
// every request with the reason, so the extension shows it instead of a crash.

import { ResponseError, StreamMessageReader, StreamMessageWriter, createMessageConnection } from 'vscode-jsonrpc/node';
import { LogNotification, ShutdownRequest } from '../protocol/engineProtocol';
import { USER_ERROR } from '../protocol/errors';
import { currentHost, nativePlatformProblem, packagedTargets } from './nativePlatform';

const problem = nativePlatformProblem(currentHost(), packagedTargets());
if (problem === undefined) {
	// Loaded only here: its imports load onnxruntime-node's native binding.
	require('./server');
} else {
	const connection = createMessageConnection(new StreamMessageReader(process.stdin), new StreamMessageWriter(process.stdout));
	connection.onRequest(ShutdownRequest, () => undefined);
	connection.onRequest(() => new ResponseError(USER_ERROR, problem));
	connection.onClose(() => process.exit(0));
	connection.listen();
	void connection.sendNotification(LogNotification, { level: 'error', message: problem });
}
