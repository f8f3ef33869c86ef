// Transcoders in the model graph: a subgraph spliced at the output hook (hook_mlp_out) that reads
// the input hook of the same block (ln2.hook_normalized, mlp.hook_in) and replaces the MLP's
// output with the transcoder's: the replacement model's MLP. Spliced at every layer, the model
// runs on its transcoders alone (what the CE-loss score with all MLPs replaced measures, and what
// attribution graphs linearize). "Alongside" — the MLP kept, the transcoder's features and its
// error term (output − reconstruction) read next to it — needs no splice: SaeRunner.run on the
// input hook with the output hook as target gives both.

import type { Value } from '../onnx/graphBuilder';
import type { DecoderContext, HookExtension } from '../models/decoderGraph';
import { saeArchitecture } from './architectures/saeArchitectures';
import type { SaeGraphContext } from './architectures/saeArchitecture';
import { saeWeights } from './saeGraph';
import { saeObjectId } from './saeRunner';
import type { SaeRunner } from './saeRunner';
import { decodeOutput } from './transcoder';

export interface SpliceOptions {
	/**
	 * Leave absolute position 0 as the model computes it: the BOS token, whose activations dwarf
	 * every other token's, is neither measured nor replaced (as the SAE evaluation and
	 * circuit-tracer's zero_positions treat it).
	 */
	keepFirstPosition?: boolean;
}

/** Replaces the output hook's value with the transcoder's output, computed from the input hook: [batch, seq, d_in] → [batch, seq, d_out]. */
export function transcoderReplacement(runner: SaeRunner, options: SpliceOptions = {}): HookExtension {
	const { sae, hookName, outputHookName } = runner;
	if (!sae.cfg.transcoder) throw new Error(`internal: ${sae.source} is not a transcoder`);
	return {
		key: `transcoder:${outputHookName}:sae${saeObjectId(sae)}${options.keepFirstPosition ? ':keep0' : ''}`,
		hookName: outputHookName,
		reads: [hookName],
		build(ctx: DecoderContext, x: Value): Value {
			const { b } = ctx;
			const g: SaeGraphContext = { b, cfg: sae.cfg, weight: saeWeights(b, sae, 'transcoder.') };
			const saeIn = ctx.hookValue(hookName); // [batch, seq, d_in]
			const replaced = decodeOutput(g, saeArchitecture(sae.cfg.architecture).encode(g, saeIn), saeIn);
			return options.keepFirstPosition ? exceptFirstPosition(ctx, x, replaced) : replaced;
		},
	};
}

/** Zero-ablates a hook (x → 0·x, which keeps its shape): the baseline of the CE-loss score with every MLP removed. */
export function zeroAblation(hookName: string, options: SpliceOptions = {}): HookExtension {
	return {
		key: `zero:${hookName}${options.keepFirstPosition ? ':keep0' : ''}`,
		hookName,
		build: (ctx, x) => {
			const zero = ctx.b.mul(x, ctx.b.constFloat([0]));
			return options.keepFirstPosition ? exceptFirstPosition(ctx, x, zero) : zero;
		},
	};
}

/** `changed` [batch, seq, d] everywhere but absolute position 0, which keeps `x`. */
export function exceptFirstPosition(ctx: DecoderContext, x: Value, changed: Value): Value {
	const { b } = ctx;
	const first = b.unsqueeze(b.op('Equal', [ctx.positions, b.constInt64([0], [])]), [1]); // [seq, 1]
	return b.op('Where', [first, x, changed]);
}
