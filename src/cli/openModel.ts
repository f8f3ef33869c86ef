// Opening a model from the command line: checks, then reads and packs the weights with a
// progress line on a terminal; Ctrl-C while loading stops it cleanly.

import { LanguageModel } from '../engine/models/languageModel';
import type { PrepareProgress } from '../engine/models/languageModel';
import { formatBytes } from '../engine/io/systemMemory';
import type { SessionSettings } from '../engine/onnx/session';
import { resolveCliModel } from './hubCommands';

/** Loads `modelArg` (a checkpoint folder, `demo`, or `hf:org/name` fetched first) ready for its first forward. */
export async function openModel(modelArg: string, settings: SessionSettings, log: (message: string) => void): Promise<LanguageModel> {
	const { path, name } = await resolveCliModel(modelArg, log);
	const model = LanguageModel.load(path, settings, log, name ? { name } : {});
	const abort = new AbortController();
	const onSigint = () => abort.abort();
	process.once('SIGINT', onSigint);
	const line = progressLine(model.name);
	try {
		await model.prepare({ signal: abort.signal, onProgress: line.update });
	} catch (err) {
		await model.dispose();
		throw err;
	} finally {
		line.done();
		process.off('SIGINT', onSigint);
	}
	return model;
}

/** A `\r`-updated line on stderr when it is a terminal (at most ten updates a second); nothing otherwise. */
function progressLine(name: string): { update: (p: PrepareProgress) => void; done: () => void } {
	if (!process.stderr.isTTY) return { update: () => {}, done: () => {} };
	let last = 0;
	let shown = false;
	return {
		update: (p) => {
			const now = Date.now();
			if (p.phase === 'reading' && now - last < 100 && p.bytesDone < p.bytesTotal) return;
			last = now;
			shown = true;
			const text =
				p.phase === 'reading'
					? `loading ${name}: reading weights ${formatBytes(p.bytesDone)} / ${formatBytes(p.bytesTotal)} (${Math.floor((100 * p.bytesDone) / Math.max(1, p.bytesTotal))}%)`
					: `loading ${name}: packing ${formatBytes(p.bytesTotal)} of weights…`;
			process.stderr.write(`\r\x1b[2K${text}`);
		},
		done: () => {
			if (shown) process.stderr.write('\r\x1b[2K');
		},
	};
}
