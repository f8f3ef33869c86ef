// The demo transcoder set shipped in models/pycode/transcoders: both layouts load, the float16
// circuit-tracer files are the float32 SAELens copies rounded, every layer binds to the demo
// model's MLP hooks, and spliced in place of every MLP it keeps the model's next-token loss far
// closer to clean than zeroing the MLPs (the card's CE-loss score, here on a few windows).

import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LanguageModel } from '../../src/engine/models/languageModel';
import { demoModelDir } from '../../src/engine/models/modelPaths';
import { loadTranscoderFolder, loadTranscoderSet } from '../../src/engine/sae/circuitTracerFormat';
import { evaluateTranscoderSet } from '../../src/engine/sae/evaluateTranscoders';
import { loadSae } from '../../src/engine/sae/saeFormat';
import { SaeRunner } from '../../src/engine/sae/saeRunner';
import { corpusDocuments, corpusWindows } from '../../src/engine/sae/train/corpus';
import { f32 } from '../saeFixtures';
import { maxAbsDiff } from '../helpers';

const CPU = { executionProvider: 'cpu' as const, threads: 1 };
const SET = path.join(demoModelDir(), 'transcoders');

describe('the demo transcoder set', () => {
	let model: LanguageModel;
	before(() => {
		model = LanguageModel.load('demo', CPU);
	});
	after(async () => model.dispose());

	it('loads in both layouts; the float16 files are the float32 transcoders rounded; every layer fits the demo model', async () => {
		const set = loadTranscoderSet(SET);
		const saelens = loadTranscoderFolder(path.join(SET, 'saelens'), (p) => loadSae(p));
		assert.equal(set.layers.length, 4);
		assert.equal(saelens.length, 4);
		for (let l = 0; l < 4; l++) {
			const [half, full] = [set.layers[l]!, saelens[l]!];
			assert.equal(half.weights.W_dec!.dtype, 'F16');
			assert.equal(full.cfg.architecture, 'jumprelu');
			assert.deepEqual(full.cfg.transcoder, { d_out: 192, hook_name_out: `blocks.${l}.hook_mlp_out`, skip: false });
			for (const name of ['W_enc', 'W_dec', 'b_enc', 'b_dec', 'threshold']) {
				const a = f32(full, name);
				const scale = a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
				assert.ok(maxAbsDiff(widen(half, name), a) <= scale * 2 ** -10, `layer ${l} ${name}`);
			}
			const runner = SaeRunner.forModel(half, model, CPU);
			assert.equal(runner.outputHookName, `blocks.${l}.hook_mlp_out`);
			await runner.dispose();
		}
	});

	it('every MLP replaced keeps the loss close to clean (CE-loss score over 0.8 on a few windows)', async () => {
		const runners = loadTranscoderSet(SET).layers.map((s) => SaeRunner.forModel(s, model, CPU));
		const m = await evaluateTranscoderSet(model, runners, corpusWindows(model, corpusDocuments('demo'), 128, true), { tokens: 1000, contextSize: 128, batchContexts: 4 });
		for (const r of runners) await r.dispose();
		assert.ok(m.ce_loss_score > 0.8, `CE-loss score ${m.ce_loss_score}`);
		for (const l of m.layers) assert.ok(l.explained_variance > 0.7, `${l.hook_name}: EV ${l.explained_variance}`);
	});
});

/** A tensor's values as float32, whatever it is stored in. */
function widen(sae: ReturnType<typeof loadSae>, name: string): Float32Array {
	const t = sae.weights[name]!;
	if (t.dtype === 'F32') return f32(sae, name);
	const bits = new Uint16Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength));
	return Float32Array.from(bits, (h) => {
		const s = h & 0x8000 ? -1 : 1;
		const e = (h >> 10) & 0x1f;
		const f = h & 0x3ff;
		return e === 0 ? s * f * 2 ** -24 : s * (1 + f / 1024) * 2 ** (e - 15);
	});
}
