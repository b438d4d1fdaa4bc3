# SPDX-License-Identifier: BSD-2-Clause
"""test_compile.py - `hashgate compile`: every input format, bad lines,
--strict, --format, shared list names, NAME=DIR/, reproducible output."""
import os
import pty
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clihelp import (HG, Suite, both, err, md5, out, rand_bytes,  # noqa: E402
                     sha1, sha256)

t = Suite("compile")
files = [rand_bytes(100 + i, 500 + 37 * i) for i in range(12)]


def info(db):
    return t.run("info", db)


def list_entries(info_text, name):
    m = re.search(r"^list %s\n(?:  .*\n)*?  entries:\s+(\d+)" % re.escape(name),
                  info_text, re.M)
    return int(m.group(1)) if m else None


# ---- plain text ----
t.write("plain.txt", "# synthetic list\r\n\r\n%s\r\n%s\n  %s  \n" % (
    md5(files[0]).upper(), sha1(files[1]), sha256(files[2])))
p = t.run("compile", "-o", "plain.db", "plain=plain.txt")
t.check(p.returncode == 0, "text list with comments, CRLF, blank lines and "
        "uppercase hex compiles", both(p))
i = info("plain.db")
t.check("md5 1, sha1 1, sha256 1" in out(i),
        "info counts one digest per algorithm from the text list", out(i))
t.check("plain.txt: plain: 3 entries, 0 skipped" in err(p),
        "compile summarises entries and skipped lines per file", err(p))

# ---- bad lines warned with file:line and counted ----
t.write("bad.txt", "%s\nnot-hex-at-all-but-32-chars-long\n%s\nabc123\n%s\n" % (
    sha256(files[3]), md5(files[4]), sha1(files[5])))
p = t.run("compile", "-o", "bad.db", "bad=bad.txt")
t.check(p.returncode == 0, "a list with bad lines still compiles by default",
        both(p))
t.check("bad.txt:2:" in err(p) and "bad.txt:4:" in err(p),
        "each bad line is warned as file:line", err(p))
t.check("3 entries, 2 skipped" in err(p),
        "the summary counts 3 entries and 2 skipped lines", err(p))
t.check(list_entries(out(info("bad.db")), "bad") == 3,
        "the good lines of a partly bad list are in the database")

# ---- --strict refuses ----
p = t.run("compile", "--strict", "-o", "strict.db", "bad=bad.txt")
t.check(p.returncode == 2, "--strict refuses a list with a bad line (exit 2)",
        both(p))
t.check("bad.txt:2:" in err(p), "--strict names the first bad line", err(p))
t.check(not os.path.exists(t.path("strict.db")),
        "--strict writes no database when it refuses")

# ---- ClamAV .hdb / .hsb ----
t.write("sigs.hdb", "%s:%d:Synthetic.Sample-1\n%s:%d:Synthetic.Sample-2:73\n"
        % (md5(files[6]), len(files[6]), md5(files[7]), len(files[7])))
t.write("sigs.hsb", "%s:*:Synthetic.Sha256-1\n%s:%d:Synthetic.Sha1-1\n"
        % (sha256(files[8]), sha1(files[9]), len(files[9])))
p = t.run("compile", "-o", "clam.db", "clam=sigs.hdb", "clam=sigs.hsb")
t.check(p.returncode == 0, "ClamAV .hdb and .hsb files compile into one list",
        both(p))
t.check(list_entries(out(info("clam.db")), "clam") == 4,
        "several files under one list name add up (4 entries)")
p = t.run("lookup", "clam.db", md5(files[6]))
t.check(p.returncode == 1 and "size %d" % len(files[6]) in out(p)
        and 'label "Synthetic.Sample-1"' in out(p),
        "an .hdb entry keeps its size and name as label", both(p))
p = t.run("scan", "-d", "clam.db", t.write("wrongsize.bin", files[6] + b"x"))
t.check(p.returncode == 0,
        "a sized entry does not match an object of another size", both(p))

# ---- CSV (quoted fields) and INTERPOL ICSE style ----
t.write("export.csv", 'id,MD5,SHA256,size,label\n'
        '1,%s,,%d,"case 7, item ""a"""\n'
        '2,,%s,,plain\n' % (md5(files[10]), len(files[10]), sha256(files[11])))
p = t.run("compile", "-o", "csv.db", "csv=export.csv")
t.check(p.returncode == 0 and "2 entries, 0 skipped" in err(p),
        "CSV with a header naming the digest columns compiles", both(p))
p = t.run("lookup", "csv.db", md5(files[10]))
t.check(p.returncode == 1 and 'case 7, item \\x22a\\x22' in out(p),
        "a quoted CSV label with a comma and quotes survives", both(p))
t.write("icse.csv", "MD5;SHA1;Category;Comment\n%s;%s;1;x\n%s;;2;y\n" % (
    md5(files[0]).upper(), sha1(files[0]).upper(), md5(files[1]).upper()))
p = t.run("compile", "-o", "icse.db", "icse=icse.csv")
t.check(p.returncode == 0 and "3 entries, 0 skipped" in err(p),
        "an ICSE/Baseline style ';' CSV compiles with the CSV reader", both(p))

# ---- --format ----
t.write("list.dat", md5(files[2]) + "\n")
p = t.run("compile", "--format", "text", "-o", "fmt.db", "f=list.dat")
t.check(p.returncode == 0 and "(text)" in err(p),
        "--format text reads a file whose name says nothing", both(p))
p = t.run("compile", "--format", "nosuch", "-o", "fmt2.db", "f=list.dat")
t.check(p.returncode == 2 and "nosuch" in err(p),
        "an unknown --format is a usage error (exit 2)", both(p))

# ---- NAME=DIR/ ----
t.write("ref/a.bin", files[3])
t.write("ref/sub/b.bin", files[4])
t.write("ref/sub/deeper/c.bin", files[5])
p = t.run("compile", "-o", "dir.db", "own=ref/")
t.check(p.returncode == 0 and "3 files hashed" in err(p),
        "NAME=DIR/ hashes every file under DIR recursively", both(p))
p = t.run("lookup", "dir.db", sha256(files[5]))
t.check(p.returncode == 1 and "size %d" % len(files[5]) in out(p)
        and "sub/deeper/c.bin" in out(p),
        "a file from DIR/ is listed by SHA-256 with its size", both(p))
p = t.run("scan", "-d", "dir.db", t.write("copy/c.bin", files[5]))
t.check(p.returncode == 1 and "own FOUND" in out(p),
        "a copy of a reference file is found by scan", both(p))

# ---- a list read from a pipe ----
plain = open(t.path("plain.txt"), "rb").read()
p = t.run("compile", "-o", "pipe.db", "piped=/dev/stdin", stdin=plain)
i = info("pipe.db")
t.check(p.returncode == 0 and "3 entries, 0 skipped (text)" in err(p)
        and "source:   /dev/stdin sha256:" + sha256(plain) in out(i),
        "a list on a pipe is detected, read and its SHA-256 recorded",
        both(p) + out(i))

# ---- errors name the file; usage errors exit 2 ----
p = t.run("compile", "-o", "x.db", "l=missing.txt")
t.check(p.returncode == 2 and "missing.txt" in err(p),
        "a missing input file is an error naming it", both(p))
p = t.run("compile", "l=plain.txt")
t.check(p.returncode == 2 and "-o" in err(p), "compile without -o exits 2",
        both(p))
p = t.run("compile", "-o", "x.db", "noequals")
t.check(p.returncode == 2 and "NAME=FILE" in err(p),
        "an input without NAME= is a usage error", both(p))
p = t.run("compile", "-o", "x.db", "bad name=plain.txt")
t.check(p.returncode == 2, "a list name with a space is refused", both(p))
p = t.run("compile", "-o", "x.db", "l=plain.txt", "--allow", "l=bad.txt")
t.check(p.returncode == 2 and "already" in err(p),
        "one name cannot be both a block list and an allow-list", both(p))
p = t.run("compile", "--help")
t.check(p.returncode == 0 and "text" in out(p) and "clamav" in out(p)
        and "csv" in out(p), "compile --help lists the formats", both(p))

# ---- progress line on a terminal, none when stderr is a file ----
big = "".join("%064x\n" % (i * 2654435761 + 1) for i in range(70000))
t.write("big.txt", big)
pid, fd = pty.fork()
if pid == 0:
    os.chdir(t.dir)
    os.execv(HG, [HG, "compile", "-o", "big.db", "big=big.txt"])
tty = b""
while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    tty += chunk
_, status = os.waitpid(pid, 0)
tty = tty.decode(errors="replace")
t.check(os.WEXITSTATUS(status) == 0 and "big.txt: 65536 entries read" in tty
        and "\r\033[K" in tty and "70000 entries, 0 skipped" in tty,
        "on a terminal, compile shows a progress line and clears it", tty[-300:])
p = t.run("compile", "-o", "big2.db", "big=big.txt")
t.check(p.returncode == 0 and "entries read" not in err(p),
        "with stderr not a terminal there is no progress line", both(p))

# ---- reproducible and atomic ----
p1 = t.run("compile", "-o", "r1.db", "a=plain.txt", "b=sigs.hdb@2024-06")
p2 = t.run("compile", "-o", "r2.db", "a=plain.txt", "b=sigs.hdb@2024-06")
same = False
if p1.returncode == 0 and p2.returncode == 0:
    with open(t.path("r1.db"), "rb") as f1, open(t.path("r2.db"), "rb") as f2:
        same = f1.read() == f2.read()
t.check(same, "two compiles with HASHGATE_CREATED fixed are byte-identical",
        both(p1))
i = info("r1.db")
t.check("created:  2023-11-14T22:13:20Z" in out(i),
        "info shows the fixed creation time in RFC 3339", out(i))
p = t.run("compile", "-o", "r3.db", "a=plain.txt", env={"HASHGATE_CREATED": "soon"})
t.check(p.returncode == 2, "a HASHGATE_CREATED that is not a number is refused",
        both(p))
left = [n for n in os.listdir(t.dir) if n.startswith(("r1.db.", ".r1.db"))]
t.check(left == [], "no temp file is left beside the database", left)
p = t.run("compile", "-o", "nodir/new.db", "a=plain.txt")
t.check(p.returncode == 2 and "nodir/new.db" in err(p),
        "an output in a missing directory is an error naming the file",
        both(p))

t.done()
