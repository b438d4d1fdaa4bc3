#!/bin/sh
# bench_milter.sh - Postfix without a milter, with a null milter and with
# hashgate-milter (mails/s, unix socket and TCP, 100 KiB and 2 MiB
# attachments, 1M SHA-256 list), and the milter's private memory. See
# bench_milter.py; prints RESULT lines.
# BENCH_DIGESTS, BENCH_REPEAT, BENCH_N_100K, BENCH_N_2M scale it down;
# BENCH_PROFILE=DIR adds perf profiles of hashgate-milter.
#
# The null milter needs -lmilter, which the Makefile's rule for
# tests/bench/*.c does not link, so it lives in tests/bench/milter/ and is
# built here.
# SPDX-License-Identifier: BSD-2-Clause
set -u
TOP=${HG_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${HG_BIN:-$TOP/${BUILD:-build}}
mkdir -p "$BIN/bench"
if ! ${CC:-cc} -std=gnu11 -Wall -Wextra -Werror -O2 -g -D_GNU_SOURCE \
        -o "$BIN/bench/null_milter" "$TOP/tests/bench/milter/null_milter.c" \
        -lmilter -lpthread
then
    echo "RESULT milter: benchmark failed: cannot build the null milter"
    exit 1
fi
export HG_TOP="$TOP" HG_BIN="$BIN" NULL_MILTER="$BIN/bench/null_milter"
exec python3 "$(dirname "$0")/bench_milter.py"
