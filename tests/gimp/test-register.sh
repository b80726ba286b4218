#!/bin/bash
# The plug-in registers in a real GIMP 3: name, arguments, menu, defaults,
# and its German and French menu labels come from its own catalogs.
. "$(dirname "$0")/lib.sh"
fresh_home

check_label() { # LOCALE expected-label
    local log=$OUT/register-${1%%[_.]*}.log
    if ! LC_ALL=$1 LANG=$1 NST_EXPECT_LABEL=$2 gimp_python "$log" "$TESTS_DIR/register.py" ||
        ! grep -q REGISTER-OK "$log"; then
        show_log "$log"
        fail "registration check failed (locale $1)"
    fi
}
check_label C.UTF-8 "Neural Style _Transfer…"
# GIMP caches registrations per profile; each language needs a fresh one.
fresh_home
check_label de_DE.UTF-8 "Neuronaler Stil_transfer…"
fresh_home
check_label fr_FR.UTF-8 "_Transfert de style neuronal…"
grep '^default ' "$OUT/register-C.log" >&2 || true
note "ok"
