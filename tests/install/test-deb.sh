#!/bin/bash
# The Debian package in a Debian 13 that has only GIMP: apt installs it with
# its dependencies, batch runs, apt remove leaves none of its files.
. "$(dirname "$0")/lib.sh"
deb=$(ls "$DIST"/gimp-neural-style_*.deb)
apt-get update -q > "$ART/apt-update.log" 2>&1 || { show_log "$ART/apt-update.log"; fail "apt-get update"; }
apt-get install -y -q "$deb" > "$ART/apt-install.log" 2>&1 || { show_log "$ART/apt-install.log"; fail "apt install $deb"; }
note "apt installed $(basename "$deb") and $(grep -c '^Setting up' "$ART/apt-install.log") packages"
dpkg -L gimp-neural-style > "$ART/files.txt"
PLUGIN_DIR=$(dirname "$(grep '/plug-ins/neural-style-transfer/neural-style-transfer$' "$ART/files.txt")")
NST=/usr/bin/nst
# The packaged plug-in links the system's OpenBLAS (a dependency of the
# package): the bundle's library check must refuse it.
if /src/packaging/check-libs.sh "$PLUGIN_DIR/neural-style-transfer" > "$ART/check-libs.txt"; then
    fail "check-libs.sh accepted a plug-in linked to the system's OpenBLAS"
fi
note "check-libs.sh refuses the packaged plug-in: $(grep FOREIGN "$ART/check-libs.txt" | head -n 1 | xargs)"
fresh_home deb
"$NST" --version
check_plugin deb
apt-get remove -y -q gimp-neural-style > "$ART/apt-remove.log" 2>&1 || { show_log "$ART/apt-remove.log"; fail "apt remove"; }
left=$(while IFS= read -r p; do
    # Folders other packages share (/, /usr, /usr/bin...) stay.
    [ "$p" != /. ] || continue
    if [ -f "$p" ] || { [ -d "$p" ] && ! dpkg -S "$p" > /dev/null 2>&1; }; then echo "$p"; fi
done < "$ART/files.txt")
[ -z "$left" ] || fail "apt remove left: $left"
note "apt remove left none of the package's $(wc -l < "$ART/files.txt") paths"
note ok
