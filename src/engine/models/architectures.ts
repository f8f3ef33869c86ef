// The registry of architecture builders, keyed by config.json `model_type`.

import type { Architecture } from './architecture';
import { gemma2 } from './gemma2';
import { gemma3 } from './gemma3';
import { gpt2 } from './gpt2';
import { gptNeox } from './gptNeox';
import { llama } from './llama';
import { qwen3 } from './qwen3';

const ARCHITECTURES: readonly Architecture[] = [gpt2, llama, qwen3, gemma2, gemma3, gptNeox];

export function architectureFor(modelType: string): Architecture | undefined {
	return ARCHITECTURES.find((a) => a.modelTypes.includes(modelType));
}

export function supportedModelTypes(): string[] {
	return ARCHITECTURES.flatMap((a) => a.modelTypes);
}
