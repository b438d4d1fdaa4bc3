#!/bin/sh
# deps.sh - install every build and test dependency from Debian's packages.
# Idempotent and quick when everything is there. Never starts the system's
# postfix or nginx: a policy-rc.d forbids service starts while installing,
# and Postfix is preseeded to "No configuration"; tests run private instances.
# SPDX-License-Identifier: BSD-2-Clause
set -eu

PKGS="gcc clang make pkg-config file ca-certificates openssl
libssl-dev libmagic-dev libmagic-mgc libexpat1-dev libcmocka-dev libmilter-dev
libarchive-dev libseccomp-dev libarchive-tools 7zip libsystemd-dev
libpng-dev libgif-dev libjpeg62-turbo-dev libwebp-dev
zlib1g-dev liblzma-dev libzstd-dev xz-utils zstd libxml2-dev libxml2-utils
libcurl4-openssl-dev libmicrohttpd-dev prometheus rsync
libclang-rt-14-dev
postfix nginx nginx-dev swaks wrk curl python3 procps psmisc
debhelper dpkg-dev fakeroot rpm rpmlint lintian valgrind logrotate time strace"

missing=""
for p in $PKGS; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$st" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
    esac
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "deps: need root to install:$missing" >&2
    exit 1
fi

echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections

made_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    made_policy=1
fi
cleanup() { [ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d; }
trap cleanup EXIT

apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
