#!/usr/bin/env bash
# The demo, from a fresh clone: installs what is missing, builds, and runs `gridwatch demo`.
# Arguments go to `gridwatch demo`, e.g. scripts/demo.sh --duration 60 --http-port 18080
# Its banner names the pages, the tokens and the report files it wrote (last week's 周报, HTML and PDF).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/build.sh"
cd "$root"
exec "${GRIDWATCH_BUILD_DIR:-$root/build}/app/gridwatch" demo "$@"
