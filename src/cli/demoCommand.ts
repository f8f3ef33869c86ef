// `feature-lens demo` (`npm run demo`): the embedded demo model at work on a Python snippet.

import { LanguageModel } from '../engine/models/languageModel';
import { generate } from '../engine/models/generate';
import { DEMO_MODEL } from '../engine/models/modelPaths';
import { argmax } from '../engine/models/sampling';
import type { CliValues } from './main';
import { sessionSettings } from './modelCommands';

const SNIPPET = `import os

def read_lines(path):
    with open(path) as f:
        return [line.rstrip() for line in f]
`;

const PROMPTS = ['def __init__(self', 'import os\nimport ', 'for i in range('];

export async function demoCommand(values: CliValues): Promise<void> {
	const t0 = performance.now();
	const model = LanguageModel.load(DEMO_MODEL, sessionSettings(values), (m) => process.stderr.write(`${m}\n`));
	const tokenizer = model.tokenizer!;
	const { cfg } = model;
	const out = (s: string): boolean => process.stdout.write(s);
	out(`Feature Lens demo — model ${model.dir}\n`);
	out(`  ${cfg.modelType}: ${cfg.nLayers} layers, d_model ${cfg.dModel}, ${cfg.nHeads} heads, vocab ${cfg.dVocab}, context ${cfg.nCtx}\n`);
	out(`  ${model.hookPoints.length} hook points, e.g. blocks.${cfg.nLayers >> 1}.hook_resid_post\n\n`);

	const tokens = await tokenizer.encode(SNIPPET);
	const hook = `blocks.${cfg.nLayers >> 1}.hook_resid_post`;
	const result = await model.forward({ ids: [tokens.map((t) => t.id)], hooks: [hook], logits: 'all' });
	const logits = result.logits!.data as Float32Array;
	let correct = 0;
	out('Next-token predictions on a snippet (token → model\'s top guess for the next one):\n');
	for (let i = 0; i < tokens.length; i++) {
		const guess = argmax(logits.subarray(i * cfg.dVocab, (i + 1) * cfg.dVocab));
		const hit = i + 1 < tokens.length && guess === tokens[i + 1]!.id;
		if (hit) correct++;
		out(`  ${JSON.stringify(tokens[i]!.text).padEnd(14)} [${tokens[i]!.start},${tokens[i]!.end})  → ${JSON.stringify(await tokenizer.decode([guess])).padEnd(12)}${hit ? ' ✓' : ''}\n`);
	}
	out(`  top-1 accuracy ${correct}/${tokens.length - 1}; ${hook} has shape [${result.hooks[hook]!.dims.slice(1).join(', ')}]\n\n`);

	out('Greedy completions (40 tokens):\n');
	for (const prompt of PROMPTS) {
		const ids = (await tokenizer.encode(prompt)).map((t) => t.id);
		const generated: number[] = [];
		for await (const t of generate(model, ids, { maxNewTokens: 40, temperature: 0 })) generated.push(t.id);
		out(`--- ${JSON.stringify(prompt)}\n${prompt}${await tokenizer.decode(generated)}\n`);
	}
	out(`\ndone in ${((performance.now() - t0) / 1000).toFixed(1)} s (SAE features arrive with the demo SAE)\n`);
	await model.dispose();
}
