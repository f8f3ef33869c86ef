// Loads a tokenizer.json once in a child process, and encodes and decodes with it there, before
// the engine loads it itself. A Rust panic in the tokenizers library aborts the process it runs
// in (worker threads do not help: the abort is process-wide), and no validation of a format this
// rich can rule every panic out; a crash here costs a child, not the engine. Passed probes are
// remembered by path, size and modification time for the life of the process.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { TokenizerError } from './tokenizerFile';

/** Text the probe encodes: ASCII, whitespace runs, digits, accents, combining marks, CJK, emoji, controls. */
export const PROBE_TEXT =
	'def f(x):\n\treturn x  # ok?  12345 67.89e-3\r\n' + 'Ünïcödé naïve café — “quotes” … e\u0301 \u00a0 \u200b 中文字符 日本語 한국어 🙂👍🏽 \u0000\u0007\u001b[0m ' + '    '.repeat(8) + 'x'.repeat(300);

/** A probe that ran longer than this is a tokenizer too slow to use (a pathological pattern), and is refused. */
const PROBE_TIMEOUT_MS = 60_000;

const passed = new Set<string>();

// Run by the child: argv[1] is the tokenizers module, argv[2] the file, argv[3] the probe text
// (JSON), argv[4] the added tokens (JSON). Prints "ok" or the library's error, and exits.
const CHILD = `
const { Tokenizer } = require(process.argv[1]);
const text = JSON.parse(process.argv[3]);
const added = JSON.parse(process.argv[4]);
(async () => {
	const t = Tokenizer.fromFile(process.argv[2]);
	t.disableTruncation();
	t.disablePadding();
	const n = t.getNormalizer();
	if (n) n.normalizeString(text);
	for (const s of [text, ...added, added.join(' ' + text)]) (await t.encode(s, null, { addSpecialTokens: false })).getOffsets();
	const size = t.getVocabSize(true);
	const ids = Array.from({ length: size }, (_, i) => i);
	await t.decode(ids, false);
	await t.decode(ids, true);
	for (let i = 0; i < size; i += Math.max(1, Math.floor(size / 512))) await t.decode([i], false);
	process.stdout.write('ok');
})().catch((e) => process.stdout.write('error: ' + String(e && e.message || e).split('\\n')[0]));
`;

/**
 * Throws TokenizerError naming `file` when loading or using it crashes or hangs the tokenizers
 * library in a child process (or the library refuses it there).
 */
export function probeTokenizer(file: string, addedTokens: readonly string[]): void {
	const st = fs.statSync(file);
	const key = `${fs.realpathSync(file)}\0${st.size}\0${st.mtimeMs}`;
	if (passed.has(key)) return;
	const child = spawnSync(process.execPath, ['-e', CHILD, tokenizersModule(), file, JSON.stringify(PROBE_TEXT), JSON.stringify(addedTokens.slice(0, 64))], {
		encoding: 'utf8',
		timeout: PROBE_TIMEOUT_MS,
		// VS Code's own executable runs as Node only with this set (the engine inherits it from the extension).
		env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
		maxBuffer: 1 << 20,
	});
	if (child.error && (child.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') {
		throw new TokenizerError(`${file}: the tokenizers library took over ${PROBE_TIMEOUT_MS / 1000} s to load and try it; refusing it`);
	}
	if (child.error) throw new TokenizerError(`${file}: could not check it in a child process (${child.error.message})`);
	if (child.stdout.startsWith('error: ')) throw new TokenizerError(`${file}: cannot load tokenizer (${child.stdout.slice('error: '.length)})`);
	if (child.status !== 0 || child.stdout !== 'ok') {
		const panic = /panicked at[^\n]*\n([^\n]*)/.exec(child.stderr ?? '');
		const how = child.signal ? `killed by ${child.signal}` : `exit code ${child.status}`;
		throw new TokenizerError(`${file}: the tokenizers library crashed on it (${how}${panic ? `: ${panic[1]!.trim()}` : ''}); the file is malformed`);
	}
	passed.add(key);
}

/** The tokenizers package's entry file, as this process resolves it (the package's own copy in a .vsix). */
function tokenizersModule(): string {
	return require.resolve('tokenizers');
}
