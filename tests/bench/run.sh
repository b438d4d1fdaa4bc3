#!/bin/sh
# run.sh - run every benchmark script tests/bench/bench_*.sh in turn.
# Each prints its figures as ratios against a baseline measured in the same
# run; a summary of every "RESULT" line is repeated at the end.
# SPDX-License-Identifier: BSD-2-Clause
set -u
BUILD=${BUILD:-build}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
export HG_TOP="$TOP" HG_BIN="$TOP/$BUILD" BUILD
out="$TOP/$BUILD/bench-results.txt"
: > "$out"
for b in "$TOP"/tests/bench/bench_*.sh; do
    [ -f "$b" ] || continue
    case "$(basename "$b")" in bench_large*) [ -n "${LARGE:-}" ] || continue ;; esac
    echo "== $(basename "$b")"
    sh "$b" 2>&1 | tee -a "$out"
done
echo
echo "== summary (RESULT lines, also in $out)"
grep '^RESULT' "$out" || echo "no results"
