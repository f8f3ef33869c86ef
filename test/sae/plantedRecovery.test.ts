// Planted-dictionary recovery: data made as sparse combinations of a known random dictionary;
// trained TopK and ReLU + L1 SAEs must find at least 90% of the atoms with cosine > 0.9.

import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '../../src/engine/models/sampling';
import { InMemoryActivations } from '../../src/engine/sae/train/activationSource';
import { TRAIN_DEFAULTS, SaeTrainer } from '../../src/engine/sae/train/saeTrainer';

const D = 64;
const ATOMS = 512;
const ACTIVE = 4;
const SAMPLES = 32768;

function plantedData(seed: number): { atoms: Float32Array; data: Float32Array } {
	const u = seededRandom(seed);
	const normal = () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
	const atoms = new Float32Array(ATOMS * D);
	for (let a = 0; a < ATOMS; a++) {
		const row = atoms.subarray(a * D, (a + 1) * D);
		row.forEach((_, i) => {
			row[i] = normal();
		});
		const norm = Math.hypot(...row);
		row.forEach((v, i) => {
			row[i] = v / norm;
		});
	}
	const data = new Float32Array(SAMPLES * D);
	for (let s = 0; s < SAMPLES; s++) {
		const x = data.subarray(s * D, (s + 1) * D);
		for (let j = 0; j < ACTIVE; j++) {
			const a = Math.floor(u() * ATOMS);
			const c = 0.5 + u();
			for (let i = 0; i < D; i++) x[i]! += c * atoms[a * D + i]!;
		}
		for (let i = 0; i < D; i++) x[i]! += 0.01 * normal();
	}
	return { atoms, data };
}

/** Fraction of atoms whose best-matching decoder row has cosine above `threshold`. */
function recovered(atoms: Float32Array, wDec: Float32Array, dSae: number, threshold: number): number {
	let found = 0;
	for (let a = 0; a < ATOMS; a++) {
		let best = -1;
		for (let j = 0; j < dSae; j++) {
			let dot = 0;
			let norm = 0;
			for (let i = 0; i < D; i++) {
				dot += atoms[a * D + i]! * wDec[j * D + i]!;
				norm += wDec[j * D + i]! ** 2;
			}
			best = Math.max(best, dot / Math.sqrt(norm));
		}
		if (best > threshold) found++;
	}
	return found / ATOMS;
}

describe('planted dictionary recovery', () => {
	it('a TopK SAE recovers ≥ 90% of 512 planted atoms with cosine > 0.9', async () => {
		const { atoms, data } = plantedData(11);
		const trainer = await SaeTrainer.create(
			{
				...TRAIN_DEFAULTS,
				architecture: 'topk',
				dIn: D,
				dSae: 1024,
				k: ACTIVE,
				batchSize: 1024,
				lr: 4e-3,
				totalTokens: 1_000_000,
				warmupSteps: 50,
				decaySteps: 300,
				deadWindow: 100,
				seed: 3,
			},
			{ executionProvider: 'cpu', threads: 2 },
		);
		await trainer.initialize(data.subarray(0, 4096 * D));
		let last: { explainedVariance: number; deadFraction: number; l0: number } | undefined;
		await trainer.train(new InMemoryActivations(data, D, 5), {
			onStep: (m) => {
				last = m;
			},
		});
		const fraction = recovered(atoms, trainer.params.W_dec!, 1024, 0.9);
		console.log(
			`planted recovery: ${(fraction * 100).toFixed(1)}% of atoms at cos > 0.9; explained variance ${last!.explainedVariance.toFixed(4)}, L0 ${last!.l0}, dead ${(last!.deadFraction * 100).toFixed(1)}%`,
		);
		assert.ok(fraction >= 0.9, `recovered ${fraction}`);
		assert.ok(last!.explainedVariance > 0.8, `explained variance ${last!.explainedVariance}`);
		await trainer.dispose();
	});

	it('a ReLU + L1 SAE recovers ≥ 90% of 512 planted atoms with cosine > 0.9', async () => {
		const { atoms, data } = plantedData(11);
		const l1 = 1; // L0 ≈ 7.5: sparse enough to separate atoms; 0.1 leaves L0 ≈ 176 and 3 kills most latents
		const trainer = await SaeTrainer.create(
			{
				...TRAIN_DEFAULTS,
				architecture: 'standard',
				dIn: D,
				dSae: 1024,
				l1Coefficient: l1,
				l1WarmupSteps: 100,
				batchSize: 1024,
				lr: 4e-3,
				totalTokens: 1_000_000,
				warmupSteps: 50,
				decaySteps: 300,
				seed: 3,
			},
			{ executionProvider: 'cpu', threads: 2 },
		);
		await trainer.initialize(data.subarray(0, 4096 * D));
		let last: { explainedVariance: number; l0: number } | undefined;
		await trainer.train(new InMemoryActivations(data, D, 5), {
			onStep: (m) => {
				last = m;
			},
		});
		const fraction = recovered(atoms, trainer.params.W_dec!, 1024, 0.9);
		console.log(`planted recovery (ReLU + L1, l1 ${l1}): ${(fraction * 100).toFixed(1)}% of atoms at cos > 0.9; explained variance ${last!.explainedVariance.toFixed(4)}, L0 ${last!.l0.toFixed(1)}`);
		assert.ok(fraction >= 0.9, `recovered ${fraction}`);
		await trainer.dispose();
	});
});
