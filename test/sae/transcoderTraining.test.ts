// Training transcoders with the SAE trainer: the step graphs' transcoder gradients (ReLU + L1 and
// TopK, with W_skip) against torch autograd (tools/fixtures/transcoder_train_reference.py), and a
// short run on the demo model reading the MLP's input and output from one activation store,
// saved in SAELens's layout, that replaces its MLP better than zero ablation and resumes.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { LanguageModel } from '../../src/engine/models/languageModel';
import { loadSae } from '../../src/engine/sae/saeFormat';
import { SaeRunner } from '../../src/engine/sae/saeRunner';
import { buildStandardStepGraph } from '../../src/engine/sae/train/standardStepGraph';
import { buildTopkStepGraph } from '../../src/engine/sae/train/topkStepGraph';
import { STEP_INPUTS } from '../../src/engine/sae/train/stepGraphCommon';
import { stateNames } from '../../src/engine/sae/train/optimizerGraph';
import { runTraining } from '../../src/engine/sae/train/trainingRun';
import { modelTrainingSource, trainConfigFor } from '../../src/engine/sae/train/trainingJob';

const CPU = { executionProvider: 'cpu' as const, threads: 1 };
const REF = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'transcoders', 'train-step.json'), 'utf8')) as {
	dims: [number, number, number, number, number];
	l1: number;
	x: number[];
	y: number[];
	params: Record<string, number[]>;
	standard: { loss: number; mse: number; grads: Record<string, number[]> };
	topk: { loss: number; mse: number; grads: Record<string, number[]> };
};

function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
	let diff = 0;
	let scale = 0;
	for (let i = 0; i < b.length; i++) {
		diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
		scale = Math.max(scale, Math.abs(b[i]!));
	}
	return diff / scale;
}

describe('transcoder training steps vs torch autograd', () => {
	const [dIn, dOut, n, B, k] = REF.dims;
	const shapes: Record<string, number[]> = { W_enc: [dIn, n], b_enc: [n], W_dec: [n, dOut], b_dec: [dOut], W_skip: [dOut, dIn] };
	for (const kind of ['standard', 'topk'] as const) {
		it(`${kind} with W_skip: loss, MSE and every gradient (relative 1e-5)`, async () => {
			const transcoder = { dOut, skip: true };
			const graph =
				kind === 'standard'
					? buildStandardStepGraph({ dIn, dSae: n, transcoder, outputGradients: true })
					: buildTopkStepGraph({ dIn, dSae: n, k, normalizeDecoder: false, transcoder, outputGradients: true });
			const session = await ort.InferenceSession.create(graph, { intraOpNumThreads: 1 });
			const rows = new Float32Array(B * (dIn + dOut));
			for (let r = 0; r < B; r++) {
				rows.set(REF.x.slice(r * dIn, (r + 1) * dIn), r * (dIn + dOut));
				rows.set(REF.y.slice(r * dOut, (r + 1) * dOut), r * (dIn + dOut) + dIn);
			}
			const feeds: Record<string, ort.Tensor> = {
				[STEP_INPUTS.x]: new ort.Tensor('float32', rows, [B, dIn + dOut]),
				[STEP_INPUTS.step]: new ort.Tensor('float32', Float32Array.of(1), []),
				[STEP_INPUTS.lr]: new ort.Tensor('float32', Float32Array.of(1e-3), []),
			};
			if (kind === 'standard') feeds[STEP_INPUTS.l1Coefficient] = new ort.Tensor('float32', Float32Array.of(REF.l1), []);
			else {
				// AuxK off (scale 0), as in the reference.
				feeds[STEP_INPUTS.deadIndices] = new ort.Tensor('int64', BigInt64Array.of(0n), [1]);
				feeds[STEP_INPUTS.kAux] = new ort.Tensor('int64', BigInt64Array.of(1n), [1]);
				feeds[STEP_INPUTS.auxScale] = new ort.Tensor('float32', Float32Array.of(0), []);
			}
			for (const [p, shape] of Object.entries(shapes)) {
				feeds[p] = new ort.Tensor('float32', Float32Array.from(REF.params[p]!), shape);
				feeds[stateNames(p).m] = new ort.Tensor('float32', new Float32Array(REF.params[p]!.length), shape);
				feeds[stateNames(p).v] = new ort.Tensor('float32', new Float32Array(REF.params[p]!.length), shape);
			}
			const out = await session.run(feeds);
			await session.release();
			const want = REF[kind];
			assert.ok(Math.abs((out.loss!.data as Float32Array)[0]! - want.loss) / want.loss < 1e-5, `loss ${String(out.loss!.data)} vs ${want.loss}`);
			assert.ok(Math.abs((out.mse!.data as Float32Array)[0]! - want.mse) / want.mse < 1e-5);
			for (const p of Object.keys(shapes)) {
				const err = relativeError(out[`grad.${p}`]!.data as Float32Array, want.grads[p]!);
				assert.ok(err < 1e-5, `grad ${p}: relative error ${err}`);
			}
		});
	}
});

describe('training a transcoder on the demo model', () => {
	let model: LanguageModel;
	const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fl-tc-train-')), 'layer1');
	before(() => {
		model = LanguageModel.load('demo', CPU);
	});
	after(async () => model.dispose());

	it('reads the MLP input and output in one store, trains, saves a SAELens skip_transcoder, and resumes', async () => {
		const hookName = 'blocks.1.ln2.hook_normalized';
		const hookNameOut = 'blocks.1.hook_mlp_out';
		const config = trainConfigFor({ architecture: 'standard', dSae: 384, tokens: 24 * 512, batchSize: 512, lr: 1e-3, l1: 0.5, transcoder: { dOut: 192, skip: true } }, 192);
		const { source, metadata } = await modelTrainingSource(model, { hookName, hookNameOut, corpus: 'demo', bufferRows: 4096 });
		assert.equal(source.dIn, 384); // [x_in | y_out]
		const result = await runTraining(source, { out, config, metadata, settings: CPU, checkpointSteps: 8, resume: false });
		assert.equal(result.steps, 24);
		const cfg = JSON.parse(fs.readFileSync(path.join(out, 'cfg.json'), 'utf8')) as Record<string, unknown>;
		assert.equal(cfg.architecture, 'skip_transcoder');
		assert.equal(cfg.hook_name_out, hookNameOut);
		assert.equal((cfg.metadata as Record<string, unknown>).hook_name, hookName);
		assert.equal((cfg.metadata as Record<string, unknown>).hook_name_out, undefined);
		const sae = loadSae(out);
		assert.deepEqual(sae.cfg.transcoder, { d_out: 192, hook_name_out: hookNameOut, skip: true });
		// It has learnt something of the MLP: its explained variance of hook_mlp_out beats zero (the trainer's own last step says so too).
		assert.ok(result.final!.explainedVariance > 0.2, `explained variance ${result.final!.explainedVariance}`);
		const runner = SaeRunner.forModel(sae, model, CPU);
		assert.equal(runner.outputHookName, hookNameOut);
		await runner.dispose();

		// Resume: a longer budget from the last checkpoint.
		const longer = trainConfigFor({ architecture: 'standard', dSae: 384, tokens: 32 * 512, batchSize: 512, lr: 1e-3, l1: 0.5, transcoder: { dOut: 192, skip: true } }, 192);
		const again = await modelTrainingSource(model, { hookName, hookNameOut, corpus: 'demo', bufferRows: 4096 });
		const resumed = await runTraining(again.source, { out, config: longer, metadata: again.metadata, settings: CPU, resume: true });
		assert.equal(resumed.steps, 32);
	});

	it('refuses what SAELens cannot hold: TopK transcoders, skip JumpReLU ones', () => {
		assert.throws(() => trainConfigFor({ architecture: 'topk', dSae: 64, tokens: 1000, transcoder: { dOut: 192, skip: false } }, 192), /a TopK transcoder has no SAELens architecture/);
		assert.throws(() => trainConfigFor({ architecture: 'batchtopk', dSae: 64, tokens: 1000, transcoder: { dOut: 192, skip: true } }, 192), /SAELens has no skip JumpReLU transcoder/);
	});
});
