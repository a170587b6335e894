#!/usr/bin/env bash
# Trains a byte-level BPE of VOCAB tokens on the given text files and tokenizes them into token
# shards in OUT_DIR (the tail of each file held out), with "<|endoftext|>" after each file.
# Skips the work when OUT_DIR/manifest.json exists.
#   scripts/data/bpe-shards.sh BIN VOCAB OUT_DIR FILE [FILE ...]
set -euo pipefail
bin=$1 vocab=$2 out=$3; shift 3
[ -f "$out/manifest.json" ] && exit 0
inputs=(); for f in "$@"; do inputs+=(--in "$f"); done
mkdir -p "$(dirname "$out")"
"$bin" tokenize train-bpe --vocab-size "$vocab" --special "<|endoftext|>" --out "$out.tokenizer.json" "${inputs[@]}"
"$bin" tokenize text --tokenizer "$out.tokenizer.json" --separator "<|endoftext|>" --out "$out" "${inputs[@]}"
