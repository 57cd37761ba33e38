#!/usr/bin/env bash
# Fuzzes every parser that takes outside bytes (fuzz/targets) with libFuzzer, AddressSanitizer and
# UBSan: each target runs MINUTES minutes (default 1) from its seed corpus (fuzz/corpus/NAME).
# New inputs that reach new code are kept in build-fuzz/corpus/NAME (not in the repository); an
# input that crashes a target is copied to fuzz/regressions/NAME, where the ordinary test suite
# (fuzz_replay_test) runs it from then on. Prints one line a target: runs, minutes, crashes.
#
# Usage: scripts/fuzz.sh [MINUTES] [TARGET...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
minutes="${1:-1}"
shift || true
bash "$root/scripts/install-deps.sh" --fuzz
build="$root/build-fuzz"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-19 \
  -DGRIDWATCH_FUZZ=ON -DGRIDWATCH_BUILD_TESTS=OFF -DGRIDWATCH_DEVELOPER=OFF >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(sed -n 's/^set(GW_FUZZ_TARGETS \(.*\))$/\1/p' "$root/fuzz/CMakeLists.txt" | tr ' ' '\n')
fi
cmake --build "$build" --target "${targets[@]/#/fuzz_}" >/dev/null
printf '%-14s %12s %8s %8s\n' target runs minutes crashes
status=0
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  crashes="$build/crashes/$t"
  mkdir -p "$corpus" "$crashes"
  log="$build/fuzz-$t.log"
  # -fork keeps going after a crash and collects every crashing input.
  "$build/fuzz/fuzz_$t" -max_total_time=$((minutes * 60)) -fork=1 -ignore_crashes=1 -rss_limit_mb=2048 \
    -timeout=10 -artifact_prefix="$crashes/" "$corpus" "$root/fuzz/corpus/$t" >"$log" 2>&1 || true
  runs=$(grep -o 'exec/s\|#[0-9]*' "$log" | grep '^#' | tail -1 | tr -d '#')
  found=$(find "$crashes" -type f | wc -l)
  if [ "$found" -gt 0 ]; then
    mkdir -p "$root/fuzz/regressions/$t"
    cp "$crashes"/* "$root/fuzz/regressions/$t/"
    status=1
  fi
  printf '%-14s %12s %8s %8s\n' "$t" "${runs:-?}" "$minutes" "$found"
done
exit $status
