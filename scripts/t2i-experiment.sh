#!/usr/bin/env bash
# The paper's main comparison (§3.1) on one dataset: the same text-to-image LM trained from the
# pretrained text LM, from random weights, and from the pretrained LM with its image-code rows
# taken from the contrastive alignment probe (§3.2, tessera probe align) — same seed, data order and
# steps — then held-out losses by modality and one sample per held-out caption for each.
#   scripts/t2i-experiment.sh shapes|emoji|fashion [PRETRAINED_RUN]
# PRETRAINED_RUN is a completed configs/corpus-bpe8k.yaml run (default: the newest
# runs/corpus-bpe8k-*; scripts/pretrain-corpus.sh makes one, ~30 min). The image tokenizer is
# runs/vq-shapes (configs/vq-shapes.yaml, ~14 min) or runs/vq-emoji (scripts/train-tokenizers.sh
# emoji, ~65 min) or runs/vq-fashion (~20 min), trained or resumed here when incomplete. On
# Fashion-MNIST a classifier (tessera eval classifier → runs/classifier-fashion) scores 500 samples
# by class accuracy and Fréchet distance to the held-out images. Writes runs/t2i-<data>/ with
# codes/, pairs/, align/, pretrained/, random/, aligned/ and their samples-*/; prints a comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:?usage: scripts/t2i-experiment.sh shapes|emoji|fashion [PRETRAINED_RUN]}
if [ -z "${TESSERA_BIN:-}" ]; then
  scripts/setup.sh
  swift build -c release --product tessera
  TESSERA_BIN=.build/release/tessera
fi
t=$TESSERA_BIN
. scripts/train-once.sh
pretrained=${2:-$(ls -d runs/corpus-bpe8k-* 2>/dev/null | sort | tail -1 || true)}
if [ -z "$pretrained" ]; then scripts/pretrain-corpus.sh; pretrained=$(ls -d runs/corpus-bpe8k-* | sort | tail -1); fi
sample_args=()
completed "$pretrained" || { echo "t2i-experiment: $pretrained is not a completed run" >&2; exit 5; }
case $which in
  shapes)
    data=runs/data/shapes32
    [ -d "$data" ] || "$t" data shapes --out "$data" --count 8000 --val 200 --size 32 --seed 11
    vq=runs/vq-shapes; train_once "$vq" --config configs/vq-shapes.yaml ;;
  emoji)
    data=runs/data/emoji; scripts/data/emoji.sh "$data"
    vq=runs/vq-emoji; train_once "$vq" --config configs/vq-emoji.yaml ;;
  fashion)
    data=runs/data/fashion-mnist; scripts/data/fashion-mnist.sh "$data"
    vq=runs/vq-fashion; train_once "$vq" --config configs/vq-fashion.yaml
    [ -f runs/classifier-fashion/classifier.json ] || "$t" eval classifier --dataset "$data" --out runs/classifier-fashion --overwrite
    sample_args=(--limit 500 --classifier runs/classifier-fashion --reference "$data") ;;
  *) echo "t2i-experiment: unknown dataset $which (shapes | emoji | fashion)" >&2; exit 64 ;;
esac
root=runs/t2i-$which
config=configs/t2i-$which.yaml
seq=$(( $(sed -n 's/^  seq_len: \([0-9]*\).*/\1/p' "$config") + 1 ))
mkdir -p "$root"
[ -d "$root/codes" ] || "$t" tokenize images --tokenizer "$vq" --dataset "$data" --out "$root/codes"
# Captions in the pretrained LM's own BPE, so text ids keep their meaning.
[ -d "$root/pairs" ] || "$t" tokenize pairs --codes "$root/codes" --tokenizer "$pretrained" --out "$root/pairs" --seq-len "$seq"
train_once "$root/pretrained" --config "$config" --set "data.train=$root/pairs" --set "init.from=$pretrained"
train_once "$root/random" --config "$config" --set "data.train=$root/pairs"
[ -f "$root/align/image_rows.safetensors" ] || "$t" probe align --checkpoint "$pretrained" --codes "$root/codes" --out "$root/align" --overwrite
train_once "$root/aligned" --config "$config" --set "data.train=$root/pairs" --set "init.from=$pretrained" --set "init.aligned=$root/align"
for init in pretrained random aligned; do
  "$t" eval loss --checkpoint "$root/$init" --corpus "$root/pairs" --json > "$root/$init/heldout.json"
  [ -d "$root/samples-$init" ] || "$t" eval sample --checkpoint "$root/$init" --captions "$data/captions.jsonl" \
    --out "$root/samples-$init" --temperature 1 --top-k 32 ${sample_args[@]+"${sample_args[@]}"} --json > "$root/samples-$init.json"
done
# The tokenizer's own round trip bounds what any LM can reach with its codes (on shapes, the
# caption consistency of its reconstructions).
"$t" eval images --tokenizer "$vq" --dataset "$data" | tee "$root/tokenizer-ceiling.txt"
"$t" report compare "$root/pretrained" "$root/random"
"$t" report compare "$root/aligned" "$root/pretrained"
