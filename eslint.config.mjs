// ESLint: typescript-eslint's type-checked recommended rules over the TypeScript sources, with
// floating promises an error (a dropped promise is a lost failure in the extension host).
// `npm run lint`; run by `npm test`.

import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
	// Build outputs, fixtures, local scratch (.exp, bench/.work: untracked) are not the project's code.
	{ ignores: ['dist/**', 'node_modules/**', '.exp/**', 'bench/.work/**', 'test/fixtures/**', 'test-results/**', 'models/**', 'data/**', 'media/**', '.vscode-test/**'] },
	tseslint.configs.recommendedTypeChecked,
	{
		languageOptions: {
			parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
		},
		rules: {
			// Messages print tensor shapes and id lists as arrays ("shape 1,4,32") on purpose.
			'@typescript-eslint/restrict-template-expressions': ['error', { allowAny: false, allowArray: true, allowBoolean: true, allowNullish: true, allowNumber: true, allowRegExp: true }],
			// async without await is how a method keeps a Promise-returning contract (an interface, a
			// callback type) and turns a throw into a rejection; requiring an await there adds noise.
			'@typescript-eslint/require-await': 'off',
			// A leading underscore marks a value left unused on purpose (a skipped tuple slot, a rest split).
			'@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
			// A variable a closure reads before its one assignment (entriesView's number box) stays let.
			'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
			// node:test's describe and it return promises that the runner itself awaits.
			'@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', name: ['describe', 'it', 'test', 'suite'], package: 'node:test' }] }],
		},
	},
	{
		// The entry points check the machine before require() loads the native binding: a static
		// import would load it first, and an unsupported machine would get "Cannot find module".
		files: ['src/cli/cliMain.ts', 'src/engine/engineMain.ts'],
		rules: { '@typescript-eslint/no-require-imports': 'off' },
	},
	{
		// CommonJS files (the VS Code desktop tests run as CommonJS in the extension host) use require.
		files: ['**/*.cjs'],
		rules: { '@typescript-eslint/no-require-imports': 'off' },
	},
	{
		// Plain JavaScript (build scripts, e2e drivers, VS Code desktop tests) is not in the TypeScript project.
		files: ['**/*.mjs', '**/*.cjs', '**/*.js'],
		extends: [tseslint.configs.disableTypeChecked],
		languageOptions: { globals: { ...globalsNode() } },
	},
);

function globalsNode() {
	return Object.fromEntries(
		['process', 'console', 'require', 'module', '__dirname', 'Buffer', 'setTimeout', 'clearTimeout', 'URL', 'describe', 'it', 'before', 'after', 'document', 'window'].map((g) => [g, 'readonly']),
	);
}
