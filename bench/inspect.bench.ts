// Engine-side latency of "Inspect Selection" on the demo model and SAE: 256 tokens of Python,
// warm (sessions built), as the extension runs it. Prints p50/p90 over repeated runs.
//
//   node --import tsx bench/inspect.bench.ts [--threads 2]

import { LanguageModel } from '../src/engine/models/languageModel';
import { demoSaeDir } from '../src/engine/models/modelPaths';
import { inspectTokens } from '../src/engine/sae/inspect';
import { loadSae } from '../src/engine/sae/saeFormat';
import { SaeRunner } from '../src/engine/sae/saeRunner';
import { corpusDocuments } from '../src/engine/sae/train/corpus';
import { DEMO } from '../src/protocol/engineProtocol';

const args = process.argv.slice(2);
const threads = Number(args[args.indexOf('--threads') + 1] ?? 2) || 2;

async function main(): Promise<void> {
	const settings = { executionProvider: 'cpu' as const, threads };
	const model = LanguageModel.load('demo', settings);
	const runner = SaeRunner.forModel(loadSae(demoSaeDir()), model, settings);
	const text = [...corpusDocuments(DEMO)()][3]!;
	const tokens = (await model.tokenizer!.encode(text)).slice(0, 256);
	const times: number[] = [];
	for (let i = 0; i < 25; i++) {
		const t0 = performance.now();
		await inspectTokens(model, runner, tokens, { topFeatures: 5 });
		if (i >= 5) times.push(performance.now() - t0);
	}
	times.sort((a, b) => a - b);
	const at = (q: number) => Number(times[Math.floor(q * (times.length - 1))]!.toFixed(1));
	console.log(JSON.stringify({ tokens: tokens.length, threads, p50_ms: at(0.5), p90_ms: at(0.9), goal_p50_ms: 50 }));
	await runner.dispose();
	await model.dispose();
}

void main();
