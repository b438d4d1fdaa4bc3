#!/bin/sh
# bench_unpack.sh - MIME unpack + hash of a 2 MiB base64 attachment against
# hashing the same decoded bytes directly, both measured in one run.
# Target (issue 5): ratio >= 0.8.
set -u
BIN=${HG_BIN:-build}/bench/bench_unpack
if [ ! -x "$BIN" ]; then
    echo "bench_unpack: $BIN not built (make bench)" >&2
    exit 1
fi
exec "$BIN"
