// `feature-lens generate <model> --steer "I:clamp=V,J:add=S" …`: steered completions (and the
// unsteered baseline with the same seed) from the command line.

import { DEMO } from '../protocol/engineProtocol';
import { parseIds } from '../engine/models/textInput';
import { SaeRunner } from '../engine/sae/saeRunner';
import { contrastVector } from '../engine/steer/contrast';
import { steeredGenerate } from '../engine/steer/steeredGenerate';
import type { SteerPrompt } from '../engine/steer/steeredGenerate';
import { STEER_DEFAULTS, describeSteer, parseFeatureSteers } from '../engine/steer/steerSpec';
import { STEER_POSITIONS, isSteerPositions } from '../protocol/steerModes';
import type { Completion, SteerSpec } from '../protocol/steerProtocol';
import type { CliValues } from './main';
import { openModel } from './openModel';
import { terminalText } from './terminalText';
import { CliError, intOption, numberOption } from './cliErrors';
import { cliSae } from './hubCommands';
import { sessionSettings } from './modelCommands';

export async function steerCommand(modelArg: string, values: CliValues): Promise<void> {
	const positions = values.positions ?? 'all';
	if (!isSteerPositions(positions)) throw new CliError(`--positions must be ${STEER_POSITIONS.join(' or ')} (got "${positions}")`);
	const steer: SteerSpec = { features: values.steer === undefined ? [] : parseFeatureSteers(values.steer), vectors: [], positions };
	const contrast = contrastOptions(values);
	if ((values.ids === undefined) === (values.prompt === undefined)) throw new CliError('give exactly one of --ids or --prompt');
	const prompt: SteerPrompt = values.prompt !== undefined ? { text: values.prompt } : { ids: parseIds(values.ids!) };
	const settings = sessionSettings(values);
	const log = (m: string) => process.stderr.write(`${m}\n`);
	const model = await openModel(modelArg, settings, log);
	const saeDir = values.sae ?? (model.name === DEMO ? DEMO : undefined);
	if (!saeDir && (steer.features.length > 0 || (contrast && !contrast.hookName))) {
		throw new CliError(
			steer.features.length > 0 ? '--steer needs --sae DIR (the SAE whose features you steer)' : '--contrast-positive needs --contrast-hook H (or --sae DIR, whose hook it then uses)',
		);
	}
	const runner = saeDir ? SaeRunner.forModel(await cliSae(saeDir, log), model, settings, log) : undefined;
	if (contrast) {
		// Contrastive activation addition: mean(positive) − mean(negative) at the hook, times the strength.
		const hookName = contrast.hookName ?? runner!.hookName;
		const { vector, norm } = await contrastVector(model, hookName, contrast.positive, contrast.negative, settings);
		log(`contrast vector at ${hookName}: norm ${norm.toFixed(3)}, strength ${contrast.strength}`);
		steer.vectors.push({ hookName, vector: Array.from(vector), strength: contrast.strength, label: `${JSON.stringify(contrast.positive)} − ${JSON.stringify(contrast.negative)}` });
	}
	// Neuronpedia's steering defaults where the command line is silent.
	const sampling = {
		maxNewTokens: intOption(values['max-new-tokens'], 'max-new-tokens', STEER_DEFAULTS.maxNewTokens, 1),
		temperature: numberOption(values.temperature, 'temperature', STEER_DEFAULTS.temperature, 0),
		topP: numberOption(values['top-p'], 'top-p', STEER_DEFAULTS.topP, 0, 1),
		seed: intOption(values.seed, 'seed', STEER_DEFAULTS.seed),
	};
	const withBaseline = values.baseline === true;
	// Without a baseline the steered text streams as it is generated.
	const stream = !values.json && !withBaseline;
	const promptText = 'text' in prompt ? prompt.text : model.tokenizer ? await model.tokenizer.decode([...prompt.ids]) : '';
	const show = (text: string) => terminalText(text, values.raw ?? false);
	if (stream) process.stdout.write(`steered: ${describeSteer(steer)}\n${show(promptText)}`);
	const result = await steeredGenerate(
		model,
		runner,
		{ prompt, steer, baseline: withBaseline, ...sampling },
		{
			topK: intOption(values['top-k'], 'top-k', 0),
			onToken: (t) => {
				if (stream) process.stdout.write(show(t.text));
			},
		},
	);
	if (values.json) {
		const vectors = steer.vectors.map(({ hookName, strength, label }) => ({ hookName, strength, label }));
		// As plain `generate --json` prints a completion: { ids, text, stopReason } (the streamed pieces are the editor's).
		const printed = (c: Completion | undefined) => c && { ids: c.ids, text: c.text, stopReason: c.stopReason };
		process.stdout.write(
			JSON.stringify({
				model: model.name,
				sae: saeDir ?? null,
				hook: runner?.hookName ?? null,
				steer: { ...steer, vectors },
				sampling,
				prompt: promptText,
				steered: printed(result.steered),
				baseline: printed(result.baseline),
			}) + '\n',
		);
	} else if (stream) {
		process.stdout.write('\n');
	} else {
		process.stdout.write(`steered: ${describeSteer(steer)}\n${show(promptText + result.steered.text)}\n\nbaseline (same seed, no steering):\n${show(promptText + result.baseline!.text)}\n`);
	}
	await runner?.dispose();
	await model.dispose();
}

interface ContrastOptions {
	positive: string;
	negative: string;
	strength: number;
	hookName?: string;
}

function contrastOptions(values: CliValues): ContrastOptions | undefined {
	const positive = values['contrast-positive'];
	const negative = values['contrast-negative'];
	if (positive === undefined && negative === undefined) return undefined;
	if (positive === undefined || negative === undefined) throw new CliError('a contrast vector needs both --contrast-positive TEXT and --contrast-negative TEXT');
	return { positive, negative, strength: numberOption(values['contrast-strength'], 'contrast-strength', 1, -Infinity), hookName: values['contrast-hook'] };
}
