// Messages from the steering sidebar webview, checked before the host acts on them: the webview
// shows untrusted model text, so the host treats what it posts as input (shape, types, lengths,
// ranges) rather than trusting the static type. Free of `vscode`, unit-tested.

import { STEERING_LIMITS } from '../../protocol/steeringViewMessages';
import type { FromSteeringView } from '../../protocol/steeringViewMessages';
import { parseSampling, parseSetup } from '../../protocol/steeringSetup';

const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isText = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max;

/** The message as a FromSteeringView with only its known fields, or undefined when it is not one. */
export function parseFromSteeringView(value: unknown): FromSteeringView | undefined {
	if (typeof value !== 'object' || value === null) return undefined;
	const m = value as Record<string, unknown>;
	switch (m['type']) {
		case 'ready':
			return { type: 'ready' };
		case 'cancel':
			return { type: 'cancel' };
		case 'toggleInline':
			return { type: 'toggleInline' };
		case 'setupChanged': {
			const setup = parseSetup(m['setup']);
			const sampling = parseSampling(m['sampling']);
			return setup && sampling ? { type: 'setupChanged', setup, sampling } : undefined;
		}
		case 'search':
			return isText(m['query'], STEERING_LIMITS.query) ? { type: 'search', query: m['query'] } : undefined;
		case 'lookupLabel':
			return isIndex(m['featureIndex']) ? { type: 'lookupLabel', featureIndex: m['featureIndex'] } : undefined;
		case 'openDashboard':
			return isIndex(m['featureIndex']) ? { type: 'openDashboard', featureIndex: m['featureIndex'] } : undefined;
		case 'generate': {
			const setup = parseSetup(m['setup']);
			const sampling = parseSampling(m['sampling']);
			const prompt = m['prompt'];
			return setup && sampling && isText(prompt, STEERING_LIMITS.prompt) ? { type: 'generate', prompt, setup, sampling } : undefined;
		}
		case 'sweep': {
			const setup = parseSetup(m['setup']);
			const sampling = parseSampling(m['sampling']);
			const { prompt, featureIndex, strengths } = m;
			if (!setup || !sampling || !isText(prompt, STEERING_LIMITS.prompt) || !isIndex(featureIndex)) return undefined;
			if (!Array.isArray(strengths) || strengths.length === 0 || strengths.length > STEERING_LIMITS.sweepStrengths) return undefined;
			if (!strengths.every((s): s is number => typeof s === 'number' && Number.isFinite(s))) return undefined;
			return { type: 'sweep', prompt, setup, sampling, featureIndex, strengths };
		}
		case 'insert':
		case 'copy':
			return isText(m['text'], STEERING_LIMITS.insertText) ? { type: m['type'], text: m['text'] } : undefined;
		case 'savePreset': {
			const setup = parseSetup(m['setup']);
			const name = m['name'];
			if (!setup || (name !== undefined && !isText(name, STEERING_LIMITS.presetName))) return undefined;
			return name === undefined ? { type: 'savePreset', setup } : { type: 'savePreset', setup, name };
		}
		case 'traceToken': {
			const { runId, which } = m;
			return isText(runId, 200) && (which === 'baseline' || which === 'steered') ? { type: 'traceToken', runId, which } : undefined;
		}
		case 'loadPreset':
		case 'deletePreset':
			return isText(m['name'], STEERING_LIMITS.presetName) ? { type: m['type'], name: m['name'] } : undefined;
		default:
			return undefined;
	}
}
