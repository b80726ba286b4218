#!/bin/bash
# The plug-in process dies mid-run (SIGKILL, as the kernel's OOM killer
# would): its preview layer stays in the image, marked with a parasite, and
# the next run of the plug-in on that image removes it, leaving the user's
# layers intact.
. "$(dirname "$0")/lib.sh"
need_tools Xvfb xdotool gimp-3.0 pgrep
fresh_home
magick "$(find_sample chelsea.png)" -resize 128x "$OUT/content.png"
cat "$TESTS_DIR/common.py" "$TESTS_DIR/stale_preview.py" > "$OUT/script.py"
LOG=$OUT/gimp.log
NST_PLUGIN_DEBUG=1 NST_CONTENT=$OUT/content.png NST_STYLE=$(find_sample starry_night.jpg) NST_OUT=$OUT \
    start_gimp_script 400 "$OUT/script.py"

wait_for 180 dialog_shown || die "the dialog did not open"
wait_for 240 log_has "preview frame drawn" || die "no preview frame reached the canvas"
# This test's own plug-in: the binary in this test's fresh profile.
pid=$(pgrep -f "^$HOME/.config/GIMP/3.0/plug-ins/$PLUGIN_NAME/$PLUGIN_NAME" | head -1)
[ -n "$pid" ] || die "the plug-in process was not found"
note "killing the plug-in (pid $pid)"
kill -KILL "$pid"
wait_for 180 log_has "STALE-PREVIEW-OK" || die "the stale preview was not cleaned up (see the log)"
log_has "stale preview layer removed" || die "the plug-in did not say it removed the stale preview"
wait "$GIMP_PID" || true
GIMP_PID=
note "ok"
