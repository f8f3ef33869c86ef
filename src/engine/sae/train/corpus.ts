// Training and analysis corpora: the demo shard, a folder of files (optionally filtered by a
// `*.ext` pattern), a plain text file, or a JSONL(.gz) file of {"text": …} records.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { ModelConfigError } from '../../models/decoderConfig';
import type { LanguageModel } from '../../models/languageModel';
import { DEMO } from '../../../protocol/engineProtocol';
import { packageRoot } from '../../models/modelPaths';

export function demoCorpusPath(): string {
	return path.join(packageRoot(), 'models', 'pycode', 'corpus', 'heldout.jsonl.gz');
}

const SKIP_DIRS = new Set(['node_modules', '.git', '__pycache__', '.venv', 'dist', 'out']);
const MAX_FILE_BYTES = 4 * 1024 * 1024;

/** A corpus document and where it came from (a file path, or a JSONL record's path / file:line). */
export interface CorpusDocument {
	name: string;
	text: string;
}

/** Lists the documents of a corpus argument, in a stable order. */
export function corpusDocuments(spec: string): () => Iterable<string> {
	return textsOf(namedCorpusDocuments(spec));
}

/** An explicit list of files (e.g. the workspace files the editor chose), skipping binary ones. */
export function corpusFromFiles(files: readonly string[]): () => Iterable<string> {
	return textsOf(namedCorpusFromFiles(files));
}

/** corpusDocuments with each document's name, for analyses that point back at their sources. */
export function namedCorpusDocuments(spec: string): () => Iterable<CorpusDocument> {
	const [base, pattern] = splitPattern(spec === DEMO ? demoCorpusPath() : spec);
	if (!fs.existsSync(base)) throw new ModelConfigError(`corpus ${base}: no such file or folder`);
	if (fs.statSync(base).isDirectory()) {
		const files = walk(base, pattern);
		if (files.length === 0) throw new ModelConfigError(`corpus ${spec}: no readable text files found`);
		return function* () {
			for (const f of files) yield { name: f, text: fs.readFileSync(f, 'utf8') };
		};
	}
	if (/\.jsonl(\.gz)?$/.test(base)) return () => jsonlTexts(base);
	return function* () {
		yield { name: base, text: fs.readFileSync(base, 'utf8') };
	};
}

/** corpusFromFiles with each document's name. */
export function namedCorpusFromFiles(files: readonly string[]): () => Iterable<CorpusDocument> {
	const readable = files.filter((f) => fs.existsSync(f) && fs.statSync(f).isFile() && looksLikeText(f));
	if (readable.length === 0) throw new ModelConfigError('the corpus has no readable text files');
	return function* () {
		for (const f of readable) yield { name: f, text: fs.readFileSync(f, 'utf8') };
	};
}

function textsOf(documents: () => Iterable<CorpusDocument>): () => Iterable<string> {
	return function* () {
		for (const d of documents()) yield d.text;
	};
}

/** "src/*.py" → ["src", /\.py$/]; a plain path has no pattern. */
function splitPattern(spec: string): [string, RegExp | undefined] {
	const star = spec.indexOf('*');
	if (star < 0) return [spec, undefined];
	const dir = path.dirname(spec.slice(0, star + 1));
	const glob = spec.slice(dir.length + 1).replace(/^\*\*\//, '');
	const re = new RegExp(`(^|/)${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
	return [dir, re];
}

function walk(dir: string, pattern: RegExp | undefined): string[] {
	const out: string[] = [];
	const visit = (d: string) => {
		for (const entry of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
			if (entry.name.startsWith('.') || SKIP_DIRS.has(entry.name)) continue;
			const full = path.join(d, entry.name);
			if (entry.isDirectory()) visit(full);
			else if (entry.isFile() && (!pattern || pattern.test(path.relative(dir, full))) && looksLikeText(full)) out.push(full);
		}
	};
	visit(dir);
	return out;
}

function looksLikeText(file: string): boolean {
	const size = fs.statSync(file).size;
	if (size === 0 || size > MAX_FILE_BYTES) return false;
	const fd = fs.openSync(file, 'r');
	try {
		const head = Buffer.alloc(Math.min(size, 4096));
		fs.readSync(fd, head, 0, head.length, 0);
		return !head.includes(0);
	} finally {
		fs.closeSync(fd);
	}
}

function* jsonlTexts(file: string): Iterable<CorpusDocument> {
	const raw = fs.readFileSync(file);
	const text = file.endsWith('.gz') ? zlib.gunzipSync(raw).toString('utf8') : raw.toString('utf8');
	let line = 0;
	for (const row of text.split('\n')) {
		line++;
		if (!row.trim()) continue;
		let record: unknown;
		try {
			record = JSON.parse(row);
		} catch {
			throw new ModelConfigError(`${file}:${line}: not valid JSON`);
		}
		const { text: t, path: p } = record as { text?: unknown; path?: unknown };
		if (typeof t !== 'string') throw new ModelConfigError(`${file}:${line}: no "text" string in the record`);
		yield { name: typeof p === 'string' ? p : `${file}:${line}`, text: t };
	}
}

/**
 * Context windows over a corpus as SAELens builds them: documents joined by EOS, cut into
 * `contextSize`-token windows that each start with BOS (when the model has one).
 */
export async function* corpusWindows(model: LanguageModel, documents: () => Iterable<string>, contextSize: number, prependBos = true): AsyncGenerator<number[]> {
	const named = function* () {
		for (const text of documents()) yield { name: '', text };
	};
	for await (const w of corpusWindowsWithSources(model, named, contextSize, prependBos)) yield w.ids;
}

/** A context window and, per token, the index of the document it came from and its token position there. */
export interface SourcedWindow {
	ids: number[];
	/** Index of the token's document in the corpus order; −1 for the BOS and EOS tokens added between documents. */
	doc: number[];
	position: number[];
	/** Document names by index, shared by all windows (grows as documents are read). */
	names: readonly string[];
}

/** corpusWindows, with each token's document and position kept (for examples that point back at their source). */
export async function* corpusWindowsWithSources(model: LanguageModel, documents: () => Iterable<CorpusDocument>, contextSize: number, prependBos = true): AsyncGenerator<SourcedWindow> {
	if (!model.tokenizer) throw new ModelConfigError(`${model.dir} has no tokenizer.json, so a text corpus cannot be used`);
	const bos = prependBos ? model.cfg.bosTokenId : undefined;
	const eos = model.cfg.eosTokenIds[0];
	const width = contextSize - (bos === undefined ? 0 : 1);
	const names: string[] = [];
	let pending: number[] = [];
	let pendingDoc: number[] = [];
	let pendingPos: number[] = [];
	let start = 0;
	for (const { name, text } of documents()) {
		pending = pending.slice(start);
		pendingDoc = pendingDoc.slice(start);
		pendingPos = pendingPos.slice(start);
		start = 0;
		const doc = names.length;
		names.push(name);
		let position = 0;
		for (const t of await model.tokenizer.encode(text)) {
			pending.push(t.id);
			pendingDoc.push(doc);
			pendingPos.push(position++);
		}
		if (eos !== undefined) {
			pending.push(eos);
			pendingDoc.push(-1);
			pendingPos.push(-1);
		}
		while (pending.length - start >= width) {
			const ids = pending.slice(start, start + width);
			const docs = pendingDoc.slice(start, start + width);
			const positions = pendingPos.slice(start, start + width);
			start += width;
			yield bos === undefined ? { ids, doc: docs, position: positions, names } : { ids: [bos, ...ids], doc: [-1, ...docs], position: [-1, ...positions], names };
		}
	}
}
