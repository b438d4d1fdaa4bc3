# SPDX-License-Identifier: BSD-2-Clause
"""test_records.py - one digest per listed file, end to end through the CLI.

Lists that give several digests of one file (VIC JSON media, NCMEC XML
<image>, CSV rows, JSON Lines objects) compile into records; hashgate
compile chooses the cheapest set of algorithms covering every record and
info says it and why; a scan computes only that set, and a match through
one digest shows the file's other digests as listed; --all-digests,
allow-lists, --base, --remove and diff keep the grouping; a version-1
database (made by the hashgate before records) still opens. All data is
synthetic: seeded random bytes and lists made from their digests.
"""
import base64
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clihelp import Suite, both, md5, out, rand_bytes, sha1, sha256  # noqa: E402

t = Suite("records")
files = [rand_bytes(4000 + i, 900 + i) for i in range(12)]
paths = [t.write("f%d.bin" % i, f) for i, f in enumerate(files)]


def scan(db, i, *opts):
    p = t.run("scan", "-d", db, "--json", *opts, paths[i])
    try:
        return p, t.jsonl(p)[0]
    except (ValueError, IndexError):
        return p, {}


# ---- every grouping reader: MD5 + SHA-1 of one file are one record ----
vic = t.write("vic.json", '{"value": [' + ", ".join(
    '{"MediaID": %d, "Category": 1, "MD5": "%s", "SHA1": "%s"}'
    % (i, md5(files[i]).upper(), sha1(files[i]).upper()) for i in range(0, 3))
    + "]}\n")
ncmec = t.write("ncmec.xml", '<?xml version="1.0"?>\n<queryResult><images>'
                + "".join("<image><id>n%d</id><fingerprints><md5>%s</md5>"
                          "<sha1>%s</sha1></fingerprints></image>"
                          % (i, md5(files[i]), sha1(files[i]))
                          for i in range(3, 5))
                + "</images></queryResult>\n")
csv = t.write("rows.csv", "md5,sha1,label\n" + "".join(
    "%s,%s,c%d\n" % (md5(files[i]), sha1(files[i]), i) for i in range(5, 7)))
jsonl = t.write("objs.jsonl", "".join(
    '{"md5": "%s", "sha1": "%s", "label": "j%d"}\n'
    % (md5(files[i]), sha1(files[i]), i) for i in range(7, 9)))
p = t.run("compile", "-o", "g.db", "vic=vic.json", "ncmec=ncmec.xml",
          "csv=rows.csv", "jl=objs.jsonl")
t.check(p.returncode == 0 and "scans compute sha1;" in p.stderr.decode(),
        "compile of VIC, NCMEC, CSV and JSON Lines lists giving MD5 and "
        "SHA-1 per file says scans compute SHA-1 only", both(p))
i = t.run("info", "g.db")
o = out(i)
t.check("scan computes: sha1\n" in o
        and "  sha1: covers 9 of 9 records\n" in o
        and "  md5 not needed: its 9 records are covered by another digest"
        in o, "info says SHA-1 covers every record and MD5 is not needed", o)
t.check("list vic\n" in o and "  entries:  6\n  records:  3 (files listed)"
        in o and "  entries:  4\n  records:  2 (files listed)" in o,
        "info gives each list's entries and the files they describe", o)

p, j = scan("g.db", 3)
lst = j.get("matches", [{}])[0] if j.get("matches") else {}
t.check(p.returncode == 1 and "sha1" in j and "md5" not in j
        and "sha256" not in j,
        "a scan against it computes SHA-1 only", both(p))
t.check(lst.get("algorithm") == "sha1" and lst.get("list") == "ncmec"
        and lst.get("listed") == {"md5": md5(files[3])},
        "a match through SHA-1 shows the file's MD5 as listed", both(p))
p = t.run("lookup", "g.db", sha1(files[5]))
t.check(p.returncode == 1 and ("csv label \"c5\" md5 %s" % md5(files[5]))
        in out(p), "lookup of a SHA-1 shows the MD5 listed with it", both(p))
for k in range(0, 9):
    p, j = scan("g.db", k)
    if not t.check(p.returncode == 1, "file %d of the grouped lists matches "
                   "through SHA-1 alone" % k, both(p)):
        break

# ---- the covering choice on mixed lists ----
t.write("md5only.txt", md5(files[9]) + "\n")
t.write("sha256only.txt", sha256(files[10]) + "\n")
p = t.run("compile", "-o", "m.db", "vic=vic.json", "plain=md5only.txt")
o = out(t.run("info", "m.db"))
t.check(p.returncode == 0 and "scan computes: md5\n" in o
        and "  md5: covers 4 of 4 records" in o,
        "one MD5-only plain line forces MD5, which then covers every record",
        o)
p, j = scan("m.db", 9)
t.check(p.returncode == 1 and "md5" in j and "sha1" not in j,
        "the MD5-only file matches, and SHA-1 is not computed", both(p))
p, j = scan("m.db", 0)
t.check(p.returncode == 1 and j["matches"][0].get("listed")
        == {"sha1": sha1(files[0])},
        "a VIC file then matches through MD5, its SHA-1 shown as listed",
        both(p))
p = t.run("compile", "-o", "s.db", "vic=vic.json", "plain=sha256only.txt")
o = out(t.run("info", "s.db"))
t.check("scan computes: sha1 sha256\n" in o,
        "a SHA-256-only line adds SHA-256 to SHA-1, not MD5", o)
p = t.run("compile", "-o", "a.db", "vic=vic.json", "--allow",
          "ok=md5only.txt")
o = out(t.run("info", "a.db"))
t.check("scan computes: md5\n" in o and "(1 of them on allow-lists)" in o
        and "allow-lists are covered too" in o,
        "an MD5-only allow-list entry counts: info says so", o)
p, j = scan("a.db", 9)
t.check(p.returncode == 0 and j.get("allowed_by") == "ok",
        "the allow-listed file is allowed (its MD5 is computed)", both(p))

t.write("allow.csv", "md5,sha1\n%s,%s\n" % (md5(files[10]), sha1(files[10])))
p = t.run("compile", "-o", "a2.db", "vic=vic.json", "--allow", "ok=allow.csv")
o = out(t.run("info", "a2.db"))
t.check(p.returncode == 0 and "scan computes: sha1\n" in o,
        "an allow-list giving MD5 + SHA-1 per file is covered by SHA-1 too", o)
p, j = scan("a2.db", 10)
t.check(p.returncode == 0 and j.get("allowed_by") == "ok"
        and j["matches"][0].get("listed") == {"md5": md5(files[10])},
        "its file is allowed through SHA-1, the listed MD5 shown", both(p))

# ---- --all-digests ----
p = t.run("compile", "--all-digests", "-o", "all.db", "vic=vic.json")
o = out(t.run("info", "all.db"))
t.check(p.returncode == 0 and "scan computes: md5 sha1 sha256 (compiled "
        "with --all-digests)" in o, "--all-digests: info says all three", o)
p, j = scan("all.db", 1)
t.check(p.returncode == 1 and all(a in j for a in ("md5", "sha1", "sha256"))
        and all("listed" not in m for m in j["matches"]),
        "--all-digests: a scan computes all three; nothing is only listed",
        both(p))

# ---- incremental compiles keep the grouping ----
t.write("more.jsonl", '{"md5": "%s", "sha1": "%s"}\n'
        % (md5(files[11]), sha1(files[11])))
t.write("rm.txt", sha1(files[1]) + "\n")
p = t.run("compile", "-o", "base.db", "vic=vic.json")
p = t.run("compile", "-o", "inc.db", "--base", "base.db", "vic=more.jsonl")
o = out(t.run("info", "inc.db"))
t.check(p.returncode == 0 and "scan computes: sha1\n" in o
        and "  sha1: covers 4 of 4 records" in o,
        "--base plus a grouped addition keeps SHA-1 alone", o)
p, j = scan("inc.db", 2)
t.check(p.returncode == 1 and j["matches"][0].get("listed")
        == {"md5": md5(files[2])},
        "a record from the base still shows its listed MD5", both(p))
p = t.run("compile", "-o", "inc2.db", "--base", "inc.db", "--remove",
          "vic=rm.txt")
o = out(t.run("info", "inc2.db"))
t.check(p.returncode == 0 and "scan computes: md5\n" in o,
        "removing one file's SHA-1 leaves its MD5 listed: MD5 is computed",
        o)
p, j = scan("inc2.db", 1)
t.check(p.returncode == 1 and j["matches"][0]["algorithm"] == "md5"
        and "listed" not in j["matches"][0],
        "that file still matches, through its MD5", both(p))
p, j = scan("inc2.db", 0)
t.check(p.returncode == 1 and j["matches"][0].get("listed")
        == {"sha1": sha1(files[0])},
        "the other records are untouched: their SHA-1 still listed", both(p))
p = t.run("compile", "-o", "full.db", "vic=vic.json", "vic=more.jsonl",
          "--remove", "vic=rm.txt")
same = open(t.path("full.db"), "rb").read() == open(t.path("inc2.db"),
                                                   "rb").read()
t.check(p.returncode == 0 and same,
        "the updated database is byte for byte a full compile of the same "
        "content", both(p))
p = t.run("diff", "base.db", "inc2.db")
t.check(p.returncode == 1 and "vic: +2 -1 ~1 regrouped (6 -> 7 entries, "
        "3 -> 4 files)" in out(p),
        "diff counts the added and removed digests, the regrouped file and "
        "the files listed", both(p))

# ---- a report carries the listed digest, said to be listed ----
F = files[3]
rec = {"record_version": 1, "time": "2026-11-25T10:15:00.100Z",
       "channel": "smtp", "action": "reject", "monitor": False,
       "lists": [{"list": "ncmec", "version": "", "algorithm": "sha1",
                  "digest": sha1(F), "label": "n3",
                  "listed": {"md5": md5(F)}}],
       "sha1": sha1(F), "size": len(F), "part": "2", "filename": "a.jpg",
       "declared_type": "image/jpeg", "detected_type": "image/jpeg",
       "encoding": "base64", "client_addr": "192.0.2.7",
       "client_name": "client.example", "helo": "client.example",
       "mail_from": "<sender@example.org>", "rcpt_to": ["<r@example.net>"],
       "message_id": "<m1@example.org>", "queue_id": "4F2A81C0D3"}
t.write("ev.log", json.dumps(rec) + "\n")
t.write("reporter.conf", "Company Example Hosting Inc.\nFirstName Alice\n"
        "LastName Abuse\nEmail abuse@example.com\nPhone +1 555 0100\n"
        "EspService Example Mail\n")
p = t.run("report", "--settle", "0", "--now", "2027-01-01T00:00:00Z", "-c",
          "reporter.conf", "-s", "state", "-o", "out", "ev.log")
xml = ""
for n in sorted(os.listdir(t.path("out"))) if os.path.isdir(t.path("out")) \
        else []:
    if n.endswith(".xml"):
        xml = open(t.path("out", n)).read()
t.check(p.returncode == 0 and ("Matched the list &quot;ncmec&quot; by its "
        "sha1 digest %s. The list gives its MD5 as %s (listed, not "
        "computed)." % (sha1(F), md5(F))) in xml.replace('"', "&quot;"),
        "a report draft carries the listed MD5, said to be listed, not "
        "computed", both(p) + xml[:300])
p = t.run("report", "--settle", "0", "--now", "2027-01-01T00:00:00Z",
          "--format", "text", "-c", "reporter.conf", "-s", "state2", "ev.log")
t.check("by sha1, listed md5 %s" % md5(F) in out(p),
        "the text report shows the listed MD5", both(p))

# ---- a version-1 database (hashgate before records) still opens ----
# compiled by the previous hashgate from: md5,sha1 of rand_bytes(9001, 300)
# (one CSV row) and md5 of rand_bytes(9002, 300)
V1 = "SEdEQg0KGgoBAAAAAAIAAADxU2UAAAAAUAMAAAAAAAABAAAAAQAAAAEAAAABAAAAeAAAAAAAAAAQAAAAAAAAAEADAAAAAAAADQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAACAAAAAAAAAAAAAAABAAAAeAIAAAAAAACAAgAAAAAAAKACAAAAAAAAqAIAAAAAAAACAAAAAAAAAAAAAAAAAAAAAQAAAAAAAAAAAAAAAQAAANgCAAAAAAAAAAMAAAAAAAAYAwAAAAAAACADAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA4AwAAAAAAAEADAAAAAAAAQAMAAAAAAABAAwAAAAAAAAAAAAAAAAAAAAAAAAAAAABHdfDQ+whFNGN9ZekwYv/VcEA6uQI+LfK3drdrBKcgVeCBhTem3KhsAeYGqT+rXLc6GLNwgpYwKrg4hME1wt8aAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAQAAAAAAAAADAAAAAAAAAADxU2UAAAAAAAAAAAAAAAAFAAAAAAAAAOoG6hNjcG/2O21EWMKvcn9LvWbuAgGGZYslbLDVo8KwAAAAAAEAAAAAAAAAAAAAAABvbGQAdjFsaXN0LmNzdgAAAAAAAgAAAPKZ0qMX/kBsKUEV92D3rOTzk3Gqkm5XtI6pcBzw0lnyAQEAAAAAAAAAAAAAAAACAAAAAAAAAAAAAAAAAAAAAAABAAAAAAACAAAAAAAAAAAACAAAAAAAAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAD9eAC0A5Fi+R4+fAjjHYUomDM5AAAAAAAQAAAAAAAAAAAAAAAAACAAAAAAAAAAAACAAAAAAAAAAAAAAAAAAAAG1kNW9ubHkAcmVjMQAAAAA="
t.write("v1.db", base64.b64decode(V1))
t.write("v1a.bin", rand_bytes(9001, 300))
i = t.run("info", "--verify", "v1.db")
o = out(i)
t.check(i.returncode == 0 and "format:   version 1" in o
        and "scan computes: md5 sha1\n" in o and "version-1 database" in o,
        "a version-1 database opens and verifies; info says a scan computes "
        "every algorithm with a digest", both(i))
p = t.run("scan", "-d", "v1.db", "--json", "v1a.bin")
j = t.jsonl(p)[0] if p.returncode == 1 else {}
t.check(p.returncode == 1 and len(j.get("matches", [])) == 2
        and all("listed" not in m for m in j["matches"]),
        "a version-1 database matches as before (no records)", both(p))
p = t.run("compile", "-o", "v2.db", "--base", "v1.db")
o = out(t.run("info", "v2.db"))
t.check(p.returncode == 0 and "format:   version 6" in o
        and "scan computes: md5 sha1\n" in o and "records:  3" in o,
        "a version-1 base compiles into the current version (5), each entry "
        "its own record "
        "(its grouping is not known)", o)
t.done()
