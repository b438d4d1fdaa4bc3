#!/bin/sh
# bench_milter.sh - Postfix with hashgate-milter vs without (mails/s, unix
# socket and TCP, 100 KiB and 2 MiB attachments, 1M SHA-256 list) and the
# milter's private memory. See bench_milter.py; prints RESULT lines.
# BENCH_DIGESTS, BENCH_REPEAT, BENCH_N_100K, BENCH_N_2M scale it down.
set -u
exec python3 "$(dirname "$0")/bench_milter.py"
