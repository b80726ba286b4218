#!/bin/sh
# tools/fetch-models.sh without network: it must say OK for the shared
# SqueezeNet folder, name a damaged file, and for an empty folder say it will
# not download and which files to put where, failing.
#   test_fetch_models.sh SOURCE_ROOT MODEL_FOLDER
set -u
script=$1/tools/fetch-models.sh
models=$2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failures=0
checks=0

expect() { # NAME EXPECTED_RC FRAGMENT COMMAND...
    name=$1 want_rc=$2 fragment=$3
    shift 3
    out=$("$@" 2>&1)
    rc=$?
    checks=$((checks + 1))
    if [ "$rc" != "$want_rc" ] || ! printf '%s\n' "$out" | grep -qF -- "$fragment"; then
        failures=$((failures + 1))
        printf 'FAIL %s: rc %s (expected %s), output lacks "%s" or differs:\n%s\n' "$name" "$rc" "$want_rc" \
            "$fragment" "$out" >&2
    fi
}

export HOME="$scratch/home"
expect "shared folder as DEST" 0 "OK: SqueezeNet 1.1 at $models/squeezenet1.1: all 52" \
    env NST_MODEL_PATH= "$script" --offline "$models"
expect "shared folder on NST_MODEL_PATH" 0 "OK: SqueezeNet 1.1" \
    env NST_MODEL_PATH="$scratch/none:$models" "$script" --offline
expect "nothing anywhere" 1 "put these files into $scratch/dest/squeezenet1.1/weights/" \
    env NST_MODEL_PATH= "$script" --offline "$scratch/dest"
expect "nothing anywhere: names the files" 1 "squeezenet0_conv25_weight.npy" \
    env NST_MODEL_PATH= "$script" --offline "$scratch/dest"
expect "nothing anywhere: says where to get them" 1 "https://raw.githubusercontent.com/webmachinelearning/" \
    env NST_MODEL_PATH= "$script" --offline "$scratch/dest"

mkdir -p "$scratch/damaged/squeezenet1.1"
cp -r "$models/squeezenet1.1/weights" "$scratch/damaged/squeezenet1.1/"
chmod -R u+w "$scratch/damaged"
printf x >>"$scratch/damaged/squeezenet1.1/weights/squeezenet0_conv7_weight.npy"
expect "damaged file" 1 "weights/squeezenet0_conv7_weight.npy wrong-checksum" \
    env NST_MODEL_PATH= "$script" --offline "$scratch/damaged"
expect "VGG19 missing" 1 "https://download.pytorch.org/models/vgg19-dcbedf0e.pth" \
    env NST_MODEL_PATH= "$script" --vgg19 "$scratch/dest"

echo "test_fetch_models: $((checks - failures)) passed, $failures failed"
[ "$failures" = 0 ]
