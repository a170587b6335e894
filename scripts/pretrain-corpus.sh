#!/usr/bin/env bash
# Text-only pretraining on the real corpus: gather it from Debian packages, train an 8,192-token
# byte-level BPE on it, tokenize it (the tail of every source held out), then train
# configs/corpus-bpe8k.yaml and report held-out loss, perplexity and bits per byte, and a completion.
# Extra arguments go to `tessera train`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product tessera
bin=.build/release/tessera
scripts/data/corpus.sh runs/data/corpus
data=runs/data/corpus-bpe8k
scripts/data/bpe-shards.sh "$bin" 8192 "$data" runs/data/corpus/*.txt
run="runs/corpus-bpe8k-$(date -u +%Y%m%d-%H%M%S)"
"$bin" train --config configs/corpus-bpe8k.yaml --run-dir "$run" "$@"
"$bin" eval --checkpoint "$run" --corpus "$data" --json
"$bin" probe complete --checkpoint "$run" --prompt "It is a truth universally acknowledged, that" \
  --prompt "The function returns" --prompt "In the beginning" --max-new-tokens 40
echo "run directory: $run"
