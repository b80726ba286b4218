#!/bin/bash
# A Debian 13 ("trixie") chroot with a real GIMP 3 and every build dependency
# of gimp-neural-style, to build the plug-in and run tests/gimp against it.
#
#   tools/gimp3-chroot.sh setup        build (or restore from the cache) the chroot
#   tools/gimp3-chroot.sh run 'cmd'    run a shell command inside (cwd /src)
#   tools/gimp3-chroot.sh test [T...]  build the project inside and run meson's 'gimp' suite
#                                      (or only the tests named, e.g. gimp-big-picture)
#   tools/gimp3-chroot.sh shell        an interactive shell inside
#   tools/gimp3-chroot.sh clean        delete the chroot (the cached tarball stays)
#
# Needs root on Debian 12 (or newer) with a Debian mirror reachable.  Inside,
# /src is this source tree (read-write, the build folder lives in the chroot,
# not here), /out an output folder for test artefacts, /models the model
# folder read-only.
#
# Environment:
#   NST_CHROOT_DIR    where chroots live     (default /var/lib/gimp-neural-style)
#   NST_CHROOT_CACHE  where tarballs live    (default /var/cache/gimp-neural-style; "" = no cache)
#   NST_OUT           output folder          (default <src>/build-gimp-out)
#   NST_MODELS        model folder           (default $NST_MODEL_PATH's first entry,
#                                             else <src>/../shared/models when it exists)
#   NST_KEEP_BUILD    reuse the build folder inside the chroot (default: a fresh one)
#   NST_MIRROR        Debian mirror          (default: the host's deb.debian.org-style URIs)
#   NST_CHROOT_FLAVOUR  full (default): GIMP 3, its -dev packages and the build tools;
#                     gimp-only: what a GIMP user has (gimp, and python3-gi +
#                     gir1.2-gimp-3.0 for Python-fu), to test installing without building
#   NST_CHROOT_EPHEMERAL  1: run on a throwaway overlay of the chroot (what the
#                     command installs or writes is gone afterwards)
set -euo pipefail

SUITE=trixie
FLAVOUR=${NST_CHROOT_FLAVOUR:-full}
PACKAGES="gimp libgimp-3.0-dev gir1.2-gimp-3.0 python3 python3-gi
libopenblas-dev libpng-dev libjpeg-dev meson ninja-build gcc libc6-dev pkg-config gettext
xvfb xauth x11-utils xdotool imagemagick fonts-dejavu-core ca-certificates zstd locales
python3-numpy python3-pil
libvulkan-dev glslc libvulkan1 mesa-vulkan-drivers"
# libvulkan-dev and glslc build nst-core's Vulkan backend; mesa-vulkan-drivers
# brings lavapipe, a device every chroot has for the gpu:N tests.
# The translation tests run GIMP in these locales.
LOCALES="en_US.UTF-8 de_DE.UTF-8 fr_FR.UTF-8"
case "$FLAVOUR" in
    full) ;;
    gimp-only) PACKAGES="gimp python3-gi gir1.2-gimp-3.0"; LOCALES="" ;;
    *) echo "[gimp3-chroot] error: NST_CHROOT_FLAVOUR is full or gimp-only, not '$FLAVOUR'" >&2; exit 2 ;;
esac
# Bump when the way the chroot is made changes, so old caches are not reused.
RECIPE_VERSION=1

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KEY=$(printf '%s\n%s\n%s\n%s\n' "$SUITE" "$RECIPE_VERSION" "$LOCALES" "$(echo $PACKAGES | tr ' ' '\n' | sort)" |
      sha256sum | cut -c1-12)
CHROOT_DIR=${NST_CHROOT_DIR:-/var/lib/gimp-neural-style}
CACHE_DIR=${NST_CHROOT_CACHE-/var/cache/gimp-neural-style}
ROOT=$CHROOT_DIR/$SUITE-$KEY
TARBALL=${CACHE_DIR:+$CACHE_DIR/$SUITE-$KEY.tar.zst}
OUT=${NST_OUT:-$SRC/build-gimp-out}
LOCK=$CHROOT_DIR/.lock
BUILD_DIR=/var/tmp/build-gimp   # inside the chroot

log() { printf '[gimp3-chroot] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

default_models() {
    if [ -n "${NST_MODELS:-}" ]; then echo "$NST_MODELS"; return; fi
    local first=${NST_MODEL_PATH:-}; first=${first%%:*}
    if [ -n "$first" ] && [ -d "$first" ]; then echo "$first"; return; fi
    if [ -d "$SRC/../shared/models" ]; then (cd "$SRC/../shared/models" && pwd); return; fi
    echo ""
}

host_mirror() {
    if [ -n "${NST_MIRROR:-}" ]; then echo "$NST_MIRROR"; return; fi
    local m=""
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        # The first URIs: line that is not the security archive.
        m=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' \
            /etc/apt/sources.list.d/debian.sources)
    fi
    if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
        m=$(awk '$1 == "deb" && $2 !~ /security/ { print $2; exit }' /etc/apt/sources.list)
    fi
    echo "${m:-http://deb.debian.org/debian}"
}

MOUNTED=()
unmount_all() {
    local i
    for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
        umount -R "${MOUNTED[$i]}" 2>/dev/null || umount -R -l "${MOUNTED[$i]}" 2>/dev/null ||
            log "warning: could not unmount ${MOUNTED[$i]}"
    done
    MOUNTED=()
}

mount_into() { # mount_into TARGET mount-args...
    local target=$1; shift
    mkdir -p "$target"
    mount "$@" "$target"
    MOUNTED+=("$target")
}

mount_all() {
    [ -n "$EPHEMERAL_DIR" ] || trap unmount_all EXIT INT TERM HUP
    mount_into "$ROOT/proc" -t proc proc
    mount_into "$ROOT/sys" --rbind /sys
    mount --make-rslave "$ROOT/sys"
    mount_into "$ROOT/dev" --rbind /dev
    mount --make-rslave "$ROOT/dev"
    cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
    mount_into "$ROOT/src" --bind "$SRC"
    mkdir -p "$OUT"
    mount_into "$ROOT/out" --bind "$OUT"
    local models
    models=$(default_models)
    if [ -n "$models" ] && [ -d "$models" ]; then
        mount_into "$ROOT/models" --bind "$models"
        mount -o remount,bind,ro "$ROOT/models"
    else
        log "no model folder found (set NST_MODELS); /models stays empty"
        mkdir -p "$ROOT/models"
    fi
}

in_chroot() { # in_chroot 'shell command'
    chroot "$ROOT" /usr/bin/env -i \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM="${TERM:-dumb}" \
        DEBIAN_FRONTEND=noninteractive NST_MODEL_PATH=/models \
        ${NST_PLUGIN_DEBUG:+NST_PLUGIN_DEBUG=$NST_PLUGIN_DEBUG} \
        ${NST_GIMP_TESTS:+NST_GIMP_TESTS=$NST_GIMP_TESTS} \
        bash -c "cd /src && $1"
}

host_tools() { # host_tools COMMAND...: installs the Debian packages of the same name when missing
    local missing=() tool
    for tool in "$@"; do command -v "$tool" >/dev/null || missing+=("$tool"); done
    [ ${#missing[@]} -eq 0 ] && return
    log "installing ${missing[*]} on the host"
    apt-get update >&2 && apt-get install -y "${missing[@]}" >&2
}

make_chroot() {
    local tmp=$ROOT.partial mirror
    mirror=$(host_mirror)
    host_tools debootstrap
    rm -rf "$tmp"
    log "debootstrap $SUITE from $mirror into $tmp"
    debootstrap --variant=minbase --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
        "$SUITE" "$tmp" "$mirror" >&2
    printf '#!/bin/sh\nexit 101\n' > "$tmp/usr/sbin/policy-rc.d"
    chmod 755 "$tmp/usr/sbin/policy-rc.d"
    cat > "$tmp/etc/apt/apt.conf.d/90gimp-neural-style" <<'EOF'
Dpkg::Options {"--force-unsafe-io";};
Acquire::Languages "none";
APT::Install-Recommends "false";
EOF
    echo "deb $mirror $SUITE main" > "$tmp/etc/apt/sources.list"
    local save_root=$ROOT
    ROOT=$tmp
    (
        mount_all
        log "installing $(echo $PACKAGES | wc -w) packages and their dependencies"
        in_chroot "apt-get update >&2 && apt-get install -y $(echo $PACKAGES) >&2 && apt-get clean"
        local locale
        for locale in $LOCALES; do
            sed -i "s/^# *\($locale .*\)/\1/" "$ROOT/etc/locale.gen"
        done
        [ -z "$LOCALES" ] || in_chroot "locale-gen >&2"
    )
    ROOT=$save_root
    touch "$tmp/.gimp-neural-style-ready"
    mv "$tmp" "$ROOT"
}

setup() {
    [ "$(id -u)" = 0 ] || die "needs root (mount and chroot)"
    mkdir -p "$CHROOT_DIR"
    if [ -f "$ROOT/.gimp-neural-style-ready" ]; then return; fi
    if [ -n "$TARBALL" ] && [ -f "$TARBALL" ]; then
        log "restoring $ROOT from $TARBALL"
        host_tools zstd
        rm -rf "$ROOT.partial"; mkdir -p "$ROOT.partial"
        zstd -dc "$TARBALL" | tar -x -C "$ROOT.partial" --numeric-owner
        mv "$ROOT.partial" "$ROOT"
        return
    fi
    make_chroot
    if [ -n "$TARBALL" ]; then
        log "caching the chroot as $TARBALL"
        host_tools zstd
        mkdir -p "$CACHE_DIR"
        tar -C "$ROOT" --numeric-owner --one-file-system -c . | zstd -3 -T0 -q > "$TARBALL.partial"
        mv "$TARBALL.partial" "$TARBALL"
    fi
}

# Copies the sample pictures the GIMP tests use into /out/samples: from the
# host when it has them, else from the Debian packages that ship them.
fetch_samples() {
    local dst=$OUT/samples
    mkdir -p "$dst"
    local chelsea=/usr/lib/python3/dist-packages/skimage/data/chelsea.png
    local starry=/usr/share/doc/opencv-doc/examples/data/starry_night.jpg
    [ -f "$dst/chelsea.png" ] || { [ -f "$chelsea" ] && cp "$chelsea" "$dst/"; } || true
    [ -f "$dst/starry_night.jpg" ] || { [ -f "$starry" ] && cp "$starry" "$dst/"; } || true
    if [ ! -f "$dst/chelsea.png" ] || [ ! -f "$dst/starry_night.jpg" ]; then
        log "fetching sample pictures from python3-skimage / opencv-doc"
        in_chroot "set -e; d=\$(mktemp -d); cd \$d
            [ -f /out/samples/chelsea.png ] || { apt-get download python3-skimage >&2;
                dpkg-deb --fsys-tarfile python3-skimage_*.deb | tar -xO .$chelsea > /out/samples/chelsea.png; }
            [ -f /out/samples/starry_night.jpg ] || { apt-get download opencv-doc >&2;
                dpkg-deb --fsys-tarfile opencv-doc_*.deb | tar -xO .$starry > /out/samples/starry_night.jpg; }
            rm -rf \$d"
    fi
}

with_lock() { # runs "$@" holding the chroot lock: one user of the mounts at a time
    mkdir -p "$CHROOT_DIR"
    exec 9>"$LOCK"
    flock 9
    "$@"
}

# With NST_CHROOT_EPHEMERAL=1, ROOT becomes an overlay of the chroot whose
# changes live in a temporary folder, removed on exit with the mounts.
EPHEMERAL_DIR=
ephemeral_root() {
    [ "${NST_CHROOT_EPHEMERAL:-}" = 1 ] || return 0
    EPHEMERAL_DIR=$(mktemp -d "$CHROOT_DIR/.ephemeral-XXXXXX")
    trap 'unmount_all; rm -rf "$EPHEMERAL_DIR"' EXIT INT TERM HUP
    mkdir -p "$EPHEMERAL_DIR/upper" "$EPHEMERAL_DIR/work"
    mount_into "$EPHEMERAL_DIR/root" -t overlay overlay \
        -o "lowerdir=$ROOT,upperdir=$EPHEMERAL_DIR/upper,workdir=$EPHEMERAL_DIR/work"
    ROOT=$EPHEMERAL_DIR/root
    log "throwaway overlay of the chroot at $ROOT"
}

cmd_run() {
    setup
    ephemeral_root
    mount_all
    in_chroot "$1"
}

cmd_test() {
    local selection=${*:---suite gimp}
    setup
    mount_all
    fetch_samples
    in_chroot "set -e
        # A fresh build folder each time: the chroot outlives checkouts.
        [ -n '${NST_KEEP_BUILD:-}' ] || rm -rf $BUILD_DIR
        meson setup $BUILD_DIR /src --prefix=/usr/local -Dplugin=enabled >&2
        ninja -C $BUILD_DIR >&2
        NST_GIMP_OUT=/out NST_GIMP_SAMPLES=/out/samples \
            meson test -C $BUILD_DIR $selection --print-errorlogs --num-processes 1 \
            -t ${NST_TEST_TIMEOUT_MULTIPLIER:-1}"
}

main() {
    local sub=${1:-}
    shift || true
    case "$sub" in
        setup) with_lock setup; log "ready: $ROOT" ;;
        run) [ $# -ge 1 ] || die "usage: $0 run 'command'"; with_lock cmd_run "$1" ;;
        test) with_lock cmd_test "$@" ;;
        shell) with_lock cmd_run 'exec bash -i' ;;
        clean) with_lock rm -rf "$ROOT" "$ROOT.partial" ;;
        path) echo "$ROOT" ;;
        *) sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; [ -z "$sub" ] || exit 2 ;;
    esac
}

main "$@"
exit $?
