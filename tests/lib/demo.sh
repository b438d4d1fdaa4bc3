#!/bin/sh
# demo.sh - `make demo`: show hashgate doing its job on loopback, with
# synthetic files only. Each part sets up what it needs in a temp dir, shows
# what happens, and cleans up after itself.
# SPDX-License-Identifier: BSD-2-Clause
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
export HG_TOP="$TOP" HG_BIN="$TOP/$BUILD"

status=0
for part in cli milter nginx; do
    script="$TOP/tests/lib/demo_$part.sh"
    [ -f "$script" ] || continue
    echo
    echo "=================== hashgate demo: $part ==================="
    sh "$script" || { status=1; echo "demo part '$part' failed" >&2; }
done
exit $status
