#!/usr/bin/env bash
# Opens a report in headless Chromium (Debian's chromium, installed when missing), fails when the
# page logs an error (a console error, a resource that does not load), and saves a full-width
# screenshot.
#   scripts/report-screenshot.sh REPORT_DIR [OUT.png]     (default REPORT_DIR/screenshot.png)
set -euo pipefail
dir=${1:?usage: scripts/report-screenshot.sh REPORT_DIR [OUT.png]}
out=${2:-$dir/screenshot.png}
[ -f "$dir/index.html" ] || { echo "report-screenshot: $dir/index.html does not exist (tessera report ... --out $dir)" >&2; exit 3; }
if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
page="file://$(cd "$dir" && pwd)/index.html"
log=$(mktemp); trap 'rm -f "$log"' EXIT
# The page height follows the content; 1300 px wide shows two plots per row.
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --enable-logging=stderr --v=0 \
  --window-size=1300,6000 --screenshot="$out" "$page" 2>"$log" >/dev/null || { cat "$log" >&2; exit 1; }
if grep -E 'CONSOLE|Uncaught|ERR_FILE_NOT_FOUND|Failed to load' "$log" >&2; then
  echo "report-screenshot: $page logged the errors above" >&2; exit 1
fi
[ -s "$out" ] || { echo "report-screenshot: no screenshot written" >&2; exit 1; }
echo "$out"
