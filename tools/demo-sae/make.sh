#!/usr/bin/env bash
# Trains the demo SAE shipped in models/pycode/saes/blocks.2.hook_resid_pre with Feature Lens's
# own trainer on the demo model and corpus, then evaluates it. Run from anywhere:
#   bash tools/demo-sae/make.sh
# The run folder (metrics.jsonl, checkpoint) stays in tools/demo-sae/build (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/../.."
node esbuild.mjs
HOOK=blocks.2.hook_resid_pre
RUN=tools/demo-sae/build/run
OUT=models/pycode/saes/$HOOK
rm -rf "$RUN"
mkdir -p "$RUN"
node dist/cli.js train demo --hook "$HOOK" --corpus demo --arch topk --d-sae 3072 --k 32 \
  --tokens 4000000 --batch 4096 --lr 1e-3 --context-size 128 --buffer-rows 262144 --seed 0 \
  --threads 2 --out "$RUN" --json > tools/demo-sae/build/train.json
mkdir -p "$OUT"
cp "$RUN/cfg.json" "$RUN/sae_weights.safetensors" "$RUN/sparsity.safetensors" "$OUT/"
node dist/cli.js eval demo --sae "$OUT" --corpus demo --tokens 100000 --threads 2 --json > "$OUT/eval.json"
cat tools/demo-sae/build/train.json "$OUT/eval.json"
