#!/usr/bin/env bash
# bf16 numerics, the oneDNN issue's rule: 500 steps of configs/tiny-bpe.yaml (the main job's LM on
# the Austen BPE shards) in fp32 and in bf16 from the same seed; the bf16 run's held-out loss must
# stay within 1 % of the fp32 run's at every evaluation (every 50 steps). Prints both curves and the
# largest relative gap; exits 1 when the rule fails (a CPU without bf16 instructions stops at
# `tessera train`'s one-line config error).
#   scripts/bench/bf16-numerics.sh [OUT_DIR]        (default runs/bf16-numerics; a finished run is reused)
# A benchmark, not a timed test: ~12 min for fp32 and, on a CPU whose bf16 runs at half rate, ~20 for
# bf16, on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/setup.sh
swift build -c release --product tessera
bin=.build/release/tessera
data=runs/data/austen-bpe4k
scripts/data/bpe-shards.sh "$bin" 4096 "$data" configs/corpus/pride-and-prejudice.txt configs/corpus/sense-and-sensibility.txt
out=${1:-runs/bf16-numerics}
mkdir -p "$out"
for p in fp32 bf16; do
  [ -f "$out/$p/summary.json" ] && continue
  resume=(); [ -d "$out/$p/checkpoints" ] && resume=(--resume)
  "$bin" train --config configs/tiny-bpe.yaml --run-dir "$out/$p" --set "precision=$p" "${resume[@]}"
done
python3 - "$out/fp32/metrics.jsonl" "$out/bf16/metrics.jsonl" <<'EOF'
import json, sys
def evals(path):
    rows = [json.loads(l) for l in open(path) if l.strip()]
    return {r["step"]: r["val_loss"] for r in rows if "val_loss" in r}
a, b = evals(sys.argv[1]), evals(sys.argv[2])
steps = sorted(set(a) | set(b))
if not steps or set(a) != set(b):
    sys.exit(f"bf16-numerics: evaluations differ: fp32 at {sorted(a)}, bf16 at {sorted(b)}")
print(f"{'step':>5} {'fp32 val':>9} {'bf16 val':>9} {'rel. gap':>9}")
worst = 0.0
for s in steps:
    gap = abs(b[s] - a[s]) / a[s]
    worst = max(worst, gap)
    print(f"{s:>5} {a[s]:>9.4f} {b[s]:>9.4f} {100 * gap:>8.3f}%")
print(f"largest relative gap {100 * worst:.3f} % over {len(steps)} evaluations (rule: < 1 % at every one): "
      + ("held" if worst < 0.01 else "FAILED"))
sys.exit(0 if worst < 0.01 else 1)
EOF
