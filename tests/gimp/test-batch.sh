#!/bin/bash
# Non-interactive calls in a real GIMP 3: Python-fu with the style from a
# layer and from a file, Script-Fu with named arguments, output=replace and a
# selection.  Checks: a new layer named after the style, the content layer's
# pixels untouched, pixels outside the selection untouched, and the engine's
# own style term of the result far below the content's.
. "$(dirname "$0")/lib.sh"
fresh_home
STYLE=$(find_sample starry_night.jpg)
magick "$(find_sample chelsea.png)" -resize 192x "$OUT/content.png"   # 192 x 128: quick
SIZE=128
ITERATIONS=${NST_TEST_ITERATIONS:-20}

content_style=$(style_term "$OUT/content.png" "$STYLE" $SIZE)
note "style term of the content itself: $content_style"

for from in layer file; do
    dir=$OUT/python-$from
    mkdir -p "$dir"
    cat "$TESTS_DIR/common.py" "$TESTS_DIR/batch.py" > "$dir/script.py"
    start=$(date +%s.%N)
    if ! NST_CONTENT=$OUT/content.png NST_STYLE=$STYLE NST_STYLE_FROM=$from NST_SIZE=$SIZE \
        NST_ITERATIONS=$ITERATIONS NST_OUT=$dir gimp_python "$dir/gimp.log" "$dir/script.py" ||
        ! grep -q BATCH-OK "$dir/gimp.log"; then
        show_log "$dir/gimp.log"
        fail "Python-fu call with the style from a $from failed"
    fi
    note "python-fu, style from a $from: $(echo "$(date +%s.%N) - $start" | bc 2>/dev/null || true) s"
    [ "$(pixel_sum "$dir/before.png")" = "$(pixel_sum "$dir/after.png")" ] ||
        fail "the content layer changed (style from a $from)"
    result_style=$(style_term "$dir/result.png" "$STYLE" $SIZE)
    note "style term of the result (style from a $from): $result_style"
    python3 -c 'import sys; r, c = map(float, sys.argv[1:]); sys.exit(0 if r < 0.25 * c else 1)' \
        "$result_style" "$content_style" ||
        fail "style term $result_style is not far below the content's $content_style"
done

# Script-Fu, named arguments: output=replace inside a selection (left half).
dir=$OUT/script-fu
mkdir -p "$dir"
if ! gimp_scheme "$dir/gimp.log" "
  (let* ((img (car (gimp-file-load RUN-NONINTERACTIVE \"$OUT/content.png\")))
         (layer (vector-ref (car (gimp-image-get-layers img)) 0)))
    (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 0 0 96 128)
    (plug-in-neural-style-transfer #:run-mode RUN-NONINTERACTIVE #:image img
      #:drawables (vector layer) #:style-file \"$STYLE\" #:size $SIZE
      #:iterations $ITERATIONS #:output \"replace\")
    (gimp-selection-none img)
    (gimp-file-save RUN-NONINTERACTIVE img \"$dir/result.png\" -1)
    (display \"SCRIPT-FU-OK\"))"; then
    show_log "$dir/gimp.log"
    fail "Script-Fu call failed"
fi
[ -f "$dir/result.png" ] || { show_log "$dir/gimp.log"; fail "Script-Fu saved no result"; }
magick "$OUT/content.png" -crop 96x128+96+0 +repage "$dir/right-before.png"
magick "$dir/result.png" -crop 96x128+96+0 +repage "$dir/right-after.png"
magick "$OUT/content.png" -crop 96x128+0+0 +repage "$dir/left-before.png"
magick "$dir/result.png" -crop 96x128+0+0 +repage "$dir/left-after.png"
[ "$(max_diff_255 "$dir/right-before.png" "$dir/right-after.png")" -eq 0 ] ||
    fail "pixels outside the selection changed"
[ "$(max_diff_255 "$dir/left-before.png" "$dir/left-after.png")" -gt 20 ] ||
    fail "pixels inside the selection did not change"
note "ok"
