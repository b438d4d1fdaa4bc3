#!/bin/sh
# build-deb.sh - build hashgate's Debian packages into build/packages/.
#
# `make deb` runs this. The source tree is copied (without build output or
# .git) to a temporary directory, packaging/debian becomes debian/ there,
# and `dpkg-buildpackage -us -uc -b` builds hashgate-tools, hashgate-milter
# and libnginx-mod-http-hashgate. Nothing is written into the work tree
# but build/packages/. LINTIAN=1 also runs lintian on the result.
# SPDX-License-Identifier: BSD-2-Clause
set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$TOP/build/packages}

# The package version is debian/changelog's; it must be the code's.
code_version=$(sed -n 's/^#define HG_VERSION *"\(.*\)"/\1/p' \
    "$TOP/common/include/hashgate/version.h")
deb_version=$(dpkg-parsechangelog -l "$TOP/packaging/debian/changelog" -S Version)
if [ "$code_version" != "$deb_version" ]; then
    echo "build-deb.sh: version.h says $code_version but" \
         "packaging/debian/changelog says $deb_version" >&2
    exit 1
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/hashgate-deb.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM
SRC=$WORK/hashgate-$deb_version
mkdir -p "$SRC"

# Only the parts that make the packages: never build*/ output of a
# developer's tree, nor .git. (Each .deb carries the licence as
# /usr/share/doc/PKG/copyright, from debian/copyright, not as LICENSE.)
for f in Makefile README.md LICENSE common cli milter inspect nginx-module packaging docs; do
    [ -e "$TOP/$f" ] && cp -a "$TOP/$f" "$SRC/"
done
rm -rf "$SRC/debian"
cp -a "$TOP/packaging/debian" "$SRC/debian"

echo "build-deb.sh: building in $SRC"
(cd "$SRC" && DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-parallel=2}" \
    dpkg-buildpackage -us -uc -b) > "$WORK/build.log" 2>&1 || {
    tail -n 60 "$WORK/build.log" >&2
    echo "build-deb.sh: dpkg-buildpackage failed" >&2
    exit 1
}

mkdir -p "$OUT"
changes=$WORK/hashgate_${deb_version}_$(dpkg-architecture -qDEB_HOST_ARCH).changes
for f in $(sed -n '/^Files:/,/^[^ ]/s/^ [0-9a-f]* [0-9]* [^ ]* [^ ]* //p' "$changes"); do
    cp "$WORK/$f" "$OUT/"
done
cp "$changes" "$OUT/"
cp "$WORK/build.log" "$OUT/build-deb.log"

if [ -n "${LINTIAN:-}" ]; then
    lintian --fail-on error,warning --info "$OUT/$(basename "$changes")"
fi
ls -1 "$OUT"/*.deb
