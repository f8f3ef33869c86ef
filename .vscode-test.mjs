// @vscode/test-cli configuration (`npm run test:vscode`): the extension tests in a downloaded
// VS Code desktop. Not part of CI, which cannot download VS Code; CI runs test/e2e in code-server.
import { defineConfig } from '@vscode/test-cli';

export default defineConfig({
	files: 'test/vscode/**/*.test.cjs',
	version: 'stable',
	mocha: { ui: 'bdd', timeout: 180000 },
	launchArgs: ['--disable-extensions', '--disable-workspace-trust'],
});
