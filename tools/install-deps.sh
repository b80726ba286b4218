#!/bin/sh
# Installs what building, running and testing gimp-neural-style needs on
# Debian 12 (bookworm).  Run as root (or it re-runs itself with sudo).
#   tools/install-deps.sh          build + run + core tests (the Vulkan backend's
#                                  tests run on Mesa's lavapipe: no GPU needed)
#   tools/install-deps.sh --all    also the GIMP 3 test chroot's and fuzzing's needs
set -eu
if [ "$(id -u)" != 0 ]; then exec sudo "$0" "$@"; fi
packages="build-essential meson ninja-build pkg-config libopenblas-dev libpng-dev libjpeg-dev
  python3-numpy python3-torch python3-skimage opencv-doc curl ca-certificates appstream
  libvulkan-dev glslc mesa-vulkan-drivers vulkan-tools"
if [ "${1:-}" = "--all" ]; then
  packages="$packages clang libclang-rt-14-dev debootstrap zstd"
fi
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "install-deps: installing$missing"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
fi
