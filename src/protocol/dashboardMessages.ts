// Messages between the extension host and a feature dashboard webview (JSON-serializable).
// One panel shows one feature of the loaded SAE.

import type { FeatureDashboardData, FeatureSummary, FeatureTextActivations } from './featureProtocol';

/** Host → webview. */
export type ToDashboard =
	/** The panel is (re)loading this feature's data. */
	| { type: 'loading'; featureIndex: number }
	/** The feature's dashboard data, sent after `ready` and after every refresh. */
	| { type: 'data'; data: FeatureDashboardData }
	/** Loading failed (no SAE, no engine handler, feature out of range…). */
	| { type: 'error'; featureIndex: number; message: string }
	/** The label and notes were saved; `summary.label` is the label now in effect (the automatic one when `userLabel` is empty). */
	| { type: 'labelSaved'; summary: FeatureSummary; userLabel: string; notes: string }
	| { type: 'labelError'; message: string }
	/** The feature's activations on the user's own text. */
	| { type: 'textActivations'; result: FeatureTextActivations }
	| { type: 'textError'; message: string }
	/** A corpus analysis started or ended (the "Analyse corpus…" button is busy meanwhile). */
	| { type: 'analysing'; running: boolean };

/** Webview → host. */
export type FromDashboard =
	/** The webview's script is running and can receive messages. */
	| { type: 'ready' }
	/** Open another feature's dashboard (a neighbour was chosen). */
	| { type: 'openFeature'; featureIndex: number }
	/** Save the user's label and notes for this panel's feature. */
	| { type: 'saveLabel'; label: string; notes: string }
	/** "Test your own text": this feature's activation on every token of `text`. */
	| { type: 'testText'; text: string }
	/** Run a corpus analysis for the loaded SAE (asks for the corpus), then refresh. */
	| { type: 'analyze' }
	/** Load this feature's data again. */
	| { type: 'refresh' }
	/** Add this panel's feature to the Steering view. */
	| { type: 'steer' };

/** How much context around the focus token an example shows (Neuronpedia's Snippet / Full). */
export type ContextSize = 'snippet' | 'wide' | 'full';

/** What the webview keeps across reloads (vscode.getState/setState); the host's panel serializer reads `featureIndex`. */
export interface DashboardState {
	featureIndex: number;
	contextSize: ContextSize;
	/** Render newlines in examples as line breaks (they are always shown as ↵). */
	showBreaks: boolean;
	testText: string;
}

/** Longest label, notes and test text the host accepts from a webview. */
export const DASHBOARD_LIMITS = { label: 200, notes: 20_000, text: 20_000 } as const;
