#!/bin/bash
# Transparency: what a layer hides under alpha 0 (here pure red or pure
# green) must not change the result, neither in the content nor in the style
# picture, and the result keeps the content's alpha.
. "$(dirname "$0")/lib.sh"
fresh_home
# The right third of each picture is transparent, red or green underneath.
python3 - "$(find_sample chelsea.png)" "$(find_sample starry_night.jpg)" "$OUT" <<'PY'
import sys
import numpy as np
from PIL import Image
content, style, out = sys.argv[1:]
for name, path, width in (("content", content, 96), ("style", style, 96)):
    picture = Image.open(path).convert("RGB")
    picture = np.array(picture.resize((width, width * picture.height // picture.width)))
    alpha = np.full(picture.shape[:2] + (1,), 255, np.uint8)
    alpha[:, 2 * width // 3:] = 0
    alpha[:8, :8] = 128  # half-visible pixels keep part of their colour
    for colour, rgb in (("red", (255, 0, 0)), ("green", (0, 255, 0))):
        hidden = picture.copy()
        hidden[:, 2 * width // 3:] = rgb
        Image.fromarray(np.concatenate([hidden, alpha], axis=2), "RGBA").save("%s/%s-%s.png" % (out, name, colour))
PY
cat "$TESTS_DIR/common.py" "$TESTS_DIR/alpha.py" > "$OUT/script.py"
if ! NST_OUT=$OUT NST_STYLE=$OUT/style-red.png gimp_python "$OUT/gimp.log" "$OUT/script.py" ||
    ! grep -q ALPHA-RUNS-DONE "$OUT/gimp.log"; then
    show_log "$OUT/gimp.log" 60
    fail "the runs on transparent pictures"
fi
# The hidden colour changed nothing that shows.
visible() { magick "$OUT/result-$1.png" -background black -alpha remove -depth 8 rgb:- | sha256sum | cut -c1-16; }
[ "$(visible content-red)" = "$(visible content-green)" ] ||
    fail "the colour hidden under the content's transparency changed the result (largest difference" \
        "$(max_diff_255 "$OUT/result-content-red.png" "$OUT/result-content-green.png")/255)"
[ "$(visible style-red)" = "$(visible style-green)" ] ||
    fail "the colour hidden under the style's transparency changed the result (largest difference" \
        "$(max_diff_255 "$OUT/result-style-red.png" "$OUT/result-style-green.png")/255)"
# The result is transparent where the content is.
alpha_sum() { magick "$1" -alpha extract -depth 8 gray:- | sha256sum | cut -c1-16; }
[ "$(alpha_sum "$OUT/result-content-red.png")" = "$(alpha_sum "$OUT/content-red.png")" ] ||
    fail "the result does not keep the content's alpha"
note "ok"
