#!/bin/sh
# Installs Neural Style Transfer for GIMP 3 from this folder, for you alone
# (no root): into GIMP's plug-in folder of the GIMP from your distribution
# (~/.config/GIMP/3.0/plug-ins) and/or of the Flatpak GIMP
# (~/.var/app/org.gimp.GIMP/config/GIMP/3.0/plug-ins), whichever is present,
# and the `nst` command into ~/.local/bin.
#
#   ./install.sh              install for every GIMP 3 found
#   ./install.sh --distro     only for the GIMP from the distribution
#   ./install.sh --flatpak    only for the Flatpak GIMP (org.gimp.GIMP)
#   ./install.sh --no-cli     without the nst command
# ./uninstall.sh removes what this put in place.
set -eu

NAME=neural-style-transfer
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$HERE/$NAME
RECORD=.installed-files   # inside the installed folder: what uninstall.sh removes
. "$HERE/paths.sh"

say() { printf '%s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

want_distro=0 want_flatpak=0 want_cli=1
for arg in "$@"; do
    case "$arg" in
        --distro) want_distro=1 ;;
        --flatpak) want_flatpak=1 ;;
        --no-cli) want_cli=0 ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option '$arg' (see --help)" ;;
    esac
done

[ -x "$SRC/$NAME" ] || die "$SRC/$NAME is missing: run install.sh from the unpacked bundle"
# The bundle's binaries need only glibc (and GIMP's libraries for the
# plug-in); a system too old for them fails here, not inside GIMP.
"$SRC/nst" --version >/dev/null 2>&1 ||
    die "this bundle's programs do not run on this system ($("$SRC/nst" --version 2>&1 | head -n 1)); it needs glibc $(cat "$HERE/GLIBC_REQUIRED" 2>/dev/null || echo '2.34') or newer"

if [ $want_distro = 0 ] && [ $want_flatpak = 0 ]; then
    has_distro_gimp && want_distro=1
    has_flatpak_gimp && want_flatpak=1
    if [ $want_distro = 0 ] && [ $want_flatpak = 0 ]; then
        die "found no GIMP 3: neither gimp-3.0 on the PATH (or $(distro_plugin_dir | sed "s|^$HOME|~|")) nor the Flatpak org.gimp.GIMP.
Install GIMP 3 first, or choose the target with --distro or --flatpak."
    fi
fi

# install_into PLUG-IN-FOLDER LABEL: copies the plug-in folder there, replacing
# an earlier copy, and records the files and the folders it made.
install_into() {
    dir=$1
    target=$dir/$NAME
    if [ -e "$target" ] && [ ! -f "$target/$RECORD" ]; then
        die "$target exists and was not installed by this script (a build from source?); remove it first"
    fi
    [ ! -f "$target/$RECORD" ] || remove_recorded "$target/$RECORD"
    made=$(missing_parents "$dir")
    mkdir -p "$dir"
    tmp=$(mktemp -d "$dir/.$NAME.XXXXXX")
    cp -R "$SRC/." "$tmp/"
    chmod 755 "$tmp"
    (cd "$tmp" && find . -mindepth 1 | sed "s|^\./|$target/|") > "$tmp/$RECORD.new"
    printf '%s\n' "$target/$RECORD" "$target" >> "$tmp/$RECORD.new"
    [ -z "$made" ] || printf '%s\n' $made >> "$tmp/$RECORD.new"
    mv "$tmp/$RECORD.new" "$tmp/$RECORD"
    mv "$tmp" "$target"
    say "Installed the plug-in for $2 in $target"
}

if [ $want_distro = 1 ]; then install_into "$(distro_plugin_dir)" "GIMP 3 from your distribution"; fi
if [ $want_flatpak = 1 ]; then install_into "$(flatpak_plugin_dir)" "the Flatpak GIMP (org.gimp.GIMP)"; fi

if [ $want_cli = 1 ]; then
    # The command runs the copy of the first target, with the bundle's model.
    if [ $want_distro = 1 ]; then home=$(distro_plugin_dir)/$NAME; else home=$(flatpak_plugin_dir)/$NAME; fi
    bindir=$HOME/.local/bin
    if [ -e "$bindir/nst" ] && ! grep -q "$CLI_MARK" "$bindir/nst" 2>/dev/null; then
        say "Left $bindir/nst alone (not ours); the command is $home/nst"
    else
        made=$(missing_parents "$bindir")
        mkdir -p "$bindir"
        cat > "$bindir/nst" <<WRAPPER
#!/bin/sh
# $CLI_MARK: the nst command of Neural Style Transfer for GIMP, with its model.
NST_MODEL_PATH="\${NST_MODEL_PATH:+\$NST_MODEL_PATH:}$home/models" exec "$home/nst" "\$@"
WRAPPER
        chmod 755 "$bindir/nst"
        printf '%s\n' "$bindir/nst" $made >> "$home/$RECORD"
        say "Installed the command line: $bindir/nst"
        case ":$PATH:" in *":$bindir:"*) ;; *) say "  ($bindir is not on your PATH: add it, or run $bindir/nst)" ;; esac
    fi
fi
say "Start (or restart) GIMP: Filters > Artistic > Neural Style Transfer..."
