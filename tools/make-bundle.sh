#!/bin/bash
# Builds what a GIMP user installs without building, inside the Debian 13
# chroot (tools/gimp3-chroot.sh) where GIMP 3's -dev packages are.  Needs root.
#
#   tools/make-bundle.sh [OUTDIR]          the self-contained Linux bundle and the .gex
#   tools/make-bundle.sh --deb [OUTDIR]    the Debian package (debian/), checked by lintian
#   tools/make-bundle.sh --all [OUTDIR]    both
#
# OUTDIR defaults to build-dist/ in the source tree.  The SqueezeNet 1.1
# weights are copied in from NST_MODELS or the first folder of NST_MODEL_PATH
# (default ../shared/models), never from the repository.  Writes:
#   gimp-neural-style-VERSION-linux-x86_64.tar.gz   the bundle (unpack, run install.sh)
#   gimp-neural-style-VERSION-linux-x86_64.gex      the same plug-in as a GIMP extension
#   bundle-ldd.txt                                  what the bundle's binaries link to
#   gimp-neural-style_VERSION_amd64.deb, lintian.txt
set -euo pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
what=bundle
case "${1:-}" in
    --deb) what=deb; shift ;;
    --all) what="bundle deb"; shift ;;
    --bundle) shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
OUTDIR=${1:-$SRC/build-dist}
[ "$(id -u)" = 0 ] || { echo "make-bundle: needs root (it builds in a chroot)" >&2; exit 1; }
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
for w in $what; do
    NST_OUT=$OUTDIR NST_CHROOT_FLAVOUR=full "$SRC/tools/gimp3-chroot.sh" run "packaging/build-$w.sh /out"
done
ls -l "$OUTDIR"
