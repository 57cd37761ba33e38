#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what is missing, builds, and runs every
# test with CTest. Tests that need the broker or the database get a private Mosquitto and
# PostgreSQL + PostGIS from a CTest fixture (started and stopped by gridwatch itself).
# Arguments go to ctest, e.g. scripts/test.sh -R Slice
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/build.sh"
cd "${GRIDWATCH_BUILD_DIR:-$root/build}"
exec ctest --output-on-failure --parallel "$(nproc)" --timeout 300 "$@"
