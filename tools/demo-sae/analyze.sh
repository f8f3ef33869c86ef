#!/usr/bin/env bash
# Analyses every feature of the demo SAE over the demo corpus (the whole held-out shard: the
# budget of 400k tokens is more than its ~370k) and exports the dashboards' data to
# models/pycode/saes/blocks.2.hook_resid_pre/feature-lens/, which is committed so the demo SAE
# ships with its analysis. Labels are user data and stay out of it. Run from anywhere:
#   bash tools/demo-sae/analyze.sh        (or: npm run analyze:demo)
set -euo pipefail
cd "$(dirname "$0")/../.."
node esbuild.mjs
node dist/cli.js analyze demo --sae models/pycode/saes/blocks.2.hook_resid_pre --corpus demo --tokens 400000 \
  --threads 2 --force --export
