// Messages from the model panel webview, checked before the host acts on them (a hook name is
// copied to the clipboard, so it must be a short string). Free of `vscode`, unit-tested.

import type { FromModelPanel } from '../protocol/modelPanelMessages';

/** Longest hook name the panel may ask to copy; TransformerLens names are far shorter. */
export const MAX_HOOK_NAME = 200;

/** The message as a FromModelPanel, or undefined when it is not one. */
export function parseFromModelPanel(value: unknown): FromModelPanel | undefined {
	if (typeof value !== 'object' || value === null) return undefined;
	const m = value as Record<string, unknown>;
	if (m['type'] === 'ready') return { type: 'ready' };
	const name = m['name'];
	if (m['type'] === 'copyHook' && typeof name === 'string' && name.length > 0 && name.length <= MAX_HOOK_NAME) return { type: 'copyHook', name };
	return undefined;
}
