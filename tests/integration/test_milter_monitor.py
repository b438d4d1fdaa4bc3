# SPDX-License-Identifier: BSD-2-Clause
"""MonitorOnly never changes mail flow, behind a private Postfix.

With MonitorOnly yes and no OnFail line, what would have stopped a mail
(MaxParts or MaxMessageBytes exceeded, no database, an evidence log that
cannot be written) lets it through: it is delivered and the milter logs
what it would have done. An explicit OnFail tempfail still applies in
monitor mode.
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
tmp = tempfile.mkdtemp(prefix="hg-milter-monitor-")
os.chmod(tmp, 0o755)
pf = None
m = None

LISTED = hm.blob(501, 5_000)
TEMPFAIL = "451 4.3.0 Message could not be scanned, try again later"
WOULD = "MonitorOnly: delivered unscanned, would be OnFail tempfail: 451"


def many_parts(n, first=""):
    body = first + "".join("--p\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % i
                           for i in range(n))
    msgid = "<parts%d.%f@hashgate.test>" % (n, time.time())
    return (hm._headers("parts", msgid)
            + 'Content-Type: multipart/mixed; boundary="p"\r\n\r\n'
            + body + "--p--\r\n").encode(), msgid


OVER = [
    ("MaxParts 5", lambda: many_parts(12)),
    ("MaxMessageBytes 200K", lambda: hm.msg_attach(hm.blob(502, 300_000))),
]


def restart(**settings):
    global m
    if m is not None:
        m.stop(signal.SIGKILL)
    m.settings.pop("OnFail", None)
    m.settings.update(settings)
    m.start()


try:
    hm.check_tool(hm.MILTER)
    hm.check_tool(hm.HASHGATE)
    db = hm.compile_db(os.path.join(tmp, "db.hgdb"), {"blocked": [hm.sha256(LISTED)]})
    m = hm.Milter(tmp, db, MonitorOnly="yes", MaxParts="5",
                  MaxMessageBytes="200K")
    m.start()
    pf = Postfix(milter=m.postfix_spec, base=os.path.join(tmp, "pf"))
    pf.start()
    sent = 0

    for what, over in OVER:
        msg, mid = over()
        code, text = pf.send(msg)
        sent += 1
        ok(code == 250, "MonitorOnly without OnFail, %s exceeded: accepted" % what,
           "%d %s" % (code, text))
    ok(pf.wait_delivered(sent, timeout=20) >= sent,
       "MonitorOnly without OnFail: the mails over a limit are delivered")
    ok(m.log().count(WOULD) >= len(OVER),
       "each is logged as what would have happened: '%s'" % WOULD, m.log()[-2000:])

    # a listed part before the limit: delivered, recorded with what would be done
    part = ("--p\r\nContent-Type: application/octet-stream\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n" + hm._b64_lines(LISTED)
            + "\r\n")
    msg, mid = many_parts(10, first=part)
    code, text = pf.send(msg)
    sent += 1
    recs = m.records_for(mid)
    ok(code == 250 and len(recs) == 1 and recs[0]["action"] == "log"
       and recs[0]["intended_action"] == "reject" and recs[0]["monitor"] is True,
       "MonitorOnly, a listed part then a limit: delivered, its record says "
       "reject would have been done", "%d %s %s" % (code, text, recs))

    # an evidence log that cannot be written (a full disk)
    restart(EvidenceLog="/dev/full")
    code, text = pf.send(hm.msg_attach(LISTED)[0])
    sent += 1
    ok(code == 250, "MonitorOnly without OnFail, evidence log full: a listed "
       "mail is still delivered", "%d %s" % (code, text))
    ok(hm.sha256(LISTED) in m.log(), "its record goes to the log instead")

    # no database at all
    restart(EvidenceLog=m.evidence, Database=os.path.join(tmp, "missing.hgdb"))
    code, text = pf.send(hm.msg_plain()[0])
    sent += 1
    ok(code == 250, "MonitorOnly without OnFail, no database: accepted",
       "%d %s" % (code, text))
    ok(WOULD in m.log() and "no database loaded" in m.log(),
       "no database: logged as what would have happened")
    ok(pf.wait_delivered(sent, timeout=20) >= sent,
       "every mail of monitor mode was delivered")

    # OnFail given explicitly: it applies in monitor mode too
    restart(Database=db, OnFail="tempfail")
    for what, over in OVER:
        msg, mid = over()
        code, text = pf.send(msg)
        reply = "%d %s" % (code, text)
        ok(reply == TEMPFAIL, "MonitorOnly with OnFail tempfail, %s exceeded: "
           "'%s'" % (what, TEMPFAIL), reply)
    restart(Database=os.path.join(tmp, "missing.hgdb"), OnFail="tempfail")
    code, text = pf.send(hm.msg_plain()[0])
    ok("%d %s" % (code, text) == TEMPFAIL,
       "MonitorOnly with OnFail tempfail, no database: tempfailed",
       "%d %s" % (code, text))
    ok(m.alive(), "the milter is still running")

except Exception as e:  # a missing binary or server is a failure
    import traceback
    traceback.print_exc()
    ok(False, "milter monitor-mode tests ran", repr(e))
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
