#!/usr/bin/env bash
# The whole test suite under AddressSanitizer (release build, its own scratch path .build-asan).
#   scripts/asan.sh [swift test options]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/fetch-reference.sh
swift build -c release --build-tests --sanitize=address --scratch-path .build-asan
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1} \
  swift test -c release --skip-build --sanitize=address --scratch-path .build-asan "$@"
