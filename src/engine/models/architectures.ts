// The registry of architecture builders, keyed by config.json `model_type`.

import type { Architecture } from './architecture';
import { gpt2 } from './gpt2';
import { llama } from './llama';

const ARCHITECTURES: readonly Architecture[] = [gpt2, llama];

export function architectureFor(modelType: string): Architecture | undefined {
	return ARCHITECTURES.find((a) => a.modelTypes.includes(modelType));
}

export function supportedModelTypes(): string[] {
	return ARCHITECTURES.flatMap((a) => a.modelTypes);
}
