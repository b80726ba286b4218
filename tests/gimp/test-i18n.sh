#!/bin/bash
# Translations: every catalog in po/LINGUAS is complete and current (all
# messages of a fresh xgettext run translated, none fuzzy), po/POTFILES
# lists every source file with translatable strings, and the dialog opens in
# English, German and French with no mnemonic used twice (GimpProcedureDialog
# reports duplicates and missing ones on stderr); screenshots are kept.
. "$(dirname "$0")/lib.sh"
SRC=$NST_TEST_SOURCE_ROOT
cd "$SRC"

# POTFILES is complete.
for f in $(grep -l '\b_(\|\bN_(' plugin/*.c ui/*.c); do
    grep -qx "$f" po/POTFILES || fail "$f has translatable strings but is not in po/POTFILES"
done

xgettext --from-code=UTF-8 --keyword=_ --keyword=N_ --files-from=po/POTFILES -o "$OUT/current.pot"
expected=$(grep -c '^msgid "..*"\|^msgid ""$' "$OUT/current.pot")
expected=$((expected - 1)) # the header
for lang in $(grep -v '^#' po/LINGUAS); do
    msgmerge -q --no-fuzzy-matching "po/$lang.po" "$OUT/current.pot" -o "$OUT/$lang.po"
    stats=$(msgfmt --check --statistics -o "$OUT/$lang.mo" "$OUT/$lang.po" 2>&1) || fail "$lang.po: $stats"
    note "$lang: $stats (of $expected)"
    [ "$stats" = "$expected translated messages." ] || fail "$lang.po is incomplete or stale: $stats"
done

# The dialog in each language.
need_tools Xvfb xdotool import
magick "$(find_sample chelsea.png)" -resize 128x "$OUT/content.png"
cat "$TESTS_DIR/common.py" "$TESTS_DIR/dialog.py" > "$OUT/dialog.py"
start_xvfb 1280x900
trap 'kill $XVFB_PID 2>/dev/null || true' EXIT

for locale in C.UTF-8 de_DE.UTF-8 fr_FR.UTF-8; do
    lang=${locale%%[_.]*}
    fresh_home
    log=$OUT/dialog-$lang.log
    LC_ALL=$locale LANG=$locale NST_CONTENT=$OUT/content.png \
        NST_STYLE=$(find_sample starry_night.jpg) gimp_python "$log" "$OUT/dialog.py" &
    gimp_pid=$!
    window=$(wait_dialog_window $gimp_pid)
    [ -n "$window" ] || { show_log "$log"; fail "no dialog in $lang"; }
    sleep 3
    import -window "$window" "$OUT/dialog-$lang.png"
    note "screenshot $OUT/dialog-$lang.png"
    xdotool windowfocus --sync "$window" key Escape
    wait $gimp_pid || true
    grep -q DIALOG-DONE "$log" || { show_log "$log"; fail "the $lang dialog did not close on Escape"; }
    # Letters ran out with the style slots (issue #13): the blend weights and the
    # further slots' pickers have none; a letter used twice would be a real bug.
    grep -i "no mnemonic" "$log" | sed 's/^/    note: /' >&2 || true
    if grep -i "duplicate mnemonic" "$log" >&2; then
        fail "duplicate mnemonics in the $lang dialog"
    fi
done
note "ok"
