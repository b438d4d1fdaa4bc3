#!/bin/sh
# test_json_roundtrip.sh - what the JSON writer emits parses with Python's
# json module and decodes to exactly Python's UTF-8 decoding with
# errors="replace" (one U+FFFD per maximal invalid subsequence), for
# hand-picked hostile strings and seeded random bytes.
# SPDX-License-Identifier: BSD-2-Clause
set -u
BIN=${HG_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/build}
TOOL=$BIN/tools/json_echo
if [ ! -x "$TOOL" ]; then
    echo "not ok - json_echo tool is built ($TOOL missing; run make unit)"
    exit 1
fi
exec python3 - "$TOOL" <<'PY'
import json, random, subprocess, sys

tool = sys.argv[1]
failed = 0

def check(what, data):
    global failed
    p = subprocess.run([tool], input=data, capture_output=True)
    out = p.stdout
    why = None
    if p.returncode != 0:
        why = "exit %d: %s" % (p.returncode, p.stderr.decode(errors="replace"))
    elif not out.endswith(b"\n") or out.count(b"\n") != 1:
        why = "output is not exactly one line"
    else:
        try:
            text = out.decode("utf-8")          # strict: must be valid UTF-8
            obj = json.loads(text)
        except (UnicodeDecodeError, ValueError) as e:
            why = "not valid UTF-8 JSON: %s" % e
        else:
            want = data.decode("utf-8", errors="replace")
            key = data.split(b"\0")[0].decode("utf-8", errors="replace")
            if obj.get("s") != want:
                why = "string decodes to %r, want %r" % (obj.get("s")[:40], want[:40])
            elif obj.get("n") != len(data):
                why = "length %r, want %d" % (obj.get("n"), len(data))
            elif list(obj.get("k", {}).keys()) != [key]:
                why = "key decodes wrong"
            elif any(ord(c) < 0x20 for c in text[:-1]):
                why = "a raw control character in the line"
    if why:
        failed += 1
        print("not ok - %s: %s" % (what, why))
    else:
        print("ok - %s round-trips through Python's json" % what)

cases = [
    ("plain ASCII", b"hello world"),
    ("quotes, backslashes and slashes", b'a"b\\c/d'),
    ("every control character and DEL", bytes(range(0x20)) + b"\x7f"),
    ("valid multibyte UTF-8", "caf\u00e9 \u20ac \U0001d11e \uffff \U0010ffff".encode()),
    ("U+2028 and U+2029", "a\u2028b\u2029c".encode()),
    ("stray continuation bytes", b"a\x80b\xbfc"),
    ("bytes that never start UTF-8", b"\xc0\xc1\xf5\xf8\xfe\xff"),
    ("overlong encodings", b"\xc0\xaf \xe0\x80\xaf \xf0\x80\x80\xaf \xc1\xbf"),
    ("UTF-16 surrogates encoded in UTF-8", b"\xed\xa0\x80 \xed\xbf\xbf \xed\xa0\xbd\xed\xb2\xa9"),
    ("code points above U+10FFFF", b"\xf4\x90\x80\x80 \xf7\xbf\xbf\xbf"),
    ("truncated sequences", b"\xe2\x82 \xf0\x9d\x84 \xc3"),
    ("a truncated sequence at the very end", b"abc\xe2\x82"),
    ("NUL bytes inside", b"a\0b\0"),
    ("a terminal escape sequence", b"\x1b[2J\x1b]0;owned\x07"),
    ("an empty string", b""),
]
for what, data in cases:
    check(what, data)

rnd = random.Random(20261126)
for i in range(40):
    n = rnd.choice([1, 2, 3, 7, 64, 1000, 70000])
    data = bytes(rnd.getrandbits(8) for _ in range(n))
    check("seeded random bytes #%d (%d bytes)" % (i, n), data)
# random mixes of valid and broken multibyte sequences
pieces = [b"\xc3\xa9", b"\xe2\x82\xac", b"\xf0\x9f\x98\x80", b"\xe2\x82",
          b"\xed\xa0\x80", b"\x80", b"\xf4\x90", b"a", b"\"", b"\\", b"\n"]
for i in range(20):
    data = b"".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 200)))
    check("seeded UTF-8 mix #%d" % i, data)

sys.exit(1 if failed else 0)
PY
