# SPDX-License-Identifier: BSD-2-Clause
"""test_info_lookup.py - `hashgate info` (lists, counts, provenance, --verify)
and `hashgate lookup` (lists a digest is on, exit codes)."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clihelp import HG, Suite, both, err, md5, out, rand_bytes, sha256  # noqa: E402

t = Suite("info")
files = [rand_bytes(200 + i, 700 + i) for i in range(8)]

a = t.write("a.txt", "".join(sha256(f) + "\n" for f in files[0:3]))
b = t.write("b.hdb", "".join("%s:%d:Synth.%d\n" % (md5(f), len(f), i)
                             for i, f in enumerate(files[3:5])))
allow = t.write("allow.txt", sha256(files[0]) + "\n")
p = t.run("compile", "-o", "db", "alpha=a.txt@2024-05-01", "beta=b.hdb",
          "--allow", "fp=allow.txt")
t.check(p.returncode == 0, "a database with two block lists and an "
        "allow-list compiles", both(p))

i = t.run("info", "db")
o = out(i)
t.check(i.returncode == 0, "info exits 0 on a good database", both(i))
t.check("format:   version " in o and "size:     %d bytes"
        % os.path.getsize(t.path("db")) in o,
        "info shows the format version and the file size", o)
t.check("md5 2, sha1 0, sha256 3" in o,
        "info counts distinct digests per algorithm (shared ones once)", o)
# format 5 (as 4): one 64-byte filter block for the 2 MD5 and one for the 3 SHA-256
t.check("format:   version 6" in o and "\nfilter:   128 bytes (" in o,
        "info shows the size of the absent-digest filters", o)
t.check("list alpha\n  version:  2024-05-01\n  kind:     block\n"
        "  entries:  3" in o, "info shows list alpha's version, kind and "
        "entries", o)
t.check("list fp\n  version:  -\n  kind:     allow\n  entries:  1" in o,
        "info shows the allow-list as kind allow", o)
with open(a, "rb") as f:
    want = "source:   a.txt sha256:" + sha256(f.read())
t.check(want in o, "info shows each source file with its SHA-256", o)
t.check("compiled: 2023-11-14T22:13:20Z" in o,
        "info shows each list's compile time in RFC 3339", o)

p = t.run("info", "--verify", "db")
t.check(p.returncode == 0 and "checksum: ok" in out(p),
        "info --verify accepts an intact database (exit 0)", both(p))

data = bytearray(open(t.path("db"), "rb").read())
data[len(data) - 9] ^= 0x01             # a bit in the tail: tables, not header
t.write("flipped", bytes(data))
p = t.run("info", "--verify", "flipped")
t.check(p.returncode == 2 and "flipped" in err(p),
        "info --verify refuses a database with one bit flipped (exit 2)",
        both(p))
t.write("short", bytes(data[:len(data) // 2]))
p = t.run("info", "short")
t.check(p.returncode == 2 and "short" in err(p),
        "info refuses a truncated database, naming it", both(p))
p = t.run("info", "nonexistent.db")
t.check(p.returncode == 2 and "nonexistent.db" in err(p),
        "info on a missing file exits 2 naming it", both(p))
p = t.run("info")
t.check(p.returncode == 2, "info without a database is a usage error", both(p))

# ---- lookup ----
p = t.run("lookup", "db", sha256(files[1]))
t.check(p.returncode == 1 and "alpha version 2024-05-01" in out(p),
        "lookup of a listed digest names its list and version (exit 1)",
        both(p))
p = t.run("lookup", "db", sha256(files[0]))
t.check(p.returncode == 1 and "alpha" in out(p) and "fp" in out(p)
        and "allow-list" in out(p),
        "lookup shows every list a digest is on, allow-lists marked", both(p))
p = t.run("lookup", "db", md5(files[3]).upper())
t.check(p.returncode == 1 and "beta" in out(p) and "size %d" % len(files[3])
        in out(p) and 'label "Synth.0"' in out(p),
        "lookup takes uppercase hex and shows size and label", both(p))
p = t.run("lookup", "db", sha256(files[7]), md5(files[7]))
t.check(p.returncode == 0 and out(p).count("not found") == 2,
        "lookup of absent digests says not found (exit 0)", both(p))
p = t.run("lookup", "db", "xyz", sha256(files[1]))
t.check(p.returncode == 2 and "xyz" in err(p) and "alpha" in out(p),
        "lookup with bad hex exits 2 and still looks up the others", both(p))
p = t.run("lookup", "db", "a" * 33)
t.check(p.returncode == 2, "a 33-character digest is refused", both(p))
p = t.run("lookup", "--help")
t.check(p.returncode == 0 and "Usage" in out(p), "lookup --help", both(p))

# ---- the tool itself ----
p = t.run()
t.check(p.returncode == 2 and "Usage" in err(p),
        "hashgate without a command prints usage and exits 2", both(p))
p = t.run("frobnicate")
t.check(p.returncode == 2 and "frobnicate" in err(p),
        "an unknown command is named and exits 2", both(p))
p = t.run("--help")
t.check(p.returncode == 0 and all(c in out(p) for c in
                                  ("compile", "info", "lookup", "diff", "scan")),
        "hashgate --help lists every command", both(p))
p = t.run("--version")
t.check(p.returncode == 0 and out(p).startswith("hashgate "),
        "hashgate --version", both(p))
for cmd in ("compile", "info", "lookup", "diff", "scan"):
    p = t.run(cmd, "--help")
    t.check(p.returncode == 0 and out(p).startswith("Usage: hashgate " + cmd),
            "hashgate %s --help exits 0 with its usage" % cmd, both(p))

# ---- output that cannot be written is an error, whatever the command ----
def to_full(*args):
    with open("/dev/full", "w") as full:
        return subprocess.run([HG] + list(args), stdout=full,
                              stderr=subprocess.PIPE, cwd=t.dir, timeout=60)


for args, name in ((("info", "db"), "info"),
                   (("lookup", "db", sha256(files[1])), "lookup (a match)"),
                   (("lookup", "db", "0" * 64), "lookup (not found)"),
                   (("diff", "db", "db"), "diff"),
                   (("scan", "-d", "db", t.path("db")), "scan")):
    p = to_full(*args)
    t.check(p.returncode == 2 and b"writing to standard output failed"
            in p.stderr, "%s with stdout on a full disk says so and exits 2"
            % name, "exit %d, stderr %r" % (p.returncode, p.stderr[:300]))

t.done()
