#!/usr/bin/env bash
# The EmojiOne 2 emoji of Debian's ruby-gemojione (CC-BY-SA-4.0 art) as a captioned image folder:
# 1,783 64×64 PNGs composited over white, captions = emoji names, ~10 % held out.
#   scripts/data/emoji.sh [OUT_DIR]      (default runs/data/emoji)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/data/emoji}
if [ -f "$out/captions.jsonl" ]; then echo "$out already exists"; exit 0; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download ruby-gemojione >/dev/null 2>&1) || { apt-get update -qq >/dev/null && (cd "$work" && apt-get download ruby-gemojione >/dev/null); }
dpkg -x "$work"/ruby-gemojione_*.deb "$work/root"
[ -x .build/release/tessera ] || swift build -c release --product tessera
.build/release/tessera data import emoji --from "$work"/root/usr/share/rubygems-integration/all/gems/gemojione-*/ --out "$out"
