# Helpers for the install tests, sourced inside the gimp-only chroot (a
# Debian 13 with the gimp package and nothing built): /src is the source
# tree, /out holds dist/ (the bundle, .gex, .deb) and samples/.
set -euo pipefail
TEST_NAME=$(basename "$0" .sh)
GIMP_TIMEOUT=${NST_GIMP_TIMEOUT:-300}
DIST=/out/dist
SAMPLES=/out/samples
ART=/out/$TEST_NAME        # artefacts: logs and pictures
PROC=plug-in-neural-style-transfer
rm -rf "$ART"
mkdir -p "$ART"
# The shared models folder must not stand in for the model each way of
# installing has to bring.
unset NST_MODEL_PATH

note() { printf '[%s] %s\n' "$TEST_NAME" "$*" >&2; }
fail() { note "FAIL: $*"; exit 1; }
show_log() { sed 's/^/    | /' "$1" | tail -n "${2:-40}" >&2; }

# fresh_home NAME: a new user home whose GIMP 3 profile says no to updates
# and the welcome dialog (as after a first start).
fresh_home() {
    export HOME=/tmp/home-$1
    unset XDG_CONFIG_HOME
    rm -rf "$HOME"
    mkdir -p "$HOME/.config/GIMP/3.0"
    printf '(check-updates no)\n(show-welcome-dialog no)\n' > "$HOME/.config/GIMP/3.0/gimprc"
}

# gimp_python LOG SCRIPT [VAR=value...]: a Python-fu batch in gimp-console-3.0.
gimp_python() {
    local log=$1 script=$2
    shift 2
    env "$@" timeout -k 10 "$GIMP_TIMEOUT" gimp-console-3.0 -i --batch-interpreter=python-fu-eval \
        -b "exec(open('$script').read())" --quit > "$log" 2>&1
}

# The style term of PICTURE against STYLE at 128 px, by the installed nst.
style_term() {
    "$NST" --content "$1" --style "$2" --size 128 --iterations 0 --quiet --log "$ART/term.json" \
        --output "$ART/term.png" >&2 || fail "nst could not evaluate $1"
    python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["style"])' "$ART/term.json"
}

# check_plugin LABEL: the installed plug-in from Python-fu (style from a file,
# and from the gallery when it has one) and Script-Fu, and the installed nst.
# Needs NST (the nst command to use) and PLUGIN_DIR (the installed folder).
check_plugin() {
    local label=$1 style content_term dir from styles=()
    local content=$SAMPLES/chelsea.png
    styles+=("file:$SAMPLES/starry_night.jpg")
    local gallery
    gallery=$(find "$PLUGIN_DIR/styles" -maxdepth 1 -type f \( -name '*.jpg' -o -name '*.png' \) 2>/dev/null |
              sort | head -n 1 || true)
    if [ -n "$gallery" ]; then styles+=("gallery:$gallery"); else note "$label: no gallery in this build"; fi
    for from in "${styles[@]}"; do
        style=${from#*:}
        dir=$ART/$label-python-${from%%:*}
        mkdir -p "$dir"
        cat /src/tests/gimp/common.py /src/tests/gimp/batch.py > "$dir/script.py"
        gimp_python "$dir/gimp.log" "$dir/script.py" NST_CONTENT="$content" NST_STYLE="$style" \
            NST_STYLE_FROM=file NST_SIZE=128 NST_ITERATIONS=20 NST_OUT="$dir" &&
            grep -q BATCH-OK "$dir/gimp.log" || { show_log "$dir/gimp.log"; fail "$label: Python-fu, style $from"; }
        content_term=$(style_term "$content" "$style")
        local result_term
        result_term=$(style_term "$dir/result.png" "$style")
        python3 -c 'import sys; r, c = map(float, sys.argv[1:]); sys.exit(0 if r < 0.25 * c else 1)' \
            "$result_term" "$content_term" ||
            fail "$label: style term $result_term not far below the content's $content_term ($from)"
        note "$label: Python-fu with style $(basename "$style") ok (style term $content_term -> $result_term)"
    done
    dir=$ART/$label-script-fu
    mkdir -p "$dir"
    timeout -k 10 "$GIMP_TIMEOUT" gimp-console-3.0 -i --batch-interpreter=plug-in-script-fu-eval -b "
      (let* ((img (car (gimp-file-load RUN-NONINTERACTIVE \"$content\")))
             (layer (vector-ref (car (gimp-image-get-layers img)) 0)))
        ($PROC #:run-mode RUN-NONINTERACTIVE #:image img #:drawables (vector layer)
          #:style-file \"$SAMPLES/starry_night.jpg\" #:size 128 #:iterations 10 #:output \"replace\")
        (gimp-file-save RUN-NONINTERACTIVE img \"$dir/result.png\" -1)
        (display \"SCRIPT-FU-OK\"))" -b '(gimp-quit 0)' > "$dir/gimp.log" 2>&1 &&
        [ -s "$dir/result.png" ] || { show_log "$dir/gimp.log"; fail "$label: Script-Fu call"; }
    note "$label: Script-Fu ok"
}

# listing DIR: every file and folder under DIR, sorted.
listing() { find "$1" | sort; }
