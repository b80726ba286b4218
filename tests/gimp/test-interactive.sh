#!/bin/bash
# The dialog in the full GIMP under Xvfb, driven with xdotool: it opens, the
# live preview appears on the canvas (screenshots kept in the output folder),
# a style-weight change typed mid-run is taken up by the running engine,
# Cancel leaves the image byte-for-byte as it was, OK adds the result layer,
# one Ctrl+Z removes it again, and a run with the last values repeats it.
. "$(dirname "$0")/lib.sh"
need_tools Xvfb xdotool import gimp-3.0
fresh_home
magick "$(find_sample chelsea.png)" -resize 384x "$OUT/content.png"
cat "$TESTS_DIR/common.py" "$TESTS_DIR/interactive.py" > "$OUT/script.py"
LOG=$OUT/gimp.log

NST_PLUGIN_DEBUG=1 NST_CONTENT=$OUT/content.png NST_STYLE=$(find_sample starry_night.jpg) NST_OUT=$OUT \
    NST_SIZE=96 NST_ITERATIONS_CANCEL=1000 NST_ITERATIONS_OK=5 start_gimp_script 600 "$OUT/script.py"

shot() { import -window "${2:-root}" "$OUT/$1.png" && note "screenshot $OUT/$1.png"; }

# --- first dialog: preview, steering, Cancel ------------------------------------
wait_for 180 dialog_shown || die "the dialog did not open"
window=$(dialog_window)
note "dialog window $window"
wait_for 240 log_has "preview frame drawn" || die "no preview frame reached the canvas"
frames_before=$(log_count "preview frame drawn")
shot dialog-running "$window"
# Move the dialog off the canvas to see the preview layer there.
xdotool windowmove --sync "$window" 1000 0 || true
sleep 1.5
shot canvas-preview

# Steering: Alt+W focuses "Style weight"; type a new value and leave the field.
press "$window" alt+w ctrl+a
xdotool type --delay 60 "1000"
xdotool key Tab
wait_for 30 log_has "steer: weights content=1 style=1000 " || die "the new style weight did not reach the worker"
steer_line=$(grep -n "steer: weights content=1 style=1000 " "$LOG" | head -1 | cut -d: -f1)
# The next evaluations must use the new weights: total = a content + b style + t tv.
taken_up() {
    tail -n +"$steer_line" "$LOG" | grep "steer: weights\|progress eval=" | python3 -c '
import re, sys
lines = sys.stdin.read().splitlines()
a, b, t = (float(x) for x in re.search(r"content=(\S+) style=(\S+) tv=(\S+)", lines[0]).groups())
for line in lines[1:]:
    v = dict(re.findall(r"(\w+)=([-+0-9.e]+)", line))
    c, s, tv, total = (float(v[k]) for k in ("content", "style", "tv", "total"))
    if abs(total - (a * c + b * s + t * tv)) <= 1e-4 * abs(total):
        print(line.strip()); sys.exit(0)
sys.exit(1)' > "$OUT/steered-progress.txt"
}
wait_for 120 taken_up || die "no evaluation with the new style weight after steering"
note "steered evaluation: $(cat "$OUT/steered-progress.txt")"
shot dialog-steered "$window"

press "$window" alt+c
wait_for 60 log_has "CANCEL-CHECKED" || die "Cancel did not leave the image as it was"
for f in "$OUT"/cancel-before-layer*.png; do
    g=${f/cancel-before/cancel-after}
    [ "$(pixel_sum "$f")" = "$(pixel_sum "$g")" ] || die "Cancel changed the pixels of $(basename "$f")"
done
log_has "preview layer removed" || die "the preview layer was not removed"

# --- second dialog: OK ---------------------------------------------------------------
wait_for 60 dialog_shown || die "the second dialog did not open"
window=$(dialog_window)
wait_for 240 log_has "worker done: ok" || die "the short run did not finish"
shot dialog-finished "$window"
press "$window" alt+o
wait_for 120 log_has "INTERACTIVE-OK" || die "OK did not add the result layer"
sleep 1
shot canvas-result
touch "$OUT/screenshots-done"

# One undo step: Ctrl+Z in the image window must take the whole result away.
wait_for 60 log_has "READY-FOR-UNDO" || die "the script did not wait for the undo"
# The image window's title reads "[content] (imported)-1.0 (RGB color …) … – GIMP".
for w in $(xdotool search --onlyvisible --name '.' 2>/dev/null); do
    note "window $w: $(xdotool getwindowname "$w" 2>/dev/null)"
done
image_window=$(xdotool search --onlyvisible --name 'RGB.*GIMP' 2>/dev/null | head -1)
[ -n "$image_window" ] || die "no GIMP image window to undo in"
press "$image_window" ctrl+z
touch "$OUT/undo-done"
wait_for 60 log_has "UNDO-OK" || die "one Ctrl+Z did not remove the result (see the log)"
[ "$(pixel_sum "$OUT/cancel-before-layer0.png")" = "$(pixel_sum "$OUT/undo-layer0.png")" ] ||
    die "after the undo the content layer differs from the original"
shot canvas-undone
wait_for 120 log_has "LAST-VALS-OK" || die "the run with the last values failed"
wait "$GIMP_PID" || true
GIMP_PID=
note "preview frames drawn: $(log_count "preview frame drawn") (before steering: $frames_before)"
note "ok"
