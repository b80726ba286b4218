#!/bin/bash
# A 24-megapixel photo in the full GIMP under Xvfb, as a user runs it: the
# dialog with size 0 (the layer's own 6000x4000), the default memory budget
# (what the machine has free), OK when the run is done.  Checks: the engine
# planned the run within its budget (tiled here) and the plug-in's peak memory
# (VmHWM) stayed within that budget; the result is one layer at full size,
# stylised (not flat, not the photo), the photo's layer untouched; and no
# seam shows along the tile borders (tests/transfer/seam_check.py, also
# writing a 100 % crop across a border to look at).
# Env: NST_BIG_ITERATIONS (default 60: most at the 761 px stage, 3 at full size).
. "$(dirname "$0")/lib.sh"
need_tools Xvfb xdotool import gimp-3.0
python3 -c 'import numpy, PIL' 2>/dev/null || skip "python3-numpy and python3-pil are needed for the seam check"
fresh_home
magick "$(find_sample chelsea.png)" -resize '6000x4000!' "$OUT/content.png"
cat "$TESTS_DIR/common.py" "$TESTS_DIR/big_picture.py" > "$OUT/script.py"
LOG=$OUT/gimp.log
ITERATIONS=${NST_BIG_ITERATIONS:-60}

NST_PLUGIN_DEBUG=1 NST_CONTENT=$OUT/content.png NST_STYLE=$(find_sample starry_night.jpg) NST_OUT=$OUT \
    NST_ITERATIONS=$ITERATIONS start_gimp_script 2400 "$OUT/script.py"

# The plug-in's peak resident memory, sampled while it runs (it is gone after OK).
PEAK_KIB=0
plugin_pid() { pgrep -f "plug-ins/$PLUGIN_NAME/$PLUGIN_NAME" | head -1; }
sample_peak() {
    local pid hwm
    pid=$(plugin_pid)
    [ -n "$pid" ] || return 0
    hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
    [ -z "$hwm" ] || [ "$hwm" -le "$PEAK_KIB" ] || PEAK_KIB=$hwm
}
run_done() { sample_peak; log_has "worker done:"; }

wait_for 300 dialog_shown || die "the dialog did not open"
window=$(dialog_window)
wait_for 300 log_has "plan: " || die "the plug-in logged no memory plan"
plan=$(grep -o 'plan: .*' "$LOG" | head -1)
note "$plan"
field() { sed -n "s/.*[ :]$1=\([0-9x]*\).*/\1/p" <<< "$plan"; }
[ "$(field final)" = "6000x4000" ] || die "size 0 must work at the layer's 6000x4000, plan: $plan"
[ "$(field bytes)" -le "$(field budget)" ] || die "the plan exceeds its budget: $plan"
wait_for 900 log_has "preview frame drawn" || die "no preview reached the canvas"
import -window "$window" "$OUT/dialog-running.png" && note "screenshot $OUT/dialog-running.png"
wait_for 2400 run_done || die "the run did not finish"
log_has "worker done: ok" || die "the run failed: $(grep -o 'worker done:.*' "$LOG")"
import -window "$window" "$OUT/dialog-finished.png"
xdotool windowfocus --sync "$window"
xdotool key --clearmodifiers alt+o
wait_for 600 log_has "BIG-PICTURE-OK" || die "OK did not add a full-size result layer"
wait "$GIMP_PID" || true
GIMP_PID=

budget_kib=$(($(field budget) / 1024))
note "plug-in peak RSS $((PEAK_KIB / 1024)) MiB; planned $(($(field bytes) / 1048576)) MiB of a $((budget_kib / 1024)) MiB budget"
[ "$PEAK_KIB" -gt 0 ] || fail "the plug-in's memory was never sampled"
[ "$PEAK_KIB" -le "$budget_kib" ] || fail "the plug-in's peak RSS exceeds the memory budget"
[ "$(pixel_sum "$OUT/content.png")" = "$(pixel_sum "$OUT/content-after.png")" ] || fail "the photo's layer changed"

python3 - "$OUT/result.png" "$OUT/content.png" <<'EOF' || fail "the result is not a stylised picture"
import sys
import numpy as np
from PIL import Image
Image.MAX_IMAGE_PIXELS = None
result, content = (np.asarray(Image.open(p).convert('RGB'), dtype=np.float32) / 255 for p in sys.argv[1:3])
spread, change = float(result.std()), float(np.abs(result - content).mean())
print(f"result {result.shape[1]}x{result.shape[0]}: spread {spread:.3f}, mean change from the photo {change:.3f}")
sys.exit(0 if result.shape == content.shape and spread > 0.05 and change > 0.03 else 1)
EOF
# The seam check needs the tile grid: the window and overlap of the plan, one round per 4 iterations.
# (A machine with ~40 GiB free runs the final stage whole: no tiles, no seams to look for.)
if [ "$(field tiled)" = 1 ]; then
    rounds=$((($(field final_iterations) + 3) / 4))
    python3 "$NST_TEST_SOURCE_ROOT/tests/transfer/seam_check.py" "$OUT/result.png" "$(field window)" \
        "$(field overlap)" "$rounds" --crop "$OUT/seam-crop.png" >&2 || fail "a seam shows along the tile borders"
else
    note "the final stage ran whole (enough memory): no tile borders to check"
fi
note "ok"
