#!/bin/sh
# build.sh - build ngx_http_hashgate_module.so for Debian's packaged nginx.
#
# Called by the Makefile as `BUILD=<dir> CC=<cc> sh nginx-module/build.sh`.
# Debian's nginx-dev ships nginx's configure tree in /usr/share/nginx/src,
# pinned to the installed nginx; configuring a copy of it with the flags
# Debian used (its conf_flags file, which include --with-compat) gives a
# module the packaged binary loads. The copy is configured once into
# $BUILD/nginx-src and rebuilt incrementally: objs/Makefile tracks the
# module's sources and our headers; a newer libhashgate.a forces a relink.
# Output goes to $BUILD/nginx-module.log and is shown only on failure.
# HG_NGX_CC_OPT / HG_NGX_LD_OPT add compiler and linker flags (e.g. for a
# sanitizer build, whose nginx is then run with the runtime in LD_PRELOAD).
# SPDX-License-Identifier: BSD-2-Clause
set -eu

BUILD=${BUILD:-build}
CC=${CC:-cc}
TOP=$(cd "$(dirname "$0")/.." && pwd)
case "$BUILD" in /*) OUT=$BUILD ;; *) OUT=$TOP/$BUILD ;; esac
NGX_DEV=/usr/share/nginx/src
SRC=$OUT/nginx-src
LOG=$OUT/nginx-module.log
MOD=ngx_http_hashgate_module
HG_LIB=$OUT/libhashgate.a
HG_GEN=$OUT/gen
export HG_LIB HG_GEN

fail() {
    echo "nginx-module/build.sh: $1 (log: $LOG)" >&2
    tail -n 40 "$LOG" >&2 2>/dev/null || true
    exit 1
}

[ -f "$NGX_DEV/conf_flags" ] || { echo "nginx-module/build.sh: $NGX_DEV missing (install nginx-dev)" >&2; exit 1; }
[ -f "$HG_LIB" ] || { echo "nginx-module/build.sh: $HG_LIB missing (build libhashgate.a first)" >&2; exit 1; }
mkdir -p "$OUT"
: > "$LOG"

if [ ! -f "$SRC/configure" ]; then
    rm -rf "$SRC"
    cp -r "$NGX_DEV" "$SRC"
fi

# Reconfigure when the module's config (its source list) or the flags change.
stamp=$SRC/.hashgate-configured
CC_OPT="-g -O2 -fstack-protector-strong -Wformat -Werror=format-security -fPIC -Wdate-time -D_FORTIFY_SOURCE=2 ${HG_NGX_CC_OPT:-}"
LD_OPT="-Wl,-z,relro -Wl,-z,now -fPIC ${HG_NGX_LD_OPT:-}"
want="$CC $CC_OPT $LD_OPT $HG_GEN $(cat "$NGX_DEV/conf_flags") $(cksum < "$TOP/nginx-module/config")"
if [ ! -f "$SRC/objs/Makefile" ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    # conf_flags is a bash array assignment: NGX_CONF_FLAGS=( ... )
    flags=$(sed -n 's/^NGX_CONF_FLAGS=( *\(.*\) *)$/\1/p' "$NGX_DEV/conf_flags")
    [ -n "$flags" ] || fail "cannot read $NGX_DEV/conf_flags"
    # shellcheck disable=SC2086
    (cd "$SRC" && ./configure $flags --with-cc="$CC" \
        --with-cc-opt="$CC_OPT" --with-ld-opt="$LD_OPT" \
        --add-dynamic-module="$TOP/nginx-module") >> "$LOG" 2>&1 \
        || fail "nginx configure failed"
    echo "$want" > "$stamp"
fi

so=$SRC/objs/$MOD.so
if [ -f "$so" ] && [ "$HG_LIB" -nt "$so" ]; then
    rm -f "$so"
fi

(cd "$SRC" && make -f objs/Makefile modules) >> "$LOG" 2>&1 || fail "module build failed"
cp "$so" "$OUT/$MOD.so.tmp"
mv "$OUT/$MOD.so.tmp" "$OUT/$MOD.so"
