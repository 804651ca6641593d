#!/usr/bin/env bash
# Sets up dpok on a fresh Debian 12 machine (run as root; idempotent): installs the Debian
# packages the build, tests and benchmarks need, then configures and builds in Release.
#   scripts/setup.sh            install + build into build/
#   DPOK_SKIP_APT=1 scripts/setup.sh   build only
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev libgloo-dev libopenblas0-pthread
  nlohmann-json3-dev libcli11-dev libfmt-dev libspdlog-dev libyaml-cpp-dev
  libpcre2-dev libicu-dev libzstd-dev zlib1g-dev
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  python3-torch python3-numpy python3-jinja2 python3-sklearn python3-sentencepiece
  chromium
)

if [[ "${DPOK_SKIP_APT:-0}" != "1" ]]; then
  missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
fi

# ccache: share hits across checkouts and through the precompiled header.
export CCACHE_BASEDIR="$PWD"
export CCACHE_SLOPPINESS="pch_defines,time_macros,include_file_mtime,include_file_ctime"

BUILD_DIR="${DPOK_BUILD_DIR:-build}"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release ${DPOK_CMAKE_ARGS:-}
cmake --build "$BUILD_DIR" -j "$(nproc)"
echo "setup: built $BUILD_DIR/dpok"
