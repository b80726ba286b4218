#!/bin/bash
# Runs inside the Debian 13 build chroot (tools/make-bundle.sh starts it):
# builds the plug-in and nst with OpenBLAS, libpng, libjpeg and zlib linked
# statically, stages the bundle (plug-in folder with the model, the gallery,
# the translations, the metainfo and the licences; install.sh,
# uninstall.sh), checks what the binaries link to, and writes to OUT:
#   gimp-neural-style-VERSION-linux-ARCH.tar.gz   the bundle
#   gimp-neural-style-VERSION-linux-ARCH.gex      the GIMP extension
#   bundle-ldd.txt                                what the binaries link to
# Usage: packaging/build-bundle.sh OUT   (cwd: the source tree)
set -euo pipefail
OUT=${1:?usage: build-bundle.sh OUT}
SRC=$(pwd)
MODELS=${NST_MODEL_PATH%%:*}
ID=org.gimp.GIMP.Plugin.NeuralStyle
NAME=neural-style-transfer
VERSION=$(sed -n "s/^ *version : '\([^']*\)'.*/\1/p" meson.build | head -n 1)
ARCH=$(uname -m)
PKG=gimp-neural-style-$VERSION-linux-$ARCH
BUILD=/var/tmp/build-bundle
DEST=/var/tmp/bundle-dest
STAGE=/var/tmp/bundle-stage
log() { printf '[build-bundle] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ -d "$MODELS/squeezenet1.1/weights" ] || die "no squeezenet1.1/weights in $MODELS (NST_MODEL_PATH)"
rm -rf "$BUILD" "$DEST" "$STAGE"
log "building $VERSION with static OpenBLAS, libpng, libjpeg, zlib"
meson setup "$BUILD" "$SRC" --buildtype=release --prefix=/usr -Dplugin=enabled -Dstatic_deps=true \
    -Dgimp_plugin_dir=/plug-in >&2
# Only what is installed (not the tests).
ninja -C "$BUILD" "plugin/$NAME" cli/nst gimp-neural-style-gmo >&2
DESTDIR=$DEST meson install -C "$BUILD" --no-rebuild --strip >&2

P=$STAGE/$PKG/$NAME
mkdir -p "$P/models/squeezenet1.1"
cp -a "$DEST/plug-in/." "$P/"
cp "$DEST/usr/bin/nst" "$P/nst"
cp -r "$MODELS/squeezenet1.1/weights" "$MODELS/squeezenet1.1/README.md" "$MODELS/squeezenet1.1/SHA256SUMS" \
    "$P/models/squeezenet1.1/"
cp /usr/share/common-licenses/Apache-2.0 "$P/models/squeezenet1.1/LICENSE"
(cd "$P/models/squeezenet1.1" && sha256sum --quiet -c "$SRC/data/squeezenet1.1.sha256") ||
    die "the model in $MODELS does not match data/squeezenet1.1.sha256"
# The gallery: as meson installs it, else straight from the tree.
if [ -d "$DEST/usr/share/gimp-neural-style/styles" ]; then
    cp -r "$DEST/usr/share/gimp-neural-style/styles" "$P/styles"
elif [ -d "$SRC/data/styles" ]; then
    cp -r "$SRC/data/styles" "$P/styles"
else
    log "no style gallery in this tree (data/styles): the bundle has none"
fi
cp "$DEST/usr/share/metainfo/$ID.metainfo.xml" "$SRC/COPYING" "$P/"
cp "$SRC/COPYING" "$SRC/NEWS" "$SRC/packaging/bundle/README.txt" "$SRC/packaging/bundle/install.sh" \
    "$SRC/packaging/bundle/uninstall.sh" "$SRC/packaging/bundle/paths.sh" "$STAGE/$PKG/"
chmod -R u=rwX,go=rX "$STAGE"

# What the binaries need: GIMP's libraries and glibc only.
"$SRC/packaging/check-libs.sh" "$P/$NAME" "$P/nst" | tee "$OUT/bundle-ldd.txt" >&2
# The newest glibc symbol version used: the oldest glibc that runs the bundle.
objdump -T "$P/$NAME" "$P/nst" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -n 1 \
    > "$STAGE/$PKG/GLIBC_REQUIRED"
log "needs glibc $(cat "$STAGE/$PKG/GLIBC_REQUIRED") or newer"

tar -C "$STAGE" --owner=0 --group=0 --numeric-owner -czf "$OUT/$PKG.tar.gz" "$PKG"
# The .gex: a zip whose single top folder is named like the AppStream id and
# holds the metainfo; the plug-in folder goes inside it unchanged.
# GIMP reads it as a stream (libarchive), which never sees the central
# directory's Unix modes: each local header also carries libarchive's 'xl'
# extra field (made on Unix, external attributes), so the binaries stay
# executable once GIMP has unpacked them.
python3 - "$P" "$OUT/$PKG.gex" "$ID" <<'PY'
import os, struct, sys, zipfile
src, out, ext_id = sys.argv[1:]
def add(z, path, name):
    info = zipfile.ZipInfo.from_file(path, name)
    info.compress_type = zipfile.ZIP_DEFLATED
    mode = os.stat(path).st_mode
    info.extra = struct.pack("<HHBHI", 0x6C78, 7, 0x05, (3 << 8) | 20, (mode & 0xFFFF) << 16)
    with open(path, "rb") as f:
        z.writestr(info, f.read())
with zipfile.ZipFile(out, "w") as z:
    add(z, os.path.join(src, ext_id + ".metainfo.xml"), f"{ext_id}/{ext_id}.metainfo.xml")
    for root, dirs, files in os.walk(src):
        dirs.sort()
        for f in sorted(files):
            path = os.path.join(root, f)
            add(z, path, f"{ext_id}/neural-style-transfer/" + os.path.relpath(path, src))
PY
log "wrote $OUT/$PKG.tar.gz ($(du -h "$OUT/$PKG.tar.gz" | cut -f1)) and $OUT/$PKG.gex ($(du -h "$OUT/$PKG.gex" | cut -f1))"
