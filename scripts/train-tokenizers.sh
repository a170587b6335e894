#!/usr/bin/env bash
# Trains the two real-data image tokenizers and measures them on their held-out splits:
#   configs/vq-emoji.yaml   (ruby-gemojione, 64×64 → 16×16 codes)
#   configs/vq-fashion.yaml (dataset-fashion-mnist, 28×28 → 7×7 codes)
# Fetches the data first (scripts/data/*.sh), writes runs/vq-emoji and runs/vq-fashion, and prints
# `tessera eval images` for each (the grids go to runs/vq-*/heldout.png).
#   scripts/train-tokenizers.sh [emoji|fashion ...]     (default both; about 1 h 30 min on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product tessera
which=("$@")
[ ${#which[@]} -eq 0 ] && which=(emoji fashion)
for w in "${which[@]}"; do
  case $w in
    emoji) data=runs/data/emoji; scripts/data/emoji.sh "$data" ;;
    fashion) data=runs/data/fashion-mnist; scripts/data/fashion-mnist.sh "$data" ;;
    *) echo "unknown tokenizer $w (emoji | fashion)" >&2; exit 64 ;;
  esac
  run=runs/vq-$w
  if [ -f "$run/summary.json" ] && grep -q '"completed"' "$run/summary.json"; then
    echo "$run already completed"
  elif [ -d "$run" ]; then
    .build/release/tessera train --resume --run-dir "$run"
  else
    .build/release/tessera train --config "configs/vq-$w.yaml" --run-dir "$run"
  fi
  .build/release/tessera eval images --tokenizer "$run" --dataset "$data" --grid "$run/heldout.png" --grid-images 12
done
