#!/bin/sh
# run.sh - run the unit tests, then the CLI and integration tests, and end
# with one line "N passed, N failed".
#
# Every test program speaks TAP-like lines on stdout: "ok - what" or
# "not ok - what" (cmocka's TAP output has numbers, which we accept). A
# program that dies, or exits non-zero without reporting a failure, counts
# as one failure, and so does one that reports no checks at all (it
# proved nothing). UNIT_ONLY=1 skips everything but unit tests. ONLY=glob
# runs only the scripts/binaries whose names match; SKIP=glob leaves out
# those that match.
# SPDX-License-Identifier: BSD-2-Clause
set -u

BUILD=${BUILD:-build}
export BUILD
TOP=$(cd "$(dirname "$0")/.." && pwd)
export HG_TOP="$TOP"
export HG_BIN="$TOP/$BUILD"
LOGDIR="$TOP/$BUILD/test-logs"
mkdir -p "$LOGDIR"

passed=0
failed=0
failures=""

run_one() {
    name=$1; shift
    log="$LOGDIR/$name.log"
    mkdir -p "$(dirname "$log")"
    timeout "${TEST_TIMEOUT:-900}" "$@" > "$log" 2>&1
    rc=$?
    p=$(grep -cE '^ok( [0-9]+)? ' "$log")
    f=$(grep -cE '^not ok( [0-9]+)? ' "$log")
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
        f=1
        echo "not ok - $name exited with status $rc" >> "$log"
    elif [ "$p" = 0 ] && [ "$f" = 0 ]; then
        # a script that checked nothing proved nothing: it is a failure
        f=1
        echo "not ok - $name reported no checks" >> "$log"
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$f" = 0 ]; then
        printf 'PASS %-40s %4d ok\n' "$name" "$p"
    else
        printf 'FAIL %-40s %4d ok, %d failed (log: %s)\n' "$name" "$p" "$f" "$log"
        grep -E '^not ok' "$log" | head -20 | sed 's/^/     /'
        failures="$failures $name"
    fi
}

# ONLY and SKIP are globs, several separated by '|'.
glob_any() {
    name=$1; pats=$2
    set -f
    for pat in $(echo "$pats" | tr '|' ' '); do
        case "$name" in $pat) set +f; return 0 ;; esac
    done
    set +f
    return 1
}

matches() {
    if [ -n "${SKIP:-}" ] && glob_any "$1" "$SKIP"; then
        return 1
    fi
    [ -z "${ONLY:-}" ] && return 0
    glob_any "$1" "$ONLY"
}

for t in "$TOP/$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    n=$(basename "$t")
    matches "$n" || continue
    CMOCKA_MESSAGE_OUTPUT=TAP run_one "unit/$n" "$t"
done

if [ -z "${UNIT_ONLY:-}" ]; then
    for t in "$TOP"/tests/cli/test_*.sh "$TOP"/tests/cli/test_*.py \
             "$TOP"/tests/integration/test_*.sh "$TOP"/tests/integration/test_*.py \
             "$TOP"/tests/fuzz/test_*.sh; do
        [ -f "$t" ] || continue
        n=$(basename "$(dirname "$t")")/$(basename "$t")
        matches "$(basename "$t")" || continue
        case "$t" in
            *.py) run_one "$n" python3 "$t" ;;
            *)    run_one "$n" sh "$t" ;;
        esac
    done
fi

echo
[ -z "$failures" ] || echo "failed:$failures"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
