#!/bin/sh
# build_nginx.sh - build what tests/fuzz/fuzz_nginx_conf.py runs: the nginx
# module, libhashgate.a under it and the hashgate CLI (which compiles the
# fixture databases), all with gcc's ASan and UBSan, into
# $FUZZ_BUILD/nginx-asan/ (default build-fuzz/nginx-asan/).
#
# The same flags as `make asan`: gcc, because Debian's nginx is not
# sanitized and loads the module with gcc's runtimes in LD_PRELOAD (clang's
# libFuzzer runtime is for the in-process targets of build.sh). Incremental:
# the Makefile and nginx-module/build.sh rebuild only what changed. Output
# goes to $FUZZ_BUILD/nginx-asan.log and is shown only on failure.
# SPDX-License-Identifier: BSD-2-Clause
set -eu

TOP=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${FUZZ_BUILD:-$TOP/build-fuzz}
case "$OUT" in /*) ;; *) OUT=$TOP/$OUT ;; esac
DIR=$OUT/nginx-asan
LOG=$OUT/nginx-asan.log
SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"

mkdir -p "$OUT"
# Several `make test` runs may share the fuzz build dir: one build at a time.
exec 8> "$OUT/.nginx-asan.lock"
flock 8

if ! make -C "$TOP" -j2 BUILD="$DIR" CC=gcc OPT=-O1 SANITIZE="$SAN" \
        HG_NGX_CC_OPT="$SAN" HG_NGX_LD_OPT="$SAN" \
        "$DIR/hashgate" "$DIR/ngx_http_hashgate_module.so" > "$LOG" 2>&1; then
    echo "build_nginx.sh: build failed (log: $LOG)" >&2
    tail -n 30 "$LOG" >&2
    exit 1
fi
