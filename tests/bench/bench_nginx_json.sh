#!/bin/sh
# bench_nginx_json.sh - nginx with the module parsing JSON bodies (issue 21):
# a 10 MiB body with an 8 MiB base64 image against the floor of hashing and
# decoding it, and 1 MiB of ordinary API data with hashgate_json on against
# off. Prints RESULT lines (see bench_nginx_json.py).
# SPDX-License-Identifier: BSD-2-Clause
set -eu
TOP=${HG_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export HG_TOP="$TOP" HG_BIN="${HG_BIN:-$TOP/${BUILD:-build}}"
exec python3 "$TOP/tests/bench/bench_nginx_json.py"
