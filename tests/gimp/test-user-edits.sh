#!/bin/bash
# The user keeps working on the image while the dialog is open: their edits
# (select all, clear the style layer) stay undoable, Cancel does not mark
# their unsaved image clean, and a run restarted after the style layer was
# repainted reads the new pixels (not a copy cached by layer id).
. "$(dirname "$0")/lib.sh"
need_tools Xvfb xdotool gimp-3.0
fresh_home
magick "$(find_sample chelsea.png)" -resize 128x "$OUT/content.png"
cat "$TESTS_DIR/common.py" "$TESTS_DIR/user_edits.py" > "$OUT/script.py"
LOG=$OUT/gimp.log
NST_PLUGIN_DEBUG=1 NST_CONTENT=$OUT/content.png NST_STYLE=$(find_sample starry_night.jpg) NST_OUT=$OUT \
    start_gimp_script 400 "$OUT/script.py"
style_sums() { grep -o 'job pictures: .*' "$LOG" | sed 's/.*style //' | sort -u | wc -l; }

wait_for 180 dialog_shown || die "the dialog did not open"
window=$(dialog_window)
wait_for 240 log_has "preview frame drawn" || die "no preview frame reached the canvas"
xdotool windowmove --sync "$window" 1000 0 || true
image_window=$(xdotool search --onlyvisible --name 'RGB.*GIMP' 2>/dev/null | head -1)
[ -n "$image_window" ] || die "no GIMP image window"
# The user's edits, in the image window, while the preview runs.
press "$image_window" ctrl+a
sleep 1
press "$image_window" Delete
sleep 2
import -window root "$OUT/edited.png" || true
# A new seed restarts the run, which reads the pictures again.
press "$window" alt+d ctrl+a
xdotool type --delay 60 "7"
xdotool key Tab
wait_for 60 log_has "worker start: .* seed 7" || die "the new seed did not restart the run"
wait_for 30 test "$(style_sums)" -ge 2 ||
    die "the restarted run did not read the repainted style layer: $(grep 'job pictures' "$LOG")"
press "$window" alt+c
wait_for 60 log_has "EDITS-KEPT" || die "the user's edits did not survive the dialog (see the log)"
press "$image_window" ctrl+z
sleep 0.5
press "$image_window" ctrl+z
touch "$OUT/undo-done"
wait_for 60 log_has "UNDO-OK" || die "the user's edits could not be undone (see the log)"
wait "$GIMP_PID" || true
GIMP_PID=
note "ok"
