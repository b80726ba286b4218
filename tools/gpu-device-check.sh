#!/bin/bash
# The GPU check for a machine lent with a real GPU (issue #12), in two steps:
#
#   tools/gpu-device-check.sh prepare   here: builds the engine with the
#       Vulkan backend, and puts in .gpu-check/ (ignored by git) what the GPU
#       machine lacks: the binaries and their libraries, SqueezeNet 1.1, the
#       README's pictures; and in .gl/ the Vulkan loader's package.
#   tools/gpu-device-check.sh run       there (after unpacking .gl/*.deb):
#       the devices, the GPU test suite on the GPU (objective and whole
#       stylisation against the CPU), the benchmark (bench/run.py --device gpu:
#       our CPU engine, our Vulkan backend and PyTorch on CUDA, SqueezeNet 1.1
#       and VGG19 at 512² and 2048²; the README's command end to end on the CPU
#       and the GPU) and a 3000x3000 run with the defaults.  Everything goes to
#       $OUT/gpu-check.log (and stdout); the stylised pictures to $OUT.
#
# The device tool's call (carry .gl and .gpu-check; timeout about 590 s):
#   for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig; tools/gpu-device-check.sh run
set -u
cd "$(dirname "$0")/.."
CHECK=.gpu-check

prepare() {
  set -e
  local build=build-gpu-check
  [ -f $build/build.ninja ] || meson setup $build --buildtype=release -Dplugin=disabled -Dvulkan=enabled >/dev/null
  ninja -C $build cli/nst bench/nst_bench tests/gpu/test_gpu_objective tests/gpu/test_gpu_transfer \
    tests/gpu/test_gpu_net tests/gpu/test_gpu_kernels tests/gpu/test_gpu_vgg tests/gpu/test_gpu_optim >/dev/null
  rm -rf $CHECK && mkdir -p $CHECK/build/cli $CHECK/build/bench $CHECK/tests $CHECK/lib $CHECK/models $CHECK/pictures
  install -s $build/cli/nst $CHECK/build/cli/nst
  install -s $build/bench/nst_bench $CHECK/build/bench/nst_bench
  for t in $build/tests/gpu/test_gpu_*; do [ -x "$t" ] && [ -f "$t" ] && install -s "$t" $CHECK/tests/; done
  # The libraries Debian 12 gave them, glibc's own left to the machine (newer there).
  ldd $CHECK/build/cli/nst $CHECK/build/bench/nst_bench | awk '/=> \// {print $3}' | sort -u |
    grep -Ev '/(libc|libm|libdl|libpthread|librt|ld-linux[^/]*)\.so' | xargs -I{} cp -L {} $CHECK/lib/
  # OpenBLAS with every CPU's kernels is 39 MB: packed, the tree travels within 64 MiB.
  tar -C $CHECK -cJf $CHECK/lib.tar.xz lib && rm -r $CHECK/lib
  . tools/model-path.sh
  cp -r "$NST_MODEL_PATH/squeezenet1.1" $CHECK/models/
  cp /usr/lib/python3/dist-packages/skimage/data/chelsea.png $CHECK/pictures/
  cp /usr/share/doc/opencv-doc/examples/data/starry_night.jpg $CHECK/pictures/
  mkdir -p .gl /tmp/amd64/partial
  local o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update >/dev/null && (cd .gl && apt-get $o download libvulkan1 >/dev/null)
  mkdir -p .git/info && touch .git/info/exclude
  for p in /.gl/ /$CHECK/; do grep -qx "$p" .git/info/exclude || echo "$p" >>.git/info/exclude; done
  du -sh $CHECK .gl
}

# One step of the run, timed and named in the log; a failure is logged and the run goes on.
step() {
  local name=$1
  shift
  echo "=== $name: $*"
  local start=$SECONDS
  "$@"
  echo "=== $name: exit $? after $((SECONDS - start)) s"
}

run() {
  OUT=${OUT:-/tmp/gpu-check-out}
  mkdir -p "$OUT"
  exec > >(tee "$OUT/gpu-check.log") 2>&1
  [ -d $CHECK/lib ] || tar -C $CHECK -xJf $CHECK/lib.tar.xz
  export LD_LIBRARY_PATH=$PWD/$CHECK/lib NST_MODEL_PATH=$PWD/$CHECK/models NST_TEST_SOURCE_ROOT=$PWD
  export PYTHONUNBUFFERED=1 NST_TORCH_PYTHON=${NST_TORCH_PYTHON:-python3} NST_TORCH_DEVICE=${NST_TORCH_DEVICE:-cuda}
  # A rehearsal here (lavapipe): NST_CHECK_DEVICE=gpu:0 NST_CHECK_SIZES=64 NST_CHECK_BIG=96
  # NST_CHECK_E2E_ARGS='--size 64 --iterations 3' NST_TORCH_DEVICE=cpu NST_TORCH_PYTHON=/usr/bin/python3
  local nst=$CHECK/build/cli/nst pictures=$CHECK/pictures device=${NST_CHECK_DEVICE:-gpu}
  local sizes=${NST_CHECK_SIZES:-512 2048} big=${NST_CHECK_BIG:-3000} size
  # The device tool's README: NVIDIA's ICD lives outside the loader's search path there.
  if ! $nst --list-devices | grep -q "^gpu:"; then
    export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  fi
  step devices $nst --list-devices
  command -v nvidia-smi >/dev/null && nvidia-smi -L
  # The GPU tests pick auto's device (the GPU) and compare with the CPU.
  for t in objective transfer optim vgg; do step "test_gpu_$t" $CHECK/tests/test_gpu_$t; done
  # The smaller size first, with the README's command: a run cut short keeps it.
  local e2e=--end-to-end
  for size in $sizes; do
    step "bench $size" "$NST_TORCH_PYTHON" bench/run.py --build $CHECK/build --data /tmp/gpu-check-data \
      --models squeezenet1.1,vgg19 --sizes "$size" --rounds 1 --warmup 1 --reps 2 --no-lbfgs --device "$device" \
      $e2e --end-to-end-args "${NST_CHECK_E2E_ARGS:-}" --content $pictures/chelsea.png --style $pictures/starry_night.jpg
    e2e=
  done
  cp /tmp/gpu-check-data/end-to-end-*.png "$OUT/" 2>/dev/null
  step "big picture" $nst --content $pictures/chelsea.png --style $pictures/starry_night.jpg --size "$big" \
    --device "$device" --output "$OUT/chelsea-$big.jpg" --log /tmp/gpu-check-big.jsonl
  tail -n 1 /tmp/gpu-check-big.jsonl
}

case "${1:-}" in
prepare) prepare ;;
run) run ;;
*) echo "usage: $0 prepare | run" >&2; exit 2 ;;
esac
