// feature-lens analyze and feature-lens feature: corpus analysis of an SAE's features and one
// feature's dashboard data, from the command line.

import { FeatureService } from '../engine/features/featureService';
import { SaeRunner } from '../engine/sae/saeRunner';
import type { ActivationExample, FeatureDashboardData } from '../protocol/featureProtocol';
import type { CliValues } from './main';
import { openModel } from './openModel';
import { terminalText } from './terminalText';
import { CliError, intOption } from './cliErrors';
import { cliSae } from './hubCommands';
import { sessionSettings } from './modelCommands';
import { userDataDir } from '../engine/io/userDataDir';

async function open(modelArg: string, values: CliValues, command: string): Promise<{ service: FeatureService; close: () => Promise<void> }> {
	if (!values.sae) throw new CliError(`${command} needs --sae DIR (an SAE folder or file, hf:… or release:…)`);
	const settings = sessionSettings(values);
	const log = (m: string) => {
		if (!values.json) process.stderr.write(`${m}\n`);
	};
	const model = await openModel(modelArg, settings, log);
	const runner = SaeRunner.forModel(await cliSae(values.sae, log), model, settings, log);
	const service = new FeatureService(model, runner, settings, userDataDir(), log);
	return {
		service,
		close: async () => {
			await service.dispose();
			await runner.dispose();
			await model.dispose();
		},
	};
}

export async function analyzeCommand(modelArg: string, values: CliValues): Promise<void> {
	if (!values.corpus) throw new CliError('analyze needs --corpus PATH (a folder, "dir/*.py", a text or JSONL file, or "demo")');
	if (values.tokens === undefined) throw new CliError('analyze needs --tokens N (the token budget, e.g. 300000)');
	const tokens = intOption(values.tokens, 'tokens', 0, 1);
	const { service, close } = await open(modelArg, values, 'analyze');
	// Where --export writes is checked before the corpus is analysed.
	if (values.export) {
		try {
			service.checkExportable();
		} catch (err) {
			await close();
			throw err;
		}
	}
	const abort = new AbortController();
	const onSignal = () => abort.abort();
	process.once('SIGINT', onSignal);
	let last = 0;
	try {
		const result = await service.analyze({
			corpus: values.corpus,
			tokens,
			force: values.force ?? false,
			signal: abort.signal,
			contextSize: values['context-size'] === undefined ? undefined : intOption(values['context-size'], 'context-size', 128, 2),
			onProgress: (done, total) => {
				const now = performance.now();
				if (now - last < 500 && done !== total) return;
				last = now;
				const line = `analysing: ${done}/${total} token passes (${((100 * done) / total).toFixed(0)}%)`;
				process.stderr.write(process.stderr.isTTY ? `\r${line}` : `${line}\n`);
			},
		});
		if (process.stderr.isTTY) process.stderr.write('\n');
		const exported = values.export && !result.cancelled ? service.exportAnalysis() : undefined;
		if (values.json) process.stdout.write(JSON.stringify(exported ? { ...result, exported } : result) + '\n');
		else if (result.cancelled) process.stderr.write('cancelled; nothing was written\n');
		else {
			process.stdout.write(
				`${result.reused ? 'reused the stored analysis' : 'analysed'}: ${result.tokens} tokens, ${result.dead} dead and ${result.dense} dense features` +
					`${result.reused ? '' : `, ${result.tokensPerSecond} tokens/s`}\n${result.dir}\n${exported ? `exported to ${exported}\n` : ''}`,
			);
		}
		if (result.cancelled) process.exitCode = 130;
	} finally {
		process.off('SIGINT', onSignal);
		await close();
	}
}

export async function featureCommand(modelArg: string, values: CliValues): Promise<void> {
	if (values.index === undefined) throw new CliError('feature needs --index I (the feature number)');
	const index = intOption(values.index, 'index', 0, 0);
	const { service, close } = await open(modelArg, values, 'feature');
	try {
		const data = await service.dashboard(index);
		if (values.json) process.stdout.write(JSON.stringify(data) + '\n');
		else process.stdout.write(describe(data));
	} finally {
		await close();
	}
}

/** A human-readable dashboard: label, density, logit lens, neighbours and a few examples. */
function describe(d: FeatureDashboardData): string {
	const lines: string[] = [];
	const flags = [d.dead ? 'dead' : '', d.dense ? 'dense' : ''].filter(Boolean).join(', ');
	lines.push(`feature ${d.featureIndex} of ${d.dSae} at ${d.hookName}${flags ? ` (${flags})` : ''}`);
	lines.push(`label: ${terminalText(d.label) || '—'}${d.userLabel ? ` (automatic: ${terminalText(d.autoLabel) || '—'})` : ''}`);
	if (d.notes) lines.push(`notes: ${terminalText(d.notes)}`);
	if (d.analysed) {
		lines.push(`density ${(100 * d.density).toFixed(3)}% of ${d.analysedTokens} tokens (${d.corpus}), mean ${d.meanActivation.toFixed(3)}, max ${d.maxActivation.toFixed(3)}`);
	} else {
		lines.push(`not analysed yet (feature-lens analyze <model> --sae … --corpus … --tokens N)${d.density > 0 ? `; density ${(100 * d.density).toFixed(3)}% from sparsity.safetensors` : ''}`);
	}
	const tokens = (list: { text: string; value: number }[]) => list.map((t) => `${JSON.stringify(t.text)} ${t.value >= 0 ? '+' : ''}${t.value.toFixed(2)}`).join(', ');
	if (d.logitLens.positive.length) {
		lines.push(`logit lens +: ${tokens(d.logitLens.positive)}`);
		lines.push(`logit lens −: ${tokens(d.logitLens.negative)}`);
	}
	lines.push(`neighbours: ${d.neighbours.map((n) => `#${n.featureIndex} ${n.cosine.toFixed(2)}${n.label ? ` (${terminalText(n.label)})` : ''}`).join(', ')}`);
	const show = (e: ActivationExample) => {
		const text = e.tokens.map((t, i) => (i === e.focusIndex ? `[[${t}]]` : t)).join('');
		return `  ${e.focusActivation.toFixed(2).padStart(7)}  ${JSON.stringify(text)}  ${e.source}:${e.position}`;
	};
	if (d.topExamples.length) {
		lines.push('top examples:');
		for (const e of d.topExamples.slice(0, 5)) lines.push(show(e));
	}
	for (const q of d.quantiles) {
		if (q.examples.length === 0) continue;
		lines.push(`band ${q.min.toFixed(2)}–${q.max.toFixed(2)} (${(100 * q.contains).toFixed(1)}% of firings):`);
		lines.push(show(q.examples[0]!));
	}
	return lines.join('\n') + '\n';
}
