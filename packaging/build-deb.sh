#!/bin/bash
# Runs inside the Debian 13 build chroot (tools/make-bundle.sh --deb starts it):
# builds the Debian package from a copy of the source tree (dpkg-buildpackage
# writes beside and inside it), runs lintian on it and writes to OUT the .deb
# and lintian.txt.   Usage: packaging/build-deb.sh OUT   (cwd: the source tree)
set -euo pipefail
OUT=${1:?usage: build-deb.sh OUT}
WORK=/var/tmp/build-deb
log() { printf '[build-deb] %s\n' "$*" >&2; }
# The packaging tools are not in the build chroot's recipe (its cache key
# stays that of the gimp stage): installed here once per chroot.
missing=$(for p in build-essential debhelper dpkg-dev lintian appstream; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'ok installed' || echo "$p"; done)
if [ -n "$missing" ]; then
    log "installing $(echo $missing) in the chroot"
    apt-get update -q >&2 && apt-get install -y -q $missing >&2
fi
VERSION=$(dpkg-parsechangelog -S Version)
rm -rf "$WORK"
mkdir -p "$WORK/gimp-neural-style-$VERSION"
tar -C . --exclude=./.git --exclude='./build*' --exclude=./out --exclude=./.cache -c . |
    tar -C "$WORK/gimp-neural-style-$VERSION" -x
cd "$WORK/gimp-neural-style-$VERSION"
log "dpkg-buildpackage of $VERSION"
dpkg-buildpackage -b -us -uc >&2
cd "$WORK"
deb=$(ls gimp-neural-style_"$VERSION"_*.deb)
cp "$deb" "$OUT/"
log "lintian $deb"
lintian --display-info --pedantic --no-tag-display-limit "$deb" "$WORK"/*.changes > "$OUT/lintian.txt" 2>&1 || true
cat "$OUT/lintian.txt" >&2
if grep -q '^E:' "$OUT/lintian.txt"; then log "lintian found errors"; exit 1; fi
log "wrote $OUT/$deb ($(du -h "$OUT/$deb" | cut -f1)); lintian: $(grep -c '^W:' "$OUT/lintian.txt" || true) warnings, no errors"
