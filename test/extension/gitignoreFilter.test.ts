// The Train SAE corpus's .gitignore filter: stacked .gitignore files, negations, anchoring,
// folder-only patterns, .git/info/exclude, repository boundaries; checked case by case and
// against `git check-ignore` on the same tree.

import * as assert from 'node:assert/strict';
import * as cp from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { filterGitignored, rebasePattern } from '../../src/extension/training/gitignoreFilter';

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'feature-lens-gitignore-'));
after(() => fs.rmSync(base, { recursive: true, force: true }));

function write(root: string, files: Record<string, string>): void {
	for (const [name, content] of Object.entries(files)) {
		fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
		fs.writeFileSync(path.join(root, name), content);
	}
}

const repo = path.join(base, 'repo');
write(repo, {
	'.git/info/exclude': 'secret.txt\nsecret2.txt\n',
	'.gitignore': [
		'# a comment',
		'*.log',
		'build/',
		'/top.txt',
		'docs/*.md',
		'!keep.log',
		'\\#hash.py',
		'trailing.py   ',
		'vendor/',
		'out/',
		'!out/keep.txt',
		'logs/**/z.txt',
		'!secret2.txt',
		'Upper.PY',
		'',
	].join('\n'),
	'pkg/.gitignore': '*.py\n!main.py\n/local/\n',
	'lib/.gitignore': '!vendor/\n',
	'[x]/.gitignore': '*.tmp\n',
	'crlf/.gitignore': 'a.txt\r\nb.txt\r\n',
	'esc/.gitignore': '\\!bang.txt\n',
});
// Each file with whether git ignores it.
const EXPECTED: Record<string, boolean> = {
	'a.py': false,
	'x.log': true,
	'keep.log': false,
	'top.txt': true,
	'sub/top.txt': false,
	'build/out.py': true,
	'sub/build/out.py': true,
	'lib/build': false, // `build/` matches folders only
	'docs/readme.md': true,
	'docs/deep/readme.md': false, // `*` does not cross a slash
	'#hash.py': true,
	'trailing.py': true,
	'upper.py': process.platform === 'win32' || process.platform === 'darwin',
	'pkg/util.py': true,
	'pkg/main.py': false,
	'pkg/deep/main.py': false,
	'pkg/deep/x.py': true, // a pattern without a slash matches at any depth below its folder
	'pkg/local/a.txt': true,
	'pkg/deep/local/a.txt': false, // `/local/` is anchored to pkg/
	'other/util.py': false, // pkg/'s rules stay in pkg/
	'vendor/x.txt': true,
	'lib/vendor/x.txt': false, // a deeper .gitignore re-includes the folder
	'out/keep.txt': true, // nothing inside an excluded folder can be re-included
	'logs/z.txt': true,
	'logs/q/r/z.txt': true,
	'secret.txt': true, // .git/info/exclude
	'secret2.txt': false, // .gitignore comes after .git/info/exclude
	'[x]/a.tmp': true,
	'[x]/a.txt': false,
	'x/a.tmp': false, // the folder name is literal, not a character class
	'crlf/a.txt': true,
	'crlf/b.txt': true,
	'crlf/c.txt': false,
	'esc/!bang.txt': true,
	'esc/bang.txt': false,
};
write(repo, Object.fromEntries(Object.keys(EXPECTED).map((f) => [f, 'x\n'])));
const abs = (root: string, names: string[]) => names.map((n) => path.join(root, ...n.split('/')));

describe('gitignore filter', () => {
	it('keeps exactly the files git does not ignore', () => {
		const names = Object.keys(EXPECTED);
		const kept = filterGitignored(abs(repo, names), [repo]);
		assert.deepEqual(
			kept,
			abs(
				repo,
				names.filter((n) => !EXPECTED[n]),
			),
		);
	});

	it('agrees with git check-ignore on the same tree', (t) => {
		if (cp.spawnSync('git', ['--version']).status !== 0) {
			t.skip('git is not installed');
			return;
		}
		const init = cp.spawnSync('git', ['init', '-q'], { cwd: repo });
		assert.equal(init.status, 0, String(init.stderr));
		const names = Object.keys(EXPECTED);
		const check = cp.spawnSync('git', ['-c', 'core.excludesFile=', 'check-ignore', '--no-index', '--stdin'], { cwd: repo, input: names.join('\n') + '\n', encoding: 'utf8' });
		assert.ok(check.status === 0 || check.status === 1, check.stderr);
		const gitIgnored = new Set(
			check.stdout
				.split('\n')
				.filter(Boolean)
				.map((l) => l.replace(/^"|"$/g, '')),
		);
		const kept = new Set(filterGitignored(abs(repo, names), [repo]));
		for (const name of names) assert.equal(!kept.has(abs(repo, [name])[0]!), gitIgnored.has(name), name);
	});

	it("a workspace folder inside a repository sees the repository's .gitignore files above it", () => {
		const ws = path.join(repo, 'pkg');
		assert.deepEqual(filterGitignored(abs(ws, ['util.py', 'main.py', 'x.log', 'notes.txt']), [ws]), abs(ws, ['main.py', 'notes.txt']));
	});

	it('a nested repository has its own rules, and outside any repository the workspace folder is the root', () => {
		const outer = path.join(base, 'outer');
		write(outer, {
			'.gitignore': '*\n', // above the workspace and in no repository: not read
			'ws/.gitignore': '*.log\n',
			'ws/a.py': '',
			'ws/b.log': '',
			'ws/nested/.git/HEAD': '',
			'ws/nested/.gitignore': '*.md\n',
			'ws/nested/x.log': '',
			'ws/nested/r.md': '',
			'ws/nested/k.py': '',
		});
		const ws = path.join(outer, 'ws');
		const files = abs(ws, ['a.py', 'b.log', 'nested/x.log', 'nested/r.md', 'nested/k.py']);
		assert.deepEqual(filterGitignored(files, [ws]), abs(ws, ['a.py', 'nested/x.log', 'nested/k.py']));
	});

	it("rewrites a folder's patterns relative to the repository root", () => {
		assert.equal(rebasePattern('*.py', ''), '*.py');
		assert.equal(rebasePattern('*.py', 'a/b'), '/a/b/**/*.py');
		assert.equal(rebasePattern('build/', 'a'), '/a/**/build/');
		assert.equal(rebasePattern('/build/', 'a'), '/a/build/');
		assert.equal(rebasePattern('x/y', 'a'), '/a/x/y');
		assert.equal(rebasePattern('**/y', 'a'), '/a/**/y');
		assert.equal(rebasePattern('!keep.py', 'a'), '!/a/**/keep.py');
		assert.equal(rebasePattern('*.tmp', '[x]*?'), '/\\[x\\]\\*\\?/**/*.tmp');
		assert.equal(rebasePattern('a.txt\r', 'c'), '/c/**/a.txt');
		assert.equal(rebasePattern('# note', 'a'), undefined);
		assert.equal(rebasePattern('   ', 'a'), undefined);
		assert.equal(rebasePattern('!', 'a'), undefined);
	});
});
