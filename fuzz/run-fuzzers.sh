#!/bin/sh
# Builds the libFuzzer targets with clang in BUILD_DIR and runs each for
# SECONDS (default 30), starting from the committed corpus fuzz/corpus/TARGET.
# Exits non-zero when a fuzzer finds a crash, a leak, a sanitizer report or a
# broken invariant; the input that did it is left in BUILD_DIR/fuzz/crash-*
# (replay: BUILD_DIR/fuzz/fuzz_npy FILE).
#   fuzz/run-fuzzers.sh [--update-corpus] [BUILD_DIR] [SECONDS]
# --update-corpus: afterwards, merge (-merge=1) the inputs found that reach
# new code into fuzz/corpus/TARGET, to be committed; the existing seeds stay.
set -eu

update=0
if [ "${1:-}" = --update-corpus ]; then
    update=1
    shift
fi
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build-fuzz}
seconds=${2:-30}
targets="npy safetensors image"

if [ -f "$build/build.ninja" ]; then
    meson configure "$build" -Dfuzz=true
else
    CC=${CC:-clang} meson setup "$build" "$src" -Dfuzz=true -Dplugin=disabled -Dbuildtype=debugoptimized
fi
ninja -C "$build" $(for target in $targets; do echo "fuzz/fuzz_$target"; done)

status=0
for target in $targets; do
    # New inputs go to the first folder (kept between runs); the committed corpus is only read.
    corpus="$build/fuzz/corpus-$target"
    mkdir -p "$corpus"
    dict=""
    [ -f "$src/fuzz/$target.dict" ] && dict="-dict=$src/fuzz/$target.dict"
    echo "== fuzz_$target for ${seconds}s"
    # shellcheck disable=SC2086 # $dict is one option or nothing
    if ! "$build/fuzz/fuzz_$target" -max_len=65536 -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 $dict -artifact_prefix="$build/fuzz/crash-$target-" \
        "$corpus" "$src/fuzz/corpus/$target"; then
        echo "FAILED: fuzz_$target (see $build/fuzz/crash-$target-*)" >&2
        status=1
    elif [ "$update" = 1 ]; then
        before=$(ls "$src/fuzz/corpus/$target" | wc -l)
        "$build/fuzz/fuzz_$target" -merge=1 -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
            "$src/fuzz/corpus/$target" "$corpus" 2>"$build/fuzz/merge-$target.log" ||
            { echo "FAILED: merging into fuzz/corpus/$target (see $build/fuzz/merge-$target.log)" >&2; status=1; }
        echo "== fuzz/corpus/$target: $before -> $(ls "$src/fuzz/corpus/$target" | wc -l) files"
    fi
done
exit $status
