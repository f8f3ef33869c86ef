// Messages between the extension host and the model panel webview (JSON-serializable).

import type { ModelInfo } from './engineProtocol';

/** Host → webview. */
export type ToModelPanel =
	/** The model to show, sent after `ready` and whenever another model loads. */
	| { type: 'model'; model: ModelInfo }
	/** Loading failed or no model is loaded yet. */
	| { type: 'error'; message: string };

/** Webview → host. */
export type FromModelPanel =
	/** The webview's script is running and can receive messages. */
	| { type: 'ready' }
	/** The user asked to copy a hook name to the clipboard. */
	| { type: 'copyHook'; name: string };
