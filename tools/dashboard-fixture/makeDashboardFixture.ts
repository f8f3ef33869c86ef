// Writes test/fixtures/dashboard/*.json: FeatureDashboardData for one feature of the demo SAE,
// used to develop and test the dashboard webview before the engine's analysis lands. The
// tokens and activations are real (the demo model and SAE on documents of the demo corpus,
// through `feature-lens inspect --top 32`, which for this TopK k=32 SAE lists every nonzero
// activation); the statistics are computed from those documents only; the logit lens is
// W_dec[i]·diag(ln_f.weight)·W_Eᵀ and neighbours are decoder cosines, computed here in plain JS
// (a fixture tool, not engine code). Hostile strings are mixed in on purpose, as a corpus that
// contains HTML would produce them: the dashboard must show them as literal text.
//
//   node esbuild.mjs && node --import tsx tools/dashboard-fixture/makeDashboardFixture.ts

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { readSafetensorsHeader, readTensor } from '../../src/engine/io/safetensors';
import type { ActivationExample, ActivationHistogram, FeatureDashboardData, QuantileBand } from '../../src/protocol/featureProtocol';

const ROOT = path.resolve(__dirname, '..', '..');
const SAE = path.join(ROOT, 'models/pycode/saes/blocks.2.hook_resid_pre');
const OUT = path.join(ROOT, 'test/fixtures/dashboard');
const DOCS = 24;
const WINDOW = 16;

/** Payloads that would run script if any renderer parsed text as HTML. */
const HOSTILE = [
	'<img src=x onerror=window.__pwned=1>',
	'</script><script>window.__pwned=1</script>',
	'"><svg onload=window.__pwned=1>',
	'\u202Egnp.exe',
	'<iframe srcdoc="<script>parent.__pwned=1</script>">',
];

interface InspectToken {
	id: number;
	text: string;
	features: [number, number][];
}

function inspect(text: string): InspectToken[] {
	const out = execFileSync(process.execPath, [path.join(ROOT, 'dist/cli.js'), 'inspect', 'demo', '--sae', SAE, '--text', text, '--top', '32', '--json', '--ep', 'cpu'], {
		encoding: 'utf8',
		stdio: ['ignore', 'pipe', 'ignore'],
		maxBuffer: 1 << 28,
	});
	return (JSON.parse(out) as { tokens: InspectToken[] }).tokens;
}

function matrix(file: string, name: string): { data: Float32Array; rows: number; cols: number } {
	const entry = readSafetensorsHeader(file).tensors.find((t) => t.name === name)!;
	const t = readTensor(entry);
	const data = new Float32Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength));
	return { data, rows: t.shape[0]!, cols: t.shape[1] ?? 1 };
}

function histogram(values: number[], bins: number, scale: 'linear' | 'log'): ActivationHistogram {
	const lo = Math.min(...values);
	const hi = Math.max(...values);
	const edges = Array.from({ length: bins + 1 }, (_, i) => (scale === 'log' ? lo * (hi / lo) ** (i / bins) : lo + ((hi - lo) * i) / bins));
	const counts = new Array<number>(bins).fill(0);
	for (const v of values) {
		let b = edges.findIndex((e, i) => i > 0 && v < e) - 1;
		if (b < 0) b = bins - 1;
		counts[b]!++;
	}
	return { edges, counts, scale };
}

const docs = zlib
	.gunzipSync(fs.readFileSync(path.join(ROOT, 'models/pycode/corpus/heldout.jsonl.gz')))
	.toString('utf8')
	.split('\n')
	.filter(Boolean)
	.slice(0, DOCS)
	.map((line) => JSON.parse(line) as { path: string; text: string })
	.map((d) => ({ path: d.path, text: d.text.slice(0, 1200) }));
// A document with HTML in it: real tokenization splits the payloads over several tokens.
docs.push({ path: 'templates/<b>page</b>.py', text: `HTML = '''${HOSTILE.slice(0, 3).join('\n')}'''\n\ndef render(path):\n    with open(path) as f:\n        return f.read()\n` });
const runs = docs.map((d) => ({ source: d.path, tokens: inspect(d.text) }));
const allTokens = runs.reduce((a, r) => a + r.tokens.length, 0);

// The feature: fires on 1–10% of tokens, the highest max activation among those.
const stats = new Map<number, { count: number; sum: number; max: number }>();
for (const r of runs)
	for (const t of r.tokens)
		for (const [f, a] of t.features) {
			const s = stats.get(f) ?? { count: 0, sum: 0, max: 0 };
			s.count++;
			s.sum += a;
			s.max = Math.max(s.max, a);
			stats.set(f, s);
		}
const [featureIndex, fs0] = [...stats.entries()].filter(([, s]) => s.count / allTokens > 0.01 && s.count / allTokens < 0.1).sort((a, b) => b[1].max - a[1].max)[0]!;
const act = (t: InspectToken) => t.features.find(([f]) => f === featureIndex)?.[1] ?? 0;

function example(run: (typeof runs)[number], position: number): ActivationExample {
	const start = Math.max(0, position - WINDOW);
	const end = Math.min(run.tokens.length, position + WINDOW + 1);
	const window = run.tokens.slice(start, end);
	return {
		tokens: window.map((t) => t.text),
		ids: window.map((t) => t.id),
		activations: window.map(act),
		focusIndex: position - start,
		focusActivation: act(run.tokens[position]!),
		source: run.source,
		position,
	};
}

const firing = runs
	.flatMap((r) => r.tokens.map((t, i) => ({ r, i, a: act(t) })))
	.filter((x) => x.a > 0)
	.sort((x, y) => y.a - x.a);
const topExamples = firing.slice(0, 10).map((x) => example(x.r, x.i));
// The HTML document's strongest token joins the top examples, and a synthetic example whose
// single tokens are whole payloads (what a renderer concatenating tokens would not catch).
const htmlRun = runs[runs.length - 1]!;
const htmlBest = htmlRun.tokens.map((t, i) => ({ i, a: act(t) })).sort((x, y) => y.a - x.a)[0]!;
topExamples.push(example(htmlRun, htmlBest.i));
const host = firing.find((x) => x.i >= WINDOW && x.i + WINDOW < x.r.tokens.length && firing.indexOf(x) >= 10)!;
const synthetic = example(host.r, host.i);
// Inside the 5-token snippet around the focus, so they are on screen in every context size.
HOSTILE.forEach((h, j) => {
	synthetic.tokens[synthetic.focusIndex - 5 + j] = h;
});
synthetic.tokens[synthetic.focusIndex + 1] = '\n\t  ';
synthetic.source = 'corpus/<script>alert(1)</script>.py';
topExamples.push(synthetic);

const max = fs0.max;
const quantiles: QuantileBand[] = [];
for (let b = 0; b < 5; b++) {
	const lo = (max * b) / 5;
	const hi = (max * (b + 1)) / 5;
	const inBand = firing.filter((x) => x.a > lo && (x.a < hi || (b === 4 && x.a <= hi)));
	const step = Math.max(1, Math.floor(inBand.length / 4));
	quantiles.push({
		min: lo,
		max: hi,
		contains: inBand.length / firing.length,
		examples: inBand
			.filter((_, i) => i % step === 0)
			.slice(0, 4)
			.map((x) => example(x.r, x.i)),
	});
}

// Logit lens: W_dec[i] through the final LayerNorm's scale and the (tied) unembedding.
const wDec = matrix(path.join(SAE, 'sae_weights.safetensors'), 'W_dec');
const wte = matrix(path.join(ROOT, 'models/pycode/model.safetensors'), 'wte.weight');
const lnW = matrix(path.join(ROOT, 'models/pycode/model.safetensors'), 'ln_f.weight');
const d = wDec.cols;
const dir = Array.from({ length: d }, (_, j) => wDec.data[featureIndex * d + j]! * lnW.data[j]!);
const logits = Array.from({ length: wte.rows }, (_, v) => dir.reduce((a, x, j) => a + x * wte.data[v * d + j]!, 0));
const mean = logits.reduce((a, b) => a + b, 0) / logits.length;
const centred = logits.map((l) => l - mean);
const vocab = JSON.parse(fs.readFileSync(path.join(ROOT, 'models/pycode/tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } };
const idToText = new Map(Object.entries(vocab.model.vocab).map(([t, id]) => [id, t.replace(/Ġ/g, ' ').replace(/Ċ/g, '\n').replace(/ĉ/g, '\t')]));
const order = centred.map((v, id) => ({ id, v })).sort((a, b) => b.v - a.v);
const lensToken = ({ id, v }: { id: number; v: number }) => ({ id, text: idToText.get(id) ?? `<${id}>`, value: v });
const positive = order.slice(0, 10).map(lensToken);
const negative = order.slice(-10).reverse().map(lensToken);
negative[9] = { ...negative[9]!, text: HOSTILE[0]! };

const norm = (i: number) => Math.hypot(...Array.from({ length: d }, (_, j) => wDec.data[i * d + j]!));
const ni = norm(featureIndex);
const cos = Array.from({ length: wDec.rows }, (_, i) => {
	if (i === featureIndex) return { i, c: -2 };
	let dot = 0;
	for (let j = 0; j < d; j++) dot += wDec.data[i * d + j]! * wDec.data[featureIndex * d + j]!;
	return { i, c: dot / (norm(i) * ni) };
})
	.sort((a, b) => b.c - a.c)
	.slice(0, 8);
const neighbours = cos.map(({ i, c }, k) => ({ featureIndex: i, cosine: c, label: k === 1 ? HOSTILE[2]! : k % 2 === 0 ? `${idToText.get(order[k]!.id)?.trim() ?? ''} · auto` : '' }));

const focusCounts = new Map<string, number>();
for (const x of firing.slice(0, 50)) focusCounts.set(x.r.tokens[x.i]!.text.trim(), (focusCounts.get(x.r.tokens[x.i]!.text.trim()) ?? 0) + 1);
const autoLabel = [...focusCounts.entries()]
	.sort((a, b) => b[1] - a[1])
	.slice(0, 3)
	.map(([t]) => t)
	.join(' · ');

const analysed: FeatureDashboardData = {
	featureIndex,
	label: autoLabel,
	autoLabel,
	userLabel: '',
	notes: `Top tokens from ${DOCS} demo documents.\n${HOSTILE[1]}`,
	density: fs0.count / allTokens,
	meanActivation: fs0.sum / fs0.count,
	maxActivation: max,
	dead: false,
	dense: false,
	saeSource: SAE.replace(ROOT + path.sep, ''),
	hookName: 'blocks.2.hook_resid_pre',
	dSae: wDec.rows,
	analysed: true,
	corpus: 'demo (first documents of the held-out split)',
	analysedTokens: allTokens,
	histogram: histogram(
		firing.map((x) => x.a),
		30,
		'log',
	),
	topExamples,
	quantiles,
	logitLens: { positive, negative, histogram: histogram(centred, 40, 'linear') },
	neighbours,
};
const unanalysed: FeatureDashboardData = {
	...analysed,
	label: '',
	autoLabel: '',
	notes: '',
	density: 0,
	meanActivation: 0,
	maxActivation: 0,
	analysed: false,
	corpus: '',
	analysedTokens: 0,
	histogram: { edges: [], counts: [], scale: 'log' },
	topExamples: [],
	quantiles: [],
};
fs.mkdirSync(OUT, { recursive: true });
fs.writeFileSync(path.join(OUT, 'feature-analysed.json'), JSON.stringify(analysed, null, '\t') + '\n');
fs.writeFileSync(path.join(OUT, 'feature-unanalysed.json'), JSON.stringify(unanalysed, null, '\t') + '\n');
console.log(`feature ${featureIndex}: density ${(100 * analysed.density).toFixed(2)}% of ${allTokens} tokens, max ${max.toFixed(2)}, ${topExamples.length} top examples, label "${autoLabel}"`);
