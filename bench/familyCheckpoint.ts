// Writes random-weight checkpoints with real models' exact config.json, weight names and shapes
// (sharded bf16 safetensors with model.safetensors.index.json), for the architecture families
// make_scale_checkpoint.py does not write: Gemma-2-2B and Gemma-3-1B. Tensors are streamed to
// disk in chunks, so writing 5 GB never holds more than one chunk.
//
//   node --import tsx bench/familyCheckpoint.ts gemma-2-2b|gemma-3-1b OUT_DIR

import * as fs from 'node:fs';
import * as path from 'node:path';
import { seededRandom } from '../src/engine/models/sampling';
import { toBf16 } from '../tools/fixtures/random';

/** google/gemma-2-2b and google/gemma-3-1b-pt's config.json, with torch_dtype bfloat16 (gemma-2-2b's own says float32; its -it sibling's bfloat16). */
export const FAMILY_CONFIGS: Record<string, Record<string, unknown>> = {
	'gemma-2-2b': {
		architectures: ['Gemma2ForCausalLM'],
		attention_bias: false,
		attention_dropout: 0.0,
		attn_logit_softcapping: 50.0,
		bos_token_id: 2,
		cache_implementation: 'hybrid',
		eos_token_id: 1,
		final_logit_softcapping: 30.0,
		head_dim: 256,
		hidden_act: 'gelu_pytorch_tanh',
		hidden_activation: 'gelu_pytorch_tanh',
		hidden_size: 2304,
		initializer_range: 0.02,
		intermediate_size: 9216,
		max_position_embeddings: 8192,
		model_type: 'gemma2',
		num_attention_heads: 8,
		num_hidden_layers: 26,
		num_key_value_heads: 4,
		pad_token_id: 0,
		query_pre_attn_scalar: 256,
		rms_norm_eps: 1e-6,
		rope_theta: 10000.0,
		sliding_window: 4096,
		torch_dtype: 'bfloat16',
		transformers_version: '4.42.4',
		use_cache: true,
		vocab_size: 256000,
	},
	'gemma-3-1b': {
		architectures: ['Gemma3ForCausalLM'],
		attention_bias: false,
		attention_dropout: 0.0,
		attn_logit_softcapping: null,
		bos_token_id: 2,
		cache_implementation: 'hybrid',
		eos_token_id: 1,
		final_logit_softcapping: null,
		head_dim: 256,
		hidden_activation: 'gelu_pytorch_tanh',
		hidden_size: 1152,
		initializer_range: 0.02,
		intermediate_size: 6912,
		max_position_embeddings: 32768,
		model_type: 'gemma3_text',
		num_attention_heads: 4,
		num_hidden_layers: 26,
		num_key_value_heads: 1,
		pad_token_id: 0,
		query_pre_attn_scalar: 256,
		rms_norm_eps: 1e-6,
		rope_local_base_freq: 10000,
		rope_scaling: null,
		rope_theta: 1000000,
		sliding_window: 512,
		sliding_window_pattern: 6,
		torch_dtype: 'bfloat16',
		transformers_version: '4.50.0.dev0',
		use_cache: true,
		vocab_size: 262144,
	},
};

interface Spec {
	name: string;
	shape: number[];
	/** Values are uniform on ±range (norm gains: offsets from 1, as Gemma stores them). */
	range: number;
}

/** The checkpoint's tensors in Hugging Face's names, tied embeddings (no lm_head). */
function tensors(cfg: Record<string, unknown>): Spec[] {
	const n = (k: string) => cfg[k] as number;
	const [d, I, L, V, H, KV, D] = [n('hidden_size'), n('intermediate_size'), n('num_hidden_layers'), n('vocab_size'), n('num_attention_heads'), n('num_key_value_heads'), n('head_dim')];
	// Uniform ±r has standard deviation r/√3: 0.02·√3 for the projections (Gemma's initializer_range).
	const w = 0.02 * Math.sqrt(3);
	const out: Spec[] = [{ name: 'model.embed_tokens.weight', shape: [V, d], range: w }];
	for (let l = 0; l < L; l++) {
		const p = `model.layers.${l}.`;
		out.push(
			{ name: `${p}input_layernorm.weight`, shape: [d], range: 0.1 },
			{ name: `${p}self_attn.q_proj.weight`, shape: [H * D, d], range: w },
			{ name: `${p}self_attn.k_proj.weight`, shape: [KV * D, d], range: w },
			{ name: `${p}self_attn.v_proj.weight`, shape: [KV * D, d], range: w },
			{ name: `${p}self_attn.o_proj.weight`, shape: [d, H * D], range: w },
			{ name: `${p}post_attention_layernorm.weight`, shape: [d], range: 0.1 },
			{ name: `${p}pre_feedforward_layernorm.weight`, shape: [d], range: 0.1 },
			{ name: `${p}mlp.gate_proj.weight`, shape: [I, d], range: w },
			{ name: `${p}mlp.up_proj.weight`, shape: [I, d], range: w },
			{ name: `${p}mlp.down_proj.weight`, shape: [d, I], range: w },
			{ name: `${p}post_feedforward_layernorm.weight`, shape: [d], range: 0.1 },
		);
		if (cfg.model_type === 'gemma3_text') {
			out.push({ name: `${p}self_attn.q_norm.weight`, shape: [D], range: 0.1 }, { name: `${p}self_attn.k_norm.weight`, shape: [D], range: 0.1 });
		}
	}
	out.push({ name: 'model.norm.weight', shape: [d], range: 0.1 });
	return out;
}

const CHUNK = 1 << 22;

/** Writes config.json, bf16 shards of at most `shardBytes` and the index into `dir`; returns the parameter count. */
export function writeFamilyCheckpoint(model: string, dir: string, shardBytes = 2_000_000_000, seed = 0): number {
	const cfg = FAMILY_CONFIGS[model];
	if (!cfg) throw new Error(`unknown model ${model} (known: ${Object.keys(FAMILY_CONFIGS).join(', ')})`);
	fs.mkdirSync(dir, { recursive: true });
	fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg, null, 2) + '\n');
	const specs = tensors(cfg);
	const bytes = (s: Spec) => 2 * s.shape.reduce((a, x) => a * x, 1);
	const shards: Spec[][] = [[]];
	let size = 0;
	for (const s of specs) {
		if (size > 0 && size + bytes(s) > shardBytes) {
			shards.push([]);
			size = 0;
		}
		shards.at(-1)!.push(s);
		size += bytes(s);
	}
	const random = seededRandom(seed);
	const weightMap: Record<string, string> = {};
	shards.forEach((shard, i) => {
		const file = `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`;
		const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
		let offset = 0;
		for (const s of shard) {
			header[s.name] = { dtype: 'BF16', shape: s.shape, data_offsets: [offset, offset + bytes(s)] };
			offset += bytes(s);
			weightMap[s.name] = file;
		}
		let json = JSON.stringify(header);
		json += ' '.repeat((8 - (json.length % 8)) % 8);
		const fd = fs.openSync(path.join(dir, file), 'w');
		try {
			const len = Buffer.alloc(8);
			len.writeBigUInt64LE(BigInt(json.length));
			fs.writeSync(fd, len);
			fs.writeSync(fd, json);
			const values = new Float32Array(CHUNK);
			for (const s of shard) {
				for (let left = bytes(s) / 2; left > 0;) {
					const n = Math.min(CHUNK, left);
					for (let j = 0; j < n; j++) values[j] = (2 * random() - 1) * s.range;
					const bf16 = toBf16(values.subarray(0, n));
					fs.writeSync(fd, new Uint8Array(bf16.buffer, bf16.byteOffset, 2 * n));
					left -= n;
				}
			}
		} finally {
			fs.closeSync(fd);
		}
	});
	fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: specs.reduce((a, s) => a + bytes(s), 0) }, weight_map: weightMap }, null, 2) + '\n');
	return specs.reduce((a, s) => a + bytes(s) / 2, 0);
}

if (require.main === module) {
	const [model, out] = process.argv.slice(2);
	if (!model || !out) {
		console.error('usage: familyCheckpoint.ts gemma-2-2b|gemma-3-1b OUT_DIR');
		process.exit(2);
	}
	const params = writeFamilyCheckpoint(model, out);
	console.log(`${model}: ${(params / 1e6).toFixed(0)}M parameters written to ${out}`);
}
