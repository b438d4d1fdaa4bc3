# SPDX-License-Identifier: BSD-2-Clause
"""test_pdq_lists.py - PDQ hashes in lists, compiled and searched through the CLI.

Lists giving PDQ hashes in every format that carries them (text pdq:HEX,
a file of hashes with qualities, JSON Lines, CSV, NCMEC XML) compile into
a format-3 (now 4) database; info shows the PDQ entries and each list's threshold
(--pdq-threshold NAME=BITS); lookup takes pdq:HEX and prints the entries
within the threshold or --distance, nearest first, with distances; --base,
--remove and diff keep them. Every hash is seeded random bytes (never a
real list).
"""
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clihelp import Suite, both, err, md5, out, rand_bytes  # noqa: E402

t = Suite("pdq")
R = random.Random(1717)


def rhash():
    return "%064x" % R.getrandbits(256)


def flip(h, bits):
    """h with the given bit positions flipped."""
    v = int(h, 16)
    for b in bits:
        v ^= 1 << b
    return "%064x" % v


def near(h, d):
    return flip(h, R.sample(range(256), d))


Q = rhash()                     # the image "scanned"
H = [rhash() for _ in range(12)]
F = rand_bytes(77, 500)

t.write("a.pdq", "# synthetic\n%s\n%s,90,x.jpg\n" % (near(Q, 3), H[0]))
t.write("b.txt", "pdq:%s\n%s\n" % (near(Q, 20), md5(F)))
t.write("c.jsonl", '{"md5": "%s", "pdq": "%s", "quality": 77, "label": "j1"}\n'
        % (md5(rand_bytes(78, 10)), near(Q, 10)))
t.write("d.csv", "md5,pdq,quality,label\n,%s,66,row1\n,%s,,row2\n"
        % (near(Q, 31), near(Q, 32)))
t.write("e.xml", '<queryResult xmlns="https://hashsharing.ncmec.org/'
        'hashsharing/v2"><images><image><id>n1</id><classification>A1'
        '</classification><fingerprints><pdq quality="95">%s</pdq>'
        '</fingerprints></image></images></queryResult>\n' % near(Q, 0))

p = t.run("compile", "-o", "p.db", "--pdq-threshold", "narrow=12",
          "wide=a.pdq", "wide=b.txt", "wide=c.jsonl", "wide=d.csv",
          "narrow=e.xml", "narrow=b.txt")
t.check(p.returncode == 0 and "a.pdq: wide: 2 entries, 0 skipped (pdq)"
        in err(p) and "e.xml: narrow: 1 entries" in err(p),
        "compile reads PDQ hashes from a .pdq file, text, JSON Lines, CSV "
        "and NCMEC XML", both(p))

i = t.run("info", "--verify", "p.db")
o = out(i)
t.check(i.returncode == 0 and "format:   version 6" in o
        and "pdq:      7 entries" in o
        and "  pdq:      6 entries, threshold 31 bits" in o
        and "  pdq:      2 entries, threshold 12 bits" in o,
        "info shows the PDQ entries and each list's threshold", o)

p = t.run("lookup", "p.db", "pdq:" + Q)
lines = out(p).splitlines()
dists = [int(l.split(" distance ")[1].split()[0]) for l in lines
         if " distance " in l]
t.check(p.returncode == 1 and dists == sorted(dists)
        and dists == [0, 3, 10, 20, 31],
        "lookup pdq:HEX prints every entry within its list's threshold, "
        "nearest first (32 bits on wide and 20 on narrow are past them)",
        both(p))
t.check(any("narrow distance 0 quality 95 label \"n1/A1\" pdq:" + near(Q, 0)
            in l for l in lines)
        and any("wide distance 10 quality 77 label \"j1\"" in l for l in lines)
        and any("wide distance 31 quality 66 label \"row1\"" in l for l in lines),
        "each PDQ hit shows its list, distance, quality, label and entry",
        out(p))

p = t.run("lookup", "--distance", "3", "p.db", "pdq:" + Q)
t.check(p.returncode == 1 and len(out(p).splitlines()) == 2,
        "lookup --distance 3 gives only the entries within 3 bits", both(p))
p = t.run("lookup", "--distance=40", "p.db", "pdq:" + Q)
t.check(p.returncode == 1 and " distance 32 " in out(p)
        and len(out(p).splitlines()) == 7,
        "lookup --distance 40 goes past the thresholds", both(p))
p = t.run("lookup", "p.db", Q)
t.check(p.returncode == 0 and out(p) == Q + ": not found\n",
        "64 hex digits without pdq: are looked up as a SHA-256", both(p))
p = t.run("lookup", "p.db", "pdq:" + rhash())
t.check(p.returncode == 0 and "not found" in out(p),
        "an unrelated PDQ hash is not found", both(p))
p = t.run("lookup", "p.db", "pdq:1234")
t.check(p.returncode == 2 and "is not pdq: and 64 hex digits" in err(p),
        "a malformed pdq: argument is an error", both(p))
p = t.run("lookup", "--distance", "300", "p.db", "pdq:" + Q)
t.check(p.returncode == 2 and "not 0 to 256" in err(p),
        "lookup refuses a distance past 256", both(p))

p = t.run("compile", "-o", "x.db", "--pdq-threshold", "wide=65", "wide=a.pdq")
t.check(p.returncode == 2 and "past the maximum of 64 bits" in err(p)
        and not os.path.exists(t.path("x.db")),
        "compile refuses a threshold past 64 bits, naming the limit", both(p))
p = t.run("compile", "-o", "x.db", "--pdq-threshold", "other=5", "wide=a.pdq")
t.check(p.returncode == 2 and "no list named other" in err(p),
        "compile refuses a threshold for a list it does not compile", both(p))

# ---- updates keep PDQ entries and thresholds ----
p = t.run("compile", "-o", "full.db", "--pdq-threshold", "narrow=12",
          "wide=a.pdq", "wide=b.txt", "wide=c.jsonl", "wide=d.csv",
          "narrow=e.xml", "narrow=b.txt")
q = t.run("compile", "-o", "up.db", "--base", "p.db")
t.check(p.returncode == 0 and q.returncode == 0
        and open(t.path("up.db"), "rb").read()
        == open(t.path("full.db"), "rb").read(),
        "--base keeps every PDQ entry and threshold: the same bytes as a "
        "full compile", both(q))
p = t.run("compile", "-o", "rm.db", "--base", "p.db", "--remove", "wide=a.pdq")
o = out(t.run("info", "rm.db"))
t.check(p.returncode == 0 and "  pdq:      4 entries, threshold 31 bits" in o
        and "  pdq:      2 entries, threshold 12 bits" in o,
        "--remove takes a list's PDQ entries off and keeps the thresholds", o)
d = t.run("diff", "p.db", "rm.db")
t.check(d.returncode == 1 and "wide: +0 -0 PDQ +0 -2" in out(d),
        "diff counts the PDQ entries removed", both(d))
p = t.run("compile", "-o", "thr.db", "--base", "p.db",
          "--pdq-threshold", "wide=20")
d = t.run("diff", "p.db", "thr.db")
t.check(d.returncode == 1 and "PDQ threshold 31 -> 20" in out(d),
        "a threshold set on a base list is kept and diff shows it", both(d))
d = t.run("diff", "p.db", "up.db")
t.check(d.returncode == 0, "diff of the same content finds nothing", both(d))

# ---- by default no index: the file at about 1.0x the hashes; --pdq-index
# on adds one (kept by --base), and both give the same answers
big = [rhash() for _ in range(6000)]
t.write("big.txt", "".join("pdq:%s\n" % h for h in big))
p = t.run("compile", "-o", "idx.db", "--pdq-index", "on", "many=big.txt")
q = t.run("compile", "-o", "noidx.db", "many=big.txt")
si, sn = os.path.getsize(t.path("idx.db")), os.path.getsize(t.path("noidx.db"))
oi, on = out(t.run("info", "idx.db")), out(t.run("info", "noidx.db"))
t.check(p.returncode == 0 and q.returncode == 0
        and "6000 entries (indexed)" in oi
        and "6000 entries (not indexed: searched by a scan)" in on
        and sn < si and (sn - 4096) / (32.0 * len(big)) < 1.5,
        "no index by default: the file under 1.5x the 32 bytes a hash "
        "(%d bytes against %d with --pdq-index on)" % (sn, si), oi + on)
t.write("one.txt", "pdq:%s\n" % rhash())
p = t.run("compile", "-o", "idx2.db", "--base", "idx.db", "more=one.txt")
q = t.run("compile", "-o", "noidx2.db", "--base", "idx.db", "--pdq-index",
          "off", "more=one.txt")
r = t.run("compile", "-o", "noidx3.db", "--base", "noidx.db", "more=one.txt")
o2, on2, on3 = (out(t.run("info", x)) for x in ("idx2.db", "noidx2.db",
                                                 "noidx3.db"))
t.check(p.returncode == 0 and q.returncode == 0 and r.returncode == 0
        and "6001 entries (indexed)" in o2
        and "6001 entries (not indexed: searched by a scan)" in on2
        and "6001 entries (not indexed: searched by a scan)" in on3,
        "--base keeps the base's index, or its absence, unless --pdq-index "
        "says otherwise", o2 + on2 + on3)
probe = flip(big[17], range(3, 12))   # 9 bits off
li = out(t.run("lookup", "idx.db", "pdq:" + probe))
ln = out(t.run("lookup", "noidx.db", "pdq:" + probe))
t.check(big[17] in li and li.replace("idx.db", "") == ln.replace("noidx.db", "")
        and "distance 9" in ln,
        "a lookup without the index finds what the index finds", li + ln)
p = t.run("compile", "-o", "x.db", "--pdq-index", "maybe", "many=big.txt")
t.check(p.returncode == 2 and "on or off" in err(p),
        "--pdq-index takes on or off", both(p))
t.done()
