#!/usr/bin/env bash
# Builds the web pages with Debian 12's own Node.js (18.x, what `apt-get install nodejs` gives on
# a stock Debian 12), whatever Node.js this machine has. Debian's node loads parts of itself from
# /usr/share/nodejs, so it runs in a minimal Debian 12 root (debootstrap) with Debian's nodejs:
# web/ (sources and node_modules, without dist/) is copied into it, and `vite build` runs there
# by chroot. Passes when node there reports v18.x, the build exits 0, each page in dist/ loads a
# script that is in dist/assets/, and the browser tests' harness (playwright-core) loads too.
#
# The root is kept between runs in $GRIDWATCH_NODE18_ROOT (default
# ~/.cache/gridwatch/bookworm-node18): made once (a minute or two, from the Debian mirror that
# this machine's apt uses, or $GRIDWATCH_DEBIAN_MIRROR), into a temporary folder that is moved
# into place only when complete. This script mounts nothing: debootstrap makes the root's device
# nodes (and unmounts the /proc it uses while it runs; one left by an interrupted run is unmounted
# here before the half-made root is removed), and neither node nor Vite needs /proc.
#
# Needs root (debootstrap, chroot); otherwise it says why and exits 77, which CTest counts as
# skipped. Installs debootstrap with apt-get when missing.
#
# Usage: web/tests/node18-build.sh [WEB_DIR]     (default: the web/ above this script)
set -euo pipefail

SKIP=77
here="$(cd "$(dirname "$0")" && pwd)"
web="$(cd "${1:-$here/..}" && pwd)"
cache="${GRIDWATCH_NODE18_ROOT:-${HOME:-/root}/.cache/gridwatch/bookworm-node18}"

say() { echo "node18-build: $*" >&2; }
fail() {
  say "FAIL: $*"
  exit 1
}

if [ "$(id -u)" -ne 0 ]; then
  say "skipped: needs root (debootstrap and chroot make and enter a Debian 12 root)"
  exit "$SKIP"
fi
[ -f "$web/package.json" ] || fail "$web has no package.json"
[ -f "$web/node_modules/vite/bin/vite.js" ] ||
  fail "$web/node_modules has no vite: run 'npm ci' in $web first (scripts/install-deps.sh does)"

# The URIs of this machine's apt sources that serve suite $1 (one-line and deb822 formats).
apt_uris() {
  local suite="$1" f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk -v s="$suite" '$1 == "deb" {
        i = 2
        if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
        if ($(i + 1) == s) print $i
      }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v s="$suite" '
      function flush() {
        if (deb && on && uri != "" && (" " suites " ") ~ (" " s " ")) print uri
        deb = 0; on = 1; uri = ""; suites = ""
      }
      BEGIN { on = 1 }
      /^[[:space:]]*$/ { flush(); next }
      /^Types:/ { deb = ($0 ~ /[[:space:]]deb([[:space:]]|$)/) }
      /^Enabled:[[:space:]]*no/ { on = 0 }
      /^URIs:/ { uri = $2 }
      /^Suites:/ { sub(/^Suites:[[:space:]]*/, ""); suites = $0 }
      END { flush() }' "$f"
  done
}
# The first of them, or $2 when there is none.
first_uri() {
  local uris
  uris="$(apt_uris "$1")"
  if [ -n "$uris" ]; then echo "${uris%%$'\n'*}"; else echo "$2"; fi
}

# Unmounts whatever is mounted below $1 (an interrupted debootstrap may leave its /proc), then
# removes $1 without crossing into any other file system.
remove_tree() {
  local dir="$1" m
  [ -e "$dir" ] || return 0
  dir="$(realpath "$dir")"
  while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done < <(awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r)
  rm -rf --one-file-system "$dir"
}

# Runs "${@:3}" in the root $2 for at most $1 seconds, in a clean environment: nothing of this
# machine's Node.js set-up leaks in.
in_root() {
  timeout -k 10 "$1" chroot "$2" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "${@:3}"
}

mkdir -p "$(dirname "$cache")"
exec 9>"$cache.lock"
flock -w 600 9 || fail "another run holds $cache.lock"

tmp=""
work=""
log="$(mktemp)"
cleanup() {
  if [ -n "$work" ]; then remove_tree "$work"; fi
  if [ -n "$tmp" ]; then remove_tree "$tmp"; fi
  rm -f "$log"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

# Copies of web/ left by an interrupted run (this run holds the lock, so none is in use).
for stale in "$cache"/tmp/gridwatch-web.*; do remove_tree "$stale"; done

if [ ! -x "$cache/usr/bin/node" ]; then
  started=$SECONDS
  if ! command -v debootstrap >/dev/null; then
    say "installing debootstrap"
    if ! timeout -k 10 120 apt-get -o DPkg::Lock::Timeout=60 update -qq >"$log" 2>&1 ||
      ! DEBIAN_FRONTEND=noninteractive timeout -k 10 180 apt-get -o DPkg::Lock::Timeout=60 \
        install -y -qq debootstrap >>"$log" 2>&1; then
      cat "$log" >&2
      fail "could not install debootstrap"
    fi
  fi
  mirror="${GRIDWATCH_DEBIAN_MIRROR:-$(first_uri bookworm http://deb.debian.org/debian)}"
  security="$(first_uri bookworm-security http://deb.debian.org/debian-security)"
  # Leftovers of an interrupted run (this run holds the lock, so none is in use).
  for stale in "$cache".tmp.*; do remove_tree "$stale"; done
  remove_tree "$cache" # a root without node is incomplete
  tmp="$(mktemp -d "$cache.tmp.XXXXXX")"
  chmod 755 "$tmp"
  say "making a Debian 12 root with its nodejs in $cache (once; from $mirror)"
  timeout -k 10 400 debootstrap --variant=minbase bookworm "$tmp" "$mirror" >"$log" 2>&1 ||
    { tail -n 30 "$log" >&2; fail "debootstrap failed or timed out"; }
  # The suites of a stock Debian 12, so nodejs is the version its users get.
  cat >"$tmp/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
EOF
  printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
  chmod +x "$tmp/usr/sbin/policy-rc.d"
  in_root 400 "$tmp" sh -c \
    'apt-get update -qq && apt-get install -y -qq --no-install-recommends nodejs && apt-get clean' \
    >"$log" 2>&1 || { tail -n 30 "$log" >&2; fail "apt-get install nodejs in the root failed or timed out"; }
  [ -x "$tmp/usr/bin/node" ] || fail "the root has no /usr/bin/node after installing nodejs"
  mv -T "$tmp" "$cache"
  tmp=""
  say "root made in $((SECONDS - started)) s"
fi

version="$(in_root 60 "$cache" node --version 2>&1)" || fail "node does not run in $cache: $version"
case "$version" in
  v18.*) say "Debian 12's node: $version" ;;
  *) fail "Debian 12's node should be v18.x, found '$version' in $cache" ;;
esac

# A fresh copy of web/ for each run, removed at exit.
work="$(mktemp -d "$cache/tmp/gridwatch-web.XXXXXX")"
tar -C "$web" --exclude=./dist -cf - . | tar -C "$work" -xf -
inside="/tmp/${work##*/}"

started=$SECONDS
if ! in_root 240 "$cache" sh -c 'cd "$1" && exec node node_modules/vite/bin/vite.js build' \
  sh "$inside" >"$log" 2>&1; then
  cat "$log" >&2
  fail "vite build with node $version failed or timed out"
fi
tail -n 8 "$log" >&2
say "vite build with node $version took $((SECONDS - started)) s"

dist="$work/dist"
for page in index worker report; do
  html="$dist/$page.html"
  [ -f "$html" ] || fail "dist/$page.html is missing"
  scripts="$(grep -oE 'src="/?assets/[^"]+\.js"' "$html" || true)"
  [ -n "$scripts" ] || fail "dist/$page.html loads no assets/*.js"
  while read -r ref; do
    file="${ref#src=\"}"
    file="${file%\"}"
    file="${file#/}"
    [ -f "$dist/$file" ] || fail "dist/$page.html loads $file, which is not in dist/"
  done <<<"$scripts"
done

# The browser tests and the web benchmark run on this same node: their harness must load.
in_root 60 "$cache" sh -c 'cd "$1" && exec node -e "import(\"./tests/harness.mjs\").then(() => {})"' \
  sh "$inside" >"$log" 2>&1 || { cat "$log" >&2; fail "web/tests/harness.mjs (playwright-core) does not load on node $version"; }

say "ok: pages built by Debian 12's node $version (dist/index.html, worker.html, report.html)"
