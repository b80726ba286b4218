#!/bin/bash
# A style per region in the plug-in (issue #13), in the full GIMP under Xvfb:
# regions.py makes the calls, this driver presses Ctrl+Z, screenshots the
# dialog and measures the results.
# - bad style-masks (a layer's ID, another image's channel, no item, more
#   regions than styles; and from Script-Fu) are refused, nothing changed;
# - style-preset + strength + style-presets + style-masks (two saved
#   selections, the photo's layer offset on the canvas): one new layer, the
#   photo unchanged, one Ctrl+Z removes it; the left half's Grams moved
#   nearer to style 1's than to style 2's and the right half's the other way
#   round (measured by the engine, relative to the photo's own halves); with
#   the masks swapped, the other way round (so the check can fail); the same
#   with a layer mask of an offset layer for the right half;
# - the dialog with two gallery paintings, each with its region: its run uses
#   both regions, screenshot $OUT/regions-dialog.png (look at it); setting
#   the second style's Region to "Whole picture" starts the live preview
#   again with one region, and back to "ground" with two; OK adds one
#   layer (the sky nearer The Great Wave, the ground nearer The Scream, as
#   above), one Ctrl+Z removes it.
. "$(dirname "$0")/lib.sh"
need_tools Xvfb xdotool import gimp-3.0
fresh_home
magick "$(find_sample chelsea.png)" -resize 192x "$OUT/content.png"
read -r W H < <(magick identify -format '%w %h\n' "$OUT/content.png")
cat "$TESTS_DIR/common.py" "$TESTS_DIR/regions_lib.py" "$TESTS_DIR/regions.py" > "$OUT/script.py"
cat "$TESTS_DIR/common.py" "$TESTS_DIR/regions_lib.py" "$TESTS_DIR/regions_errors.py" > "$OUT/errors.py"
LOG=$OUT/gimp.log
export NST_CONTENT=$OUT/content.png NST_OUT=$OUT NST_SIZE=128 NST_ITERATIONS=40

# Bad regions from Python-fu, in gimp-console (the full GIMP would show each
# refusal in a message window, and the dialog part checks there is none).
if ! gimp_python "$OUT/errors.log" "$OUT/errors.py" || ! grep -q REGIONS-ERRORS-OK "$OUT/errors.log"; then
    show_log "$OUT/errors.log"
    fail "bad style-masks were not refused cleanly"
fi
grep "ERROR-OK" "$OUT/errors.log" >&2
[ "$(pixel_sum "$OUT/photo-before-errors.png")" = "$(pixel_sum "$OUT/photo-after-errors.png")" ] ||
    fail "a refused call changed the photo"

# Script-Fu hands channels over as IDs in a vector: the README's call (two
# paintings, each on its saved selection) adds one layer; more regions than
# styles is refused, the layers as they were.
gimp_scheme "$OUT/script-fu.log" "
  (let* ((img (car (gimp-file-load RUN-NONINTERACTIVE \"$OUT/content.png\")))
         (layer (vector-ref (car (gimp-image-get-layers img)) 0))
         (ignore (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 0 0 $W $((H / 2))))
         (sky (car (gimp-selection-save img)))
         (ignore (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 0 $((H / 2)) $W $((H - H / 2))))
         (ground (car (gimp-selection-save img))))
    (gimp-selection-none img)
    (gimp-item-set-name sky \"sky\")
    (gimp-item-set-name ground \"ground\")
    (plug-in-neural-style-transfer #:run-mode RUN-NONINTERACTIVE #:image img #:drawables (vector layer)
      #:style-preset \"great_wave\" #:style-presets (list \"the_scream\") #:strength 70.0
      #:style-masks (vector (car (gimp-image-get-channel-by-name img \"sky\"))
                            (car (gimp-image-get-channel-by-name img \"ground\")))
      #:size 64 #:iterations 4)
    (display (car (gimp-item-get-name (vector-ref (car (gimp-image-get-layers img)) 0))))
    (newline)
    (catch #f (plug-in-neural-style-transfer #:run-mode RUN-NONINTERACTIVE #:image img #:drawables (vector layer)
      #:style-preset \"udnie\" #:style-masks (vector sky sky) #:size 64 #:iterations 2))
    (display (vector-length (car (gimp-image-get-layers img))))
    (display \" layers, SCRIPT-FU-DONE\"))" || true
grep -q "^Style: great_wave + the_scream" "$OUT/script-fu.log" ||
    { show_log "$OUT/script-fu.log"; fail "Script-Fu: the call with two regions added no result layer"; }
grep -q "style-masks.* 2 regions for 1 styles" "$OUT/script-fu.log" && grep -q "2 layers, SCRIPT-FU-DONE" "$OUT/script-fu.log" ||
    { show_log "$OUT/script-fu.log"; fail "Script-Fu: two regions for one style were not refused cleanly"; }
note "Script-Fu: $(grep -o "style-masks.*styles\." "$OUT/script-fu.log" | head -1)"

NST_PLUGIN_DEBUG=1 start_gimp_script 900 "$OUT/script.py"

shot() { import -window "${2:-root}" "$OUT/$1.png" && note "screenshot $OUT/$1.png"; }
undo_once() { # undo_once TAG: Ctrl+Z in the image window when the script is ready
    wait_for 600 log_has "READY-FOR-UNDO $1" || die "$1: the script did not get to the undo"
    local window
    window=$(xdotool search --onlyvisible --name 'RGB.*GIMP' 2>/dev/null | head -1)
    [ -n "$window" ] || die "$1: no GIMP image window to undo in"
    press "$window" ctrl+z
    touch "$OUT/undo-$1"
    wait_for 60 log_has "UNDO-OK $1" || die "$1: one Ctrl+Z did not remove the result"
}

undo_once channels
wait_for 600 log_has "BATCH-OK" || die "the batch calls failed"
for tag in channels swapped layer-mask; do
    [ "$(pixel_sum "$OUT/photo-before.png")" = "$(pixel_sum "$OUT/$tag-photo.png")" ] || die "$tag: the photo changed"
done
grep -q "worker start: .* 2 styles, .* 2 regions" "$LOG" || die "no run with two regions"

# --- the dialog ------------------------------------------------------------
wait_for 60 log_has "OPEN-DIALOG" || die "the script did not open the dialog"
done_before=$(log_count "worker done: ok")
wait_for 120 dialog_shown || die "the dialog did not open"
window=$(dialog_window)
# At the screen's right edge, beside the image window (no window manager
# here), the pointer off both.
eval "$(xdotool getwindowgeometry --shell "$window")"
xdotool windowmove --sync "$window" $((1600 - WIDTH)) 0 || true
xdotool mousemove 1599 999
wait_for 300 eval '[ "$(log_count "worker done: ok")" -gt "$done_before" ]' || die "the dialog's run did not finish"
sleep 1
shot regions-dialog "$window"
shot regions-screen
# A saved selection leaves no layer selected: restoring that empty choice
# once raised a GIMP message window over the dialog (nothing else here may).
[ -z "$(xdotool search --onlyvisible --name 'GIMP Message' 2>/dev/null)" ] || die "GIMP showed a message window"
[ "$(grep "worker start:" "$LOG" | tail -1 | grep -c "2 styles, .* 2 regions")" = 1 ] ||
    die "the dialog's run did not use both regions: $(grep "worker start:" "$LOG" | tail -1)"
# The second style's Region to "Whole picture" (Alt+2 is its source; Tab:
# its painting, then its region; Home: the list's first): the live preview
# starts again with one region.
starts_before=$(log_count "worker start:")
press "$window" alt+2 Tab Tab Home
wait_for 60 log_has "setting style2-mask changed" || die "changing the region did not reach the plug-in"
wait_for 120 eval '[ "$(log_count "worker start:")" -gt "$starts_before" ]' || die "no new run after the region changed"
[ "$(grep "worker start:" "$LOG" | tail -1 | grep -c "2 styles, .* 1 regions")" = 1 ] ||
    die "the run after the change does not have one region: $(grep "worker start:" "$LOG" | tail -1)"
shot regions-dialog-changed "$window"
# And back to "ground" (the combo keeps the focus; the channels come as in
# the Channels dialog, the last saved on top): two regions again, and OK
# once that run has finished; the result is measured below.
starts_before=$(log_count "worker start:")
done_before=$(log_count "worker done: ok")
press "$window" Down
wait_for 120 eval '[ "$(log_count "worker start:")" -gt "$starts_before" ]' || die "no new run after the region came back"
[ "$(grep "worker start:" "$LOG" | tail -1 | grep -c "2 styles, .* 2 regions")" = 1 ] ||
    die "the run after the region came back does not have two: $(grep "worker start:" "$LOG" | tail -1)"
wait_for 300 eval '[ "$(log_count "worker done: ok")" -gt "$done_before" ]' || die "the last dialog run did not finish"
press "$window" alt+o
wait_for 300 log_has "DIALOG-OK" || die "OK did not add the result layer"
sleep 1
shot regions-canvas
undo_once dialog
wait_for 60 log_has "REGIONS-DONE" || die "the script did not finish"
wait "$GIMP_PID" || true
GIMP_PID=
if grep -i "duplicate mnemonic" "$LOG" >&2; then fail "duplicate mnemonics in the dialog"; fi

# --- where the styles went -------------------------------------------------
# The engine's style term of each part against each painting, divided by that
# of the photo's same part: how much nearer the part came to the painting.
style_of() { style_term "$1" "$NST_TEST_SOURCE_ROOT/data/styles/$2.jpg" 128; }
nearness() { # nearness PICTURE STYLE1 STYLE2 GEOMETRY1 GEOMETRY2: "part1-style1 part1-style2 part2-..."
    local picture=$1 styles="$2 $3" geometry style part=0
    shift 3
    for geometry in "$@"; do
        part=$((part + 1))
        magick "$picture" -crop "$geometry" +repage "${picture%.png}-part$part.png"
        for style in $styles; do printf '%s ' "$(style_of "${picture%.png}-part$part.png" "$style")"; done
    done
}
# check_regions TAG PICTURE PHOTO FIRST STYLE1 STYLE2 GEOMETRY1 GEOMETRY2: with
# FIRST 1, part 1 came nearer style 1 than style 2 and part 2 the other way
# round; with FIRST 2, the reverse.
check_regions() {
    local tag=$1 picture=$2 photo=$3 first=$4
    shift 4
    python3 - "$tag" "$first" "$1 $2" "$(nearness "$photo" "$@")" "$(nearness "$picture" "$@")" <<'EOF'
import sys
tag, first, styles = sys.argv[1], int(sys.argv[2]), sys.argv[3].split()
r = [float(a) / float(b) for a, b in zip(sys.argv[5].split(), sys.argv[4].split())]  # p1-s1 p1-s2 p2-s1 p2-s2
print("[regions] %s: style term / photo's: part 1 %.3f (%s) %.3f (%s), part 2 %.3f %.3f"
      % (tag, r[0], styles[0], r[1], styles[1], r[2], r[3]), file=sys.stderr)
part1_prefers_1, part2_prefers_2 = r[0] < r[1], r[3] < r[2]
ok = (part1_prefers_1 and part2_prefers_2) if first == 1 else (not part1_prefers_1 and not part2_prefers_2)
sys.exit(0 if ok else 1)
EOF
}
half=$((W / 2))
halves="${half}x${H}+0+0 $((W - half))x${H}+${half}+0"
for run in "channels 1" "swapped 2" "layer-mask 1"; do
    set -- $run
    check_regions "$1" "$OUT/$1.png" "$OUT/photo-before.png" "$2" starry_night the_scream $halves ||
        fail "$1: the halves did not take the styles their regions give them"
done
sky=$((H * 2 / 5))  # as regions.py's selections
check_regions dialog "$OUT/dialog-result.png" "$OUT/content.png" 1 great_wave the_scream "${W}x${sky}+0+0" \
    "${W}x$((H - sky))+0+${sky}" || fail "dialog: the sky and the ground did not take their own paintings"
note "ok"
