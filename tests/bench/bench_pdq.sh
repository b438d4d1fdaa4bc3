#!/bin/sh
# bench_pdq.sh - PDQ of a 12-megapixel JPEG, decode included, against
# libjpeg-turbo decoding it alone at the same scale (bench_pdq.c; issue 17,
# target <= 1.3 x). Prints RESULT lines; run by tests/bench/run.sh.
# SPDX-License-Identifier: BSD-2-Clause
set -u
HG_BIN=${HG_BIN:-$(pwd)/build}
B="$HG_BIN/bench/bench_pdq"
if [ ! -x "$B" ]; then
    echo "bench_pdq.sh: $B not built (make bench)" >&2
    exit 1
fi
exec "$B" "${BENCH_ROUNDS:-7}"
