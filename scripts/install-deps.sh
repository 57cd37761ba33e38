#!/usr/bin/env bash
# Installs the Debian 12 packages that gridwatch needs to build, test and run its demo, and the
# npm packages of web/ (package-lock.json: Vite, MapLibre GL, playwright-core, and the echarts 4
# map of Beijing's districts).
# Idempotent: packages already installed are skipped, and when nothing is missing the
# script does no network access at all and returns in well under a second.
#
# Usage: scripts/install-deps.sh            (build + runtime + test dependencies)
#        scripts/install-deps.sh --fuzz     (and clang-19 with libFuzzer, for scripts/fuzz.sh)
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git curl ca-certificates openssl
  # libraries
  libpaho-mqttpp-dev libpaho-mqtt-dev libopencv-dev libgeos-dev libproj-dev libpq-dev
  nlohmann-json3-dev libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev
  libcpp-httplib-dev libboost1.81-dev libssl-dev libcctz-dev tzdata zlib1g-dev librabbitmq-dev
  googletest libgtest-dev libgmock-dev
  # text classification of hotline tickets (classify/): liblinear's logistic regression and
  # OpenCC's traditional → simplified Chinese conversion (its data files come with libopencc1.1),
  # ICU's NFKC normalisation
  liblinear-dev libopencc-dev libicu-dev
  # services started privately by the demo and the tests (never as system services)
  mosquitto mosquitto-clients postgresql-15 postgresql-15-postgis-3 postgresql-client-15
  # a private RabbitMQ cluster for the scale-out tests and `demo --cluster`
  rabbitmq-server
  # demo media: vtest.avi and the Haar cascades
  opencv-doc opencv-data
  # gridwatch rtsp serve: clips served as H.264 RTSP cameras (GStreamer's RTSP server, x264,
  # Matroska, the H.264 parser and payloader); the agent itself decodes with OpenCV + FFmpeg
  libgstrtspserver-1.0-dev gstreamer1.0-rtsp gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly
  # QR sheets of buildings (gridwatch qr) and Chinese text on them and in the browser
  libqrencode-dev fonts-noto-cjk
  # tools used by tests (Open311 validator; the pages in a real browser; a QR decoder)
  python3 python3-jsonschema python3-rfc3987 chromium zbar-tools
  # load generator for the Open311 benchmark (bench/center_bench)
  wrk
  # the chaos suite (tests/chaos): an agent's clock set hours off; a network partition cut with
  # nftables rules inside a network namespace of the test's own (as root)
  libfaketime nftables
  # the hotspot statistics checked against R's spdep::localG (center/tests); reports' PDF text
  # read back by pdftotext in the tests
  r-cran-spdep poppler-utils
  # the map's vector tiles read back in the tests (protozero, Mapbox's protocol buffer reader)
  libprotozero-dev
)
# libFuzzer: Debian 12's clang-19 (clang-14 cannot compile libstdc++ 12's std::expected).
if [ "${1:-}" = "--fuzz" ]; then packages+=(clang-19 libclang-rt-19-dev); fi
# Node.js and npm for web/: the machine's own when present (e.g. a newer Node.js), else Debian's.
if ! command -v npm >/dev/null; then packages+=(nodejs npm); fi

root="$(cd "$(dirname "$0")/.." && pwd)"
install_web() {
  # npm ci when node_modules is missing or older than the lock file.
  local web="$root/web"
  if [ ! -f "$web/node_modules/.package-lock.json" ] ||
     [ "$web/package-lock.json" -nt "$web/node_modules/.package-lock.json" ]; then
    echo "install-deps: npm ci in web/" >&2
    (cd "$web" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
  fi
}

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  install_web
  exit 0
fi

echo "install-deps: installing ${#missing[@]} missing package(s): ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then sudo="sudo"; else
    echo "install-deps: not root and no sudo; install these packages: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
# Never let a package start a system-wide service: gridwatch runs its own private instances.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod +x "$policy"
  created_policy=1
fi
cleanup() { if [ "$created_policy" = 1 ]; then $sudo rm -f "$policy"; fi; }
trap cleanup EXIT
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
install_web
echo "install-deps: done" >&2
