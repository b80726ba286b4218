#!/bin/bash
# Same settings and seed give the same picture through the plug-in and the
# `nst` command line (noise start, so the seed matters).  Pictures are PNGs on
# both sides so decoding is exact; at most 1/255 apart from 8-bit rounding.
. "$(dirname "$0")/lib.sh"
fresh_home
magick "$(find_sample chelsea.png)" -resize 128x "$OUT/content.png"
magick "$(find_sample starry_night.jpg)" -resize 160x "$OUT/style.png"
ITERATIONS=10
SEED=7

cat "$TESTS_DIR/common.py" "$TESTS_DIR/batch.py" > "$OUT/script.py"
if ! NST_CONTENT=$OUT/content.png NST_STYLE=$OUT/style.png NST_STYLE_FROM=file NST_SIZE=0 \
    NST_ITERATIONS=$ITERATIONS NST_SEED=$SEED NST_INIT=noise NST_OUT=$OUT \
    gimp_python "$OUT/gimp.log" "$OUT/script.py" || ! grep -q BATCH-OK "$OUT/gimp.log"; then
    show_log "$OUT/gimp.log"
    fail "plug-in call failed"
fi
"$NST_CLI" --content "$OUT/content.png" --style "$OUT/style.png" --size 0 --iterations $ITERATIONS \
    --seed $SEED --init noise --quiet --output "$OUT/cli.png" || fail "nst CLI failed"
diff=$(max_diff_255 "$OUT/result.png" "$OUT/cli.png")
note "largest difference plug-in vs CLI: $diff/255"
[ "$diff" -le 1 ] || fail "plug-in and CLI pictures differ by $diff/255"

# And a different seed gives a different picture (the seed is passed on).
"$NST_CLI" --content "$OUT/content.png" --style "$OUT/style.png" --size 0 --iterations $ITERATIONS \
    --seed $((SEED + 1)) --init noise --quiet --output "$OUT/cli-other-seed.png" || fail "nst CLI failed"
[ "$(max_diff_255 "$OUT/result.png" "$OUT/cli-other-seed.png")" -gt 1 ] || fail "the seed makes no difference"
note "ok"
