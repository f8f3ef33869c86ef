// The steering vocabulary the engine, the extension host and the steering webview all speak.
// No imports: the webview bundles it without vscode-jsonrpc.

/**
 * How a feature steers the SAE's hook activation x (d = W_dec[i]):
 * - `add`: x + strength·d at every steered position (Neuronpedia SIMPLE_ADDITIVE);
 * - `clamp`: the SAE reads `strength` for the feature while the error term is kept,
 *   x + (strength − f_i(x))·d (the "Golden Gate" intervention);
 * - `cap`: the projection of x on d/‖d‖ is capped at `strength` (Neuronpedia PROJECTION_CAP).
 */
export const STEER_MODES = ['add', 'clamp', 'cap'] as const;
export type SteerMode = (typeof STEER_MODES)[number];

/** `all` steers the prompt and the generated tokens; `generated` only the generated ones. */
export const STEER_POSITIONS = ['all', 'generated'] as const;
export type SteerPositions = (typeof STEER_POSITIONS)[number];

export function isSteerMode(value: unknown): value is SteerMode {
	return (STEER_MODES as readonly unknown[]).includes(value);
}

export function isSteerPositions(value: unknown): value is SteerPositions {
	return (STEER_POSITIONS as readonly unknown[]).includes(value);
}
