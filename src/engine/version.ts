// Feature Lens's version, from package.json, for what the engine writes into files (a trained
// SAE's sae_lens_training_version) and reports.

import { version } from '../../package.json';

export const FEATURE_LENS_VERSION: string = version;

/** What a trained SAE's cfg.json names as its trainer (not a SAELens version, so no tool mistakes it for one). */
export const TRAINING_VERSION = `feature-lens ${FEATURE_LENS_VERSION}`;
