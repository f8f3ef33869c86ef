// The command line's entry point (dist/cli.js): checks that this machine can run the native
// libraries before the commands load them, so an unsupported machine gets one clear line
// rather than "Cannot find module …onnxruntime_binding.node".

import { currentHost, nativePlatformProblem, packagedTargets } from '../engine/nativePlatform';

const problem = nativePlatformProblem(currentHost(), packagedTargets());
if (problem === undefined) {
	// Loaded only here: the commands' imports load onnxruntime-node's native binding.
	require('./main');
} else {
	process.stderr.write(`feature-lens: error: ${problem}\n`);
	process.exitCode = 2;
}
