// Train the pycode byte-level BPE tokenizer (GPT-2 style) and save it truncated to 4096 ids.
//
// The Node binding's Tokenizer.train(files) only runs the model's DEFAULT BpeTrainer
// (vocab 30000, no initial alphabet, not configurable from JS). We therefore train with
// that trainer on the TRAIN split only, then rebuild the tokenizer from its output:
//   id 0          <|endoftext|>  (special added token)
//   ids 1..256    the full 256-symbol byte-level alphabet (byteLevelAlphabet())
//   ids 257..4095 the FIRST 3839 merges, in learned order
// BPE training is greedy (each merge depends only on the merges before it), so the first
// N merges are exactly what a run stopped at that vocab size would have produced.
//
// usage: node tools/pycode/train_tokenizer.mjs
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const tk = require('tokenizers');

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const BUILD = path.join(HERE, 'build');
const OUT = path.join(REPO, 'models', 'pycode');
const VOCAB_SIZE = 4096;
const EOT = '<|endoftext|>';

function configure(tok) {
	tok.setPreTokenizer(tk.byteLevelPreTokenizer(false, true));
	// (this binding exports no byteLevelDecoder(); the ByteLevel decoder is written into
	// tokenizer.json below and verified by the round-trip check after reloading)
	// trimOffsets=false: a token's offsets must include its leading space exactly
	tok.setPostProcessor(tk.byteLevelProcessing(false));
}

// 1. default-trainer run on the train split
const t0 = Date.now();
const raw = new tk.Tokenizer(tk.BPE.empty());
configure(raw);
raw.train([path.join(BUILD, 'train.txt')]);
raw.save(path.join(BUILD, 'tokenizer-full.json'), true);
console.log(`trained default BPE in ${((Date.now() - t0) / 1000).toFixed(1)}s, vocab ${raw.getVocabSize()}`);

// 2. rebuild: full byte alphabet + first merges in learned order
const full = JSON.parse(fs.readFileSync(path.join(BUILD, 'tokenizer-full.json'), 'utf8'));
const mergesRaw = full.model.merges.map((m) => (Array.isArray(m) ? m : m.split(' ')));
const alphabet = tk.byteLevelAlphabet().slice().sort();
if (alphabet.length !== 256) throw new Error(`alphabet has ${alphabet.length} symbols`);
const vocab = { [EOT]: 0 };
alphabet.forEach((s, i) => {
	vocab[s] = i + 1;
});
const merges = [];
for (const [a, b] of mergesRaw) {
	if (Object.keys(vocab).length >= VOCAB_SIZE) break;
	if (!(a in vocab) || !(b in vocab)) throw new Error(`merge part missing: ${a} ${b}`);
	const ab = a + b;
	if (ab in vocab) continue; // cannot happen with greedy BPE, but never duplicate an id
	vocab[ab] = Object.keys(vocab).length;
	merges.push([a, b]);
}
if (Object.keys(vocab).length !== VOCAB_SIZE) throw new Error(`vocab ${Object.keys(vocab).length}`);

const json = {
	version: '1.0',
	truncation: null,
	padding: null,
	added_tokens: [{ id: 0, content: EOT, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
	normalizer: null,
	pre_tokenizer: full.pre_tokenizer,
	post_processor: full.post_processor,
	decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: true },
	model: {
		type: 'BPE',
		dropout: null,
		unk_token: null,
		continuing_subword_prefix: null,
		end_of_word_suffix: null,
		fuse_unk: false,
		byte_fallback: false,
		ignore_merges: false,
		vocab,
		merges,
	},
};
// sanity on the configuration we rely on
if (json.pre_tokenizer.add_prefix_space !== false || json.pre_tokenizer.use_regex !== true) throw new Error('pre_tokenizer');
if (json.post_processor.trim_offsets !== false) throw new Error('post_processor trim_offsets');
fs.writeFileSync(path.join(OUT, 'tokenizer.json'), JSON.stringify(json, null, 1) + '\n');
fs.writeFileSync(
	path.join(OUT, 'tokenizer_config.json'),
	JSON.stringify(
		{
			tokenizer_class: 'GPT2Tokenizer',
			bos_token: EOT,
			eos_token: EOT,
			unk_token: EOT,
			model_max_length: 256,
			add_prefix_space: false,
			add_bos_token: false,
			clean_up_tokenization_spaces: false,
			errors: 'replace',
		},
		null,
		2,
	) + '\n',
);

// 3. load the SAVED file back and check round trips on held-out text
const tok = tk.Tokenizer.fromFile(path.join(OUT, 'tokenizer.json'));
if (tok.getVocabSize(true) !== VOCAB_SIZE) throw new Error(`reloaded vocab ${tok.getVocabSize(true)}`);
if (tok.tokenToId(EOT) !== 0) throw new Error('eot id');
const held = fs
	.readFileSync(path.join(BUILD, 'heldout.jsonl'), 'utf8')
	.trim()
	.split('\n')
	.map((l) => JSON.parse(l));
let nTok = 0,
	nBytes = 0;
for (const d of held) {
	const enc = await tok.encode(d.text);
	const ids = enc.getIds();
	const back = await tok.decode(ids, false);
	if (back !== d.text) throw new Error(`round trip failed on ${d.path}`);
	nTok += ids.length;
	nBytes += Buffer.byteLength(d.text, 'utf8');
}
console.log(`round trip OK on ${held.length} held-out files: ${nTok} tokens, ${(nBytes / nTok).toFixed(3)} bytes/token`);
