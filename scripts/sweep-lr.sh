#!/usr/bin/env bash
# Runs one config at several learning rates, each into its own run directory, and prints a table
# of the results read from each run's summary.json.
#   scripts/sweep-lr.sh CONFIG LR [LR ...]
# Env: TESSERA_ARGS (extra `tessera train` options), TESSERA_BIN (binary; default the release build),
# TESSERA_RUNS (parent of the sweep directory; default runs).
# A failed or diverged run does not stop the sweep; its status is in the table.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 2 ]; then
  echo "usage: scripts/sweep-lr.sh CONFIG LR [LR ...]" >&2
  exit 64
fi
config=$1; shift
bin=${TESSERA_BIN:-.build/release/tessera}
if [ ! -x "$bin" ]; then
  scripts/setup.sh
  swift build -c release --product tessera >&2 || exit 1
fi
stem=$(basename "${config%.*}")
root="${TESSERA_RUNS:-runs}/sweep-$stem-$(date -u +%Y%m%d-%H%M%S)"
mkdir -p "$root"
field() { # field FILE KEY: a number or string from the pretty-printed summary.json
  sed -n "s/^ *\"$2\" : \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" "$1" | head -n 1
}
num() { [ -n "$1" ] && printf '%.4f' "$1" || printf '-'; }
rows=()
for lr in "$@"; do
  dir="$root/lr-$lr"
  echo "== lr $lr -> $dir" >&2
  "$bin" train --config "$config" --set "optim.lr=$lr" --run-dir "$dir" ${TESSERA_ARGS:-} >&2
  code=$?
  s="$dir/summary.json"
  if [ -f "$s" ]; then
    rows+=("$(printf '%-10s %-12s %6s %8s %10s %10s %10s %9s' "$lr" "$(field "$s" status)" "$code" "$(field "$s" step)" \
      "$(num "$(sed -n '/"final"/,/}/p' "$s" | field /dev/stdin loss)")" \
      "$(num "$(sed -n '/"final"/,/}/p' "$s" | field /dev/stdin val_loss)")" \
      "$(num "$(sed -n '/"best"/,/}/p' "$s" | field /dev/stdin val_loss)")" "$(printf '%.1f' "$(field "$s" wall_time_s)")")")
  else
    rows+=("$(printf '%-10s %-12s %6s' "$lr" "no-summary" "$code")")
  fi
done
printf '%-10s %-12s %6s %8s %10s %10s %10s %9s\n' lr status exit step loss val_loss best_val wall_s
for r in "${rows[@]}"; do echo "$r"; done
echo "runs in $root" >&2
