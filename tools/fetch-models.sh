#!/bin/sh
# Makes sure the models of gimp-neural-style are present and intact.
#
#   tools/fetch-models.sh [--offline] [--search DIR]... [DEST]
#       SqueezeNet 1.1, the default model (52 .npy files, 4.9 MB).  If a folder
#       on NST_MODEL_PATH, DEST or a --search DIR already holds
#       squeezenet1.1/weights/*.npy, the files are checked against
#       data/squeezenet1.1.sha256 and that is all.  Otherwise the missing ones
#       are downloaded into DEST/squeezenet1.1/weights/ and checked; when that
#       is impossible the script says which files to put where.
#   tools/fetch-models.sh --vgg19|--vgg16 [--search DIR]... [DEST]
#       Checks DEST/vgg19.safetensors (or one on NST_MODEL_PATH) and explains
#       how to get it: VGG weights are large and are never downloaded here.
#
# DEST defaults to the first folder of NST_MODEL_PATH when that is set, else
# ${XDG_DATA_HOME:-~/.local/share}/gimp-neural-style/models.
# Exit status: 0 when the model is there and verified, 1 otherwise, 2 on bad usage.
set -u

SQUEEZENET_URL=https://raw.githubusercontent.com/webmachinelearning/webnn-polyfill/f8bb0122e5253da9ac39e94979bbbd8ebc2709fd/test/models/squeezenet1.1_nchw
script_dir=$(cd "$(dirname "$0")" && pwd)
source_dir=$(dirname "$script_dir")

usage() {
    sed -n '2,16s/^# \{0,1\}//p' "$0" >&2
    exit 2
}

model=squeezenet1.1
offline=0
search=""
dest=""
while [ $# -gt 0 ]; do
    case $1 in
    --vgg19) model=vgg19 ;;
    --vgg16) model=vgg16 ;;
    --offline) offline=1 ;;
    --search)
        [ $# -ge 2 ] || usage
        search="$search
$2"
        shift
        ;;
    -h | --help) usage ;;
    -*) echo "unknown option: $1" >&2 && usage ;;
    *)
        [ -z "$dest" ] || usage
        dest=$1
        ;;
    esac
    shift
done

if [ -z "$dest" ]; then
    first=${NST_MODEL_PATH:-}
    first=${first%%:*}
    if [ -n "$first" ]; then
        dest=$first
    else
        dest=${XDG_DATA_HOME:-$HOME/.local/share}/gimp-neural-style/models
    fi
fi

# Folders to look in, one per line, each once: DEST, NST_MODEL_PATH, then --search.
candidates() {
    {
        printf '%s\n' "$dest"
        printf '%s\n' "${NST_MODEL_PATH:-}" | tr ':' '\n'
        printf '%s\n' "$search"
    } | sed -e '/^$/d' -e 's,/$,,' | awk '!seen[$0]++'
}
# Split command substitutions on newlines only, so folder names may hold spaces.
IFS='
'

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    else
        shasum -a 256 "$1" | cut -d' ' -f1
    fi
}

on_model_path() {
    case ":${NST_MODEL_PATH:-}:" in
    *":$1:"* | *":$1/:"*) return 0 ;;
    esac
    return 1
}

path_advice() {
    on_model_path "$1" ||
        echo "Note: $1 is not on NST_MODEL_PATH; use it with: export NST_MODEL_PATH=$1 (or --model-path)."
}

# ---- SqueezeNet 1.1 ----

find_sums() {
    for f in "$source_dir/data/squeezenet1.1.sha256" "$source_dir/share/gimp-neural-style/squeezenet1.1.sha256"; do
        if [ -f "$f" ]; then
            echo "$f"
            return 0
        fi
    done
    echo "cannot find squeezenet1.1.sha256 (looked in $source_dir/data and $source_dir/share/gimp-neural-style)" >&2
    exit 1
}

# Prints the relative paths (weights/NAME.npy) under $1/squeezenet1.1 that are
# missing or whose checksum differs; nothing when all are good.
squeezenet_problems() {
    while IFS=" " read -r sum rel; do
        rel=${rel#./}
        file=$1/squeezenet1.1/$rel
        if [ ! -f "$file" ]; then
            echo "$rel missing"
        elif [ "$(sha256_of "$file")" != "$sum" ]; then
            echo "$rel wrong-checksum"
        fi
    done <"$sums"
}

explain_squeezenet() {
    echo "To get SqueezeNet 1.1 by hand, put these files into $dest/squeezenet1.1/weights/:"
    printf '%s\n' "$1" | while IFS=" " read -r rel _; do
        [ -n "$rel" ] && echo "  ${rel#weights/}"
    done
    echo "from $SQUEEZENET_URL/weights/<file>"
    echo "(for instance download them on a machine with internet access and copy them over),"
    echo "then run this script again to check them against $sums."
    echo "Or point NST_MODEL_PATH at a folder that already holds squeezenet1.1/weights/."
    path_advice "$dest"
}

download() { # URL FILE
    if command -v curl >/dev/null 2>&1; then
        curl -fsSL --connect-timeout 20 --retry 2 -o "$2" "$1"
    elif command -v wget >/dev/null 2>&1; then
        wget -q -T 20 -t 2 -O "$2" "$1"
    else
        echo "neither curl nor wget is installed" >&2
        return 1
    fi
}

squeezenet() {
    sums=$(find_sums)
    total=$(wc -l <"$sums" | tr -d ' ')
    seen=""
    for c in $(candidates); do
        [ -d "$c/squeezenet1.1" ] || continue
        problems=$(squeezenet_problems "$c")
        if [ -z "$problems" ]; then
            echo "OK: SqueezeNet 1.1 at $c/squeezenet1.1: all $total weight files match $(basename "$sums")."
            path_advice "$c"
            [ -z "$seen" ] ||
                echo "Warning: fix or remove the damaged copy above if it comes first on NST_MODEL_PATH: the first squeezenet1.1/ found is used."
            return 0
        fi
        echo "$c/squeezenet1.1 is incomplete or damaged ($(printf '%s\n' "$problems" | wc -l | tr -d ' ') of $total files):"
        printf '%s\n' "$problems" | sed 's/^/  /'
        seen=1
    done
    [ -n "$seen" ] || echo "SqueezeNet 1.1 not found in: $(candidates | tr '\n' ' ')"

    todo=$(squeezenet_problems "$dest")
    if [ "$offline" = 1 ]; then
        echo "Not downloading (--offline)."
        explain_squeezenet "$todo"
        return 1
    fi
    if ! mkdir -p "$dest/squeezenet1.1/weights" 2>/dev/null; then
        echo "Cannot create $dest/squeezenet1.1/weights; choose another DEST."
        explain_squeezenet "$todo"
        return 1
    fi
    echo "Downloading $(printf '%s\n' "$todo" | wc -l | tr -d ' ') files into $dest/squeezenet1.1/weights/ ..."
    failed=""
    printf '%s\n' "$todo" | {
        while IFS=" " read -r rel _; do
            sum=$(grep " \./$rel\$" "$sums" | cut -d' ' -f1)
            file=$dest/squeezenet1.1/$rel
            if ! download "$SQUEEZENET_URL/$rel" "$file.part"; then
                rm -f "$file.part"
                echo "Cannot download $SQUEEZENET_URL/$rel (no network access?); giving up."
                exit 1
            fi
            got=$(sha256_of "$file.part")
            if [ "$got" != "$sum" ]; then
                rm -f "$file.part"
                echo "Checksum mismatch for $rel: got $got, expected $sum; not kept."
                exit 1
            fi
            mv "$file.part" "$file"
        done
    } || failed=1
    todo=$(squeezenet_problems "$dest")
    if [ -n "$failed" ] || [ -n "$todo" ]; then
        explain_squeezenet "$todo"
        return 1
    fi
    echo "OK: SqueezeNet 1.1 downloaded to $dest/squeezenet1.1: all $total weight files match."
    path_advice "$dest"
    return 0
}

# ---- VGG (verify and explain only) ----

vgg() {
    case $model in
    vgg19) prefix=dcbedf0e ;;
    vgg16) prefix=397923af ;;
    esac
    pth=$model-$prefix.pth   # torchvision names its files by the first hex digits of their sha256
    timm=$model.tv_in1k
    name=$model.safetensors
    for c in $(candidates); do
        [ -f "$c/$name" ] || continue
        echo "Found $c/$name"
        echo "  sha256: $(sha256_of "$c/$name") (compare with the value noted when you made or downloaded it)"
        if [ -f "$c/$pth" ]; then
            case $(sha256_of "$c/$pth") in
            "$prefix"*) echo "  $pth beside it: sha256 starts with $prefix as torchvision requires: OK" ;;
            *) echo "  $pth beside it: sha256 does NOT start with $prefix: damaged download" && return 1 ;;
            esac
        fi
        if "$script_dir/convert-torchvision-vgg.py" --check "$c/$name" "$model"; then
            echo "OK: $c/$name holds the $model features tensors with the right shapes."
            path_advice "$c"
            return 0
        fi
        return 1
    done
    cat <<EOF
$name not found in: $(candidates | tr '\n' ' ')
VGG weights are large (about 550 MB to download, 80 MB kept) and are not fetched automatically.
Either way, save the result as $dest/$name:

 1. torchvision's ImageNet weights, converted (needs Python with PyTorch):
      wget https://download.pytorch.org/models/$pth
      sha256sum $pth      # must start with $prefix: torchvision names files by their sha256
      python3 $script_dir/convert-torchvision-vgg.py $pth $dest/$name

 2. timm's copy of the same weights, already in safetensors form:
      wget -O $dest/$name https://huggingface.co/timm/$timm/resolve/main/model.safetensors
      sha256sum $dest/$name   # compare with the SHA256 shown on
                              # https://huggingface.co/timm/$timm/blob/main/model.safetensors
    (its classifier tensors are ignored).

Then run  $0 --$model $dest  to check it.
EOF
    return 1
}

if [ "$model" = squeezenet1.1 ]; then
    squeezenet
else
    vgg
fi
