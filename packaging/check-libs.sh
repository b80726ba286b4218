#!/bin/bash
# check-libs.sh BINARY...: lists the shared libraries each binary loads (ldd)
# and fails unless every one is glibc or GIMP's own (libgimp, libgimpui,
# GEGL, babl and what they load themselves: GTK 3, GLib, ...).  Used on the
# bundle (a missing or extra library fails) and, expecting a failure, on the
# Debian package's plug-in (linked to the system's OpenBLAS).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 BINARY..." >&2; exit 2; }

sonames() { ldd "$1" | awk '$2 == "=>" { print $1 } $2 != "=>" && $1 ~ /^\// { print $1 }'; }
lib_path() { ldconfig -p | awk -v n="$1" '$1 == n { print $NF; exit }'; }

allowed=$(mktemp)
trap 'rm -f "$allowed"' EXIT
printf '%s\n' linux-vdso.so.1 libc.so.6 libm.so.6 libpthread.so.0 libdl.so.2 librt.so.1 \
    /lib64/ld-linux-x86-64.so.2 > "$allowed"
for gimp_lib in libgimp-3.0.so.0 libgimpui-3.0.so.0 libgegl-0.4.so.0 libbabl-0.1.so.0; do
    path=$(lib_path "$gimp_lib")
    [ -n "$path" ] || { echo "check-libs: $gimp_lib is not installed (GIMP 3 missing?)" >&2; exit 2; }
    echo "$gimp_lib" >> "$allowed"
    sonames "$path" >> "$allowed"
done

status=0
for binary in "$@"; do
    echo "== ldd $binary"
    if ldd "$binary" | grep -q 'not found'; then
        ldd "$binary" | grep 'not found' | sed 's/^/   MISSING /'
        status=1
    fi
    for lib in $(sonames "$binary"); do
        if grep -qxF "$lib" "$allowed"; then
            echo "   ok      $lib"
        else
            echo "   FOREIGN $lib (neither glibc nor one of GIMP's libraries)"
            status=1
        fi
    done
done
[ $status = 0 ] && echo "check-libs: only glibc and GIMP's libraries" || echo "check-libs: FAILED"
exit $status
