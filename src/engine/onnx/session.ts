// onnxruntime session creation: execution-provider choice with an explicit CPU fallback,
// because onnxruntime-node throws (rather than falls back) when the CUDA libraries are missing.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { errorMessage } from '../../protocol/errors';

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
/** A fallback the user asked to avoid (`cuda`, or `auto` with the provider installed) is logged once per process, not per session. */
let fallbackLogged = false;

const CUDA_INSTALL_HINT = 'install it with `npm install onnxruntime-node --onnxruntime-node-install=cuda12` (needs CUDA 12 and cuDNN 9)';

/**
 * Which provider the settings lead to, and why, before any session exists: one line for the
 * log when the engine starts. `auto` without onnxruntime-node's CUDA provider is the CPU,
 * which is what `auto` means on a machine without a GPU, not something to warn about.
 */
export function describeProviderChoice(settings: SessionSettings): string {
	if (settings.executionProvider === 'cpu') return 'execution provider: CPU (setting "cpu")';
	const installed = cudaProviderInstalled();
	if (settings.executionProvider === 'auto') {
		return installed
			? 'execution provider: CUDA (setting "auto", and onnxruntime-node\'s CUDA provider is installed; the CPU if it does not load)'
			: `execution provider: CPU (setting "auto", and onnxruntime-node's CUDA provider is not installed; for an NVIDIA GPU, ${CUDA_INSTALL_HINT})`;
	}
	return installed
		? 'execution provider: CUDA (setting "cuda"; the CPU if it does not load)'
		: `execution provider: CPU, although the setting is "cuda": onnxruntime-node's CUDA provider is not installed; ${CUDA_INSTALL_HINT}`;
}

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
	if (settings.executionProvider !== 'cpu' && cudaUnavailable === undefined && !cudaProviderInstalled()) {
		// `auto` then simply means the CPU (describeProviderChoice says so once); `cuda` was asked for.
		cudaUnavailable = "onnxruntime-node's CUDA provider library is not installed";
	}
	if (settings.executionProvider !== 'cpu' && cudaUnavailable === undefined) {
		try {
			const session = await ort.InferenceSession.create(model, { ...base, executionProviders: [{ name: 'cuda', deviceId: 0 }, 'cpu'] });
			return { session, provider: 'cuda' };
		} catch (err) {
			cudaUnavailable = firstLine(err);
			fallbackLogged = true;
			log(`CUDA execution provider unavailable (${cudaUnavailable}); using the CPU. To use the GPU, ${CUDA_INSTALL_HINT}.`);
		}
	} else if (settings.executionProvider === 'cuda' && !fallbackLogged) {
		fallbackLogged = true;
		log(`CUDA execution provider unavailable (${cudaUnavailable}); using the CPU. To use the GPU, ${CUDA_INSTALL_HINT}.`);
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
	const text = errorMessage(err);
	return text.split('\n')[0]!.trim();
}
