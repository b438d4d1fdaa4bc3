#!/bin/sh
# bench_milter_pdq.sh - Postfix + hashgate-milter matching 200 KiB JPEG
# attachments by PDQ against a 1M-entry PDQ list, against digest lists
# only, beside the floor of decoding the images alone (issue 17, >= 0.7x).
# See bench_milter_pdq.py; prints RESULT lines. BENCH_N_PDQ, BENCH_REPEAT
# and BENCH_PDQ_ENTRIES scale it down; BENCH_PDQ_INDEX=on compiles the PDQ
# list with its search index (default: without, as hashgate compile does).
# SPDX-License-Identifier: BSD-2-Clause
set -u
TOP=${HG_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export HG_TOP="$TOP" HG_BIN="${HG_BIN:-$TOP/${BUILD:-build}}"
exec python3 "$(dirname "$0")/bench_milter_pdq.py"
