#!/usr/bin/env bash
# The main job on the embedded data: set-up, release build, then
#   1. train a 4,096-token byte-level BPE on the two embedded Austen novels,
#   2. tokenize them into shards (5 % of each held out),
#   3. pretrain configs/tiny-bpe.yaml (a 4-layer open_lm-style LM) on them,
#   4. report held-out loss, perplexity and bits per byte, and let the model complete a prompt.
# Extra arguments go to `tessera train` (e.g. --set optim.steps=100).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product tessera
bin=.build/release/tessera
data=runs/data/austen-bpe4k
scripts/data/bpe-shards.sh "$bin" 4096 "$data" configs/corpus/pride-and-prejudice.txt configs/corpus/sense-and-sensibility.txt
run="runs/tiny-bpe-$(date -u +%Y%m%d-%H%M%S)"
"$bin" train --config configs/tiny-bpe.yaml --run-dir "$run" "$@"
"$bin" eval --checkpoint "$run" --corpus "$data" --json
"$bin" probe complete --checkpoint "$run" --prompt "It is a truth universally acknowledged, that" --max-new-tokens 60
echo "run directory: $run"
