// onnxruntime session creation: execution-provider choice with an explicit CPU fallback,
// because onnxruntime-node throws (rather than falls back) when the CUDA libraries are missing.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';

export type ExecutionProviderSetting = 'auto' | 'cpu' | 'cuda';

export interface SessionSettings {
	executionProvider: ExecutionProviderSetting;
	/** Intra-op threads; 0 lets onnxruntime choose (one per physical core). */
	threads: number;
}

export const defaultSessionSettings: SessionSettings = { executionProvider: 'auto', threads: 0 };

export interface CreatedSession {
	session: ort.InferenceSession;
	/** The provider that actually runs the graph. */
	provider: 'cpu' | 'cuda';
}

type Log = (message: string) => void;

/** Remembers a failed CUDA start so later sessions go straight to the CPU. */
let cudaUnavailable: string | undefined;

/** Per-graph session tuning, as opposed to the user's settings. */
export interface SessionTuning {
	/**
	 * onnxruntime's memory pattern (default on) plans one block for all of a run's intermediates;
	 * for graphs whose intermediates are hundreds of MB each (training steps) it holds far more
	 * than the step ever has live at once.
	 */
	memoryPattern?: boolean;
	/** The folder that external-data locations are relative to (graphs with external initializers). */
	externalDataFolder?: string;
	/**
	 * onnxruntime's per-session activation arena (default on). A model runs as a chain of
	 * sessions, one per block: an arena each would hold one block's peak activations per
	 * session for good, where malloc lets the blocks share the memory.
	 */
	arena?: boolean;
	/**
	 * Whether intra-op threads spin after a run (default on). Sessions run one after another
	 * (the blocks of a model) must not: the previous session's spinning threads would compete
	 * with the next one's for the cores.
	 */
	spinning?: boolean;
}

export async function createSession(model: Uint8Array, settings: SessionSettings, log: Log, tuning: SessionTuning = {}): Promise<CreatedSession> {
	const base: ort.InferenceSession.SessionOptions = {
		graphOptimizationLevel: 'all',
		executionMode: 'sequential',
		...(tuning.memoryPattern === false ? { enableMemPattern: false } : {}),
		...(settings.threads > 0 ? { intraOpNumThreads: settings.threads, interOpNumThreads: 1 } : {}),
		// A graph built in memory finds its external data only through this folder (else onnxruntime
		// resolves it against the working directory and refuses paths that leave it).
		...(tuning.arena === false ? { enableCpuMemArena: false } : {}),
		...(process.env.ORT_PROFILE ? { enableProfiling: true, profileFilePrefix: process.env.ORT_PROFILE } : {}),
		extra: {
			session: {
				...(tuning.externalDataFolder ? { model_external_initializers_file_folder_path: tuning.externalDataFolder } : {}),
				...(tuning.spinning === false ? { 'intra_op.allow_spinning': '0' } : {}),
			},
			// Graphs over checkpoint weights widen each f16/bf16 weight with a Cast that onnxruntime
			// folds once at creation; its default cap of 1 GiB per folded output would leave a large
			// vocabulary's embedding (Gemma's 262k tokens: 1.2 GB as float32) to be widened again on
			// every run. These graphs are ours, so the cap guards against nothing here.
			...(tuning.externalDataFolder ? { optimization: { constant_folding_max_output_size_in_bytes: '0' } } : {}),
		},
	};
	if (settings.executionProvider === 'auto' && cudaUnavailable === undefined && !cudaProviderInstalled()) {
		cudaUnavailable = 'the onnxruntime-node CUDA provider library is not installed';
		log(`CUDA: ${cudaUnavailable}; using CPU. Install it with \`npm install onnxruntime-node --onnxruntime-node-install=cuda12\` (needs CUDA 12 and cuDNN 9).`);
	}
	const wantCuda = settings.executionProvider === 'cuda' || (settings.executionProvider === 'auto' && cudaUnavailable === undefined);
	if (wantCuda && cudaUnavailable === undefined) {
		try {
			const session = await ort.InferenceSession.create(model, { ...base, executionProviders: [{ name: 'cuda', deviceId: 0 }, 'cpu'] });
			return { session, provider: 'cuda' };
		} catch (err) {
			cudaUnavailable = firstLine(err);
			log(`CUDA execution provider unavailable (${cudaUnavailable}); falling back to CPU. `
				+ 'Install the CUDA 12 provider with `npm install onnxruntime-node --onnxruntime-node-install=cuda12` and CUDA 12 + cuDNN 9 to use the GPU.');
		}
	} else if (settings.executionProvider === 'cuda') {
		log(`CUDA execution provider unavailable (${cudaUnavailable}); using CPU.`);
	}
	const session = await ort.InferenceSession.create(model, { ...base, executionProviders: ['cpu'] });
	return { session, provider: 'cpu' };
}

/** Whether onnxruntime-node's CUDA provider library sits beside its native binding (it is downloaded at install time only on request). */
function cudaProviderInstalled(): boolean {
	try {
		const binDir = path.join(path.dirname(require.resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
		const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
		return fs.existsSync(path.join(binDir, lib));
	} catch {
		return false;
	}
}

function firstLine(err: unknown): string {
	const text = err instanceof Error ? err.message : String(err);
	return text.split('\n')[0]!.trim();
}
