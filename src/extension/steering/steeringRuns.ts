// The sidebar's generations: a baseline/steered comparison or a sweep over one feature's
// strength, sent to the engine, streamed into a RunView as tokens arrive, and cancelled through
// the JSON-RPC request's token. One run at a time: starting one cancels the last. The host keeps
// the RunView so a sidebar that was hidden (its webview destroyed) shows the run again, still
// streaming, when it comes back. Free of `vscode`: tested against the real engine process.

import { CancellationTokenSource } from 'vscode-jsonrpc';
import { SteerTokenNotification, SteeredGenerateRequest, SweepRequest } from '../../protocol/steerProtocol';
import type { Completion, SamplingSettings, SteerSpec, SteerToken, VectorSteer } from '../../protocol/steerProtocol';
import { errorMessage, isCancelled } from '../../protocol/errors';
import type { RunView, SteeringSetup, StreamedToken } from '../../protocol/steeringViewMessages';
import type { EngineProcess } from '../engineProcess';
import { toSteerSpec } from '../../protocol/steeringSetup';
import { pinnedToSae } from '../attribution/traceToken';
import type { TraceableCompletion } from '../attribution/traceToken';

export interface RunListener {
	started(run: RunView): void;
	/** Tokens in arrival order for one column (or sweep entry). */
	tokens(runId: string, which: 'baseline' | 'steered', sweepIndex: number | undefined, tokens: StreamedToken[]): void;
	ended(run: RunView): void;
}

export interface CompareRequest {
	prompt: string;
	setup: SteeringSetup;
	sampling: SamplingSettings;
	/** The loaded SAE's source, which the setup's features are of: a later trace steers the same features. */
	saeSource?: string;
}

export interface SweepRunRequest extends CompareRequest {
	featureIndex: number;
	strengths: number[];
}

let runCounter = 0;

export class SteeringRuns {
	private current: { run: RunView; cancel: CancellationTokenSource } | undefined;
	private last: RunView | undefined;
	/** How the last comparison was generated, for tracing its tokens. */
	private generated: { runId: string; prompt: string; promptIds: number[]; steer: SteerSpec } | undefined;

	/** `vectors` gives the raw steering vectors a setup adds (its contrast vector), computed by the engine. */
	constructor(
		private readonly engine: EngineProcess,
		private readonly listener: RunListener,
		private readonly vectors: (setup: SteeringSetup) => Promise<VectorSteer[]> = async () => [],
	) {}

	/** The running run, or the last one that ended. */
	get view(): RunView | undefined {
		return this.current?.run ?? this.last;
	}

	get running(): boolean {
		return this.current !== undefined;
	}

	cancel(): void {
		this.current?.cancel.cancel();
	}

	/** Baseline and steered completions with the same seed. Resolves when the run has ended. */
	async compare(request: CompareRequest): Promise<RunView> {
		const runId = `steer-${process.pid}-${++runCounter}`;
		const run: RunView = { kind: 'compare', runId, prompt: request.prompt, baseline: [], steered: [] };
		return this.execute(run, async (onToken, token) => {
			const steer = { ...toSteerSpec(request.setup), vectors: await this.vectors(request.setup) };
			const result = await this.engine.requestWithProgress(
				SteeredGenerateRequest,
				{
					prompt: request.prompt,
					steer,
					baseline: true,
					...request.sampling,
				},
				SteerTokenNotification,
				onToken,
				token,
			);
			if (run.kind !== 'compare') return;
			// The final answer is authoritative: notifications can trail the response, or be lost with a hidden view.
			run.steered = finalTokens(result.steered, run.steered);
			if (result.baseline) run.baseline = finalTokens(result.baseline, run.baseline);
			run.done = { steeredStop: result.steered.stopReason, baselineStop: result.baseline?.stopReason, cancelled: result.cancelled };
			this.generated = { runId, prompt: request.prompt, promptIds: result.promptIds, steer: pinnedToSae(steer, request.saeSource) };
		});
	}

	/** A column of the last comparison, to trace one of its tokens as it was generated (the steered one under its steering). */
	traceable(runId: string, which: 'baseline' | 'steered'): TraceableCompletion {
		const run = this.view;
		const generated = this.generated;
		if (!run || run.kind !== 'compare' || run.runId !== runId || !generated || generated.runId !== runId) {
			throw new Error('that completion is no longer the last one; generate again to trace its tokens');
		}
		return {
			what: `${which} completion`,
			prompt: generated.prompt,
			promptIds: generated.promptIds,
			tokens: run[which].map((t) => ({ id: t.id, text: t.text })),
			...(which === 'steered' ? { steer: generated.steer } : {}),
		};
	}

	/** One steered completion per strength of `featureIndex`, the setup's other enabled entries held fixed. */
	async sweep(request: SweepRunRequest): Promise<RunView> {
		const entry = request.setup.entries.find((e) => e.featureIndex === request.featureIndex);
		if (!entry) throw new Error(`feature ${request.featureIndex} is not in the steering list`);
		const runId = `sweep-${process.pid}-${++runCounter}`;
		const run: RunView = {
			kind: 'sweep',
			runId,
			prompt: request.prompt,
			featureIndex: request.featureIndex,
			mode: entry.mode,
			strengths: [...request.strengths],
			entries: request.strengths.map(() => []),
		};
		const others: SteeringSetup = { ...request.setup, entries: request.setup.entries.filter((e) => e.featureIndex !== request.featureIndex) };
		return this.execute(run, async (onToken, token) => {
			const results = await this.engine.requestWithProgress(
				SweepRequest,
				{
					prompt: request.prompt,
					feature: { featureIndex: request.featureIndex, mode: entry.mode },
					strengths: request.strengths,
					steer: { ...toSteerSpec(others), vectors: await this.vectors(others) },
					...request.sampling,
				},
				SteerTokenNotification,
				onToken,
				token,
			);
			if (run.kind !== 'sweep') return;
			results.forEach((r, i) => {
				const streamed = run.entries[i] ?? [];
				run.entries[i] = finalTokens(r.completion, streamed);
			});
			run.done = { cancelled: false };
		});
	}

	/** Runs `work`, which streams its tokens to the `onToken` it is given, as the current run. */
	private async execute(run: RunView, work: (onToken: (t: SteerToken) => void, token: CancellationTokenSource['token']) => Promise<void>): Promise<RunView> {
		this.current?.cancel.cancel();
		const cancel = new CancellationTokenSource();
		const mine = { run, cancel };
		this.current = mine;
		this.listener.started(cloneRun(run));
		const pending: { which: 'baseline' | 'steered'; sweepIndex: number | undefined; tokens: StreamedToken[] }[] = [];
		let flushTimer: ReturnType<typeof setTimeout> | undefined;
		const flush = () => {
			flushTimer = undefined;
			for (const p of pending.splice(0)) this.listener.tokens(run.runId, p.which, p.sweepIndex, p.tokens);
		};
		const onToken = (t: SteerToken) => {
			const token = { id: t.id, text: t.text };
			const column = columnOf(run, t);
			if (!column) return;
			column.push(token);
			// Batch the tokens of one tick into one webview message per column.
			const last = pending.at(-1);
			if (last && last.which === t.which && last.sweepIndex === t.sweepIndex) last.tokens.push(token);
			else pending.push({ which: t.which, sweepIndex: t.sweepIndex, tokens: [token] });
			flushTimer ??= setTimeout(flush, 16);
		};
		try {
			await work(onToken, cancel.token);
		} catch (err) {
			if (cancel.token.isCancellationRequested && isCancelled(err)) run.done = { cancelled: true };
			else run.error = errorMessage(err);
		} finally {
			if (flushTimer) clearTimeout(flushTimer);
			flush();
			cancel.dispose();
			if (this.current === mine) this.current = undefined;
		}
		// A run replaced by a newer one ends quietly: the view already shows the newer one.
		if (this.current) return run;
		this.last = run;
		this.listener.ended(cloneRun(run));
		return run;
	}
}

function columnOf(run: RunView, t: SteerToken): StreamedToken[] | undefined {
	if (run.kind === 'compare') return t.sweepIndex === undefined ? run[t.which] : undefined;
	return t.sweepIndex !== undefined ? run.entries[t.sweepIndex] : undefined;
}

/**
 * The streamed tokens when they add up to the final completion (they do: the engine sends them
 * before its answer, in order); otherwise the final ids, with the whole text on the first token
 * so nothing is lost from view.
 */
export function finalTokens(completion: Completion, streamed: readonly StreamedToken[]): StreamedToken[] {
	const sameIds = streamed.length === completion.ids.length && streamed.every((t, i) => t.id === completion.ids[i]);
	const joined = streamed.map((t) => t.text).join('');
	if (sameIds && joined === completion.text) return [...streamed];
	// A last token that ends inside a multi-byte character streams '' and the answer decodes it as U+FFFD.
	if (sameIds && streamed.length > 0 && completion.text.startsWith(joined)) {
		const tokens = [...streamed];
		tokens[tokens.length - 1] = { ...tokens.at(-1)!, text: tokens.at(-1)!.text + completion.text.slice(joined.length) };
		return tokens;
	}
	return completion.ids.map((id, i) => ({ id, text: i === 0 ? completion.text : '' }));
}

function cloneRun(run: RunView): RunView {
	return JSON.parse(JSON.stringify(run)) as RunView;
}
