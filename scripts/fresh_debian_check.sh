#!/usr/bin/env bash
# The README's two commands on a pristine Debian 12: a debootstrap root (minbase), a fresh clone of
# this repository's HEAD with no ../shared beside it, timed. Run as root on a Debian machine with
# network access to Debian's mirror and PyPI; needs debootstrap (apt-get install debootstrap).
#   scripts/fresh_debian_check.sh [ROOT]     (default ROOT: /var/tmp/dpok-bookworm)
# The CUDA toolkit is the machine's, not Debian's: /usr/local/cuda-13.0 is bind-mounted read-only
# when it exists. A proxy CA under /usr/local/share/ca-certificates is trusted in the root too.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
ROOT="${1:-/var/tmp/dpok-bookworm}"
[[ -x $ROOT/bin/bash ]] || debootstrap --variant=minbase bookworm "$ROOT" http://deb.debian.org/debian
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  mkdir -p "$ROOT/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$ROOT/usr/local/share/ca-certificates/"
fi
mkdir -p "$ROOT/proc" "$ROOT/dev" "$ROOT/sys" "$ROOT/src"
mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
mountpoint -q "$ROOT/dev" || mount --rbind /dev "$ROOT/dev"
mountpoint -q "$ROOT/sys" || mount --rbind /sys "$ROOT/sys"
if [[ -d /usr/local/cuda-13.0 ]]; then
  mkdir -p "$ROOT/usr/local/cuda-13.0"
  mountpoint -q "$ROOT/usr/local/cuda-13.0" || {
    mount --bind /usr/local/cuda-13.0 "$ROOT/usr/local/cuda-13.0"
    mount -o remount,bind,ro "$ROOT/usr/local/cuda-13.0"
  }
  ln -sfn cuda-13.0 "$ROOT/usr/local/cuda"
fi
mountpoint -q "$ROOT/src" || mount --bind "$REPO" "$ROOT/src"  # read by `git clone` only
chroot "$ROOT" /usr/bin/env -i HOME=/root PATH=/usr/local/cuda/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  TERM=dumb bash -c '
  set -e
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends git ca-certificates sudo >/dev/null
  update-ca-certificates >/dev/null
  rm -rf /root/dpok && git clone -q file:///src /root/dpok && cd /root/dpok && git log --oneline -1
  test ! -e /root/shared && echo "no ../shared"
  s=$(date +%s); bash -c "scripts/setup.sh && build/dpok train --config examples/quickstart.yaml"
  echo "command 1: $(( $(date +%s) - s )) s"
  s=$(date +%s); scripts/test.sh; echo "command 2: $(( $(date +%s) - s )) s"
'
