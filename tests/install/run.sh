#!/bin/bash
# The install stage (tools/test.sh install): builds the Linux bundle, the .gex
# and the Debian package in the build chroot (tools/make-bundle.sh --all),
# then installs each in a throwaway overlay of a Debian 13 that has only the
# gimp package (tools/gimp3-chroot.sh, NST_CHROOT_FLAVOUR=gimp-only) and runs
# batch tests against it: tests/install/test-{bundle,deb,gex}.sh.  Root.
#   tests/install/run.sh [bundle deb gex]     (default: all three)
# Artefacts go to NST_INSTALL_OUT (default build-install-test/); with
# NST_INSTALL_REUSE=1 the packages already there are tested again unbuilt.
set -euo pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${NST_INSTALL_OUT:-$SRC/build-install-test}
tests=${*:-bundle deb gex}
log() { printf '[install-tests] %s\n' "$*" >&2; }

mkdir -p "$OUT/dist" "$OUT/samples"
if [ "${NST_INSTALL_REUSE:-}" != 1 ] || [ -z "$(ls "$OUT"/dist/*.deb 2>/dev/null)" ]; then
    rm -f "$OUT"/dist/*
    "$SRC/tools/make-bundle.sh" --all "$OUT/dist"
fi
for sample in /usr/lib/python3/dist-packages/skimage/data/chelsea.png \
    /usr/share/doc/opencv-doc/examples/data/starry_night.jpg; do
    [ -f "$sample" ] || { log "missing $sample (python3-skimage, opencv-doc: tools/install-deps.sh)"; exit 1; }
    cp "$sample" "$OUT/samples/"
done

failed=0
for t in $tests; do
    start=$SECONDS
    if NST_OUT=$OUT NST_CHROOT_FLAVOUR=gimp-only NST_CHROOT_EPHEMERAL=1 \
        "$SRC/tools/gimp3-chroot.sh" run "tests/install/test-$t.sh"; then
        log "$t: passed ($((SECONDS - start)) s)"
    else
        log "$t: FAILED ($((SECONDS - start)) s)"
        failed=1
    fi
done
exit $failed
