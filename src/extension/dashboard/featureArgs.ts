// Which feature a command was invoked for, from whatever its caller passes: a number (hover
// command links, other commands), a numeric string, a Features tree node ({ feature:
// { featureIndex } }) or a search hit ({ featureIndex }). Free of `vscode`, unit-tested.

/** The feature index in `arg`, or undefined when it names none. */
export function featureIndexFromArg(arg: unknown): number | undefined {
	if (typeof arg === 'number') return Number.isInteger(arg) && arg >= 0 ? arg : undefined;
	if (typeof arg === 'string') return /^\s*\d+\s*$/.test(arg) ? featureIndexFromArg(Number(arg)) : undefined;
	if (typeof arg === 'object' && arg !== null) {
		const o = arg as Record<string, unknown>;
		if ('featureIndex' in o) return featureIndexFromArg(o['featureIndex']);
		if ('feature' in o) return featureIndexFromArg(o['feature']);
	}
	return undefined;
}

/** Validates a typed feature number against the SAE's width: an error message, or undefined when valid. */
export function featureNumberError(text: string, dSae: number): string | undefined {
	const t = text.trim().replace(/^#/, '');
	if (!/^\d+$/.test(t)) return `A feature number from 0 to ${dSae - 1}`;
	const n = Number(t);
	return n < dSae ? undefined : `This SAE has ${dSae} features: 0 to ${dSae - 1}`;
}
