#!/bin/sh
# bench_nginx_archive.sh - nginx uploads of 1 MiB zips with archive scanning
# on against off, beside the floor of inflating them, and the sandboxed
# helpers' memory per nginx worker (see bench_nginx_archive.py).
# SPDX-License-Identifier: BSD-2-Clause
set -eu
TOP=${HG_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
export HG_TOP="$TOP" HG_BIN="${HG_BIN:-$TOP/${BUILD:-build}}"
exec python3 "$TOP/tests/bench/bench_nginx_archive.py"
