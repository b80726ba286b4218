# Helpers for the tests that run the plug-in inside a real GIMP 3.
# Sourced by tests/gimp/test-*.sh.  Environment (set by tests/gimp/meson.build):
#   NST_PLUGIN_BIN     the built plug-in binary
#   NST_PO_BUILD_DIR   the build's po/ folder (<lang>/LC_MESSAGES/*.mo)
#   NST_CLI            the built `nst` command line
#   NST_GIMP_OUT       where artefacts go (screenshots, logs, pictures)
#   NST_GIMP_SAMPLES   folder with chelsea.png and starry_night.jpg
#   NST_TEST_SOURCE_ROOT, NST_MODEL_PATH
set -eu

TEST_NAME=$(basename "$0" .sh)
PLUGIN_NAME=$(basename "$NST_PLUGIN_BIN")
PROC=plug-in-neural-style-transfer
GIMP_TIMEOUT=${NST_GIMP_TIMEOUT:-240}
OUT=${NST_GIMP_OUT:-$NST_GIMP_OUT_DEFAULT}/${TEST_NAME}
rm -rf "$OUT"
mkdir -p "$OUT"
TESTS_DIR=$(cd "$(dirname "$0")" && pwd)

note() { printf '[%s] %s\n' "$TEST_NAME" "$*" >&2; }
fail() { note "FAIL: $*"; exit 1; }
skip() { note "SKIP: $*"; exit 77; }

command -v gimp-console-3.0 >/dev/null || skip "gimp-console-3.0 is not installed (use tools/gimp3-chroot.sh test)"
# need_tools TOOL...: skips the test when one is missing.
need_tools() {
    local tool
    for tool in "$@"; do command -v "$tool" >/dev/null || skip "$tool is not installed"; done
}

# Sample pictures: the test folder given, else where Debian packages put them.
find_sample() {
    local name=$1 dir
    for dir in "${NST_GIMP_SAMPLES:-}" /usr/lib/python3/dist-packages/skimage/data \
        /usr/share/doc/opencv-doc/examples/data; do
        if [ -n "$dir" ] && [ -f "$dir/$name" ]; then
            echo "$dir/$name"
            return
        fi
    done
    skip "sample picture $name not found (set NST_GIMP_SAMPLES)"
}

# A fresh GIMP profile with the plug-in (and its catalogs) installed in it:
# GIMP caches registrations and last-used values in the profile.
fresh_home() {
    export HOME=$OUT/home
    export XDG_CONFIG_HOME=$HOME/.config
    export XDG_CACHE_HOME=$HOME/.cache
    rm -rf "$HOME"
    local profile=$XDG_CONFIG_HOME/GIMP/3.0
    local dir=$profile/plug-ins/$PLUGIN_NAME
    mkdir -p "$dir"
    cp "$NST_PLUGIN_BIN" "$dir/$PLUGIN_NAME"
    local mo lang
    for mo in "$NST_PO_BUILD_DIR"/*/LC_MESSAGES/*.mo; do
        [ -f "$mo" ] || continue
        lang=$(basename "$(dirname "$(dirname "$mo")")")
        mkdir -p "$dir/locale/$lang/LC_MESSAGES"
        cp "$mo" "$dir/locale/$lang/LC_MESSAGES/"
    done
    printf '(check-updates no)\n(show-welcome-dialog no)\n(restore-session no)\n(save-session-info no)\n' \
        > "$profile/gimprc"
}

# gimp_python LOG SCRIPT: runs a Python-fu script in a batch GIMP; the
# script reads its inputs from the environment.  Returns GIMP's exit status.
gimp_python() {
    local log=$1 script=$2
    timeout -k 10 "$GIMP_TIMEOUT" gimp-console-3.0 -i --batch-interpreter=python-fu-eval \
        -b "exec(open('$script').read())" --quit > "$log" 2>&1
}

# gimp_scheme LOG EXPR...: runs Script-Fu expressions in a batch GIMP.
gimp_scheme() {
    local log=$1
    shift
    local args=() expr
    for expr in "$@"; do args+=(-b "$expr"); done
    timeout -k 10 "$GIMP_TIMEOUT" gimp-console-3.0 -i --batch-interpreter=plug-in-script-fu-eval \
        "${args[@]}" -b '(gimp-quit 0)' > "$log" 2>&1
}

show_log() { sed 's/^/    | /' "$1" | tail -n "${2:-40}" >&2; }

# A checksum of the pixels only (not of the file's metadata).
pixel_sum() { magick "$1" -depth 8 rgba:- | sha256sum | cut -c1-16; }

# Largest difference of any channel, in 1/255 steps.
max_diff_255() {
    magick "$1" "$2" -alpha off -compose difference -composite -depth 8 -format '%[fx:round(maxima*255)]' info:
}

# The style term at eval 0 of the engine's own evaluation of PICTURE vs STYLE.
style_term() {
    local picture=$1 style=$2 size=$3 log
    log=$(mktemp "$OUT/style-XXXX.json")
    "$NST_CLI" --content "$picture" --style "$style" --size "$size" --iterations 0 --quiet \
        --log "$log" --output "$log.png" >&2 || fail "nst CLI failed on $picture"
    python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["style"])' "$log"
}

# start_xvfb WIDTHxHEIGHT: a virtual screen for the dialog tests; exports
# DISPLAY, sets XVFB_PID (the caller's EXIT trap stops it).
start_xvfb() {
    local number=$((90 + ($$ + RANDOM) % 400))
    Xvfb :$number -screen 0 "${1}x24" -nolisten tcp > "$OUT/xvfb.log" 2>&1 &
    XVFB_PID=$!
    export DISPLAY=:$number
    local _
    for _ in $(seq 50); do
        xdpyinfo > /dev/null 2>&1 && return
        sleep 0.2
    done
    fail "Xvfb did not start on $DISPLAY"
}

# start_gimp_script SECONDS SCRIPT: the full GIMP on a new virtual screen,
# in the background (GIMP_PID), running the Python-fu SCRIPT with its output
# in $LOG; the caller's environment assignments reach the script.  Both are
# stopped when the test exits.
start_gimp_script() {
    start_xvfb 1600x1000
    GIMP_PID=
    trap '[ -z "$GIMP_PID" ] || kill "$GIMP_PID" 2>/dev/null || true; kill "$XVFB_PID" 2>/dev/null || true' EXIT
    timeout -k 10 "$1" gimp-3.0 --no-splash --batch-interpreter=python-fu-eval \
        -b "exec(open('$2').read())" --quit > "$LOG" 2>&1 &
    GIMP_PID=$!
}

# For the tests that start GIMP with start_gimp_script:
# wait_for SECONDS COMMAND...: polls until COMMAND succeeds; fails at once when GIMP has exited.
wait_for() {
    local seconds=$1
    shift
    local deadline=$((SECONDS + seconds))
    until "$@"; do
        [ $SECONDS -lt $deadline ] || return 1
        kill -0 "$GIMP_PID" 2>/dev/null || return 1
        sleep 0.3
    done
}
# wait_dialog_window PID [NAME]: prints the dialog's window id once it shows
# (empty when GIMP exited or it never came), and moves the pointer off it (a
# tooltip, black without a compositor, would cover part of a screenshot).
wait_dialog_window() {
    local pid=$1 name=${2:-.} window= _
    for _ in $(seq 300); do
        window=$(xdotool search --onlyvisible --name "$name" 2>/dev/null | tail -1)
        [ -n "$window" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.3
    done
    xdotool mousemove 1279 899
    echo "$window"
}
log_has() { grep -q -- "$1" "$LOG"; }
log_count() { grep -c -- "$1" "$LOG" || true; }
dialog_window() { xdotool search --onlyvisible --name '^Neural Style Transfer$' 2>/dev/null | tail -1; }
dialog_shown() { [ -n "$(dialog_window)" ]; }
die() { show_log "$LOG" 60; fail "$*"; }
# press WINDOW KEYS...: keyboard input to a window (no window manager here).
press() {
    local window=$1
    shift
    xdotool windowfocus --sync "$window"
    xdotool key --clearmodifiers --delay 80 "$@"
}
