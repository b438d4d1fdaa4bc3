#!/bin/sh
# demo_cli.sh - the CLI part of `make demo`: make a list from synthetic
# files, compile it, inspect it, look a digest up, scan a directory.
# Everything happens in a temp dir that is removed at the end. The files are
# seeded random bytes: no real material is ever involved.
# SPDX-License-Identifier: BSD-2-Clause
set -eu
TOP=${HG_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
HG=${HG_BIN:-$TOP/build}/hashgate
[ -x "$HG" ] || { echo "demo: $HG is not built (run make)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hashgate-demo.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
cd "$tmp"

say() { printf '\n$ %s\n' "$*"; }

python3 - <<'EOF'
import os, random
os.makedirs("incoming", exist_ok=True)
for i, name in enumerate(["known-1.jpg", "known-2.jpg", "holiday.jpg", "report.pdf"]):
    data = random.Random(1000 + i).randbytes(20000 + 1000 * i)
    path = ("reference/" if name.startswith("known") else "incoming/") + name
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "wb").write(data)
EOF
cp reference/known-2.jpg incoming/upload-0042.bin
echo "Four synthetic files (seeded random bytes); two are 'known' reference items."

say "hashgate scan --json reference/ | (keep each sha256) > demo-list.txt"
"$HG" scan --json reference/ \
    | python3 -c 'import json,sys; [print(json.loads(l)["sha256"]) for l in sys.stdin]' \
    > demo-list.txt
cat demo-list.txt

say "hashgate compile -o demo.hgdb demo=demo-list.txt@$(date -u +%F)"
"$HG" compile -o demo.hgdb "demo=demo-list.txt@$(date -u +%F)" 2>&1

say "hashgate info --verify demo.hgdb"
"$HG" info --verify demo.hgdb

d=$(head -n 1 demo-list.txt)
say "hashgate lookup demo.hgdb ${d%????????????????????????????????????????????????}..."
set +e
"$HG" lookup demo.hgdb "$d"
echo "(exit $?: 1 = found)"

say "hashgate scan -d demo.hgdb incoming/holiday.jpg"
"$HG" scan -d demo.hgdb incoming/holiday.jpg
echo "(exit $?: 0 = nothing matched)"

say "hashgate scan -d demo.hgdb incoming/"
"$HG" scan -d demo.hgdb incoming/
echo "(exit $?: 1 = a match)"
set -e
