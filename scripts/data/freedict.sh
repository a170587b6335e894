#!/usr/bin/env bash
# Debian's dict-freedict-eng-fra (GPL-2+ data, 8,799 English headwords with French translations) →
# DIR/freedict-eng-fra.index + .dict.dz, the translation probe's word pairs (tessera probe forget).
#   scripts/data/freedict.sh [DIR]     (default runs/data/freedict)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/data/freedict}
if [ -f "$out/freedict-eng-fra.index" ]; then echo "$out already exists"; exit 0; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download dict-freedict-eng-fra >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get download dict-freedict-eng-fra >/dev/null; })
dpkg-deb -x "$work"/dict-freedict-eng-fra_*.deb "$work/x"
mkdir -p "$out.partial"
cp "$work"/x/usr/share/dictd/freedict-eng-fra.index "$work"/x/usr/share/dictd/freedict-eng-fra.dict.dz "$out.partial/"
cp "$work"/x/usr/share/doc/dict-freedict-eng-fra/copyright "$out.partial/" 2>/dev/null || true
mv "$out.partial" "$out"
echo "freedict-eng-fra → $out"
