// Attribution graph of a 64-token prompt on the demo model with its transcoder set
// (models/pycode/transcoders; goal ≤ 10 s on the development machine): the forward pass, the
// backward passes over every active feature and the top logits, then pruning and Neuronpedia
// JSON with the replacement and completeness scores. Prints times, node and edge counts, scores
// and the process's peak RSS.
// Without the shipped set (not trained yet) it runs random TopK transcoders of the same size
// (d_sae 512, k 32 per layer) and says so: the timing holds, the scores mean nothing.
//
//   node --import tsx bench/attribution.bench.ts [--threads 2] [--tokens 64] [--transcoders DIR]

import * as fs from 'node:fs';
import * as path from 'node:path';
import { attribute } from '../src/engine/attribution/attribute';
import { graphToJson } from '../src/engine/attribution/graphToJson';
import { LanguageModel } from '../src/engine/models/languageModel';
import { loadTranscoderFolder } from '../src/engine/sae/circuitTracerFormat';
import { loadSae } from '../src/engine/sae/saeFormat';
import { corpusDocuments } from '../src/engine/sae/train/corpus';
import type { Sae } from '../src/engine/sae/saeTypes';
import { DEMO } from '../src/protocol/engineProtocol';
import { inMemoryTranscoder } from '../test/saeFixtures';

const args = process.argv.slice(2);
const option = (name: string): string | undefined => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : undefined);
const threads = Number(option('threads') ?? 2) || 2;
const nTokens = Number(option('tokens') ?? 64) || 64;

async function main(): Promise<void> {
	const settings = { executionProvider: 'cpu' as const, threads };
	const model = LanguageModel.load('demo', settings);
	await model.prepare();
	const dir = path.resolve(option('transcoders') ?? path.join(__dirname, '..', 'models', 'pycode', 'transcoders'));
	let transcoders: Sae[];
	let source: string;
	if (fs.existsSync(dir)) {
		transcoders = loadTranscoderFolder(dir, (p) => loadSae(p));
		source = dir;
	} else {
		transcoders = Array.from({ length: model.cfg.nLayers }, (_, l) =>
			inMemoryTranscoder('topk', { input: `blocks.${l}.ln2.hook_normalized`, output: `blocks.${l}.hook_mlp_out`, dModel: model.cfg.dModel, dSae: 512, k: 32, seed: l }),
		);
		source = 'random TopK transcoders, d_sae 512, k 32 (the demo set is not there)';
	}
	const text = [...corpusDocuments(DEMO)()][3]!;
	const tokens = (await model.tokenizer!.encode(text)).slice(0, nTokens);
	const prompt = text.slice(0, tokens[tokens.length - 1]!.end);
	// One run to build and warm what can be warmed (the model's sessions), then the timed one.
	await model.forward({ ids: [tokens.map((t) => t.id)], logits: 'last' });
	const t0 = performance.now();
	const a = await attribute(model, transcoders, prompt, tokens, { settings });
	const t1 = performance.now();
	const json = graphToJson(a.graph, { slug: 'bench', scan: 'pycode' });
	const t2 = performance.now();
	const count = (kind: string) => a.graph.nodes.filter((n) => n.kind === kind).length;
	console.log(
		JSON.stringify({
			transcoders: source,
			tokens: tokens.length,
			threads,
			attribution_s: Number(((t1 - t0) / 1000).toFixed(2)),
			prune_and_json_s: Number(((t2 - t1) / 1000).toFixed(2)),
			total_s: Number(((t2 - t0) / 1000).toFixed(2)),
			goal_s: 10,
			features: count('feature'),
			errors: count('error'),
			tokens_nodes: count('embedding'),
			logits: count('logit'),
			edges: a.graph.edges.source.length,
			pruned_nodes: json.nodes.length,
			pruned_links: json.links.length,
			replacement_score: json.metadata.replacement_score,
			completeness_score: json.metadata.completeness_score,
			peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
		}),
	);
	await model.dispose();
}

void main();
