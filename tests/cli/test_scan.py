# SPDX-License-Identifier: BSD-2-Clause
"""test_scan.py - `hashgate scan` on files, directories and stdin: exit codes
0/1/2, clamscan-style lines, JSON fields, allow-lists."""
import os
import struct
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clihelp import (Suite, both, err, md5, out, rand_bytes, sha1,  # noqa: E402
                     sha256)

t = Suite("scan")
files = [rand_bytes(300 + i, 1000 + 13 * i) for i in range(8)]


def png(seed):
    ihdr = struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk
            + struct.pack(">I", zlib.crc32(chunk)) + rand_bytes(seed, 300))


img = png(7)
t.write("block.txt", "%s\n%s\n" % (sha256(files[0]), sha256(img)))
t.write("block.hdb", "%s:%d:Synth.Label\n" % (md5(files[1]), len(files[1])))
t.write("allow.txt", sha256(files[2]) + "\n")
t.write("also.txt", md5(files[2]) + "\n")
p = t.run("compile", "-o", "db", "blk=block.txt@v7", "clam=block.hdb",
          "blk=also.txt", "--allow", "fp=allow.txt")
t.check(p.returncode == 0, "test database compiles", both(p))

clean = t.write("in/clean.bin", files[5])
listed = t.write("in/listed.bin", files[0])

p = t.run("scan", "-d", "db", clean)
t.check(p.returncode == 0 and out(p) == clean + ": OK\n",
        "a clean file prints PATH: OK and exits 0", both(p))
p = t.run("scan", "-d", "db", listed)
t.check(p.returncode == 1 and out(p) == listed + ": blk FOUND\n",
        "a listed file prints PATH: LIST FOUND and exits 1", both(p))
p = t.run("scan", "-d", "db", clean, "in/nothere.bin")
t.check(p.returncode == 2 and "in/nothere.bin: ERROR" in out(p)
        and "in/nothere.bin" in err(p),
        "a missing file prints PATH: ERROR, is named on stderr, exits 2",
        both(p))
p = t.run("scan", "-d", "db", listed, "in/nothere.bin")
t.check(p.returncode == 2, "an error outranks a match in the exit status",
        both(p))

# ---- directories ----
t.write("tree/a/1.bin", files[3])
t.write("tree/a/b/c/2.bin", files[1])
t.write("tree/z.bin", files[4])
t.write("tree/a/b/3.png", img)
p = t.run("scan", "-d", "db", "--no-images", "tree")
lines = out(p).splitlines()
t.check(p.returncode == 1 and lines == [
    "tree/a/1.bin: OK", "tree/a/b/3.png: blk FOUND",
    "tree/a/b/c/2.bin: clam FOUND", "tree/z.bin: OK"],
    "a directory is scanned recursively, in name order", both(p))
# images on (the default): 3.png's bytes after its header are random, so
# a second line says it did not decode (not an error: exit 1, the match)
p = t.run("scan", "-d", "db", "tree")
lines = out(p).splitlines()
t.check(p.returncode == 1 and len(lines) == 5
        and lines[2].startswith("tree/a/b/3.png: IMAGE png NOT CHECKED "
                                "(image not decoded: png: "),
        "an image that does not decode: its own line, NOT CHECKED, not an "
        "error", both(p))

# ---- JSON ----
p = t.run("scan", "--json", "--no-images", "tree/a/b/3.png", "in/clean.bin")
try:
    objs = t.jsonl(p)
except ValueError as e:
    objs = []
    t.check(False, "scan --json prints valid JSON lines", e)
t.check(p.returncode == 0 and len(objs) == 2,
        "without -d, scan --json prints one line per file and exits 0",
        both(p))
if len(objs) == 2:
    o = objs[0]
    t.check(o.get("path") == "tree/a/b/3.png" and o.get("size") == len(img)
            and o.get("md5") == md5(img) and o.get("sha1") == sha1(img)
            and o.get("sha256") == sha256(img),
            "without -d, JSON has path, size and all three digests", o)
    t.check(o.get("detected_type") == "image/png",
            "detected_type is libmagic's (image/png)", o)
    t.check(o.get("matches") == [] and o.get("verdict") == "clean",
            "without a database nothing matches: verdict clean", o)

p = t.run("scan", "-d", "db", "--json", "--no-images", "tree/a/b/3.png",
          "tree/a/b/c/2.bin",
          "in/clean.bin", "in/nothere.bin")
objs = t.jsonl(p)
t.check(p.returncode == 2 and len(objs) == 4, "one JSON line per object, "
        "errors included", both(p))
if len(objs) == 4:
    m = objs[0]["matches"]
    t.check(objs[0]["verdict"] == "match" and len(m) == 1
            and m[0]["list"] == "blk" and m[0]["version"] == "v7"
            and m[0]["algorithm"] == "sha256",
            "a match names list, version and algorithm", objs[0])
    t.check(objs[1]["verdict"] == "match"
            and objs[1]["matches"][0]["label"] == "Synth.Label"
            and objs[1]["matches"][0]["algorithm"] == "md5",
            "a match carries the entry's label", objs[1])
    t.check("md5" in objs[2] and "sha256" in objs[2] and "sha1" not in objs[2],
            "with -d only the digests the database needs are computed",
            objs[2])
    t.check(objs[3]["verdict"] == "error" and "error" in objs[3]
            and objs[3]["path"] == "in/nothere.bin",
            "an unreadable path gives verdict error with the reason", objs[3])

# ---- allow-list ----
allowed = t.write("in/allowed.bin", files[2])
p = t.run("scan", "-d", "db", allowed)
t.check(p.returncode == 0 and "OK (allowed by fp)" in out(p),
        "an allow-listed file on a block list is OK (exit 0)", both(p))
p = t.run("scan", "-d", "db", "--json", allowed)
o = t.jsonl(p)[0] if p.stdout else {}
t.check(o.get("verdict") == "clean" and o.get("allowed_by") == "fp"
        and any(x["list"] == "blk" for x in o.get("matches", [])),
        "JSON: verdict clean with allowed_by, the block match still shown", o)

# ---- stdin ----
p = t.run("scan", "-d", "db", "-", stdin=files[0])
t.check(p.returncode == 1 and out(p) == "-: blk FOUND\n",
        "scan - reads stdin and finds a listed object", both(p))
big = rand_bytes(9, 3 * 1024 * 1024 + 11)
p = t.run("scan", "--json", "-", stdin=big)
o = t.jsonl(p)[0] if p.stdout else {}
t.check(p.returncode == 0 and o.get("sha256") == sha256(big)
        and o.get("size") == len(big),
        "a 3 MiB object on stdin hashes to its SHA-256", o)
p = t.run("scan", "--json", "-", stdin=b"")
o = t.jsonl(p)[0] if p.stdout else {}
t.check(o.get("size") == 0 and o.get("sha256") == sha256(b""),
        "an empty object has size 0 and the empty SHA-256", o)

# ---- text that is not mail stays a file ----
note = t.write("note.txt", "Note: this is not a message\nTodo: nothing\n\nx\n")
p = t.run("scan", "--json", note)
o = t.jsonl(p)[0] if p.stdout else {}
t.check("part" not in o and o.get("sha256") == sha256(open(note, "rb").read()),
        "a text file with colon lines is hashed as a file, not as mail", o)

# ---- file names are data: no faked or hidden report lines ----
odd = t.write("odd/a\nfake: OK\x1b[8m", files[0])
p = t.run("scan", "-d", "db", t.path("odd"))
t.check(p.returncode == 1 and out(p).count("\n") == 1
        and "a\\x0afake: OK\\x1b[8m: blk FOUND" in out(p),
        "a file name with a newline and an escape sequence is printed "
        "escaped, on one line", both(p))

# ---- usage ----
p = t.run("scan", "-d", "nosuch.db", clean)
t.check(p.returncode == 2 and "nosuch.db" in err(p),
        "a missing database is an error naming it (exit 2)", both(p))
p = t.run("scan")
t.check(p.returncode == 2, "scan without a path is a usage error", both(p))
p = t.run("scan", "--bogus", clean)
t.check(p.returncode == 2 and "--bogus" in err(p),
        "an unknown option is a usage error naming it", both(p))
p = t.run("scan", "--help")
t.check(p.returncode == 0 and "--json" in out(p), "scan --help", both(p))

t.done()
