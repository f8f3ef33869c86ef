// run, generate and hooks: the model-level CLI commands.

import type { SessionSettings } from '../engine/onnx/session';
import { LanguageModel } from '../engine/models/languageModel';
import { generate } from '../engine/models/generate';
import { parseIds, tokensFor } from '../engine/models/textInput';
import { healPrompt } from '../engine/models/tokenHealing';
import { topIndices } from '../engine/models/sampling';
import type { ModelInput } from '../engine/models/textInput';
import type { CliValues } from './main';
import { openModel } from './openModel';
import { CliError, intOption, numberOption } from './cliErrors';
import { steerCommand } from './steerCommand';
import { terminalText } from './terminalText';
import { resolveCliModel } from './hubCommands';
import type { Completion } from '../protocol/steerProtocol';

export function sessionSettings(values: CliValues): SessionSettings {
	const ep = values.ep ?? 'auto';
	if (ep !== 'auto' && ep !== 'cpu' && ep !== 'cuda') throw new CliError(`--ep must be auto, cpu or cuda (got "${ep}")`);
	return { executionProvider: ep, threads: intOption(values.threads, 'threads', 0) };
}

function loadModel(model: string, values: CliValues): Promise<LanguageModel> {
	return openModel(model, sessionSettings(values), (m) => process.stderr.write(`${m}\n`));
}

function modelInput(values: CliValues, textFlag: 'text' | 'prompt'): ModelInput {
	const text = values[textFlag];
	if ((values.ids === undefined) === (text === undefined)) throw new CliError(`give exactly one of --ids or --${textFlag}`);
	return text !== undefined ? { text } : { ids: parseIds(values.ids!) };
}

export async function runCommand(modelArg: string, values: CliValues): Promise<void> {
	const model = await loadModel(modelArg, values);
	const tokens = await tokensFor(model, modelInput(values, 'text'));
	const hooks = (values.hooks ?? '')
		.split(',')
		.map((h) => h.trim())
		.filter(Boolean);
	for (const h of hooks) model.hookPoint(h);
	const out = await model.forward({ ids: [tokens.map((t) => t.id)], hooks, logits: 'last' });
	const logitsLast = Array.from(out.logits!.data as Float32Array);
	if (values.json) {
		const hookJson: Record<string, { shape: number[]; values: number[] }> = {};
		for (const h of hooks) {
			const t = out.hooks[h]!;
			hookJson[h] = { shape: t.dims.slice(1), values: Array.from(t.data as Float32Array) };
		}
		process.stdout.write(JSON.stringify({ model: model.name, tokens, logits_last: logitsLast, hooks: hookJson }) + '\n');
	} else {
		process.stdout.write(`${tokens.length} tokens: ${tokens.map((t) => JSON.stringify(t.text)).join(' ')}\n`);
		const top = topIndices(logitsLast, 5);
		const names = await Promise.all(top.map(async (i) => JSON.stringify(model.tokenizer ? await model.tokenizer.decode([i]) : String(i))));
		process.stdout.write(`next token: ${top.map((i, j) => `${names[j]} ${logitsLast[i]!.toFixed(3)}`).join(', ')}\n`);
		for (const h of hooks) process.stdout.write(`${h}: [${out.hooks[h]!.dims.slice(1).join(', ')}]\n`);
	}
	await model.dispose();
}

export async function generateCommand(modelArg: string, values: CliValues): Promise<void> {
	if (values.steer !== undefined || values['contrast-positive'] !== undefined || values['contrast-negative'] !== undefined) return steerCommand(modelArg, values);
	for (const flag of ['sae', 'positions', 'baseline'] as const) if (values[flag] !== undefined) throw new CliError(`--${flag} goes with --steer "FEATURE:MODE=STRENGTH,…"`);
	const model = await loadModel(modelArg, values);
	const input = modelInput(values, 'prompt');
	if (values['max-new-tokens'] === undefined) throw new CliError('generate needs --max-new-tokens N');
	const options = {
		maxNewTokens: intOption(values['max-new-tokens'], 'max-new-tokens', 0, 1),
		temperature: numberOption(values.temperature, 'temperature', 0, 0),
		topK: intOption(values['top-k'], 'top-k', 0),
		topP: numberOption(values['top-p'], 'top-p', 1, 0, 1),
		seed: intOption(values.seed, 'seed', 0),
	};
	// Text prompts are token-healed (a trailing partial token is regenerated); explicit ids are kept as given.
	const healed = 'ids' in input ? { ids: [...input.ids], allowedFirst: undefined } : await healPrompt(model, input.text);
	const promptIds = healed.ids;
	const ids = [...promptIds];
	const stream = !values.json && model.tokenizer !== undefined;
	const raw = values.raw ?? false;
	let printed = stream ? await model.tokenizer.decode(ids) : '';
	if (stream) process.stdout.write(terminalText(printed, raw));
	for await (const token of generate(model, promptIds, { ...options, allowedFirst: healed.allowedFirst })) {
		ids.push(token.id);
		if (stream) {
			// Decode the whole sequence so multi-byte characters split across tokens print whole.
			const text = await model.tokenizer.decode(ids);
			if (!text.endsWith('\uFFFD')) {
				process.stdout.write(terminalText(text.slice(printed.length), raw));
				printed = text;
			}
		}
	}
	const text = model.tokenizer ? await model.tokenizer.decode(ids) : '';
	if (values.json) {
		// As `generate --steer --json` prints its completions: the prompt's text, then the ids the
		// model added (after the token-healed prompt) and the text they add after the prompt.
		const added = ids.slice(promptIds.length);
		const promptText = 'text' in input ? input.text : model.tokenizer ? await model.tokenizer.decode(promptIds) : '';
		const completion: Completion = {
			ids: added,
			text: text.startsWith(promptText) ? text.slice(promptText.length) : model.tokenizer ? await model.tokenizer.decode(added) : '',
			stopReason: model.cfg.eosTokenIds.includes(added.at(-1) ?? -1) ? 'eos' : added.length < options.maxNewTokens ? 'context' : 'maxTokens',
		};
		process.stdout.write(JSON.stringify({ prompt: promptText, completion }) + '\n');
	} else if (stream) process.stdout.write(`${terminalText(text.slice(printed.length), raw)}\n`);
	else process.stdout.write(`${ids.join(',')}\n`);
	await model.dispose();
}

export async function hooksCommand(modelArg: string, values: CliValues): Promise<void> {
	// Hook points come from the config alone: the weights are checked but never read.
	const { path, name } = await resolveCliModel(modelArg, (m) => process.stderr.write(`${m}\n`));
	const model = LanguageModel.load(path, sessionSettings(values), (m) => process.stderr.write(`${m}\n`), name ? { name } : {});
	if (values.json) {
		process.stdout.write(JSON.stringify(model.hookPoints) + '\n');
	} else {
		for (const h of model.hookPoints) process.stdout.write(`${h.name.padEnd(34)} [${h.shape.join(', ')}]\n`);
	}
}
