# SPDX-License-Identifier: BSD-2-Clause
"""hashgate-milter with ParallelDigests gives the same verdicts and records
as digests computed one after the other, behind a real, private Postfix.

A plain list of MD5 and SHA-1 digests (one a line: a scan computes both)
lists a 25 MiB attachment by its MD5 only and a 9 MiB one by its SHA-1
only; a third is clean. With ParallelDigests 64K (the smallest split) and
off, and with the same list compiled --all-digests: both listed ones are
refused through either algorithm, the clean one is accepted, and the
evidence records (digests, size, list, algorithm) are the same with the
split and without. hashgate-milter -t refuses other values, naming file
and line.

Payloads are seeded random bytes.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import hgmilter as hm  # noqa: E402
from postfix import Postfix  # noqa: E402

ok = hm.Checks()
tmp = tempfile.mkdtemp(prefix="hg-milter-par-")
os.chmod(tmp, 0o755)

REPLY = ("550 5.7.1 Message rejected: it contains content that is not "
         "accepted here")
BY_MD5 = hm.blob(811, 25 << 20)
BY_SHA1 = hm.blob(812, 9 << 20)
CLEAN = hm.blob(813, 9 << 20)


def compile_db(path, all_digests):
    src = path + ".txt"
    with open(src, "w") as f:
        f.write(hashlib.md5(BY_MD5).hexdigest() + "\n")
        f.write(hashlib.sha1(BY_SHA1).hexdigest() + "\n")
    args = [hm.HASHGATE, "compile", "-o", path]
    if all_digests:
        args.append("--all-digests")
    p = subprocess.run(args + ["cam=" + src], capture_output=True, text=True,
                       timeout=60)
    if p.returncode != 0:
        raise RuntimeError("compile: " + p.stderr)
    os.chmod(path, 0o644)


def kept(rec):
    """What must not depend on how the digests were computed."""
    return json.dumps({k: rec.get(k) for k in ("action", "lists", "md5",
                                               "sha1", "sha256", "size",
                                               "filename", "part")},
                      sort_keys=True)


def run(label, setting, all_digests):
    base = os.path.join(tmp, "%s-%d" % (setting, all_digests))
    os.makedirs(base)
    os.chmod(base, 0o755)
    db = os.path.join(base, "db.hgdb")
    compile_db(db, all_digests)
    m = hm.Milter(base, db, ParallelDigests=setting)
    pf = None
    out = []
    tag = label + (", --all-digests db" if all_digests else "")
    try:
        m.start()
        pf = Postfix(milter=m.postfix_spec, base=os.path.join(base, "pf"))
        pf.start()
        for name, data, refused in (("by-md5.bin", BY_MD5, True),
                                    ("by-sha1.bin", BY_SHA1, True),
                                    ("clean.bin", CLEAN, False)):
            msg, mid = hm.msg_attach(data, "base64", name)
            code, text = pf.send(msg)
            recs = m.records_for(mid)
            size = "%d MiB" % (len(data) >> 20)
            if refused:
                alg = "md5" if "md5" in name else "sha1"
                r = recs[0] if len(recs) == 1 else {}
                ok("%d %s" % (code, text) == REPLY and len(recs) == 1
                   and r["lists"][0].get("algorithm") == alg,
                   "%s: a %s attachment listed by its %s only is refused"
                   % (tag, size, alg.upper()),
                   "%d %s %s" % (code, text, recs))
                ok(r.get("md5") == hashlib.md5(data).hexdigest()
                   and r.get("sha1") == hashlib.sha1(data).hexdigest()
                   and r.get("size") == len(data)
                   and (not all_digests
                        or r.get("sha256") == hashlib.sha256(data).hexdigest()),
                   "%s: its record carries the file's true digests and size"
                   % tag, str(r)[:1500])
                out.extend(kept(x) for x in recs)
            else:
                ok(code == 250 and recs == [],
                   "%s: a clean %s attachment is accepted" % (tag, size),
                   "%d %s %s" % (code, text, recs))
        ok(m.alive(), "%s: the milter is still running" % tag)
    finally:
        m.stop()
        if pf is not None:
            if ok.failed or os.environ.get("HG_DEBUG"):
                print("# maillog tail:\n# "
                      + pf.log_tail(15).replace("\n", "\n# "))
            pf.close()
        if ok.failed or os.environ.get("HG_DEBUG"):
            print("# milter log tail:\n# "
                  + "\n# ".join(m.log().splitlines()[-15:]))
    return out


try:
    hm.check_tool(hm.MILTER)
    hm.check_tool(hm.HASHGATE)

    db = os.path.join(tmp, "t.hgdb")
    compile_db(db, False)
    for value, good in (("off", True), ("64K", True), ("8M", True),
                        ("63K", False), ("0", False), ("on", False),
                        ("2G", False)):
        conf = os.path.join(tmp, "t-%s.conf" % value)
        with open(conf, "w") as f:
            f.write("Socket unix:%s/t.sock\nDatabase %s\n"
                    "ParallelDigests %s\nUserID %s\n"
                    % (tmp, db, value, hm.RUN_AS))
        p = subprocess.run([hm.MILTER, "-t", "-c", conf], capture_output=True,
                           text=True, timeout=20)
        if good:
            ok(p.returncode == 0, "-t accepts ParallelDigests %s" % value,
               p.stdout + p.stderr)
        else:
            ok(p.returncode != 0
               and "t-%s.conf:3:" % value in p.stderr
               and "ParallelDigests" in p.stderr,
               "-t refuses ParallelDigests %s, naming file and line" % value,
               p.stderr)

    for all_digests in (False, True):
        split = run("ParallelDigests 64K", "64K", all_digests)
        serial = run("ParallelDigests off", "off", all_digests)
        ok(split == serial and len(split) == 2,
           "records with the split are the same as serial ones%s"
           % (" (--all-digests db)" if all_digests else ""),
           "%s\nvs\n%s" % (split, serial))

except Exception as e:  # a missing binary or server is a failure
    import traceback
    traceback.print_exc()
    ok(False, "milter parallel digest tests ran", repr(e))
finally:
    shutil.rmtree(tmp, ignore_errors=True)
ok.exit()
