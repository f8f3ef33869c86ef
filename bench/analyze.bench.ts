// Feature-analysis throughput on the demo model and SAE: tokens/s over both passes, and the
// share of time in the model forward, the SAE encode, the statistics bookkeeping and the rest
// (tokenization). Nothing is written to disk.
//
//   node --import tsx bench/analyze.bench.ts [--tokens 50000] [--threads 2]

import { analyzeFeatures } from '../src/engine/features/analyzeFeatures';
import { LanguageModel } from '../src/engine/models/languageModel';
import { demoSaeDir } from '../src/engine/models/modelPaths';
import { loadSae } from '../src/engine/sae/saeFormat';
import { SaeRunner } from '../src/engine/sae/saeRunner';
import { namedCorpusDocuments } from '../src/engine/sae/train/corpus';
import { DEMO } from '../src/protocol/engineProtocol';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => (args.includes(`--${name}`) ? Number(args[args.indexOf(`--${name}`) + 1]) : fallback);
const tokens = option('tokens', 50_000);
const threads = option('threads', 2);

async function main(): Promise<void> {
	const settings = { executionProvider: 'cpu' as const, threads };
	const model = LanguageModel.load('demo', settings);
	const runner = SaeRunner.forModel(loadSae(demoSaeDir()), model, settings);
	// Warm up: build the model and SAE sessions outside the measurement.
	await analyzeFeatures(model, runner, namedCorpusDocuments(DEMO), { tokens: 1000 });
	const a = await analyzeFeatures(model, runner, namedCorpusDocuments(DEMO), { tokens });
	const t = a.timing;
	const share = (ms: number) => Number((ms / t.totalMs).toFixed(3));
	console.log(
		JSON.stringify({
			tokens: a.tokens,
			threads,
			seconds: Number((t.totalMs / 1000).toFixed(2)),
			tokens_per_s: Math.round(a.tokens / (t.totalMs / 1000)),
			share: { forward: share(t.forwardMs), sae: share(t.saeMs), bookkeeping: share(t.bookkeepingMs), other: share(t.otherMs) },
			ms: { forward: Math.round(t.forwardMs), sae: Math.round(t.saeMs), bookkeeping: Math.round(t.bookkeepingMs), other: Math.round(t.otherMs) },
			examples_kept: a.table.start.length,
			example_tokens_stored: a.table.tokens.length,
		}),
	);
	await runner.dispose();
	await model.dispose();
}

void main();
