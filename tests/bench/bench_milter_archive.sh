#!/bin/sh
# bench_milter_archive.sh - Postfix + hashgate-milter with archive scanning
# on against off, mails carrying a 1 MiB zip of 20 files, beside the floor
# of inflating the zips alone; the helpers' memory idle and under load.
# See bench_milter_archive.py; prints RESULT lines. BENCH_N_ZIP and
# BENCH_REPEAT scale it down.
# SPDX-License-Identifier: BSD-2-Clause
set -u
TOP=${HG_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export HG_TOP="$TOP" HG_BIN="${HG_BIN:-$TOP/${BUILD:-build}}"
exec python3 "$(dirname "$0")/bench_milter_archive.py"
