# Sourced by the experiment scripts (not run): train_once RUN_DIR TRAIN_ARGS... skips a completed
# run, resumes an interrupted one (its own config.json), else starts it. Needs $t, the tessera binary.
completed() { [ -f "$1/summary.json" ] && grep -q '"completed"' "$1/summary.json"; }
train_once() {
  local run=$1; shift
  if completed "$run"; then echo "$run: already completed" >&2
  elif [ -d "$run" ]; then "$t" train --resume --run-dir "$run"
  else "$t" train --run-dir "$run" "$@"; fi
}
