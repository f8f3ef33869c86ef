// How the engine's JSON-RPC errors are coded and read, by both sides: the engine answers with
// these codes, and the extension host (and the CLI) tell a cancel from a failure by the code,
// never by the message text. No imports, so webviews and the CLI may use it too.

/** Error code of the engine's answers about the user's input, files or machine (as opposed to engine bugs). */
export const USER_ERROR = 1;

/** JSON-RPC's "request cancelled" (LSP's RequestCancelled): the request stopped because its client cancelled it. */
export const REQUEST_CANCELLED = -32800;

/** The error's `code`, when it has a numeric one (vscode-jsonrpc's ResponseError, or one built like it). */
export function errorCode(err: unknown): number | undefined {
	const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
	return typeof code === 'number' ? code : undefined;
}

/** Whether the error says its request was cancelled (code -32800). */
export function isCancelled(err: unknown): boolean {
	return errorCode(err) === REQUEST_CANCELLED;
}

/** What a thrown value says, for a log line or a message to the user. */
export function errorMessage(err: unknown): string {
	return err instanceof Error ? err.message : String(err);
}
