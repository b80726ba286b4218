# Sourced by install.sh and uninstall.sh: where GIMP 3 looks for a user's
# plug-ins, and how the installed files are recorded and removed.
CLI_MARK="installed by gimp-neural-style's install.sh"

# GIMP from the distribution follows XDG_CONFIG_HOME; the Flatpak GIMP
# sets it to ~/.var/app/org.gimp.GIMP/config inside its sandbox.
distro_plugin_dir() { printf '%s\n' "${XDG_CONFIG_HOME:-$HOME/.config}/GIMP/3.0/plug-ins"; }
flatpak_plugin_dir() { printf '%s\n' "$HOME/.var/app/org.gimp.GIMP/config/GIMP/3.0/plug-ins"; }

has_distro_gimp() {
    command -v gimp-3.0 >/dev/null 2>&1 || command -v gimp-console-3.0 >/dev/null 2>&1 ||
        [ -d "${XDG_CONFIG_HOME:-$HOME/.config}/GIMP/3.0" ]
}
has_flatpak_gimp() {
    { command -v flatpak >/dev/null 2>&1 && flatpak info org.gimp.GIMP >/dev/null 2>&1; } ||
        [ -d "$HOME/.var/app/org.gimp.GIMP" ]
}

# missing_parents DIR: DIR and those of its parents that do not exist yet,
# deepest first (what install.sh makes, so uninstall.sh can remove it).
missing_parents() {
    d=$1
    while [ ! -e "$d" ] && [ "$d" != / ] && [ "$d" != "$HOME" ]; do
        printf '%s\n' "$d"
        d=$(dirname "$d")
    done
}

# remove_recorded RECORD: removes the recorded files, then the recorded
# folders once empty (deepest first); never anything else.
remove_recorded() {
    list=$(cat "$1")
    printf '%s\n' "$list" | while IFS= read -r path; do
        if [ -f "$path" ] || [ -L "$path" ]; then rm -f "$path"; fi
    done
    printf '%s\n' "$list" | awk '{ print length($0) "\t" $0 }' | sort -rn | cut -f2- |
        while IFS= read -r path; do
            if [ -d "$path" ]; then rmdir "$path" 2>/dev/null || true; fi
        done
}
