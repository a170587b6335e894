#!/usr/bin/env bash
# Real captioned images from Debian packages, merged into one set (tessera data import captioned):
#   Open Clip Art 0.18 (openclipart-png; titles from openclipart-svg), public domain;
#   Noto Color Emoji 2.042 (fonts-noto-color-emoji, OFL-1.1) named by Unicode 15 emoji-test.txt
#     (unicode-data) with CLDR keywords (unicode-cldr-core), Unicode License;
#   EmojiOne 2 (ruby-gemojione), CC-BY-SA-4.0.
# SIZE×SIZE PNGs composited and padded on white; ~6,650 images, ~10 % held out by caption,
# stratified by category; OUT/import.json records the counts.
#   scripts/data/captioned.sh [OUT_DIR] [SIZE]      (default runs/data/captioned32, 32)
set -euo pipefail
cd "$(dirname "$0")/../.."
size=${2:-32}
out=${1:-runs/data/captioned$size}
if [ -f "$out/captions.jsonl" ]; then echo "$out already exists"; exit 0; fi
packages=(openclipart-png openclipart-svg fonts-noto-color-emoji unicode-data unicode-cldr-core ruby-gemojione)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! (cd "$work" && apt-get download "${packages[@]}" >/dev/null 2>&1); then
  apt-get update -qq >/dev/null 2>&1 || true
  (cd "$work" && apt-get download "${packages[@]}" >/dev/null) || { echo "captioned.sh: apt-get download ${packages[*]} failed" >&2; exit 3; }
fi
for deb in "$work"/*.deb; do dpkg -x "$deb" "$work/root"; done
t=${TESSERA_BIN:-.build/release/tessera}
[ -x "$t" ] || { swift build -c release --product tessera; t=.build/release/tessera; }
"$t" data import captioned --from "$work/root" --out "$out" --size "$size"
