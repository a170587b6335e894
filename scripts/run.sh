#!/usr/bin/env bash
# The main job on the embedded data: set-up, release build, then train configs/tiny.yaml (a 4-layer
# open_lm-style byte-level LM) on Pride and Prejudice, evaluate it and let it complete a prompt.
# Extra arguments go to `tessera train` (e.g. --set optim.steps=100).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product tessera
bin=.build/release/tessera
run="runs/tiny-$(date -u +%Y%m%d-%H%M%S)"
"$bin" train --config configs/tiny.yaml --run-dir "$run" "$@"
"$bin" eval --checkpoint "$run" --corpus configs/corpus/pride-and-prejudice.txt --tokens 65536
"$bin" probe complete --checkpoint "$run" --prompt "It is a truth universally acknowledged, that" --max-new-tokens 120
echo "run directory: $run"
