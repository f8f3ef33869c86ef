// The `feature-lens` command line: the engine without VS Code, for scripts, CI and benchmarks.

import { parseArgs } from 'node:util';
import { runCommand, generateCommand, hooksCommand } from './modelCommands';
import { demoCommand } from './demoCommand';
import { evalCommand, inspectCommand, trainCommand } from './saeCommands';
import { evalTranscodersCommand, trainTranscodersCommand } from './transcoderCommands';
import { attributeCommand } from './attributeCommand';
import { analyzeCommand, featureCommand } from './featureCommands';
import { CliError, reportError } from './cliErrors';
import { releasesCommand } from './hubCommands';
import { errorMessage } from '../protocol/errors';

const USAGE = `feature-lens — sparse-autoencoder interpretability of language models, locally

Usage:
  feature-lens run <model> (--ids 1,2,3 | --text "…") [--hooks h1,h2] [--json]
      Run the model; print tokens with character offsets, last-position logits and hooks.
  feature-lens generate <model> (--ids 1,2,3 | --prompt "…") --max-new-tokens N
      [--temperature T] [--top-k K] [--top-p P] [--seed S] [--json] [--raw]
      Generate with a KV cache (temperature 0 = greedy); streams text unless --json. Control
      characters in model text are shown escaped (\x1b …) unless --raw. --json prints
      { prompt, completion: { ids, text, stopReason } }: the prompt's text, and the ids the model
      added after it and the text they add (as the steered command prints each completion).
  feature-lens generate <model> (--ids 1,2,3 | --prompt "…") --steer "I:clamp=V,J:add=S,K:cap=C"
      [--sae DIR] [--positions all|generated] [--baseline] [--max-new-tokens N] [--temperature T]
      [--top-p P] [--seed S] [--json] [--raw]
      Steer with SAE features: add S·W_dec[J]; clamp feature I to V keeping the SAE error term;
      cap the projection on feature K's direction at C. --baseline also prints the unsteered
      completion from the same seed. Defaults as on Neuronpedia: 256 tokens, temperature 0.5,
      seed 16. --sae defaults to the demo SAE for the demo model. --json prints
      { …, prompt, steered, baseline } with both completions as { ids, text, stopReason }.
      --contrast-positive TEXT --contrast-negative TEXT [--contrast-strength S] [--contrast-hook H]
      adds S × (mean activation on the positive text − on the negative) at hook H (default: the
      SAE's hook): contrastive activation addition, alone or with --steer.
  feature-lens hooks <model> [--json]
      List the model's hook points (TransformerLens names) with their shapes.
  feature-lens inspect <model> --sae DIR --text "…" [--top K] [--json]
      The strongest SAE features on each token (SAELens folder or Gemma Scope params.npz); with a
      cross-layer transcoder folder, the strongest over every layer, each named by its layer (L1 #5).
  feature-lens train (<model> --hook H --corpus PATH | --activations FILE) --arch topk|batchtopk|standard|jumprelu
      --d-sae N (--k K | --l1 C | --l0 C) --tokens N --out DIR [--batch B] [--lr LR] [--seed S]
      [--resume | --overwrite] [--json] [--context-size T] [--buffer-rows R] [--exclude-special-tokens]
      [--b-dec-init geometric_median|mean|zeros]
      Train a TopK or BatchTopK (AuxK), ReLU + L1 or JumpReLU (L0, straight-through) SAE;
      BatchTopK is saved as JumpReLU with its running threshold, as SAELens does. Writes
      run.json, metrics.jsonl, a checkpoint (every tenth of the run or 30 s, and when stopped)
      and the SAE in SAELens format to DIR. Ctrl-C or SIGTERM stops cleanly; --resume continues
      from the checkpoint; --overwrite starts over in a folder that holds a run. --corpus is a
      folder (optionally "dir/*.py"), a text or JSONL(.gz) file, or "demo".
      A transcoder: --hook-out H2 (the hook it writes, e.g. --hook blocks.2.ln2.hook_normalized
      --hook-out blocks.2.hook_mlp_out) and --skip for a skip transcoder; saved as SAELens's
      transcoder, skip_transcoder or jumprelu_transcoder (standard, batchtopk or jumprelu).
  feature-lens transcoders <model> --arch A --d-sae N (--k K | --l1 C | --l0 C) --tokens N --corpus PATH --out DIR
      [--hook H] [--hook-out H2] [--layers 0,1,…] [--skip] [--batch B] [--lr LR] [--seed S] [--json]
      [--set SETDIR] [--half] [--resume | --overwrite]
      Train a transcoder for every layer (hooks per layer, default ln2.hook_normalized →
      hook_mlp_out) into DIR/layer_L (run folders; each transcoder in SAELens format) and write
      the set in circuit-tracer's layout (SETDIR, default DIR: config.yaml, layer_L.safetensors;
      --half stores float16). --resume continues unfinished layers and rewrites the set.
  feature-lens eval <model> --sae DIR --corpus PATH [--tokens N] [--context-size T] [--json]
      SAELens-style evaluation: L0, explained variance, MSE, cosine, dead/dense features,
      CE loss with the SAE spliced in vs clean and zero-ablated (CE-loss score) and KL.
  feature-lens eval <model> --transcoders DIR --corpus PATH [--tokens N] [--context-size T] [--json]
      A transcoder set (circuit-tracer's config.yaml, or a folder of per-layer transcoder
      folders) or a cross-layer transcoder (model_kind cross_layer_transcoder): per layer L0,
      explained variance of the MLP output, dead fraction; and the CE-loss score with every
      MLP replaced by its transcoder at once (ablation: every MLP zeroed).
  feature-lens attribute <model> --transcoders DIR (--prompt "…" | --ids 1,2,3) --out graph.json
      [--target TOKEN | --target-id N] [--max-logits N] [--max-feature-nodes N]
      [--node-threshold X] [--edge-threshold Y] [--slug S] [--json]
      The attribution graph of the prompt's next token (circuit tracing): every active
      transcoder feature, error node and input token, their direct effects on each other and on
      the most probable next tokens (up to a cumulative 0.95, at most --max-logits, 10; --target
      adds a token whatever its probability), computed exactly in the replacement model
      (attention patterns and norm scales frozen). Written as Neuronpedia's graph JSON, pruned
      by influence on the logits (defaults 0.8 and 0.98, circuit-tracer's), with the replacement
      and completeness scores in its metadata. --max-feature-nodes keeps the N features most
      influential on the logits (circuit-tracer's max_feature_nodes). Every model family (GPT-2, Pythia, Llama, Mistral,
      Qwen 2/3, Gemma 2/3); per-layer transcoders or a cross-layer transcoder. Ctrl-C cancels.
  feature-lens analyze <model> --sae DIR --corpus PATH --tokens N [--force] [--export] [--context-size T] [--json]
      Analyse every SAE feature over a corpus (density, activation histogram, top and
      quantile-band examples, automatic labels) and store it in the data folder, by the SAE's
      content hash; a stored analysis of the same SAE, corpus and budget is reused unless
      --force. --export also copies it beside the SAE (DIR/feature-lens/) to share it with the
      SAE; one found there is used. Ctrl-C cancels.
  feature-lens feature <model> --sae DIR --index I [--json]
      One feature's dashboard: label, density, logit lens, nearest features, examples.
  feature-lens releases [--model M] [--release R] [--json]
      The published SAE releases (SAELens's registry): for a model, and one release's SAEs
      with hook, width, L0 and Neuronpedia id. --refresh FILE|hf:org/repo/pretrained_saes.yaml
      replaces the registry by a newer SAELens pretrained_saes.yaml.
  feature-lens demo
      Run the embedded demo model on a Python snippet.

<model> is a Hugging Face checkpoint folder (config.json, *.safetensors, tokenizer.json),
"demo" for the embedded demo model, or hf:org/name[@revision][/folder] to fetch it from the
Hugging Face Hub into its shared cache. An SAE (--sae) is a folder or file (SAELens, Gemma
Scope params.npz, Gemma Scope 2 params.safetensors, Llama Scope), hf:org/name[@rev]/folder,
or release:<release>/<sae id> from the SAE registry. HF_ENDPOINT, HF_HUB_CACHE, HF_HOME,
HF_TOKEN and HF_HUB_OFFLINE work as for Python's huggingface_hub.

Labels, notes and analyses are kept in $FEATURE_LENS_DATA_DIR, else the user's cache folder
(~/.cache/feature-lens, $XDG_CACHE_HOME/feature-lens, ~/Library/Caches/feature-lens, or
%LOCALAPPDATA%\\feature-lens\\Cache).

Common options:
  --ep auto|cpu|cuda   execution provider (default auto: CUDA when its libraries load)
  --threads N          intra-op threads (default: onnxruntime's choice)
  -h, --help           show this help
`;

const OPTIONS = {
	ids: { type: 'string' },
	text: { type: 'string' },
	prompt: { type: 'string' },
	hooks: { type: 'string' },
	json: { type: 'boolean', default: false },
	'max-new-tokens': { type: 'string' },
	temperature: { type: 'string' },
	'top-k': { type: 'string' },
	'top-p': { type: 'string' },
	seed: { type: 'string' },
	ep: { type: 'string' },
	threads: { type: 'string' },
	sae: { type: 'string' },
	top: { type: 'string' },
	hook: { type: 'string' },
	'hook-out': { type: 'string' },
	skip: { type: 'boolean' },
	transcoders: { type: 'string' },
	layers: { type: 'string' },
	set: { type: 'string' },
	half: { type: 'boolean' },
	corpus: { type: 'string' },
	activations: { type: 'string' },
	arch: { type: 'string' },
	'd-sae': { type: 'string' },
	k: { type: 'string' },
	l1: { type: 'string' },
	l0: { type: 'string' },
	batch: { type: 'string' },
	lr: { type: 'string' },
	tokens: { type: 'string' },
	out: { type: 'string' },
	resume: { type: 'boolean' },
	overwrite: { type: 'boolean' },
	raw: { type: 'boolean' },
	'context-size': { type: 'string' },
	'buffer-rows': { type: 'string' },
	'exclude-special-tokens': { type: 'boolean' },
	'b-dec-init': { type: 'string' },
	steer: { type: 'string' },
	positions: { type: 'string' },
	baseline: { type: 'boolean' },
	'contrast-positive': { type: 'string' },
	'contrast-negative': { type: 'string' },
	'contrast-strength': { type: 'string' },
	'contrast-hook': { type: 'string' },
	force: { type: 'boolean' },
	export: { type: 'boolean' },
	index: { type: 'string' },
	model: { type: 'string' },
	release: { type: 'string' },
	refresh: { type: 'string' },
	target: { type: 'string' },
	'target-id': { type: 'string' },
	'max-logits': { type: 'string' },
	'max-feature-nodes': { type: 'string' },
	'node-threshold': { type: 'string' },
	'edge-threshold': { type: 'string' },
	slug: { type: 'string' },
	help: { type: 'boolean', short: 'h', default: false },
} as const;

export type CliValues = ReturnType<typeof parse>['values'];

function parse(argv: string[]) {
	try {
		return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
	} catch (err) {
		throw new CliError(`${errorMessage(err)} (see feature-lens --help)`);
	}
}

async function main(argv: string[]): Promise<void> {
	const { values, positionals } = parse(argv);
	const [command, ...rest] = positionals;
	if (values.help || command === undefined || command === 'help') {
		process.stdout.write(USAGE);
		return;
	}
	switch (command) {
		case 'run':
			return runCommand(requireModel(rest, command), values);
		case 'generate':
			return generateCommand(requireModel(rest, command), values);
		case 'hooks':
			return hooksCommand(requireModel(rest, command), values);
		case 'inspect':
			return inspectCommand(requireModel(rest, command), values);
		case 'eval':
			return values.transcoders !== undefined ? evalTranscodersCommand(requireModel(rest, command), values) : evalCommand(requireModel(rest, command), values);
		case 'transcoders':
			return trainTranscodersCommand(requireModel(rest, command), values);
		case 'train':
			if (rest.length > 1) throw new CliError('train takes at most one <model>');
			return trainCommand(rest[0], values);
		case 'attribute':
			return attributeCommand(requireModel(rest, command), values);
		case 'analyze':
			return analyzeCommand(requireModel(rest, command), values);
		case 'feature':
			return featureCommand(requireModel(rest, command), values);
		case 'releases':
			if (rest.length > 0) throw new CliError('releases takes no <model>; use --model M');
			return releasesCommand(values);
		case 'demo':
			return demoCommand(values);
		default:
			throw new CliError(`unknown command "${command}" (commands: run, generate, hooks, inspect, train, transcoders, eval, attribute, analyze, feature, releases, demo; see feature-lens --help)`);
	}
}

function requireModel(rest: string[], command: string): string {
	if (rest.length !== 1) throw new CliError(`${command} takes exactly one <model> (a checkpoint folder, "demo" or hf:org/name)`);
	return rest[0]!;
}

// Output piped into a reader that stops early (`feature-lens hooks … | head`): stop quietly.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
	if (err.code === 'EPIPE') process.exit(0);
	throw err;
});

main(process.argv.slice(2)).then(
	() => {
		process.exitCode = process.exitCode ?? 0;
	},
	(err: unknown) => {
		process.exitCode = reportError(err);
	},
);
