// The training monitor: live charts of loss, L0, explained variance, dead fraction and
// tokens/s (uPlot), with Cancel and Resume. All text is set with textContent.

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { TrainStepMetrics } from '../../src/protocol/engineProtocol';
import { button } from '../components/controls';
import type { FromTrainingMonitor, RunDescription, ToTrainingMonitor } from '../../src/protocol/trainingMonitorMessages';

interface VsCodeApi {
	postMessage(message: FromTrainingMonitor): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const root = document.getElementById('root')!;

const SERIES: { key: keyof TrainStepMetrics; title: string; scale?: (v: number) => number }[] = [
	{ key: 'loss', title: 'Loss' },
	{ key: 'l0', title: 'L0 (active latents per token)' },
	{ key: 'explainedVariance', title: 'Explained variance' },
	{ key: 'deadFraction', title: 'Dead latents (%)', scale: (v) => 100 * v },
	{ key: 'tokensPerSecond', title: 'Tokens per second' },
];

const steps: number[] = [];
const values: number[][] = SERIES.map(() => []);
let charts: uPlot[] = [];

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string): HTMLElementTagNameMap[K] {
	const node = document.createElement(tag);
	if (text !== undefined) node.textContent = text;
	if (className) node.className = className;
	return node;
}

const header = el('h1', 'Training an SAE');
const details = el('p', '', 'details');
const status = el('p', 'waiting for the first step…', 'status');
const cancel = button(
	'Cancel',
	() => {
		cancel.disabled = true;
		vscode.postMessage({ type: 'cancel' });
	},
	{ ariaLabel: 'Stop the run (its checkpoint is kept)' },
);
const resume = button(
	'Resume',
	() => {
		resume.disabled = true;
		vscode.postMessage({ type: 'resume' });
	},
	{ appearance: 'secondary', disabled: true, ariaLabel: 'Continue the run from its checkpoint' },
);
const evaluation = el('p', '', 'status');
const controls = el('div', undefined, 'controls');
controls.append(cancel, resume);
const grid = el('div', undefined, 'charts');
root.replaceChildren(header, details, status, evaluation, controls, grid);

function css(name: string, fallback: string): string {
	return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

function buildCharts(): void {
	grid.replaceChildren();
	const stroke = css('--vscode-charts-blue', '#3794ff');
	const axis = { stroke: css('--vscode-foreground', '#ccc'), grid: { stroke: css('--vscode-panel-border', '#444'), width: 1 }, ticks: { stroke: css('--vscode-panel-border', '#444') } };
	charts = SERIES.map((s, i) => {
		const box = el('section', undefined, 'chart');
		box.append(el('h2', s.title));
		grid.append(box);
		return new uPlot(
			{
				width: Math.max(280, Math.floor((root.clientWidth - 48) / 2)),
				height: 180,
				legend: { show: false },
				cursor: { drag: { x: false, y: false } },
				scales: { x: { time: false } },
				axes: [
					{ ...axis, label: 'step' },
					{ ...axis, size: 60 },
				],
				series: [{}, { stroke, width: 2, points: { show: false } }],
			},
			[steps, values[i]!],
			box,
		);
	});
}

function describe(run: RunDescription): string {
	return `${run.architecture} · d_sae ${run.dSae} · ${run.hookName} · ${run.tokens.toLocaleString()} tokens → ${run.out}`;
}

window.addEventListener('message', (event: MessageEvent<ToTrainingMonitor>) => {
	const message = event.data;
	if (message.type === 'start') {
		if (!message.resumed) {
			steps.length = 0;
			values.forEach((v) => {
				v.length = 0;
			});
		}
		details.textContent = describe(message.run);
		evaluation.textContent = '';
		status.textContent = message.resumed ? 'resuming from the checkpoint…' : 'starting…';
		cancel.disabled = false;
		resume.disabled = true;
		buildCharts();
	} else if (message.type === 'metrics') {
		const m = message.metrics;
		steps.push(m.step);
		SERIES.forEach((s, i) => values[i]!.push(s.scale ? s.scale(m[s.key]) : m[s.key]));
		charts.forEach((c, i) => c.setData([steps, values[i]!]));
		status.textContent = `step ${m.step} / ${m.totalSteps} · loss ${m.loss.toPrecision(4)} · L0 ${m.l0.toFixed(1)} · EV ${m.explainedVariance.toFixed(3)} · dead ${(100 * m.deadFraction).toFixed(1)}% · ${Math.round(m.tokensPerSecond).toLocaleString()} tok/s`;
	} else if (message.type === 'evaluated') {
		const e = message.metrics;
		evaluation.textContent =
			`Evaluation on ${e.tokens.toLocaleString()} tokens of the training text: L0 ${e.l0.toFixed(1)} · explained variance ${e.explainedVariance.toFixed(3)} · ` +
			`CE loss ${e.ceLossWithoutSae.toFixed(3)} → ${e.ceLossWithSae.toFixed(3)} with the SAE (CE-loss score ${e.ceLossScore.toFixed(3)}) · KL score ${e.klDivScore.toFixed(3)} · dead ${(100 * e.deadFraction).toFixed(1)}%`;
	} else {
		cancel.disabled = true;
		if (message.cancelledBeforeStart) status.textContent = 'cancelled before the first step';
		else if (message.error) status.textContent = `failed: ${message.error}`;
		else if (message.result?.cancelled) {
			status.textContent = `stopped at step ${message.result.steps}; the checkpoint is kept, Resume continues from it`;
			resume.disabled = false;
		} else if (message.result) {
			status.textContent = `done: ${message.result.steps} steps, ${message.result.tokens.toLocaleString()} tokens at ${Math.round(message.result.tokensPerSecond).toLocaleString()} tok/s; the SAE is loaded`;
		}
	}
});

vscode.postMessage({ type: 'ready' });
