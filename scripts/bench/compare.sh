#!/usr/bin/env bash
# Tessera vs PyTorch on the same model and AdamW step, side by side, interleaved rounds.
#   scripts/bench/compare.sh [CONFIG ...]   (default: configs/bench-tiny.yaml configs/bench-small.yaml)
# Env: ROUNDS (default 3), STEPS (timed steps per run; default 5 tiny / 2 otherwise), THREADS (default 2),
# PRECISIONS (default "fp32 bf16": Tessera's precision: bf16 against PyTorch's bf16 autocast; bf16 rows
# only on a CPU with avx512_bf16 or amx_bf16).
# The OpenBLAS kernel in use is printed.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/setup.sh
python3 -c "import torch, yaml" 2>/dev/null || pip install -q torch==2.13.0+cpu pyyaml >&2
swift build -c release --product tessera >&2
. scripts/bench/openblas-kernel.sh
configs=("$@")
[ ${#configs[@]} -eq 0 ] && configs=(configs/bench-tiny.yaml configs/bench-small.yaml)
rounds=${ROUNDS:-3}
threads=${THREADS:-2}
precisions=${PRECISIONS:-fp32 bf16}
grep -qwE 'avx512_bf16|amx_bf16' /proc/cpuinfo || precisions=${precisions//bf16/}
out=$(mktemp)
for cfg in "${configs[@]}"; do
  steps=${STEPS:-$([[ $cfg == *tiny* ]] && echo 5 || echo 2)}
  for r in $(seq "$rounds"); do
    for p in $precisions; do
      flag=(); [ "$p" = bf16 ] && flag=(--bf16)
      .build/release/tessera bench train --config "$cfg" --steps "$steps" \
        --threads "$threads" --set "precision=$p" --json | sed 's/^{/{"who":"tessera",/' | tee -a "$out" >&2
      python3 scripts/bench/torch_train.py "$cfg" --steps "$steps" \
        --threads "$threads" "${flag[@]}" | sed 's/^{/{"who":"torch",/' | tee -a "$out" >&2
    done
  done
done
python3 - "$out" <<'PY'
import json, sys, statistics
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
keys = sorted({(r["config"], r.get("precision", "fp32"), r["who"]) for r in rows})
print(f'{"config":30} {"prec":5} {"who":8} {"tokens/s (median, best)":>26} {"GFLOP/s":>9} {"MFU":>6} {"peak RSS MB":>12}')
for cfg, prec, who in keys:
    rs = [r for r in rows if r["config"] == cfg and r.get("precision", "fp32") == prec and r["who"] == who]
    tps = [r["tokens_per_s"] for r in rs]
    g = statistics.median(r["gflops"] for r in rs)
    mfu = f'{statistics.median(r["mfu"] for r in rs) * 100:.1f}%' if "mfu" in rs[0] else "-"
    rss = max(r["peak_rss_mb"] for r in rs)
    print(f'{cfg:30} {prec:5} {who:8} {statistics.median(tps):>15.0f} ({max(tps):>7.0f}) {g:>9.1f} {mfu:>6} {rss:>12.0f}')
print("OpenBLAS kernel:", rows[0].get("blas_core", "?"))
PY
rm -f "$out"
