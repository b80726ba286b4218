#!/bin/sh
# Removes what install.sh installed: the plug-in from the plug-in folders of
# GIMP 3 from the distribution and of the Flatpak GIMP, the nst command, and
# the folders install.sh had to make.  Leaves everything else alone.
set -eu
NAME=neural-style-transfer
HERE=$(cd "$(dirname "$0")" && pwd)
RECORD=.installed-files
. "$HERE/paths.sh"

removed=0
for dir in "$(distro_plugin_dir)" "$(flatpak_plugin_dir)"; do
    if [ -f "$dir/$NAME/$RECORD" ]; then
        remove_recorded "$dir/$NAME/$RECORD"
        printf 'Removed the plug-in from %s\n' "$dir/$NAME"
        removed=1
    elif [ -e "$dir/$NAME" ]; then
        printf 'Left %s alone: not installed by install.sh\n' "$dir/$NAME"
    fi
done
[ $removed = 1 ] || printf 'Nothing to remove: install.sh has not installed Neural Style Transfer here\n'
