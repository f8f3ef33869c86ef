// The SAEs a steering spec names by path: loaded once, reused across requests, the loaded SAE's
// own runner where a path is its source, the least recently used released past the budget (never
// one the request uses), and all of them released with the model.

import * as assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { LanguageModel } from '../../src/engine/models/languageModel';
import { SaeRunner } from '../../src/engine/sae/saeRunner';
import { SteeringSaes } from '../../src/engine/steer/steeringSaes';
import type { SteerSpec } from '../../src/protocol/steerProtocol';
import { fixtureModel } from '../helpers';
import { CPU, makeSae } from './steerFixtures';

const named = (...paths: string[]): SteerSpec => ({ features: paths.map((sae, i) => ({ featureIndex: i, mode: 'clamp', strength: 1, sae })), vectors: [], positions: 'all' });

describe('SteeringSaes', () => {
	const model = LanguageModel.load(fixtureModel('gpt2-tiny'), CPU);
	after(() => model.dispose());

	it('loads each path once, reuses the loaded SAE, and releases the least recently used past its budget', async () => {
		const loads: string[] = [];
		const released: string[] = [];
		const saes = new SteeringSaes(
			async (path) => {
				loads.push(path);
				return SaeRunner.forModel({ ...makeSae('topk'), source: path }, model, CPU);
			},
			async (runner) => {
				released.push(runner.sae.source);
			},
			2,
		);
		const loaded = SaeRunner.forModel({ ...makeSae('topk'), source: '/loaded' }, model, CPU);
		const signal = new AbortController().signal;
		const first = await saes.resolve([named('/a', '/loaded')], loaded, signal);
		assert.equal(first.get('/loaded'), loaded, 'the loaded SAE is not loaded again');
		assert.equal(first.get('/a')!.sae.source, '/a');
		const again = await saes.resolve([named('/a')], loaded, signal);
		assert.equal(again.get('/a'), first.get('/a'), 'kept between requests');
		await saes.resolve([named('/b')], loaded, signal);
		assert.deepEqual(loads, ['/a', '/b']);
		// /a is the least recently used: a third path releases it.
		await saes.resolve([named('/c')], loaded, signal);
		assert.deepEqual(released, ['/a']);
		assert.equal(saes.size, 2);
		// A request that needs more than the budget keeps all it uses.
		const big = await saes.resolve([named('/d', '/e', '/f')], loaded, signal);
		assert.equal(big.size, 3);
		assert.deepEqual(released, ['/a', '/b', '/c']);
		await saes.clear();
		assert.deepEqual(released.slice(3).sort(), ['/d', '/e', '/f']);
		assert.equal(saes.size, 0);
		await loaded.dispose();
	});
});
