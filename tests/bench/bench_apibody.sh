#!/bin/sh
# bench_apibody.sh - the JSON body parser (issue 21): MB/s on 1 MiB of
# ordinary API JSON (compact and pretty-printed) beside memchr and SHA-256
# over the same bytes, and on 10 MiB of JSON holding one 8 MiB base64
# value, decoded and hashed, against decoding and hashing that value
# alone. No target here: the targets are the nginx module's
# (tests/bench/bench_nginx.sh); these say what the parser itself costs.
# SPDX-License-Identifier: BSD-2-Clause
set -u
BIN=${HG_BIN:-build}/bench/bench_apibody
if [ ! -x "$BIN" ]; then
    echo "bench_apibody: $BIN not built (make bench)" >&2
    exit 1
fi
exec "$BIN"
