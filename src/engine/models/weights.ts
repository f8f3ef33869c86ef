// Checkpoint weights: one or many *.safetensors files (with model.safetensors.index.json),
// keys normalized by stripping the prefixes real checkpoints use, payloads kept as raw bytes.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataType } from '../onnx/onnxProto';
import { readSafetensorsHeader, readTensor } from './safetensors';
import type { SafetensorsDtype, TensorEntry } from './safetensors';
import { ModelConfigError } from './decoderConfig';

export interface RawWeight {
	dataType: DataType;
	dims: number[];
	raw: Uint8Array;
}

const ONNX_TYPE: Partial<Record<SafetensorsDtype, DataType>> = {
	F32: DataType.FLOAT,
	F16: DataType.FLOAT16,
	BF16: DataType.BFLOAT16,
};

export class WeightStore {
	private constructor(
		private readonly entries: ReadonlyMap<string, TensorEntry>,
		readonly files: readonly string[],
	) {}

	/** Indexes every tensor in the folder's safetensors files under its prefix-stripped name. */
	static open(dir: string, keyPrefixes: readonly string[]): WeightStore {
		const files = safetensorsFiles(dir);
		const entries = new Map<string, TensorEntry>();
		for (const file of files) {
			for (const entry of readSafetensorsHeader(file).tensors) {
				entries.set(stripPrefix(entry.name, keyPrefixes), entry);
			}
		}
		return new WeightStore(entries, files);
	}

	has(name: string): boolean {
		return this.entries.has(name);
	}

	names(): string[] {
		return [...this.entries.keys()];
	}

	/** Reads a weight, checking its shape against what the config implies. */
	get(name: string, shape: readonly number[]): RawWeight {
		const entry = this.entries.get(name);
		if (!entry) {
			throw new ModelConfigError(`checkpoint is missing weight "${name}" (looked in ${this.files.map((f) => path.basename(f)).join(', ')})`);
		}
		if (entry.shape.length !== shape.length || entry.shape.some((d, i) => d !== shape[i])) {
			throw new ModelConfigError(`${path.basename(entry.file)}: weight "${entry.name}" has shape [${entry.shape}], but config.json implies [${shape}]`);
		}
		const dataType = ONNX_TYPE[entry.dtype];
		if (dataType === undefined) {
			throw new ModelConfigError(`${path.basename(entry.file)}: weight "${entry.name}" has dtype ${entry.dtype}; only F32, F16 and BF16 are supported`);
		}
		const t = readTensor(entry);
		return { dataType, dims: t.shape, raw: t.data };
	}
}

function stripPrefix(name: string, prefixes: readonly string[]): string {
	for (const p of prefixes) if (name.startsWith(p)) return name.slice(p.length);
	return name;
}

/** The shard list from model.safetensors.index.json, else every *.safetensors in the folder. */
function safetensorsFiles(dir: string): string[] {
	const index = path.join(dir, 'model.safetensors.index.json');
	if (fs.existsSync(index)) {
		let map: Record<string, string>;
		try {
			map = (JSON.parse(fs.readFileSync(index, 'utf8')) as { weight_map: Record<string, string> }).weight_map;
		} catch {
			throw new ModelConfigError(`${index}: not valid JSON with a "weight_map"`);
		}
		if (!map || typeof map !== 'object') throw new ModelConfigError(`${index}: missing "weight_map"`);
		const shards = [...new Set(Object.values(map))].sort();
		for (const s of shards) {
			if (!fs.existsSync(path.join(dir, s))) throw new ModelConfigError(`${index} lists shard ${s}, which is missing from ${dir}`);
		}
		return shards.map((s) => path.join(dir, s));
	}
	const files = fs.readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();
	if (files.length === 0) throw new ModelConfigError(`${dir}: no *.safetensors weights found (only safetensors checkpoints are supported)`);
	return files.map((f) => path.join(dir, f));
}
