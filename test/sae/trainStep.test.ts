// Training-step graphs (TopK with AuxK, ReLU + L1) against PyTorch autograd +
// torch.optim.Adam on the same weights and batches (fixtures from
// tools/fixtures/sae_train_reference.py).

import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { readSafetensorsHeader, readTensor } from '../../src/engine/io/safetensors';
import { SAE_PARAMS, STEP_INPUTS } from '../../src/engine/sae/train/stepGraphCommon';
import { buildBatchtopkStepGraph } from '../../src/engine/sae/train/batchtopkStepGraph';
import { JUMPRELU_PARAMS, buildJumpreluStepGraph } from '../../src/engine/sae/train/jumpreluStepGraph';
import { buildStandardStepGraph } from '../../src/engine/sae/train/standardStepGraph';
import { buildTopkStepGraph } from '../../src/engine/sae/train/topkStepGraph';
import { stateNames } from '../../src/engine/sae/train/optimizerGraph';

function loadFixture(arch: string): Record<string, { shape: number[]; data: Float32Array | Uint8Array }> {
	const out: Record<string, { shape: number[]; data: Float32Array | Uint8Array }> = {};
	for (const entry of readSafetensorsHeader(path.join(__dirname, '..', 'fixtures', 'sae-train', `${arch}-reference.safetensors`)).tensors) {
		const t = readTensor(entry);
		const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).slice();
		out[entry.name] = { shape: t.shape, data: t.dtype === 'F32' ? new Float32Array(bytes.buffer) : bytes };
	}
	return out;
}

/** max |a − b| / max |b|: error relative to the tensor's scale. */
function relativeError(a: Float32Array, b: Float32Array): number {
	let diff = 0;
	let scale = 0;
	for (let i = 0; i < b.length; i++) {
		diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
		scale = Math.max(scale, Math.abs(b[i]!));
	}
	return diff / scale;
}

for (const arch of ['topk', 'batchtopk', 'standard', 'jumprelu'] as const)
	describe(`${arch} training step vs PyTorch autograd and Adam`, () => {
		const f = loadFixture(arch);
		const [loss, mse, aux, l0, kAux, auxScale, lr, k, bandwidth] = f.meta!.data as Float32Array;
		const PARAMS: readonly string[] = arch === 'jumprelu' ? JUMPRELU_PARAMS : SAE_PARAMS;
		const [, B, D] = f.x!.shape as [number, number, number];
		const N = f['init.W_dec']!.shape[0]!;
		const deadIndices = BigInt64Array.from([...(f.dead_mask!.data as Uint8Array)].flatMap((dead, j) => (dead ? [BigInt(j)] : [])));
		let session: ort.InferenceSession;
		before(async () => {
			const graph =
				arch === 'topk'
					? buildTopkStepGraph({ dIn: D, dSae: N, k: k!, normalizeDecoder: true, outputGradients: true })
					: arch === 'batchtopk'
						? buildBatchtopkStepGraph({ dIn: D, dSae: N, k: k!, outputGradients: true })
						: arch === 'standard'
							? buildStandardStepGraph({ dIn: D, dSae: N, outputGradients: true })
							: buildJumpreluStepGraph({ dIn: D, dSae: N, bandwidth: bandwidth!, outputGradients: true });
			session = await ort.InferenceSession.create(graph, { intraOpNumThreads: 1 });
		});

		const feeds = (step: number, params: Record<string, Float32Array>, moments: Record<string, Float32Array>): Record<string, ort.Tensor> => {
			const x = (f.x!.data as Float32Array).slice((step - 1) * B * D, step * B * D);
			const feeds: Record<string, ort.Tensor> = {
				[STEP_INPUTS.x]: new ort.Tensor('float32', x, [B, D]),
				[STEP_INPUTS.step]: new ort.Tensor('float32', Float32Array.of(step), []),
				[STEP_INPUTS.lr]: new ort.Tensor('float32', Float32Array.of(lr!), []),
			};
			if (arch === 'topk' || arch === 'batchtopk') {
				feeds[STEP_INPUTS.deadIndices] = new ort.Tensor('int64', deadIndices, [deadIndices.length]);
				feeds[STEP_INPUTS.kAux] = new ort.Tensor('int64', BigInt64Array.of(BigInt(kAux!)), [1]);
				feeds[STEP_INPUTS.auxScale] = new ort.Tensor('float32', Float32Array.of(auxScale!), []);
			} else {
				// The fixture's L1 / L0 coefficient.
				feeds[arch === 'standard' ? STEP_INPUTS.l1Coefficient : STEP_INPUTS.l0Coefficient] = new ort.Tensor('float32', Float32Array.of(auxScale!), []);
			}
			for (const p of PARAMS) {
				const shape = f[`init.${p}`]!.shape;
				feeds[p] = new ort.Tensor('float32', params[p]!, shape);
				feeds[stateNames(p).m] = new ort.Tensor('float32', moments[`m.${p}`]!, shape);
				feeds[stateNames(p).v] = new ort.Tensor('float32', moments[`v.${p}`]!, shape);
			}
			return feeds;
		};

		it('loss, metrics and every gradient of step 1 match autograd (relative 1e-5)', async () => {
			const params = Object.fromEntries(PARAMS.map((p) => [p, f[`init.${p}`]!.data as Float32Array]));
			const moments = Object.fromEntries(
				PARAMS.flatMap((p) => [
					[`m.${p}`, new Float32Array(params[p]!.length)],
					[`v.${p}`, new Float32Array(params[p]!.length)],
				]),
			);
			const out = await session.run(feeds(1, params, moments));
			assert.ok(Math.abs((out.loss!.data as Float32Array)[0]! - loss!) / loss! < 1e-5, `loss ${String(out.loss!.data)} vs ${loss}`);
			assert.ok(Math.abs((out.mse!.data as Float32Array)[0]! - mse!) / mse! < 1e-5);
			assert.ok(Math.abs((out.sparsity_loss!.data as Float32Array)[0]! - aux!) / aux! < 1e-5);
			assert.ok(aux! > 0, 'the fixture exercises AuxK / the L1 penalty');
			assert.ok(Math.abs((out.l0!.data as Float32Array)[0]! - l0!) < 1e-6);
			if (arch === 'batchtopk') assert.ok(Math.abs((out.min_active!.data as Float32Array)[0]! - (f.min_active!.data as Float32Array)[0]!) < 1e-6);
			for (const p of PARAMS) {
				const err = relativeError(out[`grad.${p}`]!.data as Float32Array, f[`grad.${p}`]!.data as Float32Array);
				assert.ok(err < 1e-5, `grad ${p}: relative error ${err}`);
			}
		});

		it('parameters after three clipped Adam steps (topk: unit-norm decoder rows) match torch', async () => {
			let params: Record<string, Float32Array> = Object.fromEntries(PARAMS.map((p) => [p, f[`init.${p}`]!.data as Float32Array]));
			let moments: Record<string, Float32Array> = Object.fromEntries(
				PARAMS.flatMap((p) => [
					[`m.${p}`, new Float32Array(params[p]!.length)],
					[`v.${p}`, new Float32Array(params[p]!.length)],
				]),
			);
			for (let step = 1; step <= 3; step++) {
				const out = await session.run(feeds(step, params, moments));
				params = Object.fromEntries(PARAMS.map((p) => [p, out[`new.${p}`]!.data as Float32Array]));
				moments = Object.fromEntries(
					PARAMS.flatMap((p) => [
						[`m.${p}`, out[stateNames(p).newM]!.data as Float32Array],
						[`v.${p}`, out[stateNames(p).newV]!.data as Float32Array],
					]),
				);
				for (const p of PARAMS) {
					const err = relativeError(params[p]!, f[`step${step}.${p}`]!.data as Float32Array);
					assert.ok(err < 1e-5, `step ${step} ${p}: relative error ${err}`);
				}
			}
		});
	});
