#!/bin/sh
# bench_unpack.sh - MIME unpack + hash of a 2 MiB base64 attachment against
# hashing the same decoded bytes directly, both measured in one run.
# Target (issue 5): ratio >= 0.8. Then 2 MiB of quoted-printable text with
# and without its three other readings (copies "N.d1" to "N.d3"): no
# target, the price of hashing them too (ideal 0.25: four decodes, four
# hashes).
# SPDX-License-Identifier: BSD-2-Clause
set -u
BIN=${HG_BIN:-build}/bench/bench_unpack
if [ ! -x "$BIN" ]; then
    echo "bench_unpack: $BIN not built (make bench)" >&2
    exit 1
fi
exec "$BIN"
