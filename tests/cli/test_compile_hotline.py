# SPDX-License-Identifier: BSD-2-Clause
"""test_compile_hotline.py - `hashgate compile` on hotline exports: Project
VIC OData JSON (--category), NCMEC XML (ignored fingerprint types,
deletions), JSON Lines; malformed exports. Synthetic samples written from
the formats' public descriptions."""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clihelp import (Suite, both, err, md5, out, rand_bytes, sha1,  # noqa: E402
                     sha256)

t = Suite("hotline")
objs = [rand_bytes(700 + i, 900 + i) for i in range(12)]


def entries(db, name):
    o = out(t.run("info", db))
    m = re.search(r"^list %s\n(?:  .*\n)*?  entries:\s+(\d+)" % name, o, re.M)
    return int(m.group(1)) if m else None


# ---- Project VIC ----
vic = {"odata.metadata": "https://example.invalid/$metadata#Media",
       "value": [{"MediaID": 100 + i, "Category": 1 + i % 3,
                  "MD5": md5(o).upper(), "SHA1": sha1(o).upper(),
                  "MediaSize": len(o)} for i, o in enumerate(objs[:6])]}
t.write("export.json", json.dumps(vic, indent=1))
p = t.run("compile", "-o", "vic.db", "vic=export.json@2024-06-01")
t.check(p.returncode == 0 and "12 entries, 0 skipped" in err(p)
        and "(vic)" in err(p),
        "a VIC OData export is detected and gives MD5 + SHA-1 per media",
        both(p))
p = t.run("lookup", "vic.db", sha1(objs[4]))
t.check(p.returncode == 1 and "size %d" % len(objs[4]) in out(p),
        "a VIC entry keeps MediaSize", both(p))
p = t.run("compile", "-o", "vic12.db", "--category", "1,2", "vic=export.json")
t.check(p.returncode == 0 and entries("vic12.db", "vic") == 8
        and "4 ignored" in err(p),
        "--category 1,2 keeps only media of those categories", both(p))
t.write("cut.json", json.dumps(vic)[:-40])
p = t.run("compile", "-o", "cut.db", "vic=cut.json")
t.check(p.returncode == 2 and "cut.json" in err(p)
        and not os.path.exists(t.path("cut.db")),
        "a VIC export cut short is refused, naming the file", both(p))

# ---- NCMEC XML ----
xml = ['<?xml version="1.0" encoding="UTF-8"?>',
       '<queryResult xmlns="https://hashsharing.ncmec.org/npo/v2"><images>']
for i, o in enumerate(objs[6:10]):
    xml.append('<image><id>%d</id><classification>A1</classification>'
               '<fingerprints><md5>%s</md5><sha1>%s</sha1>'
               '<pdna>AAAA</pdna></fingerprints></image>'
               % (500 + i, md5(o), sha1(o)))
xml.append('</images><deletedImages><deletedImage><id>9</id><fingerprints>'
           '<md5>%s</md5></fingerprints></deletedImage></deletedImages>'
           '</queryResult>' % md5(objs[6]))
t.write("ncmec.xml", "\n".join(xml))
p = t.run("compile", "-o", "ncmec.db", "ncmec=ncmec.xml")
t.check(p.returncode == 0 and "(ncmec)" in err(p) and "ignored" in err(p),
        "NCMEC XML compiles; PhotoDNA fingerprints are counted as ignored",
        both(p))
p = t.run("lookup", "ncmec.db", md5(objs[6]), sha1(objs[6]), md5(objs[7]))
t.check(md5(objs[6]) + ": not found" in out(p)
        and sha1(objs[6]) + ": ncmec" in out(p)
        and md5(objs[7]) + ": ncmec" in out(p),
        "a deleted entry in the XML removes that digest", both(p))

# an export in ISO-8859-1 that says so: its labels are stored as UTF-8
t.write("latin1.xml", ('<?xml version="1.0" encoding="ISO-8859-1"?>\n'
                       '<queryResult><images><image><id>caf\xe9</id>'
                       '<classification>A1</classification><fingerprints>'
                       '<md5>%s</md5></fingerprints></image></images>'
                       '</queryResult>\n' % md5(objs[8])).encode("latin-1"))
p = t.run("compile", "-o", "latin1.db", "ncmec=latin1.xml")
lk = t.run("lookup", "latin1.db", md5(objs[8]))
t.check(p.returncode == 0 and lk.returncode == 1
        and 'label "caf\u00e9/A1"' in out(lk),
        "an ISO-8859-1 NCMEC export's label is stored as UTF-8", both(lk))
t.write("koi8.xml", '<?xml version="1.0" encoding="KOI8-R"?>\n'
        '<queryResult><images/></queryResult>\n')
p = t.run("compile", "-o", "koi8.db", "ncmec=koi8.xml")
t.check(p.returncode == 2 and 'koi8.xml:1: encoding "KOI8-R" is not '
        'supported' in err(p) and not os.path.exists(t.path("koi8.db")),
        "an NCMEC export in an encoding not supported is refused, naming "
        "file and line", both(p))

# a later NCMEC delta applied with --base: its deletions remove
t.write("delta.xml", '<queryResult><deletedImages><deletedImage><id>501</id>'
        '<fingerprints><sha1>%s</sha1></fingerprints></deletedImage>'
        '</deletedImages></queryResult>' % sha1(objs[7]))
p = t.run("compile", "--base", "ncmec.db", "-o", "ncmec2.db",
          "ncmec=delta.xml")
lk = t.run("lookup", "ncmec2.db", sha1(objs[7]), md5(objs[7]))
t.check(p.returncode == 0 and sha1(objs[7]) + ": not found" in out(lk)
        and md5(objs[7]) + ": ncmec" in out(lk),
        "deletions carried by a delta file apply on top of --base", both(lk))

# ---- JSON Lines ----
t.write("list.jsonl", "\n".join([
    json.dumps({"sha256": sha256(objs[10]), "size": len(objs[10]),
                "label": "jl-1"}),
    json.dumps({"md5": md5(objs[11]), "sha1": sha1(objs[11])}),
    '{"sha256": 12}',
    '{"md5": "%s"' % md5(objs[0]),
    ""]))
p = t.run("compile", "-o", "jl.db", "jl=list.jsonl")
t.check(p.returncode == 0 and "3 entries, 2 skipped" in err(p)
        and "list.jsonl:3:" in err(p) and "list.jsonl:4:" in err(p),
        "JSON Lines compile; a wrong type and broken JSON are warned by line",
        both(p))
p = t.run("lookup", "jl.db", sha256(objs[10]))
t.check(p.returncode == 1 and 'label "jl-1"' in out(p)
        and "size %d" % len(objs[10]) in out(p),
        "a JSON Lines entry keeps size and label", both(p))

# ---- all formats in one database ----
t.write("plain.txt", sha256(objs[0]) + "\n")
p = t.run("compile", "-o", "all.db", "vic=export.json", "ncmec=ncmec.xml",
          "jl=list.jsonl", "mixed=plain.txt", "mixed=list.jsonl")
i = t.run("info", "all.db")
t.check(p.returncode == 0 and out(i).count("\nlist ") == 4
        and out(i).count("  source:") == 5,
        "several formats compile into one database with every source listed",
        both(i))

t.done()
