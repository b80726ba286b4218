#!/bin/sh
# The main job, from a fresh Debian 12 machine: installs the dependencies,
# makes sure the embedded default model (SqueezeNet 1.1) is present and
# verified (downloading it when it can), builds, and stylises chelsea.png
# (python3-skimage) in the style of starry_night.jpg (opencv-doc).
# Leaves out/chelsea_starry_night.png.  Extra arguments go to `nst`.
set -eu
cd "$(dirname "$0")/.."
tools/install-deps.sh
. tools/model-path.sh
tools/fetch-models.sh
[ -f build/build.ninja ] || meson setup build --buildtype=release
ninja -C build
mkdir -p out
build/cli/nst \
  --content /usr/lib/python3/dist-packages/skimage/data/chelsea.png \
  --style /usr/share/doc/opencv-doc/examples/data/starry_night.jpg \
  --output out/chelsea_starry_night.png "$@"
echo "quickstart: wrote out/chelsea_starry_night.png"
