// Messages between the extension host and the steering sidebar webview (JSON-serializable),
// and the shapes the sidebar keeps: its steering (features, positions), sampling settings and
// presets. The host checks everything a webview posts (src/extension/steering/steeringMessageGuard.ts).

import type { SteerMode, SteerPositions } from './steerModes';
import type { Completion, SamplingSettings } from './steerProtocol';

/** One feature in the sidebar's list: what the user chose for it. */
export interface SteeringEntry {
	featureIndex: number;
	/** The feature's label when known ("" otherwise); shown, never sent to the engine. */
	label: string;
	mode: SteerMode;
	strength: number;
	/** Unticked entries stay in the list but do not steer. */
	enabled: boolean;
}

/**
 * Contrastive activation addition from the sidebar: strength × (mean activation on `positive`
 * − mean on `negative`) at the SAE's hook, added with the features.
 */
export interface ContrastSetup {
	positive: string;
	negative: string;
	strength: number;
	enabled: boolean;
}

/** The sidebar's current steering: what a steered completion (sidebar or inline) applies. */
export interface SteeringSetup {
	entries: SteeringEntry[];
	positions: SteerPositions;
	contrast?: ContrastSetup;
}

/** A named steering setup saved for one SAE. */
export interface SteeringPreset extends SteeringSetup {
	name: string;
	/** When it was saved (ms since the epoch), so lists can show the newest first. */
	savedAt: number;
}

/** What the loaded SAE offers, for the picker's range check and the header. */
export interface SteeringSaeInfo {
	source: string;
	hookName: string;
	dSae: number;
	modelName: string;
	/** The model's context length: prompt plus completion must fit in it. */
	nCtx: number;
}

/** A feature offered by the picker (from a label search or a typed number). */
export interface PickerHit {
	featureIndex: number;
	label: string;
	/** e.g. "density 0.12% · max 14.2", or "" when the SAE has no analysis. */
	detail: string;
}

/** One streamed token of a completion (untrusted model text: render as text). */
export interface StreamedToken {
	id: number;
	text: string;
}

/** The last run the sidebar shows: a baseline/steered comparison or a sweep over one feature. */
export type RunView =
	| {
			kind: 'compare';
			runId: string;
			prompt: string;
			baseline: StreamedToken[];
			steered: StreamedToken[];
			/** Set when the run ended. */
			done?: { baselineStop?: Completion['stopReason']; steeredStop?: Completion['stopReason']; cancelled: boolean };
			error?: string;
	  }
	| {
			kind: 'sweep';
			runId: string;
			prompt: string;
			featureIndex: number;
			mode: SteerMode;
			strengths: number[];
			/** [strengths.length] streamed completions, one per strength. */
			entries: StreamedToken[][];
			done?: { cancelled: boolean };
			error?: string;
	  };

/** Host → webview. */
export type ToSteeringView =
	/** The loaded SAE (undefined until one is loaded), and whether steered inline completions are on. */
	| { type: 'context'; sae?: SteeringSaeInfo; inlineEnabled: boolean }
	/** The steering (and sampling settings, when given) to show: on `ready`, and when a preset loads. */
	| { type: 'setup'; setup: SteeringSetup; sampling?: SamplingSettings }
	/** Fill the prompt box (from "Steer Selection"). */
	| { type: 'prompt'; prompt: string }
	/** Add this feature to the list, or focus it if it is there ("Steer with this feature"). */
	| { type: 'addFeature'; featureIndex: number; label: string }
	/** Picker results for the query the webview sent; `note` explains an empty or partial answer. */
	| { type: 'searchResults'; query: string; hits: PickerHit[]; note?: string }
	/** A label learnt after an entry was added by number. */
	| { type: 'featureLabel'; featureIndex: number; label: string }
	/** The saved presets of the loaded SAE, newest first. */
	| { type: 'presets'; names: string[] }
	/** A run started; replaces whatever the results area showed. */
	| { type: 'runStarted'; run: RunView }
	/** Tokens of the running run, in order (several may arrive in one message). */
	| { type: 'tokens'; runId: string; which: 'baseline' | 'steered'; sweepIndex?: number; tokens: StreamedToken[] }
	/** The run ended (finished, cancelled or failed); `run` is its final state. */
	| { type: 'runEnded'; run: RunView }
	/** A message for the status line under the buttons (e.g. "Copied", a failed preset save). */
	| { type: 'notice'; message: string; error?: boolean };

/** Webview → host. */
export type FromSteeringView =
	/** The webview's script is running and can receive messages. */
	| { type: 'ready' }
	/** The user changed the steering or the sampling settings (the host keeps them for inline completions). */
	| { type: 'setupChanged'; setup: SteeringSetup; sampling: SamplingSettings }
	/** Find features by label or number for the picker. */
	| { type: 'search'; query: string }
	/** A feature added by number: the host answers with its label when it can. */
	| { type: 'lookupLabel'; featureIndex: number }
	/** Baseline and steered completions of `prompt`. */
	| { type: 'generate'; prompt: string; setup: SteeringSetup; sampling: SamplingSettings }
	/** Completions for several strengths of one listed feature; the other enabled entries stay fixed. */
	| { type: 'sweep'; prompt: string; setup: SteeringSetup; sampling: SamplingSettings; featureIndex: number; strengths: number[] }
	/** Stop the running generation or sweep. */
	| { type: 'cancel' }
	/** Insert text at the cursor of the last active editor, or copy it to the clipboard. */
	| { type: 'insert'; text: string }
	| { type: 'copy'; text: string }
	/** Save the current setup under a name (the host asks for one when `name` is absent). */
	| { type: 'savePreset'; setup: SteeringSetup; name?: string }
	| { type: 'loadPreset'; name: string }
	| { type: 'deletePreset'; name: string }
	| { type: 'openDashboard'; featureIndex: number }
	/** Pick a token of the last comparison's baseline or steered completion and trace it (an attribution graph). */
	| { type: 'traceToken'; runId: string; which: 'baseline' | 'steered' }
	| { type: 'toggleInline' };

/** What the webview keeps across hiding and reloads (vscode.getState/setState). */
export interface SteeringViewState {
	setup: SteeringSetup;
	sampling: SamplingSettings;
	prompt: string;
	/** The sweep's strengths as typed, e.g. "-40, 0, 20, 40". */
	sweepStrengths: string;
	/** The feature the sweep varies (-1: the first listed). */
	sweepFeature: number;
	run?: RunView;
}

/**
 * The sidebar's sampling defaults: Neuronpedia's temperature 0.5 and seed 16, top-p 1 (off);
 * 64 new tokens rather than its 256, because small local models have short contexts (the demo
 * model's is 256 tokens, prompt included) and a sidebar shows a few lines.
 */
export const SIDEBAR_SAMPLING: SamplingSettings = { maxNewTokens: 64, temperature: 0.5, topP: 1, seed: 16 };

/** Neuronpedia's strength for a feature added by number (apps/webapp components/steer/steerer.tsx). */
export const DEFAULT_STRENGTH = 20;

/** Limits the host enforces on what a webview posts. */
export const STEERING_LIMITS = {
	prompt: 20_000,
	entries: 32,
	label: 200,
	query: 200,
	presetName: 80,
	sweepStrengths: 12,
	/** |strength| above this is refused: it only blows the residual stream up. */
	strength: 10_000,
	maxNewTokens: 1024,
	insertText: 100_000,
} as const;
