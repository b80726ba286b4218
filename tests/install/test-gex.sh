#!/bin/bash
# The GIMP extension file (.gex) in a Debian 13 that has only GIMP 3.0.4:
# GIMP installs it itself (file-gex-load, what File > Open runs), then the
# facts of 3.0.4: a user extension is off until switched on (extensionrc,
# what Edit > Extensions would write; 3.0.4 hides that menu entry), and once
# on, GIMP loads the plug-in from it and a batch run works.
. "$(dirname "$0")/lib.sh"
ID=org.gimp.GIMP.Plugin.NeuralStyle
gex=$(ls "$DIST"/gimp-neural-style-*-linux-*.gex)
fresh_home gex
script=$ART/gex.py
cat /src/tests/gimp/common.py "$(dirname "$0")/gex.py" > "$script"

gimp_python "$ART/install.log" "$script" NST_GEX_STEP=install NST_GEX="$gex" || true
grep -q 'GEX-LOAD-STATUS success' "$ART/install.log" || { show_log "$ART/install.log"; fail "GIMP did not install $gex"; }
ext=$HOME/.config/GIMP/3.0/extensions/$ID
[ -x "$ext/neural-style-transfer/neural-style-transfer" ] && [ -f "$ext/$ID.metainfo.xml" ] ||
    fail "file-gex-load said success but $ext lacks the plug-in or the metainfo"
note "GIMP unpacked the .gex into $ext"

gimp_python "$ART/probe-off.log" "$script" NST_GEX_STEP=probe || true
grep -q 'GEX-PROBE registered=False' "$ART/probe-off.log" || { show_log "$ART/probe-off.log";
    fail "expected GIMP 3.0.4 to leave a newly installed user extension off"; }
grep -q "(GimpExtension \"$ID\"" "$HOME/.config/GIMP/3.0/extensionrc" 2>/dev/null &&
    note "extensionrc after the install: $(grep -A1 "\"$ID\"" "$HOME/.config/GIMP/3.0/extensionrc" | xargs)"
note "as GIMP 3.0.4's source says: a user-installed extension stays off until switched on"

printf '(GimpExtension "%s"\n    (active yes))\n' "$ID" > "$HOME/.config/GIMP/3.0/extensionrc"
gimp_python "$ART/probe-on.log" "$script" NST_GEX_STEP=probe || true
grep -q 'GEX-PROBE registered=True' "$ART/probe-on.log" || { show_log "$ART/probe-on.log";
    fail "the extension switched on in extensionrc, but GIMP did not load the plug-in"; }
note "switched on, GIMP loads the plug-in from the extension"
PLUGIN_DIR=$ext/neural-style-transfer
# nst finds the model through NST_MODEL_PATH (install.sh's wrapper does this);
# the plug-in finds its own beside itself.
NST=$ART/nst
printf '#!/bin/sh\nNST_MODEL_PATH=%s/models exec %s/nst "$@"\n' "$PLUGIN_DIR" "$PLUGIN_DIR" > "$NST"
chmod +x "$NST"
check_plugin gex
note ok
