// One clear line per failure: expected problems (bad input, bad files) print their message;
// anything unexpected prints its message too, with the stack only under FEATURE_LENS_DEBUG.

import { ModelConfigError } from '../engine/models/decoderConfig';
import { SafetensorsError } from '../engine/io/safetensors';
import { TextTooLongError } from '../engine/tokenize/tokenizer';
import { TokenizerError } from '../engine/tokenize/tokenizerFile';
import { SaeFormatError } from '../engine/sae/saeTypes';
import { UnsafePathError } from '../engine/io/safePaths';
import { DiskError } from '../engine/io/disk';
import { RunFolderError } from '../engine/sae/train/trainingRun';
import { HubError } from '../engine/hub/hubErrors';
import { Cancelled } from '../engine/cancelled';
import { errorMessage } from '../protocol/errors';

/** A usage error in the command line itself. */
export class CliError extends Error {}

const EXPECTED = [CliError, ModelConfigError, SafetensorsError, TokenizerError, SaeFormatError, TextTooLongError, UnsafePathError, DiskError, RunFolderError, HubError, Cancelled];

/** Prints the error and returns the exit code. */
export function reportError(err: unknown): number {
	const message = errorMessage(err);
	const expected = EXPECTED.some((k) => err instanceof k);
	process.stderr.write(`feature-lens: error: ${expected ? message : `unexpected failure: ${message.split('\n')[0]}`}\n`);
	if (process.env.FEATURE_LENS_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
	return expected ? 2 : 1;
}

export function intOption(value: string | undefined, name: string, fallback: number, min = 0): number {
	if (value === undefined) return fallback;
	const n = Number(value);
	if (!Number.isInteger(n) || n < min) throw new CliError(`--${name} must be an integer ≥ ${min} (got "${value}")`);
	return n;
}

export function numberOption(value: string | undefined, name: string, fallback: number, min: number, max = Infinity): number {
	if (value === undefined) return fallback;
	const n = Number(value);
	if (!Number.isFinite(n) || n < min || n > max) throw new CliError(`--${name} must be a number in [${min}, ${max}] (got "${value}")`);
	return n;
}
