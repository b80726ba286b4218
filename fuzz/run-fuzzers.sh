#!/bin/sh
# Builds the libFuzzer targets with clang in BUILD_DIR and runs each for
# SECONDS (default 30).  Exits non-zero when a fuzzer finds a crash, a leak,
# a sanitizer report or a broken invariant; the input that did it is left in
# BUILD_DIR/fuzz/crash-* (replay: BUILD_DIR/fuzz/fuzz_npy FILE).
#   fuzz/run-fuzzers.sh [BUILD_DIR] [SECONDS]
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build-fuzz}
seconds=${2:-30}

if [ -f "$build/build.ninja" ]; then
    meson configure "$build" -Dfuzz=true
else
    CC=${CC:-clang} meson setup "$build" "$src" -Dfuzz=true -Dplugin=disabled -Dbuildtype=debugoptimized
fi
ninja -C "$build" fuzz/fuzz_npy fuzz/fuzz_safetensors

status=0
for target in npy safetensors; do
    # New inputs go to the first folder (kept between runs); the committed seeds stay untouched.
    corpus="$build/fuzz/corpus-$target"
    mkdir -p "$corpus"
    echo "== fuzz_$target for ${seconds}s"
    if ! "$build/fuzz/fuzz_$target" -max_len=65536 -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -dict="$src/fuzz/$target.dict" -artifact_prefix="$build/fuzz/crash-$target-" \
        "$corpus" "$src/fuzz/corpus/$target"; then
        echo "FAILED: fuzz_$target (see $build/fuzz/crash-$target-*)" >&2
        status=1
    fi
done
exit $status
