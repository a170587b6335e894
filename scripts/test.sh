#!/usr/bin/env bash
# The test command: set-up, release build, the whole Swift Testing suite.
# Release, because the smoke-training tests run real steps.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/fetch-reference.sh
swift build -c release --build-tests
swift test -c release --skip-build "$@"
