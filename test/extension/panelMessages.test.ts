// The training monitor's and the model panel's messages to the host, checked like the
// dashboard's and the steering view's: known shapes pass with only their known fields, anything
// else is dropped.

import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_HOOK_NAME, parseFromModelPanel } from '../../src/extension/modelPanelMessageGuard';
import { parseFromTrainingMonitor } from '../../src/extension/training/trainingMonitorMessageGuard';

describe('panel messages from webviews', () => {
	it('the training monitor may say ready, cancel and resume, and nothing else', () => {
		for (const type of ['ready', 'cancel', 'resume'] as const) assert.deepEqual(parseFromTrainingMonitor({ type, extra: '<script>' }), { type });
		for (const bad of [null, undefined, 'cancel', 42, [], {}, { type: 'stop' }, { type: ['cancel'] }]) assert.equal(parseFromTrainingMonitor(bad), undefined, JSON.stringify(bad));
	});

	it('the model panel may say ready, or ask to copy a hook name of sensible length', () => {
		assert.deepEqual(parseFromModelPanel({ type: 'ready', name: 'x' }), { type: 'ready' });
		assert.deepEqual(parseFromModelPanel({ type: 'copyHook', name: 'blocks.0.hook_resid_pre', extra: 1 }), { type: 'copyHook', name: 'blocks.0.hook_resid_pre' });
		for (const bad of [
			null,
			'ready',
			{ type: 'copyHook' },
			{ type: 'copyHook', name: 7 },
			{ type: 'copyHook', name: '' },
			{ type: 'copyHook', name: 'x'.repeat(MAX_HOOK_NAME + 1) },
			{ type: 'open' },
		]) {
			assert.equal(parseFromModelPanel(bad), undefined, JSON.stringify(bad));
		}
	});
});
