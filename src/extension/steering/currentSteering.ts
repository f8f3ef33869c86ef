// The steering the sidebar shows, kept by the host: inline completions apply it, and it is
// saved in the workspace state so it survives a window reload even before the sidebar is opened
// again (the webview keeps its own copy with getState/setState as well).

import * as vscode from 'vscode';
import { SIDEBAR_SAMPLING } from '../../protocol/steeringViewMessages';
import type { SteeringSetup } from '../../protocol/steeringViewMessages';
import type { SamplingSettings } from '../../protocol/steerProtocol';
import { parseSampling, parseSetup } from '../../protocol/steeringSetup';

const KEY = 'featureLens.steering.current';

export class CurrentSteering implements vscode.Disposable {
	private readonly changed = new vscode.EventEmitter<void>();
	readonly onDidChange = this.changed.event;
	private value: { setup: SteeringSetup; sampling: SamplingSettings };

	constructor(private readonly memento: vscode.Memento) {
		const stored = memento.get<Record<string, unknown>>(KEY);
		this.value = {
			setup: parseSetup(stored?.['setup']) ?? { entries: [], positions: 'all' },
			sampling: parseSampling(stored?.['sampling']) ?? SIDEBAR_SAMPLING,
		};
	}

	get setup(): SteeringSetup {
		return this.value.setup;
	}

	get sampling(): SamplingSettings {
		return this.value.sampling;
	}

	set(setup: SteeringSetup, sampling: SamplingSettings): void {
		this.value = { setup, sampling };
		void this.memento.update(KEY, this.value);
		this.changed.fire();
	}

	/** e.g. "#1132 add 20, #7 clamp 5" or "no features". */
	describe(): string {
		const on = this.value.setup.entries.filter((e) => e.enabled);
		return on.length ? on.map((e) => `#${e.featureIndex} ${e.mode} ${e.strength}`).join(', ') : 'no features';
	}

	dispose(): void {
		this.changed.dispose();
	}
}
