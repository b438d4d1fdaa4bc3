#!/bin/sh
# bench_large.sh - 50M digests, MD5/SHA-1/SHA-256 mixed (a third each),
# through the hg_dbb API: compile time, peak RSS against the output size
# (target <= 2x), open time (< 10 ms), lookup medians (< 200 ns).
# Run only by `make bench-large` (LARGE=1 tests/bench/run.sh): minutes, ~3 GB.
# SPDX-License-Identifier: BSD-2-Clause
set -u
HG_BIN=${HG_BIN:-$(pwd)/build}
B="$HG_BIN/bench/bench_core"
N=${BENCH_LARGE_N:-50000000}

if [ ! -x "$B" ]; then
    echo "bench_large.sh: $B not built (make bench-large)" >&2
    exit 1
fi
if ! command -v /usr/bin/time >/dev/null 2>&1; then
    echo "bench_large.sh: /usr/bin/time (package time) is needed for peak RSS" >&2
    exit 1
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT INT TERM
db="$T/large.db"

/usr/bin/time -v "$B" compile "$db" "$N" mixed > "$T/compile" 2> "$T/time" || {
    cat "$T/time" >&2; exit 1; }
rss=$(awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); print $2 }' "$T/time")
secs=$(sed -n 's/.*total_s=\([0-9.]*\).*/\1/p' "$T/compile")
size=$(stat -c %s "$db")
"$B" lookup "$db" "$N" mixed > "$T/lookup"
lrc=$?
cat "$T/compile" "$T/lookup"
awk -v n="$N" -v s="$size" -v t="$secs" -v r="$rss" 'BEGIN {
    printf "RESULT large mixed n=%d compile_s=%.1f file_bytes=%d\n", n, t, s
    printf "RESULT large mixed compile_peak_rss_mib=%.0f rss_to_file=%.2f (target <= 2)\n", r / 1024, r * 1024 / s }'
sed -n 's/^lookup open_ms=\([0-9.]*\) present_ns=\([0-9]*\) absent_ns=\([0-9]*\) timer_ns=\([0-9]*\) one_random_read_ns=\([0-9]*\) two_lines_ns=\([0-9]*\) nine_lines_ns=\([0-9]*\).*/\1 \2 \3 \4 \5 \6 \7/p' \
    "$T/lookup" | while read -r o p a tm one two nine; do
    echo "RESULT large mixed open_ms=$o (target < 10)"
    echo "RESULT large mixed lookup_median_ns present=$p absent=$a (incl. ${tm} ns clock overhead; target < 200)"
    echo "RESULT large mixed lookup_floor_ns one_random_read=$one (one byte read at a random place of the same mapping, timed the same way, for comparison)"
    echo "RESULT large mixed lookup_window_ns two_lines=$two nine_lines=$nine (2 or 9 consecutive 64-byte lines read at once: what a window of rows costs beside one line)"
done
[ "$lrc" = 0 ] || echo "RESULT large mixed lookup WRONG ANSWERS (exit $lrc)"
exit "$lrc"
