// The steering sidebar's and inline completions' logic that runs without VS Code: the token
// diff (against a brute-force LCS), steer specs built and checked from the UI state, sweep
// strengths, presets written and read back (and corrupt ones skipped), webview messages
// checked, the inline prompt cut to the context and the ghost text cut to a line, and the
// debounced, cancellable requests (with node:test's mock timers, so no real waiting).

import * as assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { CancellationTokenSource } from 'vscode-jsonrpc';
import { DebouncedRequests, delayUnlessCancelled } from '../../src/extension/steering/debounce';
import { MIN_CHARS_PER_TOKEN, ghostText, inlinePrompt } from '../../src/extension/steering/inlinePrompt';
import { insertionText } from '../../src/extension/steering/insertion';
import { PRESETS_KEY, PresetStore, parsePreset, presetNameError, serializePreset } from '../../src/extension/steering/presets';
import type { KeyValueStore } from '../../src/extension/steering/presets';
import { parseFromSteeringView } from '../../src/extension/steering/steeringMessageGuard';
import { finalTokens } from '../../src/extension/steering/steeringRuns';
import { parseSetup, parseStrength, parseStrengths, samplingProblems, setupProblems, toSteerSpec, typedFeatureNumber } from '../../src/protocol/steeringSetup';
import { SIDEBAR_SAMPLING, STEERING_LIMITS } from '../../src/protocol/steeringViewMessages';
import type { SteeringSetup } from '../../src/protocol/steeringViewMessages';
import { countChanged, tokenDiff } from '../../webview-ui/steering/tokenDiff';

/** LCS length by plain recursion with memo, for checking the diff's optimality. */
function lcsLength(a: readonly number[], b: readonly number[]): number {
	const memo = new Map<string, number>();
	const go = (i: number, j: number): number => {
		if (i === a.length || j === b.length) return 0;
		const key = `${i},${j}`;
		const hit = memo.get(key);
		if (hit !== undefined) return hit;
		const v = a[i] === b[j] ? 1 + go(i + 1, j + 1) : Math.max(go(i + 1, j), go(i, j + 1));
		memo.set(key, v);
		return v;
	};
	return go(0, 0);
}

function seeded(seed: number): () => number {
	let s = seed >>> 0;
	return () => {
		s = (s * 1664525 + 1013904223) >>> 0;
		return s / 2 ** 32;
	};
}

describe('token diff', () => {
	it('marks nothing for equal sequences and everything against an empty one', () => {
		assert.deepEqual(tokenDiff([1, 2, 3], [1, 2, 3]), { a: [false, false, false], b: [false, false, false] });
		assert.deepEqual(tokenDiff([], [4, 5]), { a: [], b: [true, true] });
		assert.deepEqual(tokenDiff([4, 5], []), { a: [true, true], b: [] });
	});

	it('a shared prefix, a changed middle and a shared suffix: only the middle is marked', () => {
		const d = tokenDiff([10, 11, 12, 13, 99], [10, 20, 21, 99]);
		assert.deepEqual(d.a, [false, true, true, true, false]);
		assert.deepEqual(d.b, [false, true, true, false]);
	});

	it('runs that meet again (a newline after different text) share the meeting token', () => {
		const d = tokenDiff([1, 5, 6, 0, 7], [1, 8, 0, 7, 9]);
		assert.deepEqual(d.a, [false, true, true, false, false]);
		assert.deepEqual(d.b, [false, true, false, false, true]);
	});

	it('unmarked tokens form a common subsequence of maximal length (random sequences against brute force)', () => {
		const random = seeded(7);
		for (let trial = 0; trial < 200; trial++) {
			const a = Array.from({ length: Math.floor(random() * 14) }, () => Math.floor(random() * 5));
			const b = Array.from({ length: Math.floor(random() * 14) }, () => Math.floor(random() * 5));
			const d = tokenDiff(a, b);
			const keptA = a.filter((_, i) => !d.a[i]);
			const keptB = b.filter((_, i) => !d.b[i]);
			assert.deepEqual(keptA, keptB, `kept tokens differ for ${a} / ${b}`);
			assert.equal(keptA.length, lcsLength(a, b), `not a longest common subsequence for ${a} / ${b}`);
			assert.equal(countChanged(d.a), a.length - keptA.length);
		}
	});
});

describe('steer spec from the sidebar state', () => {
	const setup: SteeringSetup = {
		entries: [
			{ featureIndex: 1132, label: 'comments', mode: 'add', strength: 20, enabled: true },
			{ featureIndex: 7, label: '', mode: 'clamp', strength: -3.5, enabled: false },
			{ featureIndex: 42, label: '', mode: 'cap', strength: 0, enabled: true },
		],
		positions: 'generated',
	};

	it('sends the enabled entries in list order, without labels, with the positions', () => {
		assert.deepEqual(toSteerSpec(setup), {
			features: [
				{ featureIndex: 1132, mode: 'add', strength: 20 },
				{ featureIndex: 42, mode: 'cap', strength: 0 },
			],
			vectors: [],
			positions: 'generated',
		});
		assert.deepEqual(setupProblems(setup, 3072), []);
	});

	it('refuses features beyond the SAE, a feature enabled twice, non-finite or huge strengths, bad modes and positions', () => {
		assert.match(setupProblems(setup, 1000).join(), /feature 1132 is not in this SAE \(features 0 to 999\)/);
		const twice = { ...setup, entries: [...setup.entries, { ...setup.entries[0]!, strength: 5 }] };
		assert.match(setupProblems(twice, 3072).join(), /feature 1132 is listed twice/);
		// A disabled duplicate is fine: it does not steer.
		assert.deepEqual(setupProblems({ ...setup, entries: [...setup.entries, { ...setup.entries[0]!, enabled: false }] }, 3072), []);
		assert.match(setupProblems({ ...setup, entries: [{ ...setup.entries[0]!, strength: Number.NaN }] }).join(), /strength must be a number/);
		assert.match(setupProblems({ ...setup, entries: [{ ...setup.entries[0]!, strength: STEERING_LIMITS.strength + 1 }] }).join(), /blows the residual stream up/);
		assert.match(setupProblems({ ...setup, entries: [{ ...setup.entries[0]!, mode: 'mul' as never }] }).join(), /mode must be add, clamp or cap/);
		assert.match(setupProblems({ ...setup, positions: 'prompt' as never }).join(), /positions/);
		// Without a known width the range check waits for the SAE.
		assert.deepEqual(setupProblems(setup), []);
	});

	it('a contrast vector needs both texts and a sane strength when enabled; it survives untrusted JSON, cut to size', () => {
		const contrast = { positive: '# explain', negative: 'x = 1', strength: 4, enabled: true };
		assert.deepEqual(setupProblems({ ...setup, contrast }, 3072), []);
		assert.match(setupProblems({ ...setup, contrast: { ...contrast, negative: '  ' } }).join(), /a text to steer towards and one to steer away from/);
		assert.match(setupProblems({ ...setup, contrast: { ...contrast, strength: Number.POSITIVE_INFINITY } }).join(), /contrast strength must be a number/);
		assert.deepEqual(setupProblems({ ...setup, contrast: { ...contrast, positive: '', enabled: false } }), [], 'a disabled contrast is not checked');
		assert.deepEqual(parseSetup({ ...setup, contrast })?.contrast, contrast);
		assert.equal(parseSetup({ ...setup, contrast: { ...contrast, positive: 'a'.repeat(STEERING_LIMITS.prompt + 5) } })?.contrast?.positive.length, STEERING_LIMITS.prompt);
		assert.equal(parseSetup({ ...setup, contrast: { positive: 1, negative: 'x', strength: 1, enabled: true } })?.contrast, undefined, 'a malformed contrast is dropped');
		assert.equal(toSteerSpec({ ...setup, contrast }).vectors.length, 0, 'the vector itself comes from the engine');
	});

	it("sampling settings: Neuronpedia's temperature and seed by default; ranges checked, room left for the prompt", () => {
		assert.equal(SIDEBAR_SAMPLING.temperature, 0.5);
		assert.equal(SIDEBAR_SAMPLING.seed, 16);
		assert.deepEqual(samplingProblems(SIDEBAR_SAMPLING, 256), []);
		assert.match(samplingProblems({ ...SIDEBAR_SAMPLING, maxNewTokens: 256 }, 256).join(), /leave room for the prompt/);
		assert.match(samplingProblems({ ...SIDEBAR_SAMPLING, maxNewTokens: 2.5 }).join(), /whole number/);
		assert.match(samplingProblems({ ...SIDEBAR_SAMPLING, temperature: -1 }).join(), /temperature/);
		assert.match(samplingProblems({ ...SIDEBAR_SAMPLING, topP: 0 }).join(), /top-p/);
		assert.match(samplingProblems({ ...SIDEBAR_SAMPLING, seed: 0.5 }).join(), /seed/);
	});

	it('sweep strengths: numbers separated by commas or spaces, at most 12, each once', () => {
		assert.deepEqual(parseStrengths('-40, 0, 20 40'), { strengths: [-40, 0, 20, 40] });
		assert.deepEqual(parseStrengths(' 1.5;-.5 ,3e1 '), { strengths: [1.5, -0.5, 30] });
		assert.match((parseStrengths('') as { error: string }).error, /type a few strengths/);
		assert.match((parseStrengths('1, x') as { error: string }).error, /"x" is not a number/);
		assert.match((parseStrengths('1, 0x10') as { error: string }).error, /not a number/);
		assert.match((parseStrengths('5, 5') as { error: string }).error, /listed twice/);
		assert.match((parseStrengths(Array.from({ length: 13 }, (_, i) => i).join(',')) as { error: string }).error, /at most 12/);
		assert.equal(parseStrength(' -12.5 '), -12.5);
		assert.equal(parseStrength('1e400'), undefined);
		assert.equal(parseStrength(''), undefined);
		assert.equal(parseStrength('Infinity'), undefined);
	});

	it('a typed feature number: digits with an optional #, nothing else', () => {
		assert.equal(typedFeatureNumber('1132'), 1132);
		assert.equal(typedFeatureNumber(' #7 '), 7);
		assert.equal(typedFeatureNumber('7a'), undefined);
		assert.equal(typedFeatureNumber('-1'), undefined);
		assert.equal(typedFeatureNumber('comment'), undefined);
	});
});

/** An in-memory key-value store with Memento's get/update semantics (values go through JSON, as VS Code stores them). */
class MemoryStore implements KeyValueStore {
	readonly values = new Map<string, string>();
	get<T>(key: string): T | undefined {
		const v = this.values.get(key);
		return v === undefined ? undefined : (JSON.parse(v) as T);
	}
	async update(key: string, value: unknown): Promise<void> {
		this.values.set(key, JSON.stringify(value));
	}
}

describe('steering presets', () => {
	const setup: SteeringSetup = { entries: [{ featureIndex: 1132, label: 'comments', mode: 'clamp', strength: 40, enabled: true }], positions: 'all' };

	it('round-trips through JSON: what is saved is what loads', () => {
		const preset = serializePreset('  comments on  ', setup, 1000);
		assert.deepEqual(parsePreset(JSON.parse(JSON.stringify(preset))), { name: 'comments on', savedAt: 1000, ...setup });
	});

	it('names are required and bounded; malformed stored presets are refused', () => {
		assert.match(presetNameError('  ') ?? '', /name/);
		assert.match(presetNameError('x'.repeat(STEERING_LIMITS.presetName + 1)) ?? '', /at most/);
		assert.throws(() => serializePreset('', setup, 0), /give the preset a name/);
		for (const bad of [
			null,
			3,
			{ name: 'a' },
			{ name: 'a', positions: 'all', entries: [{ featureIndex: -1, mode: 'add', strength: 1 }] },
			{ name: 'a', positions: 'all', entries: [{ featureIndex: 1, mode: 'add', strength: '1' }] },
			{ name: '', positions: 'all', entries: [] },
		]) {
			assert.equal(parsePreset(bad), undefined, JSON.stringify(bad));
		}
	});

	const saeA = { contentHash: 'a'.repeat(64), source: '/ext-0.1.0/saes/a' };
	const saeB = { contentHash: 'b'.repeat(64), source: '/saes/b' };

	it("are kept per SAE, newest first; saving a name again replaces it; removing the last drops the SAE's key", async () => {
		const store = new MemoryStore();
		const presets = new PresetStore(store);
		await presets.save(saeA, 'first', setup, 1);
		await presets.save(saeA, 'second', { ...setup, positions: 'generated' }, 2);
		await presets.save(saeB, 'first', { entries: [], positions: 'all' }, 3);
		assert.deepEqual(
			presets.list(saeA).map((p) => p.name),
			['second', 'first'],
		);
		assert.deepEqual(
			presets.list(saeB).map((p) => p.name),
			['first'],
		);
		await presets.save(saeA, 'first', { ...setup, entries: [{ ...setup.entries[0]!, strength: -5 }] }, 4);
		assert.deepEqual(
			presets.list(saeA).map((p) => p.name),
			['first', 'second'],
		);
		assert.equal(presets.get(saeA, 'first')?.entries[0]?.strength, -5);
		assert.equal(await presets.remove(saeB, 'first'), true);
		assert.equal(await presets.remove(saeB, 'first'), false);
		assert.deepEqual(Object.keys(store.get<Record<string, unknown>>(PRESETS_KEY)!), [saeA.contentHash]);
	});

	it("follow the SAE's content, not its path: an update that moves the SAE keeps them; ones kept by path move under the hash", async () => {
		const store = new MemoryStore();
		const presets = new PresetStore(store);
		await presets.save(saeA, 'mine', setup, 1);
		// The next version of the extension installs the same SAE in another folder.
		assert.deepEqual(
			presets.list({ ...saeA, source: '/ext-0.1.1/saes/a' }).map((p) => p.name),
			['mine'],
		);
		// A retrained SAE at the same path is another SAE.
		assert.deepEqual(presets.list({ ...saeA, contentHash: 'c'.repeat(64) }), []);
		// Presets saved by path are listed, and the next change keeps them under the hash only.
		await store.update(PRESETS_KEY, { [saeB.source]: [{ name: 'old', savedAt: 1, ...setup }] });
		assert.deepEqual(
			presets.list(saeB).map((p) => p.name),
			['old'],
		);
		await presets.save(saeB, 'new', setup, 2);
		assert.deepEqual(Object.keys(store.get<Record<string, unknown>>(PRESETS_KEY)!), [saeB.contentHash]);
		assert.deepEqual(
			presets.list(saeB).map((p) => p.name),
			['new', 'old'],
		);
	});

	it('skips corrupt stored entries instead of failing', async () => {
		const store = new MemoryStore();
		await store.update(PRESETS_KEY, { [saeA.contentHash]: [{ name: 'ok', savedAt: 1, ...setup }, { name: 'bad', entries: 'x' }, 42] });
		assert.deepEqual(
			new PresetStore(store).list(saeA).map((p) => p.name),
			['ok'],
		);
		await store.update(PRESETS_KEY, 'garbage');
		assert.deepEqual(new PresetStore(store).list(saeA), []);
	});
});

describe('messages from the steering webview', () => {
	const setup = { entries: [{ featureIndex: 3, label: 'x', mode: 'add', strength: 1, enabled: true }], positions: 'all' };
	const sampling = { ...SIDEBAR_SAMPLING };

	it('accepts well-formed messages, keeping only known fields', () => {
		assert.deepEqual(parseFromSteeringView({ type: 'ready', x: 1 }), { type: 'ready' });
		assert.deepEqual(parseFromSteeringView({ type: 'generate', prompt: 'def', setup, sampling, extra: true }), { type: 'generate', prompt: 'def', setup, sampling });
		assert.deepEqual(parseFromSteeringView({ type: 'sweep', prompt: 'def', setup, sampling, featureIndex: 3, strengths: [0, 10] }), {
			type: 'sweep',
			prompt: 'def',
			setup,
			sampling,
			featureIndex: 3,
			strengths: [0, 10],
		});
		assert.deepEqual(parseFromSteeringView({ type: 'savePreset', setup }), { type: 'savePreset', setup });
		assert.deepEqual(parseFromSteeringView({ type: 'insert', text: '# hi' }), { type: 'insert', text: '# hi' });
		assert.deepEqual(parseFromSteeringView({ type: 'search', query: 'comment' }), { type: 'search', query: 'comment' });
		assert.deepEqual(parseFromSteeringView({ type: 'traceToken', runId: 'steer-1-2', which: 'steered', x: 1 }), { type: 'traceToken', runId: 'steer-1-2', which: 'steered' });
		// Entries without `enabled` (older state) count as on; over-long labels are cut.
		const parsed = parseSetup({ entries: [{ featureIndex: 1, label: 'y'.repeat(500), mode: 'clamp', strength: 2 }], positions: 'generated' });
		assert.equal(parsed?.entries[0]?.enabled, true);
		assert.equal(parsed?.entries[0]?.label.length, STEERING_LIMITS.label);
	});

	it('rejects unknown types, wrong field types, out-of-range values and over-long text', () => {
		for (const bad of [
			null,
			'ready',
			{},
			{ type: 'eval' },
			{ type: 'generate', prompt: 'x', setup, sampling: { ...sampling, seed: '16' } },
			{ type: 'generate', prompt: 'x'.repeat(STEERING_LIMITS.prompt + 1), setup, sampling },
			{ type: 'generate', prompt: 'x', setup: { ...setup, positions: 'some' }, sampling },
			{ type: 'generate', prompt: 'x', setup: { entries: Array.from({ length: STEERING_LIMITS.entries + 1 }, () => setup.entries[0]), positions: 'all' }, sampling },
			{ type: 'sweep', prompt: 'x', setup, sampling, featureIndex: 3, strengths: [] },
			{ type: 'sweep', prompt: 'x', setup, sampling, featureIndex: 3, strengths: [1, Number.NaN] },
			{ type: 'sweep', prompt: 'x', setup, sampling, featureIndex: 1.5, strengths: [1] },
			{ type: 'lookupLabel', featureIndex: -2 },
			{ type: 'openDashboard', featureIndex: '3' },
			{ type: 'traceToken', runId: 'r', which: 'sweep' },
			{ type: 'traceToken', runId: 7, which: 'steered' },
			{ type: 'insert', text: 3 },
			{ type: 'copy', text: 'x'.repeat(STEERING_LIMITS.insertText + 1) },
			{ type: 'savePreset', setup, name: 4 },
			{ type: 'loadPreset' },
		]) {
			assert.equal(parseFromSteeringView(bad), undefined, JSON.stringify(bad)?.slice(0, 120));
		}
	});
});

describe('final tokens of a run', () => {
	it('keeps the streamed tokens when they add up to the answer, fills a trailing multi-byte character, falls back to the answer otherwise', () => {
		const streamed = [
			{ id: 1, text: 'a' },
			{ id: 2, text: 'b' },
		];
		assert.deepEqual(finalTokens({ ids: [1, 2], text: 'ab', stopReason: 'maxTokens' }, streamed), streamed);
		assert.deepEqual(finalTokens({ ids: [1, 2], text: 'ab\uFFFD', stopReason: 'maxTokens' }, streamed), [
			{ id: 1, text: 'a' },
			{ id: 2, text: 'b\uFFFD' },
		]);
		assert.deepEqual(finalTokens({ ids: [1, 2, 3], text: 'abc', stopReason: 'eos' }, streamed), [
			{ id: 1, text: 'abc' },
			{ id: 2, text: '' },
			{ id: 3, text: '' },
		]);
	});
});

describe('inline completion prompt and ghost text', () => {
	it('keeps short text as it is; nothing to continue gives no prompt', () => {
		assert.equal(inlinePrompt('def f(x):\n    ', { nCtx: 256, maxNewTokens: 16 }), 'def f(x):\n    ');
		assert.equal(inlinePrompt('  \n\t', { nCtx: 256, maxNewTokens: 16 }), undefined);
		assert.equal(inlinePrompt('x = 1', { nCtx: 16, maxNewTokens: 16 }), undefined);
	});

	it('cuts long text to the context budget (with room for the completion), starting at a line start', () => {
		const lines = Array.from({ length: 200 }, (_, i) => `line_${i} = ${i}`);
		const text = `${lines.join('\n')}\nresult = `;
		const budget = { nCtx: 256, maxNewTokens: 16 };
		const prompt = inlinePrompt(text, budget)!;
		const maxChars = (256 - 16 - 1) * MIN_CHARS_PER_TOKEN;
		assert.ok(prompt.length <= maxChars, `${prompt.length} > ${maxChars}`);
		assert.ok(text.endsWith(prompt), 'the prompt is the end of the text');
		assert.match(prompt, /^line_\d+ = \d+\n/, 'starts at a line start');
		assert.ok(prompt.endsWith('\nresult = '));
		// More room, more text; a longer completion budget leaves less.
		assert.ok(inlinePrompt(text, { ...budget, nCtx: 1024 })!.length > prompt.length);
		assert.ok(inlinePrompt(text, { ...budget, maxNewTokens: 64 })!.length < prompt.length);
	});

	it('one very long line keeps its end rather than nothing', () => {
		const text = 'x'.repeat(5000);
		assert.equal(inlinePrompt(text, { nCtx: 256, maxNewTokens: 16 }), 'x'.repeat(239 * MIN_CHARS_PER_TOKEN));
	});

	it('ghost text is the completion up to the end of its first line with content', () => {
		assert.equal(ghostText(' os.path.join(a, b)\nprint(1)\n'), ' os.path.join(a, b)');
		assert.equal(ghostText('\n    return x\n\ndef g():'), '\n    return x');
		assert.equal(ghostText('  # a comment   \n'), '  # a comment');
		assert.equal(ghostText('\n\n  \n'), '');
		assert.equal(ghostText(''), '');
	});
});

describe('debounced, cancellable requests', () => {
	const settle = async () => {
		for (let i = 0; i < 5; i++) await Promise.resolve();
	};

	it('runs after the delay; a newer request supersedes one still waiting, which then never runs', async () => {
		mock.timers.enable({ apis: ['setTimeout'] });
		try {
			const requests = new DebouncedRequests(300);
			const ran: string[] = [];
			const never = new CancellationTokenSource().token;
			const first = requests.run(never, async () => {
				ran.push('first');
				return 1;
			});
			mock.timers.tick(299);
			await settle();
			const second = requests.run(never, async () => {
				ran.push('second');
				return 2;
			});
			assert.equal(await first, undefined);
			assert.deepEqual(ran, []);
			mock.timers.tick(300);
			assert.equal(await second, 2);
			assert.deepEqual(ran, ['second']);
			assert.equal(requests.pending, false);
		} finally {
			mock.timers.reset();
		}
	});

	it("the editor's cancellation (a keystroke) drops a waiting request and cancels a running one's token", async () => {
		mock.timers.enable({ apis: ['setTimeout'] });
		try {
			const requests = new DebouncedRequests(300);
			const keystroke = new CancellationTokenSource();
			let started = false;
			const waiting = requests.run(keystroke.token, async () => {
				started = true;
				return 'x';
			});
			keystroke.cancel();
			assert.equal(await waiting, undefined);
			assert.equal(started, false);

			const keystroke2 = new CancellationTokenSource();
			let seenCancel = false;
			let release: () => void = () => {};
			const running = requests.run(
				keystroke2.token,
				(token) =>
					new Promise<string>((resolve) => {
						token.onCancellationRequested(() => {
							seenCancel = true;
						});
						release = () => resolve('late');
					}),
			);
			mock.timers.tick(300);
			await settle();
			keystroke2.cancel();
			assert.equal(seenCancel, true, "the running request's token was cancelled");
			release();
			assert.equal(await running, undefined, "a cancelled request's late answer is dropped");
		} finally {
			mock.timers.reset();
		}
	});

	it('a newer request cancels the token of one already running', async () => {
		mock.timers.enable({ apis: ['setTimeout'] });
		try {
			const requests = new DebouncedRequests(10);
			const never = new CancellationTokenSource().token;
			let firstCancelled = false;
			let releaseFirst: () => void = () => {};
			const first = requests.run(
				never,
				(token) =>
					new Promise<number>((resolve) => {
						token.onCancellationRequested(() => {
							firstCancelled = true;
						});
						releaseFirst = () => resolve(1);
					}),
			);
			mock.timers.tick(10);
			await settle();
			const second = requests.run(never, async () => 2);
			assert.equal(firstCancelled, true);
			releaseFirst();
			assert.equal(await first, undefined);
			mock.timers.tick(10);
			assert.equal(await second, 2);
		} finally {
			mock.timers.reset();
		}
	});

	it('delayUnlessCancelled: false at once for a cancelled token, true after the delay otherwise', async () => {
		const cancelled = new CancellationTokenSource();
		cancelled.cancel();
		assert.equal(await delayUnlessCancelled(1000, cancelled.token), false);
		mock.timers.enable({ apis: ['setTimeout'] });
		try {
			const p = delayUnlessCancelled(50, new CancellationTokenSource().token);
			mock.timers.tick(50);
			assert.equal(await p, true);
		} finally {
			mock.timers.reset();
		}
	});
});

describe('inserting a completion', () => {
	it('adds a line break only when text follows on the line and the completion does not end one', () => {
		assert.equal(insertionText('    # note', '    with open(p) as f:'), '    # note\n');
		assert.equal(insertionText('    # note\n', '    with open(p) as f:'), '    # note\n');
		assert.equal(insertionText(' = 1', ''), ' = 1');
		assert.equal(insertionText(' = 1', '   '), ' = 1');
		assert.equal(insertionText('', 'x'), '');
	});
});
