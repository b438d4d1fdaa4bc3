# SPDX-License-Identifier: BSD-2-Clause
"""test_update.py - incremental updates (--base, --remove) give the same file
as a full compile; `hashgate diff` counts what changed per list."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clihelp import Suite, both, md5, out, rand_bytes, sha256  # noqa: E402

t = Suite("update")
objs = [rand_bytes(400 + i, 64 + i) for i in range(150)]


def lst(name, idx, alg=sha256):
    return t.write(name, "".join(alg(objs[i]) + "\n" for i in idx))


def same(a, b):
    with open(t.path(a), "rb") as f1, open(t.path(b), "rb") as f2:
        return f1.read() == f2.read()


lst("a.txt", range(0, 100))            # day 1 of list L
lst("m.txt", range(0, 20), md5)        # list M
lst("add.txt", range(100, 130))        # day 2: additions to L
lst("del.txt", range(0, 10))           # day 2: removals from L
lst("allow.txt", range(140, 145))

p = t.run("compile", "-o", "day1.db", "L=a.txt@1", "M=m.txt")
t.check(p.returncode == 0, "day 1 database compiles", both(p))

p = t.run("compile", "--base", "day1.db", "-o", "inc.db", "L=add.txt@2",
          "--remove", "L=del.txt")
t.check(p.returncode == 0, "--base with additions and --remove compiles",
        both(p))
p = t.run("compile", "-o", "full.db", "L=a.txt@2", "M=m.txt", "L=add.txt",
          "--remove", "L=del.txt")
t.check(p.returncode == 0, "the full compile of the same content compiles",
        both(p))
t.check(same("inc.db", "full.db"),
        "--base + additions + --remove is byte-identical to a full compile")

i = t.run("info", "inc.db")
t.check("list L\n  version:  2\n  kind:     block\n  entries:  120" in out(i),
        "the updated list has 100 + 30 - 10 entries and the new version",
        out(i))
t.check("list M\n  version:  -\n  kind:     block\n  entries:  20" in out(i),
        "a list the update did not name is carried over unchanged", out(i))
p = t.run("lookup", "inc.db", sha256(objs[5]), sha256(objs[125]))
t.check(p.returncode == 1 and sha256(objs[5]) + ": not found" in out(p)
        and sha256(objs[125]) + ": L version 2" in out(p),
        "a removed digest is gone and an added one is there", both(p))

# an allow-list added by an update
p = t.run("compile", "--base", "inc.db", "-o", "inc2.db", "--allow",
          "ok=allow.txt")
p2 = t.run("compile", "-o", "full2.db", "L=a.txt@2", "M=m.txt", "L=add.txt",
           "--remove", "L=del.txt", "--allow", "ok=allow.txt")
t.check(p.returncode == 0 and p2.returncode == 0 and same("inc2.db", "full2.db"),
        "an allow-list added with --base equals the full compile", both(p))

# ---- diff ----
p = t.run("diff", "day1.db", "inc.db")
lines = out(p).splitlines()
t.check(p.returncode == 1, "diff of different databases exits 1", both(p))
t.check("L: +30 -10 (100 -> 120 entries, version 1 -> 2)" in lines,
        "diff counts 30 added and 10 removed on L, and the version change",
        out(p))
t.check("M: +0 -0 (20 -> 20 entries)" in lines,
        "diff shows an unchanged list as +0 -0", out(p))
p = t.run("diff", "inc.db", "full.db")
t.check(p.returncode == 0, "diff of identical content exits 0", both(p))
p = t.run("diff", "inc.db", "inc2.db")
t.check(p.returncode == 1 and "ok: +5 -0 (new list)" in out(p),
        "diff reports a list only in NEW as new", both(p))
p = t.run("diff", "inc2.db", "day1.db")
t.check("ok: +0 -5 (list removed)" in out(p),
        "diff reports a list only in OLD as removed", both(p))
p = t.run("diff", "inc.db", "missing.db")
t.check(p.returncode == 2 and b"missing.db" in p.stderr,
        "diff with a missing database exits 2 naming it", both(p))

# ---- --remove of an unknown list; a bad base ----
p = t.run("compile", "--base", "day1.db", "-o", "x.db", "--remove", "Q=del.txt")
t.check(p.returncode == 2 and b"Q" in p.stderr,
        "--remove from a list that does not exist is an error", both(p))
t.write("junk.db", rand_bytes(1, 4096))
p = t.run("compile", "--base", "junk.db", "-o", "x.db", "L=add.txt")
t.check(p.returncode == 2 and b"junk.db" in p.stderr
        and not os.path.exists(t.path("x.db")),
        "a corrupt --base is refused and nothing is written", both(p))

t.done()
