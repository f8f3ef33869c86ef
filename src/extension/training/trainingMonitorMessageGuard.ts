// Messages from the training monitor webview, checked before the host acts on them: the host
// treats what a webview posts as input rather than trusting the static type. Free of `vscode`,
// unit-tested.

import type { FromTrainingMonitor } from '../../protocol/trainingMonitorMessages';

/** The message as a FromTrainingMonitor, or undefined when it is not one. */
export function parseFromTrainingMonitor(value: unknown): FromTrainingMonitor | undefined {
	if (typeof value !== 'object' || value === null) return undefined;
	const type = (value as Record<string, unknown>)['type'];
	return type === 'ready' || type === 'cancel' || type === 'resume' ? { type } : undefined;
}
