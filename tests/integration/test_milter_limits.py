# SPDX-License-Identifier: BSD-2-Clause
"""hashgate-milter limits and fail modes behind a private Postfix.

Each limit (MaxDepth, MaxParts, MaxHeaderBytes, MaxMessageBytes) reached
gives the configured OnFail verdict - 451 4.3.0 with tempfail, delivery
with accept and a log line - never a silent pass, and the next mail is
served. An evidence log that cannot be written (/dev/full: disk full)
never lets a reject go: the mail is refused with either fail mode and its
record goes to the log (test_channels_agree.py has the other actions).
"""

import os
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import hgmilter as hm  # noqa: E402
from postfix import Postfix  # noqa: E402

ok = hm.Checks()
tmp = tempfile.mkdtemp(prefix="hg-milter-limits-")
os.chmod(tmp, 0o755)
pf = None
m = None

LISTED = hm.blob(301, 5_000)
TEMPFAIL = "451 4.3.0 Message could not be scanned, try again later"


def nested_multipart(depth):
    body = "--d%d\r\nContent-Type: text/plain\r\n\r\ninnermost\r\n--d%d--\r\n" % (depth, depth)
    for d in range(depth - 1, 0, -1):
        body = ("--d%d\r\nContent-Type: multipart/mixed; boundary=\"d%d\"\r\n\r\n%s"
                "--d%d--\r\n" % (d, d + 1, body, d))
    msgid = "<deep%d.%f@hashgate.test>" % (depth, time.time())
    return (hm._headers("deep", msgid)
            + 'Content-Type: multipart/mixed; boundary="d1"\r\n\r\n' + body).encode(), msgid


def many_parts(n):
    body = "".join("--p\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % i for i in range(n))
    msgid = "<parts%d.%f@hashgate.test>" % (n, time.time())
    return (hm._headers("parts", msgid) + 'Content-Type: multipart/mixed; boundary="p"\r\n\r\n'
            + body + "--p--\r\n").encode(), msgid


def big_header(n):
    msgid = "<hdr%d.%f@hashgate.test>" % (n, time.time())
    folded = "\r\n".join(" " + "x" * 70 for _ in range(n // 72))
    return (hm._headers("header", msgid, "X-Big:%s\r\n" % folded)
            + "Content-Type: text/plain\r\n\r\nbody\r\n").encode(), msgid


CASES = [
    ("MaxDepth 3", lambda: nested_multipart(6), lambda: nested_multipart(2)),
    ("MaxParts 5", lambda: many_parts(12), lambda: many_parts(3)),
    ("MaxHeaderBytes 4096", lambda: big_header(20_000), lambda: big_header(1_000)),
    ("MaxMessageBytes 200K", lambda: hm.msg_attach(hm.blob(302, 300_000)),
     lambda: hm.msg_attach(hm.blob(303, 50_000))),
]

try:
    hm.check_tool(hm.MILTER)
    hm.check_tool(hm.HASHGATE)
    db = hm.compile_db(os.path.join(tmp, "db.hgdb"), {"blocked": [hm.sha256(LISTED)]})
    limits = dict(MaxDepth="3", MaxParts="5", MaxHeaderBytes="4096",
                  MaxMessageBytes="200K")
    m = hm.Milter(tmp, db, OnFail="tempfail", **limits)
    m.start()
    pf = Postfix(milter=m.postfix_spec, base=os.path.join(tmp, "pf"))
    pf.start()

    for what, over, under in CASES:
        msg, mid = over()
        code, text = pf.send(msg)
        reply = "%d %s" % (code, text)
        ok(reply == TEMPFAIL, "%s exceeded, OnFail tempfail: '%s'" % (what, TEMPFAIL), reply)
        msg, mid = under()
        code, text = pf.send(msg)
        ok(code == 250, "%s not exceeded: the next mail is accepted" % what,
           "%d %s" % (code, text))
    ok("not scanned" in m.log() and "OnFail tempfail" in m.log(),
       "each limit hit is logged as not scanned")

    m.stop(signal.SIGKILL)
    m.settings["OnFail"] = "accept"
    m.start()
    for what, over, _ in CASES:
        msg, mid = over()
        code, text = pf.send(msg)
        ok(code == 250, "%s exceeded, OnFail accept: accepted" % what, "%d %s" % (code, text))
    ok(pf.wait_delivered(len(CASES) * 2 + 1, timeout=20) >= len(CASES) * 2,
       "OnFail accept: the unscanned mails are delivered")
    ok(m.log().count("OnFail accept: delivered unscanned") >= len(CASES),
       "OnFail accept: each is logged as delivered unscanned")

    # a listed part before the limit still counts under OnFail accept
    body = ("--p\r\nContent-Type: application/octet-stream\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n" + hm._b64_lines(LISTED) + "\r\n"
            + "".join("--p\r\nContent-Type: text/plain\r\n\r\nx\r\n" for _ in range(10))
            + "--p--\r\n")
    msg = (hm._headers("mixed", "<first@hashgate.test>")
           + 'Content-Type: multipart/mixed; boundary="p"\r\n\r\n' + body).encode()
    code, text = pf.send(msg)
    ok(code == 550, "a listed part before a limit is still rejected", "%d %s" % (code, text))

    # evidence log on a full disk (/dev/full): a reject stands, recorded in
    # the log (hg_decide_evidence_failed)
    m.stop(signal.SIGKILL)
    m.settings.update(EvidenceLog="/dev/full", OnFail="tempfail")
    m.start()
    code, text = pf.send(hm.msg_attach(LISTED)[0])
    ok(code == 550, "evidence log full, OnFail tempfail: a listed mail is still rejected",
       "%d %s" % (code, text))
    ok("evidence log write failed" in m.log() and hm.sha256(LISTED) in m.log(),
       "the failed record is logged whole instead")
    code, text = pf.send(hm.msg_plain()[0])
    ok(code == 250, "evidence log full: clean mail still flows", "%d %s" % (code, text))
    m.stop(signal.SIGKILL)
    m.settings["OnFail"] = "accept"
    m.start()
    code, text = pf.send(hm.msg_attach(LISTED)[0])
    ok(code == 550, "evidence log full, OnFail accept: a listed mail is still rejected",
       "%d %s" % (code, text))
    ok(m.alive(), "the milter is still running")

except Exception as e:  # a missing binary or server is a failure
    import traceback
    traceback.print_exc()
    ok(False, "milter limit tests ran", repr(e))
finally:
    if m is not None:
        m.stop(signal.SIGKILL)
    if pf is not None:
        if ok.failed:
            print("# maillog tail:\n# " + pf.log_tail(15).replace("\n", "\n# "))
        pf.close()
    if ok.failed and m is not None:
        print("# milter log tail:\n# " + "\n# ".join(m.log().splitlines()[-20:]))
    shutil.rmtree(tmp, ignore_errors=True)
ok.exit()
