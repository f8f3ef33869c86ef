// Which workspace files git ignores: the Train SAE corpus leaves out what `.gitignore` files
// (and `.git/info/exclude`) exclude, as VS Code's findFiles already leaves out `files.exclude`.
// Free of `vscode` imports so it is tested in plain Node.
//
// Matching is the `ignore` package's (the gitignore implementation eslint and prettier use). It
// reads one set of rules relative to one folder, while git stacks a `.gitignore` per folder, the
// deeper ones taking precedence. So each repository gets one rule list: every `.gitignore` on
// the way to the files, shallow before deep (the last matching rule wins, as in git), with the
// patterns of a folder's file rewritten relative to the repository root (`foo` in `a/` becomes
// `/a/**/foo`, `x/foo` becomes `/a/x/foo`). One list also gives git's rule that nothing inside
// an excluded folder can be re-included, with re-inclusions from deeper files seen.
// Not read: the user's global excludes file (core.excludesFile).

import * as fs from 'node:fs';
import * as path from 'node:path';
import ignore from 'ignore';
import type { Ignore } from 'ignore';

/**
 * The files (absolute paths) that no `.gitignore` of their repository ignores, in their order.
 * A file's repository is its nearest folder holding `.git`; outside any repository, the
 * workspace folder that contains it, whose own `.gitignore` files still count.
 */
export function filterGitignored(files: readonly string[], workspaceRoots: readonly string[]): string[] {
	const roots = new RootFinder(workspaceRoots);
	const byRoot = new Map<string, string[]>();
	for (const file of files) {
		const root = roots.rootOf(file);
		let group = byRoot.get(root);
		if (!group) byRoot.set(root, (group = []));
		group.push(file);
	}
	const ignored = new Set<string>();
	for (const [root, group] of byRoot) {
		const matcher = repositoryRules(root, group);
		for (const file of group) if (matcher.ignores(toPosix(path.relative(root, file)))) ignored.add(file);
	}
	return files.filter((f) => !ignored.has(f));
}

/** The rules that apply to `files` under `root`: .git/info/exclude, then each folder's .gitignore, shallow first. */
function repositoryRules(root: string, files: readonly string[]): Ignore {
	// git compares case-insensitively where the file system usually does (core.ignorecase).
	const rules = ignore({ ignorecase: process.platform === 'win32' || process.platform === 'darwin' });
	rules.add(readLines(path.join(root, '.git', 'info', 'exclude')));
	const folders = new Set<string>(['']);
	for (const file of files) {
		const parts = toPosix(path.relative(root, path.dirname(file)))
			.split('/')
			.filter(Boolean);
		for (let i = 1; i <= parts.length; i++) folders.add(parts.slice(0, i).join('/'));
	}
	const shallowFirst = [...folders].sort((a, b) => depth(a) - depth(b) || (a < b ? -1 : a > b ? 1 : 0));
	for (const folder of shallowFirst) {
		const lines = readLines(path.join(root, ...folder.split('/').filter(Boolean), '.gitignore'));
		rules.add(lines.map((line) => rebasePattern(line, folder)).filter((p): p is string => p !== undefined));
	}
	return rules;
}

/**
 * A `.gitignore` line of the folder `folder` (posix, relative to the repository root; '' for
 * the root) as the same rule written in the root's `.gitignore`; undefined for blank lines and
 * comments.
 */
export function rebasePattern(line: string, folder: string): string | undefined {
	// Trailing spaces end a pattern unless escaped with a backslash.
	const trimmed = line.replace(/\r$/, '').replace(/(?<!\\) +$/, '');
	if (trimmed === '' || trimmed.startsWith('#')) return undefined;
	if (folder === '') return trimmed;
	const negated = trimmed.startsWith('!');
	const body = negated ? trimmed.slice(1) : trimmed;
	if (body === '' || body === '/') return undefined;
	// A slash anywhere but at the end anchors the pattern to its folder; otherwise it matches at any depth below it.
	const anchored = body.replace(/\/$/, '').includes('/');
	const prefix = `/${escapeGlob(folder)}/`;
	return `${negated ? '!' : ''}${prefix}${anchored ? body.replace(/^\//, '') : `**/${body}`}`;
}

/** A literal path as a gitignore pattern: glob characters escaped. */
function escapeGlob(literal: string): string {
	return literal.replace(/[\\*?[\]]/g, '\\$&');
}

class RootFinder {
	private readonly repoOf = new Map<string, string | undefined>();
	private readonly workspaceRoots: string[];

	constructor(workspaceRoots: readonly string[]) {
		// Deepest first, so a nested workspace folder wins over its parent.
		this.workspaceRoots = workspaceRoots.map((r) => path.resolve(r)).sort((a, b) => b.length - a.length);
	}

	rootOf(file: string): string {
		const dir = path.dirname(path.resolve(file));
		return this.repository(dir) ?? this.workspaceRoots.find((r) => dir === r || dir.startsWith(r + path.sep)) ?? dir;
	}

	/** The nearest folder at or above `dir` holding `.git` (a folder, or a file in worktrees and submodules). */
	private repository(dir: string): string | undefined {
		if (this.repoOf.has(dir)) return this.repoOf.get(dir);
		const parent = path.dirname(dir);
		const found = fs.existsSync(path.join(dir, '.git')) ? dir : parent === dir ? undefined : this.repository(parent);
		this.repoOf.set(dir, found);
		return found;
	}
}

function readLines(file: string): string[] {
	try {
		return fs.readFileSync(file, 'utf8').split('\n');
	} catch {
		// No such file (or unreadable, or a folder): no rules from it, as for git.
		return [];
	}
}

function depth(folder: string): number {
	return folder === '' ? 0 : folder.split('/').length;
}

function toPosix(p: string): string {
	return p.split(path.sep).join('/');
}
