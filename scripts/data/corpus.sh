#!/usr/bin/env bash
# Gathers an English pre-training corpus from Debian packages (no network beyond apt):
#   austen-<novel>.txt   Jane Austen's six novels (r-cran-janeaustenr; public domain)
#   wordnet-glosses.txt  WordNet 3.0 definitions and examples (wordnet-base; WordNet licence)
#   python-docs.txt      the Python 3.11 documentation sources (python3.11-doc; PSF-2.0)
#   kjv.txt              the King James Bible (bible-kjv-text + bible-kjv; public domain)
# about 28 MB of text in OUT_DIR (default runs/data/corpus). `tessera tokenize text` holds out the
# tail of each file, so the held-out split is fixed and covers every source.
#   scripts/data/corpus.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/data/corpus}
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fetch() { # fetch PKG: unpack a Debian package into $work/root without installing it
  (cd "$work" && apt-get download "$1" >/dev/null 2>&1) || { apt-get update -qq >/dev/null && (cd "$work" && apt-get download "$1" >/dev/null); }
  dpkg -x "$work"/"$1"_*.deb "$work/root"
}
if [ ! -f "$out/austen-persuasion.txt" ]; then
  python3 scripts/data/austen.py "$work/austen" >/dev/null 2>&1
  for f in "$work"/austen/*.txt; do cp "$f" "$out/austen-$(basename "$f")"; done
fi
if [ ! -f "$out/wordnet-glosses.txt" ]; then
  fetch wordnet-base
  # Each synset line ends with " | gloss"; licence lines start with spaces.
  cat "$work"/root/usr/share/wordnet/data.{noun,verb,adj,adv} | grep -v '^ ' | sed -n 's/.* | //p' > "$out/wordnet-glosses.tmp"
  mv "$out/wordnet-glosses.tmp" "$out/wordnet-glosses.txt"
fi
if [ ! -f "$out/python-docs.txt" ]; then
  fetch python3.11-doc
  find "$work/root/usr/share/doc/python3.11/html/_sources" -name '*.rst.txt' | LC_ALL=C sort | xargs cat > "$out/python-docs.tmp"
  mv "$out/python-docs.tmp" "$out/python-docs.txt"
fi
if [ ! -f "$out/kjv.txt" ]; then
  fetch bible-kjv-text
  fetch bible-kjv
  "$work/root/usr/bin/bible" -p "$work/root/usr/lib" "gen1:1-rev22:21" > "$out/kjv.tmp"
  mv "$out/kjv.tmp" "$out/kjv.txt"
fi
ls -l "$out" >&2
