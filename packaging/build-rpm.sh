#!/bin/sh
# build-rpm.sh - build hashgate's RPM packages into build/packages/.
#
# `make rpm` builds the binaries into $BUILD (default build/) and runs this.
# A tarball of the source tree, with those binaries in its build/, is
# given to `rpmbuild -bb --nodeps --with prebuilt`: on this Debian machine
# rpm cannot see the Debian packages the build needs, and the binaries are
# the ones `make` has just built and the tests ran. PREBUILT=0 makes the
# spec build from source instead (as it would on an RPM distribution).
# SPDX-License-Identifier: BSD-2-Clause
set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) BIN=$BUILD ;; *) BIN=$TOP/$BUILD ;; esac
OUT=${OUT:-$TOP/build/packages}
SPEC=$TOP/packaging/rpm/hashgate.spec

code_version=$(sed -n 's/^#define HG_VERSION *"\(.*\)"/\1/p' \
    "$TOP/common/include/hashgate/version.h")
spec_version=$(sed -n 's/^Version: *//p' "$SPEC")
if [ "$code_version" != "$spec_version" ]; then
    echo "build-rpm.sh: version.h says $code_version but hashgate.spec" \
         "says $spec_version" >&2
    exit 1
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/hashgate-rpm.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM
NV=hashgate-$code_version
mkdir -p "$WORK/stage/$NV" "$WORK/SOURCES"
for f in Makefile README.md LICENSE common cli milter inspect nginx-module packaging docs; do
    [ -e "$TOP/$f" ] && cp -a "$TOP/$f" "$WORK/stage/$NV/"
done

with=""
if [ "${PREBUILT:-1}" != 0 ]; then
    mkdir -p "$WORK/stage/$NV/build"
    for b in hashgate hashgate-milter hashgate-inspect \
             ngx_http_hashgate_module.so; do
        if [ ! -f "$BIN/$b" ]; then
            echo "build-rpm.sh: $BIN/$b missing: run make all first" >&2
            exit 1
        fi
        cp -a "$BIN/$b" "$WORK/stage/$NV/build/"
    done
    with="--with prebuilt"
fi
tar -C "$WORK/stage" -czf "$WORK/SOURCES/$NV.tar.gz" "$NV"

# The nginx module requires the nginx it was built against, as the .deb
# does with nginx-abi-*: Fedora's nginx provides nginx(abi) = its version.
set --
ngx=$(dpkg-query -W -f='${Version}' nginx-dev 2>/dev/null | sed 's/^[0-9]*://; s/-.*//') || ngx=
if [ -n "$ngx" ]; then
    set -- --define "_nginx_abiversion $ngx"
fi

# shellcheck disable=SC2086
rpmbuild -bb --nodeps $with --define "_topdir $WORK" "$@" "$SPEC" \
    > "$WORK/rpmbuild.log" 2>&1 || {
    tail -n 40 "$WORK/rpmbuild.log" >&2
    echo "build-rpm.sh: rpmbuild failed" >&2
    exit 1
}

mkdir -p "$OUT"
cp "$WORK"/RPMS/*/*.rpm "$OUT/"
cp "$WORK/rpmbuild.log" "$OUT/build-rpm.log"
ls -1 "$OUT"/*.rpm
