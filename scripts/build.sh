#!/usr/bin/env bash
# Installs what is missing, then configures and builds gridwatch into build/ (or $GRIDWATCH_BUILD_DIR).
# Used by scripts/demo.sh and scripts/test.sh; safe to run again (incremental).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
build="${GRIDWATCH_BUILD_DIR:-$root/build}"
generator=()
if [ ! -f "$build/CMakeCache.txt" ] && command -v ninja >/dev/null; then generator=(-G Ninja); fi
cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo ${GRIDWATCH_CMAKE_ARGS:-} >/dev/null
cmake --build "$build" --parallel "$(nproc)"
# The web pages (web/dist, served by the center): built again when a source is newer.
web="$root/web"
if [ ! -f "$web/dist/index.html" ] ||
   [ -n "$(find "$web/src" "$web"/*.html "$web/vite.config.js" "$web/package-lock.json" -newer "$web/dist/index.html" -print -quit)" ]; then
  echo "build: npm run build in web/" >&2
  (cd "$web" && npm run build --silent >/dev/null)
fi
