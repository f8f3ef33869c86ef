// Tokens/s of steered vs unsteered generation on the demo model and SAE (KV cache, one token
// per call, as the steering sidebar runs it): the baseline graph against add (intervene input),
// a contrast vector, clamp (SAE subgraph with the full TopK encode) and clamp + cap + add.
// Rounds alternate the variants so machine noise hits them alike; per variant the median and
// the best run (the least disturbed one on a shared machine) are reported.
//
//   npm run bench:steer      (or: node --import tsx bench/steer.bench.ts [--threads 1] [--tokens 128] [--rounds 7])
//
// Prints one JSON object with tokens/s and the overhead of each steered variant; no pass/fail
// (goal: overhead ≤ 5 %).

import { LanguageModel } from '../src/engine/models/languageModel';
import { generate } from '../src/engine/models/generate';
import { demoSaeDir } from '../src/engine/models/modelPaths';
import { loadSae } from '../src/engine/sae/saeFormat';
import { SaeRunner } from '../src/engine/sae/saeRunner';
import { contrastVector } from '../src/engine/steer/contrast';
import { compileSteering } from '../src/engine/steer/steering';
import type { CompiledSteering } from '../src/engine/steer/steering';
import type { SteerSpec } from '../src/protocol/steerProtocol';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
	const i = args.indexOf(`--${name}`);
	return i >= 0 ? Number(args[i + 1]) || fallback : fallback;
};
const threads = option('threads', 1);
const TOKENS = option('tokens', 128);
const ROUNDS = option('rounds', 15);
const PROMPT = 'class Parser:\n    def __init__(self, text):\n        self.text = text\n\n    def parse(self):\n';

function median(xs: number[]): number {
	const s = [...xs].sort((a, b) => a - b);
	return s[s.length >> 1]!;
}

async function main(): Promise<void> {
	const settings = { executionProvider: 'cpu' as const, threads };
	const model = LanguageModel.load('demo', settings);
	const runner = SaeRunner.forModel(loadSae(demoSaeDir()), model, settings);
	const promptIds = (await model.tokenizer!.encode(PROMPT)).map((t) => t.id);
	const contrast = await contrastVector(model, runner.hookName, '# a comment about the code', 'x = f(a, b)', settings);
	const specs: Record<string, SteerSpec> = {
		add: { features: [{ featureIndex: 1132, mode: 'add', strength: 20 }], vectors: [], positions: 'all' },
		vector: { features: [], vectors: [{ hookName: runner.hookName, vector: Array.from(contrast.vector), strength: 4, label: 'comment − code' }], positions: 'all' },
		clamp: { features: [{ featureIndex: 1132, mode: 'clamp', strength: 20 }], vectors: [], positions: 'all' },
		'clamp+cap+add': {
			features: [
				{ featureIndex: 1132, mode: 'clamp', strength: 20 },
				{ featureIndex: 2971, mode: 'cap', strength: 2 },
				{ featureIndex: 2156, mode: 'add', strength: 5 },
			],
			vectors: [],
			positions: 'generated',
		},
	};
	const variants: [string, CompiledSteering | undefined][] = [['baseline', undefined], ...Object.entries(specs).map(([k, s]): [string, CompiledSteering] => [k, compileSteering(model, runner, s)])];
	const cpuRates = new Map<string, number[]>(variants.map(([k]) => [k, []]));
	/** Tokens per wall second; also records tokens per CPU second of this process (less sensitive to other load on a shared machine). */
	const run = async (steering: CompiledSteering | undefined, key?: string): Promise<number> => {
		const t0 = performance.now();
		const cpu0 = process.cpuUsage();
		let n = 0;
		for await (const _ of generate(model, promptIds, {
			maxNewTokens: TOKENS,
			temperature: 0.5,
			seed: 16,
			stopAtEos: false,
			...(steering ? { callInputs: (call) => steering.callInputs(call) } : {}),
		}))
			n++;
		const cpu = process.cpuUsage(cpu0);
		if (key) cpuRates.get(key)!.push(n / ((cpu.user + cpu.system) / 1e6));
		return n / ((performance.now() - t0) / 1000);
	};
	for (const [, s] of variants) await run(s); // build sessions, warm up
	const rates = new Map<string, number[]>(variants.map(([k]) => [k, []]));
	for (let round = 0; round < ROUNDS; round++) {
		const order = round % 2 === 0 ? variants : [...variants].reverse();
		for (const [k, s] of order) rates.get(k)!.push(await run(s, k));
	}
	const summary = (k: string) => ({ median: median(rates.get(k)!), best: Math.max(...rates.get(k)!), cpu: median(cpuRates.get(k)!) });
	const baseline = summary('baseline');
	const round1 = (x: number) => Number(x.toFixed(1));
	const result: Record<string, unknown> = {
		model: model.name,
		sae: runner.hookName,
		threads,
		tokens: TOKENS,
		rounds: ROUNDS,
		baseline: { tokens_per_s_median: round1(baseline.median), tokens_per_s_best: round1(baseline.best), tokens_per_cpu_s: round1(baseline.cpu) },
	};
	for (const [k] of variants.slice(1)) {
		const r = summary(k);
		result[k] = {
			tokens_per_s_median: round1(r.median),
			tokens_per_s_best: round1(r.best),
			tokens_per_cpu_s: round1(r.cpu),
			overhead_percent_median: round1(100 * (baseline.median / r.median - 1)),
			overhead_percent_best: round1(100 * (baseline.best / r.best - 1)),
			cpu_overhead_percent: round1(100 * (baseline.cpu / r.cpu - 1)),
		};
	}
	result.sessions = model.cachedGraphCount();
	result.goal_overhead_percent = 5;
	console.log(JSON.stringify(result));
	await runner.dispose();
	await model.dispose();
}

void main();
