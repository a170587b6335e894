#!/usr/bin/env bash
# Fashion-MNIST (MIT, Zalando) from Debian's dataset-fashion-mnist as a captioned image folder:
# 60,000 train + 10,000 held-out 28×28 PNGs, captions "a photo of a <class>".
#   scripts/data/fashion-mnist.sh [OUT_DIR]      (default runs/data/fashion-mnist)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/data/fashion-mnist}
if [ -f "$out/captions.jsonl" ]; then echo "$out already exists"; exit 0; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download dataset-fashion-mnist >/dev/null 2>&1) || { apt-get update -qq >/dev/null && (cd "$work" && apt-get download dataset-fashion-mnist >/dev/null); }
dpkg -x "$work"/dataset-fashion-mnist_*.deb "$work/root"
[ -x .build/release/tessera ] || swift build -c release --product tessera
.build/release/tessera data import fashion-mnist --from "$work/root/usr/share/datasets/fashion-mnist" --out "$out"
