#!/bin/sh
# bench_hash_par.sh - parallel digests of one object (hashgate_parallel_digests,
# ParallelDigests) against serial ones in the same run: MD5 + SHA-1 and all
# three, 256 KiB to 25 MiB, first on the host as it is, then with every core
# kept busy by spinning processes (is it still worth it, and what does it
# cost). RESULT lines give wall-time ratios (> 1: parallel is faster) with
# their floor (MD5 alone: no split can beat it) and CPU-per-byte ratios
# (> 1: the split costs that much more CPU). HG_PAR_MIN sets the split size.
# SPDX-License-Identifier: BSD-2-Clause
set -u
BIN=${HG_BIN:-build}/bench/bench_hash_par
if [ ! -x "$BIN" ]; then
    echo "bench_hash_par: $BIN not built (make bench)" >&2
    exit 1
fi
MIN=${HG_PAR_MIN:-524288}
echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
"$BIN" --min "$MIN" || exit 1
"$BIN" --min "$MIN" --busy "$(nproc)"
