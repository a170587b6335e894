#!/usr/bin/env bash
# Tessera vs PyTorch on the same MoVQ image tokenizer, side by side, interleaved rounds:
# encode / decode / training-pass images/s.
#   scripts/bench/compare-vq.sh [CONFIG ...]   (default: configs/vq-emoji.yaml)
# Env: ROUNDS (default 3), REPEATS (timed passes per run, default 5), THREADS (default 2), BATCH,
# ENGINES (Tessera's convolution engines, default "auto im2col onednn-bf16"). PyTorch runs in fp32
# and under bf16 autocast; bf16 rows only on a CPU with avx512_bf16 or amx_bf16.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/setup.sh
python3 -c "import torch, yaml, safetensors" 2>/dev/null || pip install -q torch==2.13.0+cpu pyyaml safetensors >&2
swift build -c release --product tessera >&2
. scripts/bench/openblas-kernel.sh
configs=("$@")
[ ${#configs[@]} -eq 0 ] && configs=(configs/vq-emoji.yaml)
threads=${THREADS:-2}
extra=()
[ -n "${BATCH:-}" ] && extra=(--batch "$BATCH")
out=$(mktemp)
engines=${ENGINES:-auto im2col onednn-bf16}
torch_modes=("" --bf16)
if ! grep -qwE 'avx512_bf16|amx_bf16' /proc/cpuinfo; then
  engines=${engines//onednn-bf16/}
  torch_modes=("")
fi
for cfg in "${configs[@]}"; do
  for r in $(seq "${ROUNDS:-3}"); do
    for e in $engines; do
      .build/release/tessera bench vq --config "$cfg" --threads "$threads" \
        --convolutions "$e" --repeats "${REPEATS:-5}" "${extra[@]}" --json | tee -a "$out" >&2
    done
    for m in "${torch_modes[@]}"; do
      python3 scripts/bench/torch_movq.py "$cfg" --threads "$threads" \
        --repeats "${REPEATS:-5}" "${extra[@]}" $m | tee -a "$out" >&2
    done
  done
done
python3 - "$out" <<'PY'
import json, sys, statistics
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(f'{"config":26} {"impl":14} {"batch":>5} {"encode img/s":>13} {"decode img/s":>13} {"train img/s":>12} {"peak RSS MB":>12}')
for cfg in sorted({r["config"] for r in rows}):
    for impl in sorted({r["impl"] for r in rows if r["config"] == cfg}):
        rs = [r for r in rows if r["config"] == cfg and r["impl"] == impl]
        med = lambda k: statistics.median(r[k] for r in rs)
        print(f'{cfg:26} {impl:14} {rs[0]["batch"]:>5} {med("encode_images_per_s"):>13.1f} {med("decode_images_per_s"):>13.1f} '
              f'{med("train_images_per_s"):>12.1f} {max(r["peak_rss_mb"] for r in rs):>12.0f}')
PY
rm -f "$out"
