#!/bin/sh
# test_runner.sh - tests/run.sh itself: a copy of it runs fake test scripts
# in a temporary tree and its closing line and exit status are checked. A
# script that reports no checks and one that dies without TAP are failures;
# a lone passing script is a pass. (UNIT_ONLY, ONLY and SKIP are unset for
# the copy: they would filter its fake scripts out.)
# SPDX-License-Identifier: BSD-2-Clause
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM
failed=0

ok()     { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; failed=$((failed + 1)); }

# tree DIR SCRIPT...: DIR/tests/run.sh (a copy) with the named fake scripts
tree() {
    d=$1; shift
    mkdir -p "$d/tests/cli"
    cp "$TOP/tests/run.sh" "$d/tests/run.sh"
    for s in "$@"; do
        case $s in
            ok)    printf '#!/bin/sh\necho "ok - x"\n' ;;
            empty) printf '#!/bin/sh\nexit 0\n' ;;
            crash) printf '#!/bin/sh\necho "no TAP here"\nexit 3\n' ;;
        esac > "$d/tests/cli/test_$s.sh"
    done
}

# run DIR: the copy's output in DIR.out, its exit status in rc
run() {
    (unset UNIT_ONLY ONLY SKIP HG_TOP HG_BIN; BUILD=build \
        sh "$1/tests/run.sh") > "$1.out" 2>&1
    rc=$?
}

tree "$TMP/mixed" ok empty crash
run "$TMP/mixed"
last=$(tail -1 "$TMP/mixed.out")
if [ "$last" = "1 passed, 2 failed" ]; then
    ok "a passing, a silent and a crashing script: run.sh ends with '1 passed, 2 failed'"
else
    not_ok "a passing, a silent and a crashing script: run.sh ends with '$last', want '1 passed, 2 failed'"
    sed 's/^/#   /' "$TMP/mixed.out"
fi
if [ "$rc" != 0 ]; then
    ok "run.sh exits non-zero (status $rc) when a script failed"
else
    not_ok "run.sh exits 0 although scripts failed"
fi
if grep -q '^FAIL cli/test_empty.sh' "$TMP/mixed.out" \
   && grep -q 'test_empty.sh reported no checks' "$TMP/mixed.out"; then
    ok "a script that reports no checks is named as a failure ('reported no checks')"
else
    not_ok "a script that reports no checks is named as a failure"
fi
if grep -q '^FAIL cli/test_crash.sh' "$TMP/mixed.out" \
   && grep -q 'test_crash.sh exited with status 3' "$TMP/mixed.out"; then
    ok "a script that exits 3 without TAP is named as a failure with its status"
else
    not_ok "a script that exits 3 without TAP is named as a failure with its status"
fi

tree "$TMP/clean" ok
run "$TMP/clean"
last=$(tail -1 "$TMP/clean.out")
if [ "$last" = "1 passed, 0 failed" ] && [ "$rc" = 0 ]; then
    ok "a lone passing script: run.sh ends with '1 passed, 0 failed' and exits 0"
else
    not_ok "a lone passing script: run.sh ends with '$last' and exits $rc, want '1 passed, 0 failed' and 0"
    sed 's/^/#   /' "$TMP/clean.out"
fi
[ "$failed" = 0 ]
