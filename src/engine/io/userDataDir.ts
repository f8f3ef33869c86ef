// Feature Lens's own folder for what it keeps between runs outside any project or cache it
// shares (labels, notes and analyses by SAE content hash, a refreshed SAE release registry),
// when no host says otherwise: $FEATURE_LENS_DATA_DIR, else the user's cache folder. The
// extension passes its global storage folder instead (InitializeParams.userDataDir). Never
// beside the package, which an update replaces.

import * as os from 'node:os';
import * as path from 'node:path';

/** Overrides the folder (scripts, tests, a shared team folder). */
export const DATA_DIR_ENV = 'FEATURE_LENS_DATA_DIR';

/** `$FEATURE_LENS_DATA_DIR`, else the platform's per-user cache folder + `feature-lens`. */
export function userDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home = os.homedir()): string {
	const override = env[DATA_DIR_ENV];
	if (override) return path.resolve(override);
	if (platform === 'win32') return path.win32.join(env['LOCALAPPDATA'] || path.win32.join(home, 'AppData', 'Local'), 'feature-lens', 'Cache');
	if (platform === 'darwin') return path.posix.join(home, 'Library', 'Caches', 'feature-lens');
	// The XDG base-directory spec ignores a relative $XDG_CACHE_HOME.
	const xdg = env['XDG_CACHE_HOME'];
	return path.posix.join(xdg && path.posix.isAbsolute(xdg) ? xdg : path.posix.join(home, '.cache'), 'feature-lens');
}
