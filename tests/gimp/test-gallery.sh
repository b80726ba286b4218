#!/bin/bash
# The gallery, Strength and several styles in a real GIMP 3 (issue #13):
# Python-fu with style-preset, strength and a layer blended in (style-layers,
# style-blend), the errors of a typo and of a wrong blend; Script-Fu with
# style-preset; the dialog with a painting and a second style, screenshotted
# ($OUT/gallery-dialog.png: look at it).
. "$(dirname "$0")/lib.sh"
fresh_home
magick "$(find_sample chelsea.png)" -resize 128x "$OUT/content.png"
magick "$NST_TEST_SOURCE_ROOT/data/styles/woman_with_a_hat.jpg" -resize 128x "$OUT/style-layer.png"

dir=$OUT/python
mkdir -p "$dir"
cat "$TESTS_DIR/common.py" "$TESTS_DIR/gallery.py" > "$dir/script.py"
if ! NST_CONTENT=$OUT/content.png NST_STYLE_LAYER_PICTURE=$OUT/style-layer.png NST_OUT=$dir \
    gimp_python "$dir/gimp.log" "$dir/script.py" || ! grep -q GALLERY-BATCH-OK "$dir/gimp.log"; then
    show_log "$dir/gimp.log"
    fail "Python-fu calls with style-preset, strength and two styles failed"
fi
grep "ERROR-OK" "$dir/gimp.log" >&2
[ "$(max_diff_255 "$dir/content.png" "$dir/preset-and-layer.png")" -gt 20 ] || fail "the result looks like the content"

dir=$OUT/script-fu
mkdir -p "$dir"
if ! gimp_scheme "$dir/gimp.log" "
  (let* ((img (car (gimp-file-load RUN-NONINTERACTIVE \"$OUT/content.png\")))
         (layer (vector-ref (car (gimp-image-get-layers img)) 0)))
    (plug-in-neural-style-transfer #:run-mode RUN-NONINTERACTIVE #:image img
      #:drawables (vector layer) #:style-preset \"udnie\" #:strength 40.0 #:size 96 #:iterations 12)
    (display (car (gimp-item-get-name (vector-ref (car (gimp-image-get-layers img)) 0))))
    (newline)
    (gimp-image-flatten img)
    (gimp-file-save RUN-NONINTERACTIVE img \"$dir/result.png\" -1)
    (display \"SCRIPT-FU-OK\"))"; then
    show_log "$dir/gimp.log"
    fail "Script-Fu call with style-preset failed"
fi
grep -q "Style: udnie" "$dir/gimp.log" || { show_log "$dir/gimp.log"; fail "no layer 'Style: udnie'"; }
[ "$(max_diff_255 "$OUT/content.png" "$dir/result.png")" -gt 20 ] || fail "Script-Fu: the result looks like the content"

need_tools Xvfb xdotool import
cat "$TESTS_DIR/common.py" "$TESTS_DIR/gallery_dialog.py" > "$OUT/dialog.py"
start_xvfb 1280x900
trap 'kill $XVFB_PID 2>/dev/null || true' EXIT
fresh_home
log=$OUT/dialog.log
NST_CONTENT=$OUT/content.png NST_STYLE_LAYER_PICTURE=$OUT/style-layer.png NST_PLUGIN_DEBUG=1 \
    gimp_python "$log" "$OUT/dialog.py" &
gimp_pid=$!
window=$(wait_dialog_window $gimp_pid '^Neural Style Transfer$')
[ -n "$window" ] || { show_log "$log"; fail "no dialog"; }
# Until the live preview's run with both styles has finished.
for _ in $(seq 200); do grep -q "worker done" "$log" && break; sleep 0.3; done
sleep 1
import -window "$window" "$OUT/gallery-dialog.png"
note "screenshot $OUT/gallery-dialog.png"
xdotool windowfocus --sync "$window" key Escape
wait $gimp_pid || true
grep -q DIALOG-DONE "$log" || { show_log "$log"; fail "the dialog did not close on Escape"; }
grep -q "worker start: .* 2 styles" "$log" || { show_log "$log"; fail "the dialog's run did not use two styles"; }
grep -q "worker done: ok" "$log" || { show_log "$log"; fail "the dialog's run did not finish"; }
if grep -i "duplicate mnemonic" "$log" >&2; then fail "duplicate mnemonics in the dialog"; fi
note "ok"
