#!/bin/sh
# bench_nginx.sh - nginx with the hashgate module against nginx without it,
# in the same run: 100 MiB uploads, wrk POST rates, worker memory with a
# 1M-digest database. Prints RESULT lines (see bench_nginx.py); each ratio
# is followed by its "hash floor", the ratio if the module cost nothing but
# the digests: targets above it cannot be met by a leaner module.
# SPDX-License-Identifier: BSD-2-Clause
set -eu
TOP=${HG_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export HG_TOP="$TOP" HG_BIN="${HG_BIN:-$TOP/${BUILD:-build}}"
exec python3 "$TOP/tests/bench/bench_nginx.py"
