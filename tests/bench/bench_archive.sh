#!/bin/sh
# bench_archive.sh - inner-file throughput of archive inspection in the
# sandboxed helper against the floor (bsdtar -xOf A >/dev/null plus hashing
# the same bytes), for a ~100 MiB zip (deflate) and a tar.gz of mixed
# files (random, text, zeros; 4 KiB to 8 MiB). Target (issue 16): >= 0.8.
# BENCH_ARCHIVE_MIB scales the archives down.
# SPDX-License-Identifier: BSD-2-Clause
set -u
TOP=${HG_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${HG_BIN:-$TOP/${BUILD:-build}}
B="$BIN/bench/bench_inspect"
if [ ! -x "$B" ] || [ ! -x "$BIN/hashgate-inspect" ]; then
    echo "RESULT inspect: benchmark failed: $B or $BIN/hashgate-inspect not built"
    exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! python3 - "$tmp" "${BENCH_ARCHIVE_MIB:-100}" <<'PY'
import io, os, random, sys, tarfile, zipfile
out, mib = sys.argv[1], int(sys.argv[2])
rnd = random.Random(16)
words = [bytes(rnd.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rnd.randint(2, 9)))
         for _ in range(2000)]
files, total, i = [], 0, 0
while total < mib << 20:
    kind = i % 3
    size = rnd.choice([4 << 10, 64 << 10, 512 << 10, 2 << 20, 8 << 20])
    if kind == 0:
        data = rnd.randbytes(size)
    elif kind == 1:
        data = b" ".join(rnd.choice(words) for _ in range(size // 5))[:size]
    else:
        data = bytes(size)
    files.append(("d%02d/f%04d.bin" % (i % 7, i), data))
    total += len(data)
    i += 1
with zipfile.ZipFile(os.path.join(out, "mixed.zip"), "w", zipfile.ZIP_DEFLATED) as z:
    for name, data in files:
        z.writestr(name, data)
with tarfile.open(os.path.join(out, "mixed.tar.gz"), "w:gz") as t:
    for name, data in files:
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
PY
then
    echo "RESULT inspect: benchmark failed: cannot make the archives"
    exit 1
fi
for a in mixed.zip mixed.tar.gz; do
    for algs in sha256 all; do
        "$B" "$tmp/$a" "$algs" "$a" "$BIN/hashgate-inspect" \
            || echo "RESULT inspect $a $algs: benchmark failed"
    done
done
