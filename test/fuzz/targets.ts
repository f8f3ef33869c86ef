// What the fuzzer feeds mutated files to: every parser of a file the engine reads, each run the
// way the engine runs it (a model is loaded and run on three tokens, an SAE loaded, a tokenizer
// loaded and used, a registry read and listed), on a copy of a fixture with one file mutated.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { UserLabels, searchLabels } from '../../src/engine/features/labels';
import { isLoadable, readRegistry, releasesFor, shippedReleasesFile } from '../../src/engine/hub/saeReleases';
import { registryFromYaml } from '../../src/engine/hub/saeReleaseYaml';
import { LanguageModel } from '../../src/engine/models/languageModel';
import { readNpz } from '../../src/engine/sae/npz';
import { loadSae } from '../../src/engine/sae/saeFormat';
import { Tokenizer } from '../../src/engine/tokenize/tokenizer';
import type { Rng } from './random';
import { mutateJson, mutateJsonValue, mutateNpz, mutateSafetensors, mutateText } from './mutators';
import type { Mutated, NpzArrays } from './mutators';

const FIXTURES = path.join(__dirname, '..', 'fixtures');
const CPU = { executionProvider: 'cpu', threads: 1 } as const;

export interface RunResult {
	/** Output values that are NaN or ±Inf (logits, SAE weights): non-finite input that was not reported. */
	nonFiniteOutput: number;
}

export interface Target {
	name: string;
	/** The fixture folder copied for each case. */
	fixture: string;
	/** The file (relative to the fixture) that is mutated. */
	file: string;
	/** Files of the fixture left out of the copy (a model's tokenizer.json, when the tokenizer is not the target: its check runs a child process). */
	omit?: readonly string[];
	/** How often it is drawn, relative to the others (a model case is slower than a JSON parse). */
	weight: number;
	mutate(rng: Rng, file: string, bytes: Buffer): Mutated;
	run(dir: string): Promise<RunResult>;
}

function json(rng: Rng, _file: string, bytes: Buffer): Mutated {
	return { bytes: Buffer.from(mutateJson(rng, bytes.toString('utf8'))), plantedNonFinite: false, what: 'json' };
}

function countNonFinite(values: ArrayLike<number>): number {
	let n = 0;
	for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) n++;
	return n;
}

/** Loads the model and runs three tokens through it, as the engine's first request would. */
async function runModel(dir: string): Promise<RunResult> {
	const model = LanguageModel.load(dir, CPU);
	try {
		await model.prepare();
		const out = await model.forward({ ids: [[1, 2, 3]], logits: 'last' });
		return { nonFiniteOutput: countNonFinite(out.logits!.data as Float32Array) };
	} finally {
		await model.dispose();
	}
}

async function runSae(dir: string, entry = ''): Promise<RunResult> {
	const sae = loadSae(entry ? path.join(dir, entry) : dir, { hookName: 'blocks.1.hook_resid_post' });
	let bad = 0;
	for (const t of Object.values(sae.weights)) {
		if (t.dtype === 'F32') bad += countNonFinite(new Float32Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.length)));
	}
	return { nonFiniteOutput: bad };
}

const TEXT = 'def f(x):\n\treturn x + 1  # é中🙂\n';

async function runTokenizer(dir: string): Promise<RunResult> {
	const tokenizer = Tokenizer.fromFile(path.join(dir, 'tokenizer.json'));
	const tokens = await tokenizer.encode(TEXT, 64);
	await tokenizer.decode(tokens.map((t) => t.id));
	return { nonFiniteOutput: 0 };
}

function model(name: string, file: string, weight: number, mutate = json): Target {
	return { name: `${name}/${file}`, fixture: path.join(FIXTURES, 'models', name), file, omit: ['tokenizer.json'], weight, mutate, run: runModel };
}

function safetensors(rng: Rng, file: string, bytes: Buffer): Mutated {
	return mutateSafetensors(rng, file, bytes);
}

const DESCR: Record<string, string> = { F32: '<f4', F64: '<f8', F16: '<f2', I32: '<i4', I64: '<i8' };

function npz(rng: Rng, file: string, bytes: Buffer): Mutated {
	const arrays: NpzArrays = {};
	for (const [name, a] of Object.entries(readNpz(file))) arrays[name] = { shape: a.shape, descr: DESCR[a.dtype] ?? '<f4', payload: a.data };
	return mutateNpz(rng, arrays, bytes);
}

/** A small pretrained_saes.yaml in SAELens's layout, the seed of the registry refresh's parser. */
const RELEASES_YAML = `gpt2-small-res-jb:
  conversion_func: null
  links:
    model: https://huggingface.co/gpt2
  model: gpt2-small
  repo_id: jbloom/GPT2-Small-SAEs-Reformatted
  saes:
  - id: blocks.0.hook_resid_pre
    path: blocks.0.hook_resid_pre
    l0: 13.0
    neuronpedia: gpt2-small/0-res-jb
  - id: blocks.1.hook_resid_pre
    path: blocks.1.hook_resid_pre
    variance_explained: 0.9
gemma-scope-2b-pt-res:
  conversion_func: gemma_2
  model: gemma-2-2b
  repo_id: google/gemma-scope-2b-pt-res
  config_overrides:
    model_from_pretrained_kwargs: {center_writing_weights: false}
  saes:
  - id: layer_3/width_16k/average_l0_7
    path: layer_3/width_16k/average_l0_7
    l0: 7
llama_scope_lxr_8x:
  conversion_func: llama_scope
  model: meta-llama/Llama-3.1-8B
  repo_id: fnlp/Llama3_1-8B-Base-LXR-8x
  saes:
  - id: l0r_8x
    path: Llama3_1-8B-Base-L0R-8x
    norm_scaling_factor: 1.5
`;

const LABELS_JSON = JSON.stringify({ formatVersion: 1, features: { 3: { label: 'colons', notes: 'after def' }, 17: { label: 'indent', notes: '' } } }, null, '\t');

/** A registry of the shipped snapshot's first releases (the whole one is a megabyte). */
function registrySeed(): string {
	const full = JSON.parse(fs.readFileSync(shippedReleasesFile(), 'utf8')) as { source: unknown; releases: Record<string, unknown> };
	return JSON.stringify({ source: full.source, releases: Object.fromEntries(Object.entries(full.releases).slice(0, 4)) });
}

/** Seed files that are not fixtures are written once into this folder. */
export function writeSeeds(dir: string): void {
	fs.mkdirSync(path.join(dir, 'registry'), { recursive: true });
	fs.writeFileSync(path.join(dir, 'registry', 'sae-releases.json'), registrySeed());
	fs.writeFileSync(path.join(dir, 'registry', 'pretrained_saes.yaml'), RELEASES_YAML);
	fs.mkdirSync(path.join(dir, 'labels'), { recursive: true });
	fs.writeFileSync(path.join(dir, 'labels', 'labels.json'), LABELS_JSON);
}

export function targets(seeds: string): Target[] {
	const sae = (name: string) => path.join(FIXTURES, 'sae', name);
	const gemmaScope = path.join(FIXTURES, 'sae', 'gemma-scope-2b-pt-res', 'layer_3', 'width_16k', 'average_l0_7');
	const gemmaScopeDeflated = path.join(FIXTURES, 'sae', 'gemma-scope-2b-pt-mlp', 'layer_1', 'width_16k', 'average_l0_5');
	const gemmaScope2 = path.join(FIXTURES, 'sae-parity', 'gemma-scope-2-1b-pt', 'resid_post', 'layer_1_width_16k_l0_small');
	const llamaScope = path.join(FIXTURES, 'sae-parity', 'Llama3_1-8B-Base-L1R-8x');
	return [
		// Checkpoints: config.json of every family, safetensors headers and data, the shard index.
		...['gpt2-tiny', 'llama-tiny', 'llama3-tiny', 'mistral-tiny', 'qwen2-tiny', 'qwen3-tiny', 'gemma2-tiny', 'gemma3-tiny', 'pythia-tiny'].map((m) => model(m, 'config.json', 1)),
		model('gpt2-tiny', 'model.safetensors', 3, safetensors),
		model('gpt2-tiny-f16', 'model.safetensors', 1, safetensors),
		model('llama-tiny-bf16', 'model-00002-of-00002.safetensors', 2, safetensors),
		model('llama-tiny-bf16', 'model.safetensors.index.json', 1),
		// Tokenizers (each case also runs the child-process probe).
		{ name: 'gpt2-tiny/tokenizer.json', fixture: path.join(FIXTURES, 'models', 'gpt2-tiny'), file: 'tokenizer.json', omit: ['model.safetensors'], weight: 1, mutate: json, run: runTokenizer },
		{ name: 'llama-tiny/tokenizer.json', fixture: path.join(FIXTURES, 'models', 'llama-tiny'), file: 'tokenizer.json', omit: ['model.safetensors'], weight: 1, mutate: json, run: runTokenizer },
		// SAEs: SAELens cfg.json (v6 and pre-6, every architecture) and weights, Gemma Scope npz (stored and deflated), Gemma Scope 2, Llama Scope.
		...['topk-v6', 'topk-pre6', 'standard-pre6', 'jumprelu-f16', 'gated-bf16'].map((s): Target => ({
			name: `${s}/cfg.json`,
			fixture: sae(s),
			file: 'cfg.json',
			weight: 2,
			mutate: json,
			run: (d) => runSae(d),
		})),
		...['topk-v6', 'jumprelu-f16', 'gated-bf16'].map((s): Target => ({
			name: `${s}/sae_weights.safetensors`,
			fixture: sae(s),
			file: 'sae_weights.safetensors',
			weight: 3,
			mutate: safetensors,
			run: (d) => runSae(d),
		})),
		{ name: 'gemma-scope/params.npz (stored)', fixture: gemmaScope, file: 'params.npz', weight: 4, mutate: npz, run: (d) => runSae(d, 'params.npz') },
		{ name: 'gemma-scope/params.npz (deflated)', fixture: gemmaScopeDeflated, file: 'params.npz', weight: 4, mutate: npz, run: (d) => runSae(d, 'params.npz') },
		{ name: 'gemma-scope-2/config.json', fixture: gemmaScope2, file: 'config.json', omit: ['expected.json'], weight: 2, mutate: json, run: (d) => runSae(d) },
		{ name: 'gemma-scope-2/params.safetensors', fixture: gemmaScope2, file: 'params.safetensors', omit: ['expected.json'], weight: 2, mutate: safetensors, run: (d) => runSae(d) },
		{ name: 'llama-scope/hyperparams.json', fixture: llamaScope, file: 'hyperparams.json', omit: ['expected.json'], weight: 2, mutate: json, run: (d) => runSae(d) },
		{ name: 'llama-scope/final.safetensors', fixture: llamaScope, file: 'checkpoints/final.safetensors', omit: ['expected.json'], weight: 2, mutate: safetensors, run: (d) => runSae(d) },
		// Stored state and registries.
		{
			name: 'labels.json',
			fixture: path.join(seeds, 'labels'),
			file: 'labels.json',
			weight: 2,
			mutate: json,
			run: async (d) => {
				const labels = UserLabels.load(d);
				searchLabels('col', 64, (i) => ({ userLabel: labels.get(i).label, autoLabel: '', notes: labels.get(i).notes }), 10);
				if (!labels.problem) labels.set(5, 'new', 'notes');
				return { nonFiniteOutput: 0 };
			},
		},
		{
			name: 'sae-releases.json',
			fixture: path.join(seeds, 'registry'),
			file: 'sae-releases.json',
			omit: ['pretrained_saes.yaml'],
			weight: 2,
			mutate: json,
			run: async (d) => {
				const registry = readRegistry(path.join(d, 'sae-releases.json'));
				for (const [, r] of releasesFor(registry)) for (const s of r.saes) isLoadable(r, s);
				releasesFor(registry, 'gpt2-small');
				return { nonFiniteOutput: 0 };
			},
		},
		{
			name: 'pretrained_saes.yaml',
			fixture: path.join(seeds, 'registry'),
			file: 'pretrained_saes.yaml',
			omit: ['sae-releases.json'],
			weight: 2,
			mutate: (rng, _file, bytes) => {
				const text = bytes.toString('utf8');
				if (rng.chance(0.3)) return { bytes: Buffer.from(mutateText(rng, text)), plantedNonFinite: false, what: 'yaml text' };
				return { bytes: Buffer.from(toYaml(mutateJsonValue(rng, parseYaml(text)))), plantedNonFinite: false, what: 'yaml' };
			},
			run: async (d) => {
				const file = path.join(d, 'pretrained_saes.yaml');
				const registry = registryFromYaml(fs.readFileSync(file, 'utf8'), { from: file, converted: 'now' }, file);
				for (const [, r] of releasesFor(registry)) for (const s of r.saes) isLoadable(r, s);
				return { nonFiniteOutput: 0 };
			},
		},
	];
}
