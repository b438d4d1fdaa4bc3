#!/bin/sh
# run.sh - `make soak DURATION=seconds`: hashgate-milter behind a private
# Postfix and nginx with the hashgate module, both under load for DURATION
# seconds (default 1800), every item's fate checked and RSS over time
# reported; see soak.py. Exits non-zero on a misclassified item, a crash or
# memory growth after warm-up.
# SPDX-License-Identifier: BSD-2-Clause
set -u

BUILD=${BUILD:-build}
DURATION=${DURATION:-1800}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
export HG_TOP="$TOP"
export HG_BIN="$TOP/$BUILD"
export BUILD DURATION

case "$DURATION" in
    ''|*[!0-9]*) echo "soak: DURATION must be a number of seconds" >&2; exit 2 ;;
esac

exec python3 "$TOP/tests/soak/soak.py"
