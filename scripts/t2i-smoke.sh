#!/usr/bin/env bash
# The text-to-image pipeline end to end on synthetic shapes, in about two minutes on 2 cores:
#   1. 3,000 captioned 16×16 shapes (the last 64 held out)      tessera data shapes
#   2. an image tokenizer, 16×16 → 4×4 codes of 64              tessera train configs/vq-smoke.yaml
#   3. every image to codes                                     tessera tokenize images
#   4. caption + code sequences of 72 ids                       tessera tokenize pairs
#   5. the LM on them, loss split text / image                  tessera train configs/t2i-smoke.yaml
#   6. held-out loss by modality                                tessera eval loss
#   7. an image per held-out caption + caption consistency      tessera eval sample
#   scripts/t2i-smoke.sh [ROOT]    (default runs/t2i-smoke, which must not exist yet; relative to the checkout)
# $TESSERA_BIN names the binary (default: a release build of this checkout).
set -euo pipefail
cd "$(dirname "$0")/.."
root=${1:-runs/t2i-smoke}
if [ -z "${TESSERA_BIN:-}" ]; then
  scripts/setup.sh
  swift build -c release --product tessera
  TESSERA_BIN=.build/release/tessera
fi
if [ -e "$root" ]; then echo "t2i-smoke: $root exists; pass another directory or remove it" >&2; exit 5; fi
mkdir -p "$root"
t=$TESSERA_BIN
"$t" data shapes --out "$root/shapes" --count 3000 --val 64 --size 16 --seed 7
"$t" train --config configs/vq-smoke.yaml --run-dir "$root/vq"
"$t" tokenize images --tokenizer "$root/vq" --dataset "$root/shapes" --out "$root/codes"
"$t" tokenize pairs --codes "$root/codes" --out "$root/pairs" --seq-len 72
"$t" train --config configs/t2i-smoke.yaml --run-dir "$root/lm" --set "data.train=$root/pairs"
"$t" eval loss --checkpoint "$root/lm" --corpus "$root/pairs" --json | tee "$root/eval.json"
"$t" eval sample --checkpoint "$root/lm" --captions "$root/shapes/captions.jsonl" --out "$root/samples" --temperature 0.7
echo "samples: $root/samples/grid.png"
