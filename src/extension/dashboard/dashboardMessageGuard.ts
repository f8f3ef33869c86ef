// Messages from a dashboard webview, checked before the host acts on them: the webview shows
// untrusted text, so the host treats what it posts as input (shape, types, lengths) rather than
// trusting the static type. Free of `vscode`, unit-tested.

import { DASHBOARD_LIMITS } from '../../protocol/dashboardMessages';
import type { FromDashboard } from '../../protocol/dashboardMessages';

/** The message as a FromDashboard, or undefined when it is not one (unknown type, wrong field types, too long). */
export function parseFromDashboard(value: unknown): FromDashboard | undefined {
	if (typeof value !== 'object' || value === null) return undefined;
	const m = value as Record<string, unknown>;
	const string = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max;
	switch (m['type']) {
		case 'ready':
			return { type: 'ready' };
		case 'analyze':
			return { type: 'analyze' };
		case 'refresh':
			return { type: 'refresh' };
		case 'steer':
			return { type: 'steer' };
		case 'openFeature': {
			const i = m['featureIndex'];
			return typeof i === 'number' && Number.isInteger(i) && i >= 0 ? { type: 'openFeature', featureIndex: i } : undefined;
		}
		case 'saveLabel':
			return string(m['label'], DASHBOARD_LIMITS.label) && string(m['notes'], DASHBOARD_LIMITS.notes) ? { type: 'saveLabel', label: m['label'], notes: m['notes'] } : undefined;
		case 'testText':
			return string(m['text'], DASHBOARD_LIMITS.text) && m['text'].trim().length > 0 ? { type: 'testText', text: m['text'] } : undefined;
		default:
			return undefined;
	}
}

/** The feature a restored panel showed, from the state its webview saved (vscode.getState), if valid. */
export function featureIndexFromState(state: unknown): number | undefined {
	if (typeof state !== 'object' || state === null) return undefined;
	const i = (state as Record<string, unknown>)['featureIndex'];
	return typeof i === 'number' && Number.isInteger(i) && i >= 0 ? i : undefined;
}
