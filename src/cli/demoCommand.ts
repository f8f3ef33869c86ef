// `feature-lens demo` (`npm run demo`): the embedded demo model and SAE at work on a Python
// snippet: the strongest dictionary features on every token, the SAE's evaluation on the demo
// corpus, a steered completion next to its baseline, and a few greedy completions.

import * as fs from 'node:fs';
import { openModel } from './openModel';
import { terminalText } from './terminalText';
import * as path from 'node:path';
import { LanguageModel } from '../engine/models/languageModel';
import { generate } from '../engine/models/generate';
import { DEMO } from '../protocol/engineProtocol';
import { demoSaeDir } from '../engine/models/modelPaths';
import { healPrompt } from '../engine/models/tokenHealing';
import { evaluateSae } from '../engine/sae/evaluate';
import { inspectText } from '../engine/sae/inspect';
import { loadSae } from '../engine/sae/saeFormat';
import { SaeRunner } from '../engine/sae/saeRunner';
import { steeredGenerate } from '../engine/steer/steeredGenerate';
import { corpusDocuments, corpusWindows } from '../engine/sae/train/corpus';
import type { CliValues } from './main';
import { sessionSettings } from './modelCommands';

const SNIPPET = `import os

def read_lines(path):
    # one stripped line per entry
    with open(path) as f:
        return [line.rstrip() for line in f]
`;

const PROMPTS = ['def __init__(self', 'import os\nimport ', 'for i in range('];

export async function demoCommand(values: CliValues): Promise<void> {
	const t0 = performance.now();
	const settings = sessionSettings(values);
	const log = (m: string) => process.stderr.write(`${m}\n`);
	const model = await openModel(DEMO, settings, log);
	const tokenizer = model.tokenizer!;
	const { cfg } = model;
	const out = (s: string): boolean => process.stdout.write(s);
	out(`Feature Lens demo — model ${model.dir}\n`);
	out(`  ${cfg.modelType}: ${cfg.nLayers} layers, d_model ${cfg.dModel}, ${cfg.nHeads} heads, vocab ${cfg.dVocab}, context ${cfg.nCtx}\n\n`);

	if (fs.existsSync(demoSaeDir())) {
		const sae = loadSae(demoSaeDir());
		const runner = SaeRunner.forModel(sae, model, settings, log);
		out(`SAE ${path.relative(model.dir, demoSaeDir())}: ${sae.cfg.architecture}${sae.cfg.k ? ` k=${sae.cfg.k}` : ''}, d_sae ${sae.cfg.d_sae}, at ${runner.hookName}\n`);
		out('Top features on each token of a snippet ([feature] activation):\n');
		for (const t of await inspectText(model, runner, SNIPPET, { topFeatures: 3 })) {
			const features = t.features.map(([i, a]) => `[${i}] ${a.toFixed(2)}`).join('  ');
			out(`  ${JSON.stringify(t.text).padEnd(14)} ${features || '—'}\n`);
		}
		const metrics = await evaluateSae(model, runner, corpusWindows(model, corpusDocuments(DEMO), 128), { tokens: 8192, contextSize: 128, batchContexts: 8 });
		out(
			`\nEvaluation on ${metrics.tokens} demo-corpus tokens: L0 ${metrics.l0.toFixed(1)}, explained variance ${metrics.explained_variance.toFixed(3)}, ` +
				`CE loss ${metrics.ce_loss_without_sae.toFixed(3)} clean / ${metrics.ce_loss_with_sae.toFixed(3)} with SAE / ${metrics.ce_loss_with_ablation.toFixed(3)} ablated ` +
				`(CE-loss score ${metrics.ce_loss_score.toFixed(3)}), dead ${(100 * metrics.dead_fraction).toFixed(1)}%\n\n`,
		);
		await steeringDemo(model, runner, out);
		await runner.dispose();
	} else {
		out(`(no demo SAE at ${demoSaeDir()})\n\n`);
	}

	out('Greedy completions (40 tokens):\n');
	for (const prompt of PROMPTS) {
		const healed = await healPrompt(model, prompt);
		const generated: number[] = [];
		for await (const t of generate(model, healed.ids, { maxNewTokens: 40, temperature: 0, allowedFirst: healed.allowedFirst })) generated.push(t.id);
		out(`--- ${JSON.stringify(prompt)}\n${terminalText(healed.text + (await tokenizer.decode(generated)))}\n`);
	}
	out(`\ndone in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
	await model.dispose();
}

/** Feature #1132 fires on " #" comment markers (see test/steer/demoSteer.test.ts for how it was found). */
const COMMENT_FEATURE = 1132;
const STEER_PROMPT = 'import os\n\ndef main(argv):\n    ';

/** Clamping the comment feature turns code into comments; the baseline shares the seed. */
async function steeringDemo(model: LanguageModel, runner: SaeRunner, out: (s: string) => boolean): Promise<void> {
	const result = await steeredGenerate(model, runner, {
		prompt: { text: STEER_PROMPT },
		steer: { features: [{ featureIndex: COMMENT_FEATURE, mode: 'clamp', strength: 20 }], vectors: [], positions: 'all' },
		maxNewTokens: 32,
		temperature: 0.5,
		topP: 1,
		seed: 16,
	});
	out(`Steering: feature #${COMMENT_FEATURE} (comment markers) clamped to 20, temperature 0.5, seed 16, prompt ${JSON.stringify(STEER_PROMPT)}\n`);
	out(`--- baseline\n${STEER_PROMPT}${result.baseline?.text ?? ''}\n--- steered\n${STEER_PROMPT}${result.steered.text}\n\n`);
}
