#!/usr/bin/env bash
# Behaviour unchanged across a refactor: two tessera binaries (e.g. release builds of the commits
# before and after) train the same configs with the same seed and threads; every logged figure
# but the timings, and the final weights, must be equal bit for bit. Also compares greedy and
# sampled generation from the trained LM (KV-cache decoding) and a held-out evaluation.
#   scripts/dev/bit-identity.sh BIN_BEFORE BIN_AFTER [WORKDIR]
# Prints one line per comparison and exits 1 on the first difference.
set -euo pipefail
cd "$(dirname "$0")/../.."
a=$1 b=$2 work=${3:-$(mktemp -d /tmp/tessera-bit-identity.XXXXXX)}
mkdir -p "$work"
fail=0
compare_rows() {   # metrics.jsonl of two runs: every key but timings, exactly
  python3 - "$1" "$2" <<'P'
import json, sys
skip = {"tokens_per_s", "elapsed_s", "images_per_s"}
def rows(p): return [json.loads(l) for l in open(p) if l.strip()]
ra, rb = rows(sys.argv[1]), rows(sys.argv[2])
if len(ra) != len(rb): sys.exit(f"{len(ra)} vs {len(rb)} rows")
for i, (x, y) in enumerate(zip(ra, rb)):
    kx, ky = set(x) - skip, set(y) - skip
    if kx != ky: sys.exit(f"row {i}: keys {sorted(kx ^ ky)}")
    for k in kx:
        if x[k] != y[k]: sys.exit(f"row {i} ({x.get('step')}): {k} {x[k]!r} vs {y[k]!r}")
print(f"{len(ra)} rows equal")
P
}
for cfg in configs/smoke.yaml configs/vq-smoke.yaml; do
  name=$(basename "$cfg" .yaml)
  for side in a b; do
    bin=${!side}
    "$bin" train --config "$cfg" --run-dir "$work/$name-$side" --overwrite > "$work/$name-$side.out" 2>&1
  done
  printf '%s metrics: ' "$name"; compare_rows "$work/$name-a/metrics.jsonl" "$work/$name-b/metrics.jsonl" || fail=1
  last=$(ls "$work/$name-a/checkpoints" | tail -1)
  for f in "$work/$name-a/checkpoints/$last"/*.safetensors; do
    g="$work/$name-b/checkpoints/$last/$(basename "$f")"
    if cmp -s "$f" "$g"; then echo "$name $last/$(basename "$f"): identical"; else echo "$name $last/$(basename "$f"): DIFFERS"; fail=1; fi
  done
done
for side in a b; do
  bin=${!side}
  "$bin" eval --checkpoint "$work/smoke-a" --corpus configs/corpus/pride-and-prejudice.txt --tokens 4096 --json \
    | python3 -c 'import json,sys; o=json.load(sys.stdin); print(repr(o["val_loss"]), o["tokens"])' > "$work/eval-$side.txt"
  "$bin" eval generate --checkpoint "$work/smoke-a" --prompt "It is a truth" --max-new-tokens 48 --ids > "$work/greedy-$side.txt" 2>/dev/null
  "$bin" eval generate --checkpoint "$work/smoke-a" --prompt "It is a truth" --max-new-tokens 48 --temperature 0.9 --top-k 40 \
    --seed 7 --ids > "$work/sampled-$side.txt" 2>/dev/null
done
# The importers (GPT-2: linear biases, learned positions; GPT-NeoX: parallel residual; Llama)
# write the same checkpoint. (These tiny fixtures have no tokenizer, so they are not decoded here;
# InferenceTests checks their KV-cache decoding against PyTorch.)
names=(eval greedy sampled)
for fx in hf_gpt2_tiny hf_gpt_neox_tiny hf_llama_tiny; do
  for side in a b; do
    bin=${!side}
    "$bin" import Tests/TesseraCoreTests/Fixtures/$fx --out "$work/$fx-$side" --seq-len 16 --overwrite > /dev/null 2>&1
  done
  if cmp -s "$work/$fx-a/model.safetensors" "$work/$fx-b/model.safetensors"; then echo "$fx import: identical"
  else echo "$fx import: DIFFERS"; fail=1; fi
done
for f in "${names[@]}"; do
  if cmp -s "$work/$f-a.txt" "$work/$f-b.txt"; then echo "$f: identical ($(head -c 60 "$work/$f-a.txt"))"; else echo "$f: DIFFERS"; fail=1; fi
done
exit $fail
