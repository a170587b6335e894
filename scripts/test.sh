#!/usr/bin/env bash
# The test command: set-up, release build, the whole Swift Testing suite.
# Release, because the smoke-training tests run real steps; the suite takes a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --build-tests 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]' || true
swift test -c release --skip-build "$@"
