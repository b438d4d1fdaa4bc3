#!/bin/sh
# test_makefile.sh - the build tracks real header dependencies and
# `make install` installs everything a user runs.
#
# `make -n -W FILE` asks make what it would rebuild if FILE had changed,
# without touching it, so the tree and the build stay as they are. It relies
# on the .d files -MMD wrote during the build `make test` has just done.
# SPDX-License-Identifier: BSD-2-Clause
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
cd "$TOP" || exit 1
failed=0

ok()    { echo "ok - $1"; }
notok() { echo "not ok - $1"; failed=1; }

# would_compile HEADER: the sources make would recompile if HEADER changed
would_compile() {
    make -n -W "$1" BUILD="$BUILD" all unit 2>/dev/null \
        | awk '$1 ~ /(^|\/)(cc|gcc|clang)$/ { for (i = 1; i <= NF; i++)
                   if ($i ~ /\.c$/) print $i }' | sort -u
}

if [ ! -d "$BUILD/obj" ]; then
    notok "a build exists to ask about ($BUILD/obj missing: run make all unit)"
    exit 1
fi

# A private header of the MIME stage rebuilds what includes it, not the
# database code.
mime=$(would_compile common/mime/decode.h)
if echo "$mime" | grep -q '^common/mime/decode_b64.c$' \
   && ! echo "$mime" | grep -q '^common/db/'; then
    ok "a change to common/mime/decode.h recompiles the decoders and not common/db/"
else
    notok "a change to common/mime/decode.h recompiles the decoders and not common/db/ (got: $(echo $mime))"
fi

db=$(would_compile common/db/db_format.h)
if echo "$db" | grep -q '^common/db/db_open.c$' \
   && ! echo "$db" | grep -q '^common/mime/'; then
    ok "a change to common/db/db_format.h recompiles the database code and not common/mime/"
else
    notok "a change to common/db/db_format.h recompiles the database code and not common/mime/ (got: $(echo $db))"
fi

# A public header everything uses still rebuilds nearly everything.
n=$(would_compile common/include/hashgate/status.h | wc -l)
if [ "$n" -ge 20 ]; then
    ok "a change to hashgate/status.h recompiles its $n users"
else
    notok "a change to hashgate/status.h recompiles its users (only $n would be)"
fi

# Nothing changed: nothing to do.
if [ -z "$(make -n BUILD="$BUILD" all unit 2>/dev/null | grep -E '(^|/)(cc|gcc|clang) ')" ]; then
    ok "an up-to-date build recompiles nothing"
else
    notok "an up-to-date build recompiles nothing"
fi

# make install puts the CLI, the milter, the archive helper, the nginx
# module and man pages under DESTDIR. The build's own PREFIX (the default
# unless the build was made with another): another one would rebuild the
# programs, which carry the helper's path.
P=$(sed -n 's|.*"\(.*\)/libexec/hashgate/hashgate-inspect"|\1|p' \
    "$BUILD/gen/inspect_path.h" 2>/dev/null)
P=${P:-/usr/local}
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT INT TERM
if make BUILD="$BUILD" install DESTDIR="$D" PREFIX=$P > "$D.log" 2>&1; then
    if grep -Eq '(^|/)(cc|gcc|clang) ' "$D.log"; then
        notok "make install with the build's PREFIX compiles nothing"
    else
        ok "make install with the build's PREFIX compiles nothing"
    fi
    for f in bin/hashgate sbin/hashgate-milter \
             libexec/hashgate/hashgate-inspect \
             lib/nginx/modules/ngx_http_hashgate_module.so \
             share/man/man1/hashgate.1 share/man/man8/hashgate-milter.8 \
             share/man/man5/hashgate-milter.conf.5; do
        if [ -f "$D$P/$f" ]; then
            ok "make install installs $P/$f"
        else
            notok "make install installs $P/$f"
        fi
    done
    # each installed program that starts the helper knows where it is
    for f in bin/hashgate sbin/hashgate-milter \
             lib/nginx/modules/ngx_http_hashgate_module.so; do
        grep -q hg_inspector_new "$D$P/$f" || continue
        if grep -q "$P/libexec/hashgate/hashgate-inspect" "$D$P/$f"; then
            ok "the installed $f looks for the helper where it was installed"
        else
            notok "the installed $f looks for the helper where it was installed"
        fi
    done
else
    notok "make install succeeds: $(tail -3 "$D.log")"
fi
rm -f "$D.log"
exit $failed
