#!/usr/bin/env bash
# Image-code sampling with the KV cache, Tessera vs PyTorch on the same text-to-image checkpoint:
# greedy codes for one image (256 by default, as many as fit otherwise), interleaved rounds,
# median codes/s of each, and whether both drew the same codes.
#   scripts/bench/compare-sample.sh CHECKPOINT_OR_RUN [CAPTION]
# Env: ROUNDS (default 3), THREADS (default 2), CODES (default 0: up to 256).
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/setup.sh
python3 -c "import torch, safetensors" 2>/dev/null || pip install -q torch==2.13.0+cpu safetensors >&2
swift build -c release --product tessera >&2
. scripts/bench/openblas-kernel.sh
ckpt=${1:?usage: scripts/bench/compare-sample.sh CHECKPOINT_OR_RUN [CAPTION]}
caption=${2:-a cat}
threads=${THREADS:-2}
out=$(mktemp)
for r in $(seq "${ROUNDS:-3}"); do
  .build/release/tessera bench sample --checkpoint "$ckpt" --caption "$caption" \
    --codes "${CODES:-0}" --threads "$threads" --json | tee -a "$out" >&2
  args=$(python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).readlines()[-1]); print(r["checkpoint"], ",".join(map(str, r["prompt_ids"])), r["code_range"][0], r["code_range"][1], r["codes"])' "$out")
  read -r path prompt lo hi n <<< "$args"
  python3 scripts/bench/torch_t2i_sample.py "$path" --prompt "$prompt" \
    --lo "$lo" --hi "$hi" --codes "$n" --threads "$threads" | tee -a "$out" >&2
done
python3 - "$out" <<'PY'
import json, sys, statistics
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
t = [r for r in rows if r["who"] == "tessera"]; p = [r for r in rows if r["who"] != "tessera"]
print(f'{t[0]["codes"]} codes after a {len(t[0]["prompt_ids"])}-token prompt, {t[0]["threads"]} thread(s), {t[0]["checkpoint"]}')
print(f'{"who":20} {"codes/s (median, best)":>24} {"ms/code":>8} {"peak RSS MB":>12}')
for name, rs in (("tessera", t), (p[0]["who"], p)):
    cps = [r["codes_per_s"] for r in rs]
    print(f'{name:20} {statistics.median(cps):>13.1f} ({max(cps):>8.1f}) {1000 / statistics.median(cps):>8.2f} {max(r["peak_rss_mb"] for r in rs):>12.0f}')
print("same greedy codes (first 16):", t[0]["first_codes"] == p[0]["first_codes"])
PY
rm -f "$out"
