#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what is missing, builds, and runs every
# test with CTest. Tests that need the broker or the database get a private Mosquitto and
# PostgreSQL + PostGIS from a CTest fixture (started and stopped by gridwatch itself).
# Arguments go to ctest, e.g. scripts/test.sh -R Slice
#
# Tests labelled `realdata` read public data sets kept outside the project
# ($GRIDWATCH_TEST_DATA, default ../shared/data beside the checkout); without them they skip,
# naming the file they need. When that folder exists, a test skipped for missing data fails
# the run: the data is there, so nothing may skip for want of it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/build.sh"
build="${GRIDWATCH_BUILD_DIR:-$root/build}"
cd "$build"
junit="$build/Testing/junit.xml"
rm -f "$junit"
status=0
ctest --output-on-failure --parallel "$(nproc)" --timeout 300 --output-junit "$junit" "$@" || status=$?
data="${GRIDWATCH_TEST_DATA:-$(dirname "$root")/shared/data}"
python3 "$root/scripts/test_summary.py" --junit "$junit" --data-dir "$data" || status=$?
exit "$status"
