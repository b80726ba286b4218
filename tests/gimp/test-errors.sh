#!/bin/bash
# Bad arguments (no style, two styles, a missing VGG-19 file, a missing style
# file, an unknown device, a GPU that is not there, a 1x1 layer, replacing a layer group or locked pixels) give an error
# status and a clear message at once, and the same
# GIMP session then runs a good call.
. "$(dirname "$0")/lib.sh"
fresh_home
magick "$(find_sample chelsea.png)" -resize 96x "$OUT/content.png"
# A model folder with SqueezeNet only, whatever else NST_MODEL_PATH holds.
mkdir -p "$OUT/models"
ln -s "${NST_MODEL_PATH%%:*}/squeezenet1.1" "$OUT/models/squeezenet1.1"
cat "$TESTS_DIR/common.py" "$TESTS_DIR/errors.py" > "$OUT/script.py"
if ! NST_MODEL_PATH=$OUT/models NST_MODEL_DIR_SHOWN=$OUT/models NST_CONTENT=$OUT/content.png NST_OUT=$OUT \
    NST_STYLE=$(find_sample starry_night.jpg) gimp_python "$OUT/gimp.log" "$OUT/script.py" ||
    ! grep -q ERRORS-OK "$OUT/gimp.log"; then
    show_log "$OUT/gimp.log" 60
    fail "error handling"
fi
grep '^ERROR-OK' "$OUT/gimp.log" >&2
note "ok"
