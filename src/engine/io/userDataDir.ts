// Feature Lens's own folder for what it keeps between runs outside any project or cache it
// shares (a refreshed SAE release registry): $XDG_CACHE_HOME/feature-lens, else
// ~/.cache/feature-lens. The extension passes its global storage folder instead.

import * as os from 'node:os';
import * as path from 'node:path';

export function userDataDir(env: NodeJS.ProcessEnv = process.env): string {
	return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'feature-lens');
}
