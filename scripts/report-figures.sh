#!/usr/bin/env bash
# Renders each figure of a report (the inline SVG plots of REPORT_DIR/index.html, by element id)
# to its own PNG with headless Chromium (Debian's chromium, installed when missing), at the plot's
# own size, and fails when a figure is missing or Chromium logs an error.
#   scripts/report-figures.sh REPORT_DIR OUT_DIR      → OUT_DIR/<figure id>.png, one per figure
set -euo pipefail
dir=${1:?usage: scripts/report-figures.sh REPORT_DIR OUT_DIR}
out=${2:?usage: scripts/report-figures.sh REPORT_DIR OUT_DIR}
[ -f "$dir/index.html" ] || { echo "report-figures: $dir/index.html does not exist (tessera report ... --out $dir)" >&2; exit 3; }
if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
mkdir -p "$out"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
# One page per <svg id=… width=… height=…> of the report, the report's own style sheet kept.
python3 - "$dir/index.html" "$work" <<'EOF'
import re, sys
html = open(sys.argv[1], encoding="utf-8").read()
style = re.search(r"<style>.*?</style>", html, re.S)
for m in re.finditer(r'<svg id="([^"]+)"[^>]*width="(\d+)" height="(\d+)".*?</svg>', html, re.S):
    fid, w, h = m.group(1), m.group(2), m.group(3)
    page = ('<!DOCTYPE html><html><head><meta charset="utf-8">' + (style.group(0) if style else "")
            + '<style>body{margin:0;max-width:none;background:#fff}</style></head><body>' + m.group(0) + "</body></html>")
    open(f"{sys.argv[2]}/{fid}.html", "w", encoding="utf-8").write(page)
    open(f"{sys.argv[2]}/{fid}.size", "w").write(f"{w},{h}")
EOF
n=0
for page in "$work"/*.html; do
  [ -f "$page" ] || continue
  id=$(basename "$page" .html)
  log="$work/$id.log"
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --enable-logging=stderr --v=0 \
    --window-size="$(cat "$work/$id.size")" --screenshot="$out/$id.png" "file://$page" 2>"$log" >/dev/null ||
    { cat "$log" >&2; exit 1; }
  if grep -E 'CONSOLE|Uncaught' "$log" >&2; then echo "report-figures: $id logged the errors above" >&2; exit 1; fi
  [ -s "$out/$id.png" ] || { echo "report-figures: no PNG for $id" >&2; exit 1; }
  n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "report-figures: $dir/index.html has no figure (<svg id=…>)" >&2; exit 3; }
echo "report-figures: $n figure(s) → $out" >&2
