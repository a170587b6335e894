#!/usr/bin/env bash
# How a finished study's loss verdicts (C1–C4, C13; C6 image-only) depend on how the pre-trained
# LM's new vocabulary rows start (`init.new_rows`: normal | mean | text). For each MODE it trains
# the pretrained arms again (text-to-image and fully trainable image-only) — each run's own
# config.json, so its data, seed and precision, with only init.new_rows changed and no checkpoints
# kept — two runs at a time on one thread each, copies the root's random arms beside them (their
# metrics, not their checkpoints), and judges the claims by the root's own rules (study-rules.json).
#   scripts/init-sensitivity.sh ROOT MODE [MODE ...]   → ROOT-newrows-MODE/ (runs, logs, report/)
# Finished runs are reused; an interrupted one is resumed. TESSERA_BIN skips the build.
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { echo "usage: scripts/init-sensitivity.sh ROOT MODE [MODE ...]   (MODE: normal | mean | text)" >&2; exit 64; }
[ $# -ge 2 ] || usage
root=${1%/}; shift
[ -f "$root/study-rules.json" ] || { echo "init-sensitivity: $root has no study-rules.json (not a reproduce.sh root)" >&2; exit 3; }
ls -d "$root"/t2i-pretrained-s*/ >/dev/null 2>&1 || { echo "init-sensitivity: $root has no t2i-pretrained-s* runs" >&2; exit 3; }
for mode in "$@"; do case $mode in normal|mean|text) ;; *) echo "init-sensitivity: unknown mode '$mode'" >&2; usage ;; esac; done
if [ -z "${TESSERA_BIN:-}" ]; then
  scripts/setup.sh
  swift build -c release --product tessera 2>&1 | tail -1
  TESSERA_BIN=.build/release/tessera
fi
t=$TESSERA_BIN
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  better=$("$t" bench kernel --suggested)
  if [ -n "$better" ]; then export OPENBLAS_CORETYPE=$better; fi  # none: OpenBLAS's own pick is right
fi
source scripts/train-once.sh
for mode in "$@"; do
  out=$root-newrows-$mode
  mkdir -p "$out/logs"
  cp "$root/study-rules.json" "$out/study-rules.json"
  running=0
  for run in "$root"/t2i-pretrained-s*/ "$root"/uncond-pretrained-s*/; do
    [ -d "$run" ] || continue
    run=${run%/}; name=$(basename "$run")
    # The study's own run, with the new-row mode changed: its config.json, as a config file.
    train_once "$out/$name" --config "$run/config.json" --set "init.new_rows=$mode" --set threads=1 \
      --set checkpoint.every=0 --set checkpoint.milestone_every=0 --set checkpoint.final=false \
      >"$out/logs/$name.log" 2>&1 &
    running=$((running + 1))
    if [ "$running" -ge 2 ]; then wait -n; running=$((running - 1)); fi
  done
  wait
  for run in "$root"/t2i-random-s*/ "$root"/uncond-random-s*/; do
    [ -d "$run" ] || continue
    dst=$out/$(basename "$run"); mkdir -p "$dst"
    cp "$run"/{config.json,metrics.jsonl,summary.json} "$dst/"
  done
  echo "== init.new_rows: $mode (pretrained arm re-trained; random arm of $root)"
  "$t" report page "$out" --out "$out/report" --overwrite
done
