#!/bin/sh
# bench_pdq_query.sh - PDQ search at distance 31 against 1M and 10M entries,
# the ratio to a brute-force scan of the same entries, bytes per hash, open
# time, PdqDihedral's cost and false matches (bench_pdq_query.c; issue 17).
# PDQ_SIZES overrides the sizes ("1000000 10000000"). Prints RESULT lines;
# run by tests/bench/run.sh.
# SPDX-License-Identifier: BSD-2-Clause
set -u
HG_BIN=${HG_BIN:-$(pwd)/build}
B="$HG_BIN/bench/bench_pdq_query"
if [ ! -x "$B" ]; then
    echo "bench_pdq_query.sh: $B not built (make bench)" >&2
    exit 1
fi
# shellcheck disable=SC2086
exec "$B" ${PDQ_SIZES:-1000000 10000000}
