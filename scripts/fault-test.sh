#!/usr/bin/env bash
# Kill -9 a training run at random moments, many times, resuming after each; then check that the
# final weights and optimizer state equal an uninterrupted run's bit for bit, and that no complete
# checkpoint was ever corrupt (`tessera checkpoints --verify` after every kill).
#   scripts/fault-test.sh [KILLS]      (default 50)
# Env: TESSERA_BIN (binary; default the release build), STEPS (training steps; default 12·KILLS + 60),
#      MAX_DELAY_MS (longest wait before a kill; default 400), SEED (for the kill times; default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
kills=${1:-50}
steps=${STEPS:-$((12 * kills + 60))}
max_delay=${MAX_DELAY_MS:-400}
RANDOM=${SEED:-1}
bin=${TESSERA_BIN:-.build/release/tessera}
if [ -z "${TESSERA_BIN:-}" ]; then
  scripts/setup.sh
  swift build -c release --product tessera >&2
fi
work=$(mktemp -d)
trap '[ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT
cfg="$work/fault.yaml"
cat > "$cfg" <<YAML
seed: 11
threads: 2
model: {d_model: 64, n_layers: 2, n_heads: 4, n_kv_heads: 2, vocab_size: 256, ffn_hidden: 128, norm: rmsnorm, rope: half}
data: {train: configs/corpus/pride-and-prejudice.txt, val_fraction: 0.02, seq_len: 64}
optim: {steps: $steps, micro_batch: 8, batch_tokens: 1024, lr: 2.0e-3, min_lr: 2.0e-4, warmup_steps: 20, grad_clip: 1.0}
eval: {every: 50, tokens: 4096}
checkpoint: {every: 2, keep_last: 2, milestone_every: 100}
log_every: 1000
YAML

echo "fault-test: $kills kills over a $steps-step run" >&2
"$bin" train --config "$cfg" --run-dir "$work/reference" 2>/dev/null

done_kills=0
launches=0
mid_write=0
run="$work/faulty"
while true; do
  # Until config.json exists the run has not started (a kill can land before that): start it anew.
  if [ ! -f "$run/config.json" ]; then
    "$bin" train --config "$cfg" --run-dir "$run" 2>/dev/null &
  else
    "$bin" train --resume --run-dir "$run" 2>/dev/null &
  fi
  pid=$!
  launches=$((launches + 1))
  if [ $done_kills -lt "$kills" ]; then
    delay=$((RANDOM % max_delay + 1))
    sleep "$(printf '0.%03d' "$delay")"
    if kill -9 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null || true
      done_kills=$((done_kills + 1))
      if [ -f "$run/config.json" ] && ! "$bin" checkpoints "$run" --verify > "$work/verify.txt" 2>&1; then
        echo "fault-test: FAILED: a complete checkpoint is corrupt after kill $done_kills" >&2
        cat "$work/verify.txt" >&2
        exit 1
      fi
      # A kill during a checkpoint write leaves a temp or unmarked directory (ignored on resume).
      if [ -f "$work/verify.txt" ] && grep -q incomplete "$work/verify.txt"; then mid_write=$((mid_write + 1)); fi
      rm -f "$work/verify.txt"
      continue
    fi
  fi
  if ! wait "$pid"; then
    echo "fault-test: FAILED: the resumed run exited non-zero after $done_kills kills" >&2
    exit 1
  fi
  if [ $done_kills -ge "$kills" ]; then break; fi
  echo "fault-test: FAILED: the run finished after only $done_kills of $kills kills; raise STEPS" >&2
  exit 1
done

last=$(printf 'step_%08d' "$steps")
for f in model.safetensors optimizer.safetensors; do
  if ! cmp -s "$work/reference/checkpoints/$last/$f" "$run/checkpoints/$last/$f"; then
    echo "fault-test: FAILED: $f differs from the uninterrupted run" >&2
    exit 1
  fi
done
if ! diff <(grep -o '"loss":[^,]*' "$work/reference/metrics.jsonl") <(grep -o '"loss":[^,]*' "$run/metrics.jsonl") >/dev/null; then
  echo "fault-test: FAILED: metrics.jsonl losses differ from the uninterrupted run" >&2
  exit 1
fi
echo "fault-test: passed: $done_kills of $kills kills ($launches launches; $mid_write landed during a checkpoint write), final weights, optimizer state and losses bit-identical"
