#!/bin/sh
# bench_milter_parallel.sh - hashgate-milter with ParallelDigests against the
# same without, 25 MiB attachments, one session and four (every core busy),
# a plain MD5 + SHA-1 list. See bench_milter_parallel.py; prints RESULT lines.
# BENCH_REPEAT rounds (default 3), BENCH_PAR_MIN the split size (512K).
# SPDX-License-Identifier: BSD-2-Clause
set -u
TOP=${HG_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export HG_TOP="$TOP" HG_BIN="${HG_BIN:-$TOP/${BUILD:-build}}"
exec python3 "$(dirname "$0")/bench_milter_parallel.py"
