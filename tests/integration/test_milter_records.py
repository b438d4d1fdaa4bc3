# SPDX-License-Identifier: BSD-2-Clause
"""hashgate-milter behind a real, private Postfix with a list that gives
each file's MD5 and SHA-1 together (one record, as hotlines ship them):
the milter computes SHA-1 only, refuses the listed attachment through it,
and its evidence record carries the file's MD5 as the list gives it,
marked listed (no computed MD5 in the record).

The list is made at test time from seeded random bytes.
"""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import hgmilter as hm  # noqa: E402
from postfix import Postfix  # noqa: E402

ok = hm.Checks()
tmp = tempfile.mkdtemp(prefix="hg-milter-rec-")
os.chmod(tmp, 0o755)
pf = None
m = None

REPLY = "550 5.7.1 Message rejected: it contains content that is not accepted here"
LISTED = hm.blob(301, 120_000)
OTHER = hm.blob(302, 40_000)        # its MD5 and SHA-1 on the list as well
CLEAN = hm.blob(303, 60_000)

try:
    hm.check_tool(hm.MILTER)
    hm.check_tool(hm.HASHGATE)
    csv = os.path.join(tmp, "hotline.csv")
    with open(csv, "w") as f:
        f.write("md5,sha1,label\n")
        for i, b in enumerate((LISTED, OTHER)):
            f.write("%s,%s,item-%d\n" % (hashlib.md5(b).hexdigest(),
                                        hashlib.sha1(b).hexdigest(), i))
    db = os.path.join(tmp, "db.hgdb")
    p = subprocess.run([hm.HASHGATE, "compile", "-o", db, "hotline=" + csv],
                       capture_output=True, text=True, timeout=60)
    ok(p.returncode == 0 and "scans compute sha1;" in p.stderr,
       "a list of MD5 + SHA-1 per file compiles to a database scanned with "
       "SHA-1 only", p.stderr)
    os.chmod(db, 0o644)
    m = hm.Milter(tmp, db, ListAction=["hotline reject"])
    m.start()
    pf = Postfix(milter=m.postfix_spec, base=os.path.join(tmp, "pf"))
    pf.start()

    msg, mid = hm.msg_attach(LISTED, "base64", "holiday.jpg")
    code, text = pf.send(msg)
    ok("%d %s" % (code, text) == REPLY,
       "the listed attachment is refused through its SHA-1",
       "%d %s" % (code, text))
    recs = m.records_for(mid)
    r = recs[0] if len(recs) == 1 else {}
    lst = (r.get("lists") or [{}])[0]
    ok(lst.get("list") == "hotline" and lst.get("algorithm") == "sha1"
       and lst.get("digest") == hashlib.sha1(LISTED).hexdigest()
       and lst.get("label") == "item-0",
       "the evidence record names the list and the SHA-1 it matched",
       str(recs))
    ok(lst.get("listed") == {"md5": hashlib.md5(LISTED).hexdigest()},
       "the record carries the file's MD5 as the list gives it, marked "
       "listed", str(r))
    ok(r.get("sha1") == hashlib.sha1(LISTED).hexdigest() and "md5" not in r
       and "sha256" not in r,
       "the record's computed digests are SHA-1 alone: MD5 was not "
       "computed", str(r))

    msg, mid = hm.msg_attach(CLEAN, "base64", "notes.pdf")
    code, text = pf.send(msg)
    ok(code == 250 and m.records_for(mid) == [],
       "a clean attachment is accepted and leaves no record",
       "%d %s" % (code, text))
    msg, mid = hm.msg_attach(OTHER, "base64", "b.bin")
    code, text = pf.send(msg)
    recs = m.records_for(mid)
    ok("%d %s" % (code, text) == REPLY and len(recs) == 1
       and recs[0]["lists"][0].get("listed")
       == {"md5": hashlib.md5(OTHER).hexdigest()},
       "a second listed file is refused, its record with its own listed "
       "MD5", str(recs))

except Exception as e:  # a missing binary or server is a failure
    import traceback
    traceback.print_exc()
    ok(False, "milter record tests ran", repr(e))
finally:
    if m is not None:
        m.stop()
    if pf is not None:
        if ok.failed or os.environ.get("HG_DEBUG"):
            print("# maillog tail:\n# " + pf.log_tail(15).replace("\n", "\n# "))
        pf.close()
    if m is not None and (ok.failed or os.environ.get("HG_DEBUG")):
        print("# milter log tail:\n# " + "\n# ".join(m.log().splitlines()[-15:]))
    shutil.rmtree(tmp, ignore_errors=True)
ok.exit()
