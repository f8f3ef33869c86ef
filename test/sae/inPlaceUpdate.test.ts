// The trainer lets onnxruntime write new parameters and Adam moments into the arrays the step
// read them from. That is only sound if no node reads an input after its new value is written:
// check it bit for bit against double-buffered updates, for every architecture, with AuxK on.

import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '../../src/engine/models/sampling';
import { InMemoryActivations } from '../../src/engine/sae/train/activationSource';
import { TRAIN_DEFAULTS, SaeTrainer } from '../../src/engine/sae/train/saeTrainer';
import type { TrainableArchitecture } from '../../src/engine/sae/train/saeTrainer';

const D = 24;
const N = 96;
const B = 64;
const STEPS = 6;

async function trained(architecture: TrainableArchitecture, inPlace: boolean): Promise<SaeTrainer> {
	const u = seededRandom(11);
	const data = Float32Array.from({ length: B * 8 * D }, () => (u() - 0.5) * 3 + (u() < 0.05 ? 8 : 0));
	// deadWindow 1: latents silent for a step count as dead, so AuxK runs from step 2 on.
	const trainer = await SaeTrainer.create(
		{ ...TRAIN_DEFAULTS, architecture, dIn: D, dSae: N, k: 4, batchSize: B, totalTokens: B * STEPS, lr: 1e-2, deadWindow: 1 },
		{ executionProvider: 'cpu', threads: 1 },
	);
	await trainer.initialize(data.subarray(0, B * 2 * D));
	await trainer.train(new InMemoryActivations(data, D, 5), { inPlace });
	return trainer;
}

describe('in-place parameter updates', () => {
	for (const architecture of ['topk', 'batchtopk', 'standard', 'jumprelu'] as const) {
		it(`${architecture}: ${STEPS} steps in place equal ${STEPS} double-buffered steps bit for bit`, async () => {
			const a = await trained(architecture, true);
			const b = await trained(architecture, false);
			for (const p of a.paramNames) assert.deepEqual(a.params[p], b.params[p], p);
			for (const m of Object.keys(a.moments)) assert.deepEqual(a.moments[m], b.moments[m], m);
			assert.ok(
				a.params.W_dec!.some((v, i) => v !== 0 && Number.isFinite(v) && i >= 0),
				'trained to finite values',
			);
			await a.dispose();
			await b.dispose();
		});
	}
});
