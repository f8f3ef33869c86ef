// The field schemas (valibot) that request parameters are built from. Each carries the plain
// words for what it accepts, so a request that breaks one is answered with InvalidParams and
// `"<field>" must be <those words> (got …)` (requestParams.ts), never with a JavaScript error
// from deep inside a handler.

import * as v from 'valibot';

/** The largest token id or count a request may name: ids are int32 in the model's graphs. */
const MAX_INT32 = 2 ** 31 - 1;

/** A request's parameter object: every field listed, any other field refused (a misspelt one would otherwise be ignored). */
export function fields<const E extends v.ObjectEntries>(entries: E) {
	return v.strictObject(entries, 'an object of named fields');
}

/** Any string, possibly empty. */
export function text(what = 'a string') {
	return v.string(what);
}

/** A string with at least one character (a path, a name, a reference). */
export function name(what = 'a non-empty string') {
	return v.pipe(v.string(what), v.minLength(1, what));
}

/** A boolean. */
export function flag() {
	return v.boolean('true or false');
}

/** An integer in [min, max]. */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
	const what = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`;
	return v.pipe(v.number(what), v.safeInteger(what), v.minValue(min, what), v.maxValue(max, what));
}

/** A finite number in [min, max] (JSON's 1e999 parses to Infinity, which this refuses). */
export function finite(min = -Number.MAX_VALUE, max = Number.MAX_VALUE, what = rangeWords(min, max)) {
	return v.pipe(v.number(what), v.finite(what), v.minValue(min, what), v.maxValue(max, what));
}

function rangeWords(min: number, max: number): string {
	if (min === -Number.MAX_VALUE && max === Number.MAX_VALUE) return 'a finite number';
	if (max === Number.MAX_VALUE) return `a finite number ≥ ${min}`;
	return `a number from ${min} to ${max}`;
}

/** A probability mass in (0, 1] (top-p). */
export function probability() {
	const what = 'a number greater than 0 and at most 1';
	return v.pipe(v.number(what), v.finite(what), v.gtValue(0, what), v.maxValue(1, what));
}

/** One of a fixed set of words. */
export function oneOf<const T extends readonly string[]>(options: T) {
	return v.picklist(options, `one of ${options.map((o) => JSON.stringify(o)).join(', ')}`);
}

/** A list of `item`s, at most `max` long. */
export function list<const S extends v.GenericSchema>(item: S, max = Number.MAX_SAFE_INTEGER, what = 'a list') {
	return v.pipe(v.array(item, what), v.maxLength(max, `${what} of at most ${max} entries`));
}

/** A token id (a vocabulary index; the model's own bound is checked where the model is known). */
export function tokenId() {
	return integer(0, MAX_INT32);
}

/** A count of tokens (a corpus budget): at least 1. */
export function tokenCount() {
	return integer(1, Number.MAX_SAFE_INTEGER);
}

/** Correlates a request's progress notifications with it. */
export function requestId() {
	return text('a request id string');
}

/** Where text comes from: "demo", a folder or glob, a text/JSONL file, or an explicit list of files. */
export function corpus() {
	const what = 'a corpus: "demo", a folder, glob or file, or a list of files';
	return v.union([name(what), v.pipe(v.array(name(what), what), v.minLength(1, what))], what);
}

/** `schema`, refusing an object that gives both or neither of two alternative fields (text or token ids). */
export function withOneOf<const S extends v.GenericSchema<object>>(schema: S, a: string, b: string) {
	const given = (p: object, key: string) => (p as Record<string, unknown>)[key] !== undefined;
	return v.pipe(
		schema,
		v.check((p: v.InferOutput<S>) => given(p, a) !== given(p, b), `exactly one of "${a}" and "${b}"`),
	);
}

/** A request with no parameters (JSON-RPC allows them absent, null, [] or {}). */
export function none() {
	const what = 'absent (this request takes no parameters)';
	return v.union([v.undefined(what), v.null(what), v.pipe(v.array(v.unknown(), what), v.length(0, what)), v.strictObject({}, what)], what);
}

/** One plain sentence for a schema's first issue: the field's path, what it must be and what it was. */
export function describeIssue(issue: v.BaseIssue<unknown>): string {
	const path = issue.path
		?.map((p) => (typeof p.key === 'number' ? `[${p.key}]` : `.${String(p.key)}`))
		.join('')
		.replace(/^\./, '');
	if (issue.type === 'strict_object' && path) {
		// The object's own issues: a key it does not list, or one it needs that is missing.
		if (issue.expected === 'never') return `unexpected field "${path}"`;
		if (issue.input === undefined && issue.path?.at(-1)?.origin === 'key') return `missing field "${path}"`;
	}
	const what = path ? `"${path}"` : 'the parameters';
	if (issue.type === 'check') return `${what} must give ${issue.message}`;
	return `${what} must be ${issue.message} (got ${describeValue(issue.input)})`;
}

function describeValue(value: unknown): string {
	if (value === undefined) return 'nothing';
	if (typeof value === 'string') return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
	if (Array.isArray(value)) return `a list of ${value.length}`;
	if (typeof value === 'object' && value !== null) return 'an object';
	return typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' ? String(value) : typeof value;
}
