// `vscode:prepublish`, which `vsce package` runs in the repository after the production build:
// this machine's native packages into dist/node_modules, so a plain `vsce package` makes a
// working package for this machine. `npm run package` makes the five platform packages.

import * as path from 'node:path';
import { REPO_ROOT, hostTarget, stageNatives } from './stageNatives';

stageNatives(hostTarget(), path.join(REPO_ROOT, 'dist'));
