// Tokenize the train/held-out splits with the SAVED models/pycode/tokenizer.json and write
// little-endian uint16 id streams (documents joined by <|endoftext|> = id 0):
//   tools/pycode/build/train.bin, tools/pycode/build/heldout.bin
// Also writes models/pycode/tokenizer-check.json, a fixture of short held-out snippets with
// the ids and offsets the reference (Rust) tokenizer produces, for the engine's tests.
//
// usage: node tools/pycode/tokenize_splits.mjs
//        node tools/pycode/tokenize_splits.mjs --ids "text"   (print ids as JSON; used by evaluate.py)
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
const tok = tk.Tokenizer.fromFile(path.join(OUT, 'tokenizer.json'));

if (process.argv[2] === '--ids') {
	// prompts arrive as JSON strings so newlines survive the shell
	const texts = JSON.parse(process.argv[3]);
	const res = [];
	for (const t of texts) res.push((await tok.encode(t)).getIds());
	process.stdout.write(JSON.stringify(res) + '\n');
	process.exit(0);
}
if (process.argv[2] === '--decode') {
	const lists = JSON.parse(fs.readFileSync(0, 'utf8'));
	const res = [];
	for (const ids of lists) res.push(await tok.decode(ids, false));
	process.stdout.write(JSON.stringify(res) + '\n');
	process.exit(0);
}

async function encodeSplit(name) {
	const docs = fs
		.readFileSync(path.join(BUILD, `${name}.jsonl`), 'utf8')
		.trim()
		.split('\n')
		.map((l) => JSON.parse(l));
	const chunks = [];
	let n = 0;
	for (let i = 0; i < docs.length; i += 64) {
		const encs = await tok.encodeBatch(docs.slice(i, i + 64).map((d) => d.text));
		for (const e of encs) {
			const ids = e.getIds();
			const a = new Uint16Array(ids.length + 1);
			a.set(ids, 0);
			a[ids.length] = 0; // <|endoftext|> after every document
			chunks.push(a);
			n += a.length;
		}
	}
	const all = new Uint16Array(n);
	let o = 0;
	for (const c of chunks) {
		all.set(c, o);
		o += c.length;
	}
	// Uint16Array is host-endian; x86/arm hosts are little-endian, assert it anyway
	if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('big-endian host');
	fs.writeFileSync(path.join(BUILD, `${name}.bin`), Buffer.from(all.buffer));
	console.log(`${name}: ${docs.length} docs, ${n} tokens`);
	return docs;
}

// --fixture-only: rebuild tokenizer-check.json without rewriting the .bin files
// (train.py memory-maps train.bin, so never rewrite it while training runs)
let held;
if (process.argv[2] === '--fixture-only') {
	held = fs
		.readFileSync(path.join(BUILD, 'heldout.jsonl'), 'utf8')
		.trim()
		.split('\n')
		.map((l) => JSON.parse(l));
} else {
	await encodeSplit('train');
	held = await encodeSplit('heldout');
}

// ---- fixture: short varied held-out snippets plus a few hand-written edge cases ----
const picks = [];
const want = [
	/^    def __init__\(self.*\n/m,
	/^import \w+\n/m,
	/^from \w+ import .+\n/m,
	/^\s*#.+\n/m,
	/^        return .+\n/m,
	/^class \w+.*:\n/m,
	/""".+\n/m,
	/'[^'\n]{3,30}'/,
	/^\s+if .+:\n/m,
	/^\s+for .+ in .+:\n/m,
	/\d+\.\d+/,
	/^\s+raise \w+\(.+\)\n/m,
	/^\s+with .+ as .+:\n/m,
	/\bf"[^"\n]+"/,
	/^\s+@\w+.*\n/m,
	/^\s+self\.\w+ = .+\n/m,
];
for (const re of want) {
	for (const d of held) {
		const m = d.text.match(re);
		if (m && m[0].length <= 80) {
			picks.push({ source: d.path, text: m[0] });
			break;
		}
	}
}
picks.push({ source: 'handwritten', text: 'def f(x):\n\treturn x  # tab-indented\n' });
picks.push({ source: 'handwritten', text: "s = 'héllo wörld ✓ 日本'  # non-ASCII\n" });
picks.push({ source: 'handwritten', text: 'emoji = "🐍 snake"\n' });
picks.push({ source: 'handwritten', text: '\n\n\nx=1<|endoftext|>y = 2\n' });

// Which indexing do the offsets use? Check every token whose text is complete characters
// (byte-level tokens that split a multi-byte character decode to U+FFFD and are skipped)
// against the three candidate indexings of the input string.
function utf16Index(text, cpIndex) {
	return Array.from(text).slice(0, cpIndex).join('').length;
}
const items = [];
const votes = { utf16_code_units: true, code_points: true, utf8_bytes: true };
for (const p of picks) {
	const e = await tok.encode(p.text);
	const ids = e.getIds();
	const offsets = e.getOffsets();
	const buf = Buffer.from(p.text, 'utf8');
	const cps = Array.from(p.text);
	for (let i = 0; i < offsets.length; i++) {
		const [s, t] = offsets[i];
		const dec = await tok.decode([ids[i]], false);
		if (dec.includes('\uFFFD')) continue;
		if (p.text.slice(s, t) !== dec) votes.utf16_code_units = false;
		if (cps.slice(s, t).join('') !== dec) votes.code_points = false;
		if (buf.subarray(s, t).toString('utf8') !== dec) votes.utf8_bytes = false;
	}
	items.push({ source: p.source, text: p.text, ids, tokens: e.getTokens(), offsets, offsets_utf16: offsets.map(([s, t]) => [utf16Index(p.text, s), utf16Index(p.text, t)]) });
}
const semantics = Object.entries(votes)
	.filter(([, v]) => v)
	.map(([k]) => k);
console.log('offset indexings consistent with all complete tokens:', semantics.join(', '));
fs.writeFileSync(
	path.join(OUT, 'tokenizer-check.json'),
	JSON.stringify(
		{
			description:
				'ids and [start,end) offsets produced by the Hugging Face tokenizers Rust library (Node binding 0.23.2) loading models/pycode/tokenizer.json; encode(text) with default options, no special tokens added.',
			offsets_semantics:
				semantics.length === 1 && semantics[0] === 'code_points'
					? 'offsets index Unicode code points (Rust chars), NOT JS UTF-16 code units and NOT UTF-8 bytes; they differ from JS string indices only after a character outside the BMP (e.g. an emoji). offsets_utf16 gives the same ranges converted to JS string indices. A byte-level token that is only part of a multi-byte character gets the offsets of the whole character.'
					: `offsets consistent with: ${semantics.join(', ')}`,
			items,
		},
		null,
		1,
	) + '\n',
);
console.log(`fixture: ${items.length} snippets`);
