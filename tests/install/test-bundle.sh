#!/bin/bash
# The Linux bundle in a Debian 13 that has only GIMP: unpack, install.sh
# (GIMP from the distribution and, present too, the Flatpak GIMP's folder),
# what the installed binaries link to, batch runs, uninstall.sh leaves nothing.
. "$(dirname "$0")/lib.sh"
fresh_home bundle
mkdir -p "$HOME/.var/app/org.gimp.GIMP"          # as the Flatpak GIMP leaves it
tarball=$(ls "$DIST"/gimp-neural-style-*-linux-*.tar.gz)
mkdir -p "$HOME/Downloads"
tar -C "$HOME/Downloads" -xzf "$tarball"
bundle=$(ls -d "$HOME"/Downloads/gimp-neural-style-*/)

listing "$HOME" > "$ART/before.txt"
"$bundle/install.sh" | tee "$ART/install.log"
listing "$HOME" > "$ART/after-install.txt"
grep -q "GIMP 3 from your distribution in $HOME/.config/GIMP/3.0/plug-ins/neural-style-transfer" "$ART/install.log" ||
    fail "install.sh did not say it installed for the distribution's GIMP"
grep -q "Flatpak GIMP (org.gimp.GIMP) in $HOME/.var/app/org.gimp.GIMP/config/GIMP/3.0/plug-ins/neural-style-transfer" \
    "$ART/install.log" || fail "install.sh did not say it installed for the Flatpak GIMP"

PLUGIN_DIR=$HOME/.config/GIMP/3.0/plug-ins/neural-style-transfer
NST=$HOME/.local/bin/nst
/src/packaging/check-libs.sh "$PLUGIN_DIR/neural-style-transfer" "$PLUGIN_DIR/nst" | tee "$ART/ldd.txt" ||
    fail "the installed binaries load libraries GIMP does not bring"
"$NST" --version | tee "$ART/version.txt"
check_plugin distro

# The Flatpak GIMP reads plug-ins under XDG_CONFIG_HOME=~/.var/app/org.gimp.GIMP/config.
PLUGIN_DIR=$HOME/.var/app/org.gimp.GIMP/config/GIMP/3.0/plug-ins/neural-style-transfer
cp "$HOME/.config/GIMP/3.0/gimprc" "$HOME/.var/app/org.gimp.GIMP/config/GIMP/3.0/"
dir=$ART/flatpak-layout
mkdir -p "$dir"
cat /src/tests/gimp/common.py /src/tests/gimp/batch.py > "$dir/script.py"
XDG_CONFIG_HOME=$HOME/.var/app/org.gimp.GIMP/config gimp_python "$dir/gimp.log" "$dir/script.py" \
    NST_CONTENT=$SAMPLES/chelsea.png NST_STYLE=$SAMPLES/starry_night.jpg NST_STYLE_FROM=file NST_SIZE=96 \
    NST_ITERATIONS=5 NST_OUT="$dir" && grep -q BATCH-OK "$dir/gimp.log" ||
    { show_log "$dir/gimp.log"; fail "the copy in the Flatpak GIMP's folder does not run"; }
rm "$HOME/.var/app/org.gimp.GIMP/config/GIMP/3.0/gimprc"
note "the Flatpak GIMP's copy ok (GIMP run with the Flatpak's XDG_CONFIG_HOME)"

# Without its model the bundle must fail, and say where it looked.
mv "$HOME/.config/GIMP/3.0/plug-ins/neural-style-transfer/models" "$ART/models-away"
dir=$ART/no-model
mkdir -p "$dir"
cat /src/tests/gimp/common.py /src/tests/gimp/batch.py > "$dir/script.py"
if gimp_python "$dir/gimp.log" "$dir/script.py" NST_CONTENT=$SAMPLES/chelsea.png \
    NST_STYLE=$SAMPLES/starry_night.jpg NST_STYLE_FROM=file NST_SIZE=96 NST_ITERATIONS=5 NST_OUT="$dir" &&
    grep -q BATCH-OK "$dir/gimp.log"; then
    fail "the plug-in ran without the bundle's model (found one elsewhere?)"
fi
grep -q "model not found" "$dir/gimp.log" || { show_log "$dir/gimp.log"; fail "no 'model not found' message"; }
mv "$ART/models-away" "$HOME/.config/GIMP/3.0/plug-ins/neural-style-transfer/models"
note "without models/ the plug-in fails with: $(grep -o 'squeezenet1.1 model not found[^.]*' "$dir/gimp.log" | head -n 1)"

"$bundle/uninstall.sh" | tee "$ART/uninstall.log"
# Folders install.sh made may stay when GIMP has put its own files in them
# since (~/.local/share/...); no file of ours and no empty folder may.
left=$(comm -13 "$ART/before.txt" "$ART/after-install.txt" | while IFS= read -r p; do
    if [ -f "$p" ] || [ -L "$p" ] || { [ -d "$p" ] && [ -z "$(ls -A "$p")" ]; }; then echo "$p"; fi; done)
[ -z "$left" ] || fail "uninstall.sh left: $left"
note "uninstall.sh removed all $(comm -13 "$ART/before.txt" "$ART/after-install.txt" | wc -l) paths install.sh made"
note ok
