// Feature labels: an automatic one from the tokens a feature fires on most strongly, the
// user's own label and notes (labels.json in the SAE's user-data folder, written atomically),
// and search over them by substring or feature number.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeAtomic } from '../io/atomicWrite';
import { ModelConfigError } from '../models/decoderConfig';

export const LABELS_FILENAME = 'labels.json';
const LABELS_VERSION = 1;
const MAX_LABEL = 40;

/** A token's text with whitespace made visible (untrusted model text: still render it as text). */
export function visibleToken(text: string): string {
	const trimmed = text.trim();
	if (trimmed) return trimmed;
	return text.replace(/\r?\n/g, '↵').replace(/\t/g, '⇥').replace(/ /g, '·') || '∅';
}

/**
 * A short label from the focus tokens of a feature's top examples (strongest first): the most
 * frequent distinct tokens (trimmed, whitespace made visible), up to three of those seen at
 * least twice, else the strongest one.
 */
export function autoLabel(focusTexts: readonly string[]): string {
	const counts = new Map<string, number>();
	for (const t of focusTexts) {
		const v = visibleToken(t);
		counts.set(v, (counts.get(v) ?? 0) + 1);
	}
	// Map order is first appearance, i.e. strongest first; the sort is stable, so ties keep it.
	const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1]);
	const repeated = ranked
		.filter(([, n]) => n >= 2)
		.slice(0, 3)
		.map(([t]) => t);
	const parts = repeated.length > 0 ? repeated : ranked.slice(0, 1).map(([t]) => t);
	let label = parts.join(' | ');
	if (label.length > MAX_LABEL) label = `${label.slice(0, MAX_LABEL - 1)}…`;
	return label;
}

export interface UserLabel {
	label: string;
	notes: string;
}

/**
 * User labels and notes of one SAE, kept in `<SAE user-data folder>/labels.json`. A file that
 * cannot be read whole (hand-edited, or written by an older bug) is read as far as it can be:
 * the readable labels show and search works, the problem is kept in `problem`, and changes are
 * refused until the file is fixed or deleted, so that saving cannot drop what was not read.
 */
export class UserLabels {
	private constructor(
		private readonly file: string,
		private readonly entries: Map<number, UserLabel>,
		readonly problem?: string,
	) {}

	/**
	 * The labels in `dir`. Until that file exists, a labels.json in `fallbackDir` (beside the SAE,
	 * where development builds wrote them) is read instead; the first change writes them to `dir`.
	 */
	static load(dir: string, fallbackDir?: string): UserLabels {
		const file = path.join(dir, LABELS_FILENAME);
		const fallback = fallbackDir === undefined ? undefined : path.join(fallbackDir, LABELS_FILENAME);
		const source = fs.existsSync(file) || fallback === undefined || !fs.existsSync(fallback) ? file : fallback;
		if (!fs.existsSync(source)) return new UserLabels(file, new Map());
		const { entries, problems } = readLabels(source);
		return new UserLabels(file, entries, problems.length === 0 ? undefined : problems.join('; '));
	}

	get(featureIndex: number): UserLabel {
		return this.entries.get(featureIndex) ?? { label: '', notes: '' };
	}

	/** Sets (or, when both are empty, clears) a feature's label and notes, and saves the file. */
	set(featureIndex: number, label: string, notes: string): void {
		// The protocol checks these; a caller that passes anything else must not reach the file, whose every later read it would break.
		if (typeof label !== 'string' || typeof notes !== 'string') throw new TypeError(`internal: a label and notes must be strings (got ${typeof label}, ${typeof notes})`);
		if (this.problem) throw new ModelConfigError(`cannot save the label: ${this.problem}`);
		const clean = { label: label.trim(), notes };
		if (!clean.label && !clean.notes.trim()) this.entries.delete(featureIndex);
		else this.entries.set(featureIndex, clean);
		fs.mkdirSync(path.dirname(this.file), { recursive: true });
		const features: Record<string, UserLabel> = {};
		for (const [k, v] of [...this.entries.entries()].sort((a, b) => a[0] - b[0])) features[k] = v;
		writeAtomic(this.file, JSON.stringify({ formatVersion: LABELS_VERSION, features }, null, '\t') + '\n');
	}

	labelled(): number[] {
		return [...this.entries.keys()];
	}
}

/** The labels `file` holds, each unreadable part skipped and described in `problems` (naming the file and the field). */
function readLabels(file: string): { entries: Map<number, UserLabel>; problems: string[] } {
	const entries = new Map<number, UserLabel>();
	const problems: string[] = [];
	const done = (problem: string) => ({ entries, problems: [`${file}: ${problem}; fix or delete it`] });
	let raw: { formatVersion?: unknown; features?: unknown };
	try {
		raw = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof raw;
	} catch (e) {
		return done(`not valid JSON (${(e as Error).message})`);
	}
	if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return done('not a labels file (expected a JSON object)');
	if (typeof raw.formatVersion === 'number' && raw.formatVersion > LABELS_VERSION) {
		return { entries, problems: [`${file}: written by a newer Feature Lens (format ${raw.formatVersion}); update the extension`] };
	}
	const features: unknown = raw.features ?? {};
	if (typeof features !== 'object' || features === null || Array.isArray(features)) return done('"features" must be an object of labels by feature number');
	for (const [k, v] of Object.entries(features)) {
		const index = Number(k);
		if (!/^\d+$/.test(k) || !Number.isSafeInteger(index)) {
			problems.push(`${file}: "features.${k}" is not a feature number; fix or delete it`);
			continue;
		}
		if (typeof v !== 'object' || v === null || Array.isArray(v)) {
			problems.push(`${file}: "features.${k}" must be an object with "label" and "notes" (got ${JSON.stringify(v)}); fix or delete it`);
			continue;
		}
		const entry = v as Record<string, unknown>;
		const bad = (['label', 'notes'] as const).find((field) => entry[field] !== undefined && typeof entry[field] !== 'string');
		if (bad) {
			problems.push(`${file}: "features.${k}.${bad}" must be a string (got ${JSON.stringify(entry[bad])}); fix or delete it`);
			continue;
		}
		entries.set(index, { label: (entry.label as string | undefined) ?? '', notes: (entry.notes as string | undefined) ?? '' });
	}
	return { entries, problems };
}

export interface LabelMatch {
	featureIndex: number;
	/** 1 for an exact match (or the feature's number), 0.75 prefix, 0.5 substring of a label, 0.25 of the notes. */
	score: number;
}

/** Features whose label (user or automatic) or notes contain `query`, or whose number it is; best first. */
export function searchLabels(query: string, dSae: number, labels: (featureIndex: number) => { userLabel: string; autoLabel: string; notes: string }, limit: number): LabelMatch[] {
	const q = query.trim().toLowerCase();
	if (!q) return [];
	const matches: LabelMatch[] = [];
	const number = /^#?(\d+)$/.exec(q);
	const byNumber = number ? Number(number[1]) : -1;
	if (byNumber >= 0 && byNumber < dSae) matches.push({ featureIndex: byNumber, score: 1 });
	for (let f = 0; f < dSae; f++) {
		if (f === byNumber) continue;
		const l = labels(f);
		let score = 0;
		for (const text of [l.userLabel, l.autoLabel]) {
			const t = text.toLowerCase();
			if (!t) continue;
			if (t === q) score = Math.max(score, 1);
			else if (t.startsWith(q)) score = Math.max(score, 0.75);
			else if (t.includes(q)) score = Math.max(score, 0.5);
		}
		if (score === 0 && l.notes.toLowerCase().includes(q)) score = 0.25;
		if (score > 0) matches.push({ featureIndex: f, score });
	}
	// Stable sort: equal scores stay in feature order.
	return matches.sort((a, b) => b.score - a.score).slice(0, limit);
}
