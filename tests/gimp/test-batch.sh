#!/bin/bash
# Non-interactive calls in a real GIMP 3: Python-fu with the style from a
# layer and from a file (on the CPU), Script-Fu with named arguments,
# output=replace and a selection, and a small run on gpu:0 (lavapipe in the
# chroot).  Checks: a new layer named after the style, the content layer's
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

# python_call NAME FROM [DEVICE [SIZE ITERATIONS]]: batch.py with the style
# from a layer or a file, artefacts in $OUT/python-NAME (DIR); the content
# layer must be left as it was.
python_call() {
    local name=$1 from=$2 device=${3:-} size=${4:-$SIZE} iterations=${5:-$ITERATIONS} start
    DIR=$OUT/python-$name
    mkdir -p "$DIR"
    cat "$TESTS_DIR/common.py" "$TESTS_DIR/batch.py" > "$DIR/script.py"
    start=$(date +%s.%N)
    if ! NST_CONTENT=$OUT/content.png NST_STYLE=$STYLE NST_STYLE_FROM=$from NST_SIZE=$size \
        NST_ITERATIONS=$iterations NST_DEVICE=$device NST_OUT=$DIR gimp_python "$DIR/gimp.log" "$DIR/script.py" ||
        ! grep -q BATCH-OK "$DIR/gimp.log"; then
        show_log "$DIR/gimp.log"
        fail "Python-fu call $name (style from a $from${device:+, device $device}) failed"
    fi
    note "python-fu $name: $(echo "$(date +%s.%N) - $start" | bc 2>/dev/null || true) s"
    [ "$(pixel_sum "$DIR/before.png")" = "$(pixel_sum "$DIR/after.png")" ] || fail "the content layer changed ($name)"
}

# The style from a layer with the default device, from a file on the CPU.
for from in layer file; do
    device=
    [ $from = layer ] || device=cpu
    python_call $from $from $device
    result_style=$(style_term "$DIR/result.png" "$STYLE" $SIZE)
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
      #:iterations $ITERATIONS #:output \"replace\" #:device \"cpu\")
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

# On the GPU: lavapipe in the chroot is device 0 (slow, so a tiny run).
python_call gpu0 file gpu:0 64 5
[ "$(max_diff_255 "$DIR/before.png" "$DIR/result.png")" -gt 20 ] || fail "the result on gpu:0 is not stylised"
note "ok"
