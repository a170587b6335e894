#!/usr/bin/env bash
# Builds and runs Tessera's libFuzzer targets (Tests/Fuzz/*.swift) over the TesseraCore sources.
#   scripts/fuzz.sh [SECONDS per target, default 600] [TARGET ...]   (default: every target)
# Seeds: the test fixtures of the matching kind. New crashes are written to Tests/Fuzz/crashes/TARGET/
# (commit them once fixed: every stored crash input is replayed before fuzzing, and must pass).
# Prints execs and time per target; exits non-zero if any target crashed. FUZZ_BUILD_ONLY=1 only builds.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}; shift || true
build_only=${FUZZ_BUILD_ONLY:-0}
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(safetensors gguf tokenizer_json shard manifest bpe_encode png idx image_codes freedict
                                     config_values vq_config_values manifest_values gguf_values hf_config_values
                                     checkpoint_config_values)
scripts/setup.sh
out=.build-fuzz
mkdir -p "$out"
core=$(find Sources/TesseraCore -name '*.swift' | sort)
incs=(-I Sources/COpenBLAS -I Sources/CPNG -I Sources/CZstd -I Sources/CZlib -I Sources/CDNNL)
for f in $(pkg-config --cflags-only-I openblas libpng16 libzstd zlib); do incs+=(-Xcc "$f"); done
libs="$(pkg-config --libs openblas libpng16 libzstd zlib) -ldnnl -lgomp"   # oneDNN has no .pc file
fx=Tests/TesseraCoreTests/Fixtures
status=0
for t in "${targets[@]}"; do
  bin="$out/fuzz-$t"
  # Structure-aware targets (*_values) draw their numbers through Tests/Fuzz/Support/FuzzValues.swift.
  support=(); [[ $t == *_values ]] && support=(Tests/Fuzz/Support/FuzzValues.swift)
  if [ ! -x "$bin" ] || [ -n "$(find Sources/TesseraCore Tests/Fuzz/$t.swift Tests/Fuzz/Support -newer "$bin" -name '*.swift' | head -1)" ]; then
    echo "fuzz: building $t" >&2
    if ! swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name TesseraCore -target-cpu haswell \
      -swift-version 5 "${incs[@]}" $core "Tests/Fuzz/$t.swift" "${support[@]}" $libs -o "$bin" > "$out/build-$t.log" 2>&1; then
      grep -v 'Cannot export local symbol' "$out/build-$t.log" >&2
      status=1; continue
    fi
  fi
  [ "$build_only" = 1 ] && continue
  corpus="$out/corpus-$t"; mkdir -p "$corpus" "Tests/Fuzz/crashes/$t"
  case $t in
    safetensors) cp $fx/*.safetensors $fx/malformed/*.safetensors "$corpus"/ 2>/dev/null ;;
    gguf) cp $fx/*.gguf $fx/malformed/*.gguf "$corpus"/ 2>/dev/null ;;
    tokenizer_json) cp $fx/bpe_austen2k_digits.tokenizer.json $fx/malformed/*.tokenizer.json "$corpus"/ 2>/dev/null ;;
    shard) find $fx/malformed -name '*.tok.zst' -exec cp {} "$corpus"/ \; ;;
    manifest) i=0; for m in $fx/malformed/*/manifest.json; do cp "$m" "$corpus/m$i.json"; i=$((i+1)); done ;;
    bpe_encode) cp configs/corpus/*.txt "$corpus"/ 2>/dev/null ;;
    png) cp $fx/png/*.png $fx/malformed/*.png "$corpus"/ 2>/dev/null ;;
    idx) cp $fx/malformed/*.idx*.gz "$corpus"/ 2>/dev/null ;;
    image_codes) i=0; for m in $fx/malformed/codes-*/manifest.json; do cp "$m" "$corpus/c$i.json"; i=$((i+1)); done ;;
    freedict) if [ -f runs/data/freedict/freedict-eng-fra.index ]; then
                { head -c 4000 runs/data/freedict/freedict-eng-fra.index; printf '\0'; gzip -dc runs/data/freedict/freedict-eng-fra.dict.dz | head -c 20000; } > "$corpus/real"
              fi ;;
  esac
  # The *_config_values targets build their directories from the fixtures.
  export FUZZ_FIXTURES=$fx
  # What Tessera may allocate, well below libFuzzer's -rss_limit_mb (ASan's quarantine and shadow
  # come on top): an input whose sizes would need more must be refused, not allocated.
  export TESSERA_MAX_MEMORY_MB=${TESSERA_MAX_MEMORY_MB:-1024}
  # Replay every stored crash first: each must now pass.
  for c in Tests/Fuzz/crashes/$t/*; do
    [ -f "$c" ] || continue
    "$bin" "$c" >/dev/null 2>&1 || { echo "fuzz: $t: stored crash $c still fails" >&2; status=1; }
  done
  log="$out/$t.log"
  "$bin" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="Tests/Fuzz/crashes/$t/" "$corpus" > "$log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  if [ $rc -ne 0 ]; then status=1; echo "fuzz: $t: CRASH after ${execs:-?} execs (see $log and Tests/Fuzz/crashes/$t/)"
  else echo "fuzz: $t: ${execs:-?} execs in ${seconds}s, no crash"; fi
done
exit $status
