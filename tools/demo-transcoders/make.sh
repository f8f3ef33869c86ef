#!/usr/bin/env bash
# Trains the demo transcoder set shipped in models/pycode/transcoders: one BatchTopK transcoder
# per layer of the demo model (blocks.L.ln2.hook_normalized → blocks.L.hook_mlp_out), with Feature
# Lens's own trainer on the demo corpus, then evaluates the set with every MLP replaced and writes
# the card's numbers. Run from anywhere (npm run transcoders:demo):
#   bash tools/demo-transcoders/make.sh
# The run folders (metrics.jsonl, checkpoints) stay in tools/demo-transcoders/build (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/../.."
node esbuild.mjs
BUILD=tools/demo-transcoders/build
OUT=models/pycode/transcoders
rm -rf "$BUILD" "$OUT"
mkdir -p "$BUILD" "$OUT/saelens"
# circuit-tracer's layout (config.yaml, layer_L.safetensors in float16, which ships in the extension).
node dist/cli.js transcoders demo --arch batchtopk --d-sae 512 --k 32 --tokens 1500000 --batch 4096 --lr 2e-3 \
  --context-size 128 --buffer-rows 131072 --seed 0 --corpus demo --threads 2 \
  --out "$BUILD/runs" --set "$OUT" --half --json > "$BUILD/train.json"
# SAELens's layout, one folder per layer (float32, as trained).
for L in 0 1 2 3; do
  D="$OUT/saelens/blocks.$L.ln2.hook_normalized"
  mkdir -p "$D"
  cp "$BUILD/runs/layer_$L/cfg.json" "$BUILD/runs/layer_$L/sae_weights.safetensors" "$BUILD/runs/layer_$L/sparsity.safetensors" "$D/"
done
node dist/cli.js eval demo --transcoders "$OUT" --corpus demo --tokens 100000 --threads 2 --json > "$OUT/eval.json"
node dist/cli.js eval demo --transcoders "$OUT/saelens" --corpus demo --tokens 100000 --threads 2 --json > "$BUILD/eval-saelens.json"
cat "$BUILD/train.json" "$OUT/eval.json" "$BUILD/eval-saelens.json"
node tools/demo-transcoders/card.mjs
