#!/usr/bin/env bash
# Image-only training (paper §3.1, Figure 5) on the shapes codes of scripts/t2i-experiment.sh shapes:
# the same LM from random weights, from the pretrained text LM with everything trainable, and from
# the pretrained LM with the paper's four freezing presets — same seed, data order and steps.
#   scripts/uncond-experiment.sh [PRETRAINED_RUN]     (default: the newest runs/corpus-bpe8k-*)
# Needs runs/t2i-shapes/codes (scripts/t2i-experiment.sh shapes makes it). Writes runs/uncond-shapes/
# (pairs/ and one run per arm) and prints `report compare` of all arms.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${TESSERA_BIN:-}" ]; then
  scripts/setup.sh
  swift build -c release --product tessera
  TESSERA_BIN=.build/release/tessera
fi
t=$TESSERA_BIN
pretrained=${1:-$(ls -d runs/corpus-bpe8k-* 2>/dev/null | sort | tail -1 || true)}
[ -n "$pretrained" ] || { echo "uncond-experiment: no pretrained run; run scripts/pretrain-corpus.sh" >&2; exit 5; }
codes=runs/t2i-shapes/codes
[ -d "$codes" ] || { echo "uncond-experiment: $codes is missing; run scripts/t2i-experiment.sh shapes" >&2; exit 3; }
root=runs/uncond-shapes
config=configs/uncond-shapes.yaml
mkdir -p "$root"
[ -d "$root/pairs" ] || "$t" tokenize pairs --codes "$codes" --tokenizer "$pretrained" --out "$root/pairs" --seq-len 68 --unconditional
. scripts/train-once.sh
arm() { local name=$1; shift; train_once "$root/$name" --config "$config" --set "data.train=$root/pairs" "$@"; }
arm random
arm pretrained --set "init.from=$pretrained"
for preset in embed-output embed-output-norms first-half ffn; do
  arm "pretrained-$preset" --set "init.from=$pretrained" --set "optim.trainable=[$preset]"
done
"$t" report compare "$root/random" "$root/pretrained" "$root/pretrained-embed-output" "$root/pretrained-embed-output-norms" \
  "$root/pretrained-first-half" "$root/pretrained-ffn"
