#!/bin/sh
# Every test of the project, from a fresh Debian 12 machine (root or sudo):
#   1. unit, reference (PyTorch autograd, SqueezeNet vectors) and end-to-end
#      tests on a release build (meson test);
#   2. the same engine suites under AddressSanitizer + UndefinedBehaviorSanitizer;
#   3. the suites that use the worker pool from several threads under ThreadSanitizer;
#   4. each fuzzer (weights and pictures) for NST_FUZZ_SECONDS (default 120);
#   5. the GIMP plug-in in a real GIMP 3 (a Debian 13 chroot, cached);
#   6. install: the Linux bundle, the Debian package and the .gex, each
#      installed in a Debian 13 that has only GIMP, then batch runs.
# Stages can be picked: tools/test.sh unit asan tsan fuzz gimp install  (default: all).
set -u
cd "$(dirname "$0")/.."
stages=${*:-unit asan tsan fuzz gimp install}
tools/install-deps.sh --all || exit 1
. tools/model-path.sh
tools/fetch-models.sh || exit 1

passed=0
failed=0
run_stage() {
  name=$1
  shift
  echo "=== $name: $*"
  if "$@"; then
    passed=$((passed + 1))
    echo "=== $name: passed"
  else
    failed=$((failed + 1))
    echo "=== $name: FAILED"
  fi
}

fresh_build() { # DIR meson-options...
  dir=$1
  shift
  rm -rf "$dir" && meson setup "$dir" "$@" >/dev/null && ninja -C "$dir"
}

unit() {
  fresh_build build-test --buildtype=release -Dplugin=disabled &&
    meson test -C build-test --print-errorlogs --num-processes 2
}

asan() {
  fresh_build build-asan --buildtype=debugoptimized -Dplugin=disabled \
    -Db_sanitize=address,undefined -Db_lundef=false &&
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      meson test -C build-asan --print-errorlogs --num-processes 2 --no-suite quality --timeout-multiplier 4
}

fuzz() {
  rm -rf build-fuzz && fuzz/run-fuzzers.sh build-fuzz "${NST_FUZZ_SECONDS:-120}"
}

gimp() {
  tools/gimp3-chroot.sh test
}

install() {
  tests/install/run.sh
}

# The suites that run the worker pool from several threads (the pool itself,
# the same bytes on 1 and N workers, the driver steered and cancelled from
# another thread, the command line) under ThreadSanitizer; any report fails.
tsan() {
  fresh_build build-tsan --buildtype=debugoptimized -Dplugin=disabled \
    -Db_sanitize=thread -Db_lundef=false &&
    TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
      meson test -C build-tsan --print-errorlogs --num-processes 2 --timeout-multiplier 3 \
        test_pool_threads test_parallel test_layers test_gradcheck test_winograd test_lbfgs \
        objective_gradcheck driver cli
}

for stage in $stages; do
  run_stage "$stage" "$stage"
done
echo "tools/test.sh stages: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
