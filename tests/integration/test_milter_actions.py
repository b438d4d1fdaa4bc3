# SPDX-License-Identifier: BSD-2-Clause
"""hashgate-milter behind a real, private Postfix: what senders, recipients
and abuse teams see for each action.

Lists are made at test time from seeded random bytes. One Postfix relays
to smtp-sink; the milter is restarted with other settings where a check
needs them (monitor mode). Reject runs use one SMTP session per mail, so
Postfix's error tarpit never slows the test.
"""

import os
import shutil
import signal
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import hgmilter as hm  # noqa: E402
from postfix import Postfix  # noqa: E402

ok = hm.Checks()
tmp = tempfile.mkdtemp(prefix="hg-milter-act-")
os.chmod(tmp, 0o755)
pf = None
m = None

REPLY = "550 5.7.1 Message rejected: it contains content that is not accepted here"

# one synthetic "listed" item per list, and clean ones
REJ = hm.blob(101, 150_000)
REJ_TEXT = hm.blob(102, 20_000, no_newlines=True)    # for quoted-printable
HOLD = hm.blob(103, 50_000)
TAG = hm.blob(104, 30_000)
LOG = hm.blob(105, 10_000)
CLEAN = hm.blob(106, 80_000)
ALLOWED = hm.blob(107, 20_000)     # on rejlist and on an allow-list


def sink_has(msgid):
    return [x for x in pf.sink_messages() if x["Message-ID"] == msgid]


def delivered(msgid, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = sink_has(msgid)
        if found:
            return found[0]
        time.sleep(0.1)
    return None


try:
    hm.check_tool(hm.MILTER)
    hm.check_tool(hm.HASHGATE)
    db = hm.compile_db(os.path.join(tmp, "db.hgdb"), {
        "rejlist": ([hm.sha256(REJ), hm.sha256(REJ_TEXT), hm.sha256(ALLOWED)], "2026-11"),
        "holdlist": [hm.sha256(HOLD)],
        "taglist": [hm.sha256(TAG)],
        "loglist": [hm.sha256(LOG)],
    }, allow={"known-good": [hm.sha256(ALLOWED)]})
    m = hm.Milter(tmp, db, ListAction=["rejlist reject", "holdlist hold",
                                       "taglist tag", "loglist log"])
    m.start()
    pf = Postfix(milter=m.postfix_spec, base=os.path.join(tmp, "pf"))
    pf.start()

    # clean
    msg, mid = hm.msg_attach(CLEAN)
    code, text = pf.send(msg)
    ok(code == 250, "clean mail with an attachment is accepted (250)",
       "%d %s" % (code, text))
    got = delivered(mid)
    ok(got is not None, "clean mail arrives at the sink")
    ok(got is not None and got.get("X-Hashgate") is None,
       "clean mail carries no X-Hashgate header")
    ok(m.records_for(mid) == [], "clean mail leaves no evidence record")

    # reject in every encoding, and deep inside forwarded mail
    shapes = [
        ("base64 attachment", hm.msg_attach(REJ, "base64")),
        ("quoted-printable attachment",
         hm.msg_attach(REJ_TEXT, "quoted-printable", "notes.txt", ctype="text/plain")),
        ("x-uuencode attachment", hm.msg_attach(REJ, "x-uuencode", "a.bin")),
        ("uuencoded block in a text body", hm.msg_uu_inline(REJ, "b.bin")),
        ("attachment three message/rfc822 levels deep", hm.msg_nested(REJ, 3)),
    ]
    for what, (msg, mid) in shapes:
        code, text = pf.send(msg)
        reply = "%d %s" % (code, text)
        ok(reply == REPLY, "listed %s is refused with '%s'" % (what, REPLY),
           reply)
        recs = m.records_for(mid)
        ok(len(recs) == 1 and recs[0]["action"] == "reject"
           and recs[0]["lists"][0]["list"] == "rejlist",
           "listed %s: one evidence record, action reject, list rejlist" % what,
           str(recs))
    ok("rejlist" not in REPLY and "rejlist" not in pf.log().split("milter-reject")[-1],
       "the SMTP reply does not name the list")

    # the record of the base64 one, field by field
    msg, mid = hm.msg_attach(REJ, "base64", "holiday.jpg")
    code, _ = pf.send(msg, sender="alice@example.org",
                      rcpts=("bob@example.net", "carol@example.net"))
    recs = m.records_for(mid)
    r = recs[0] if recs else {}
    qid = pf.queue_id_of(mid)
    ok(qid is not None and r.get("queue_id") == qid,
       "the record carries the queue ID Postfix logged for the mail",
       "record %s, maillog %s" % (r.get("queue_id"), qid))
    ok(r.get("client_addr") == "127.0.0.1" and r.get("helo") == "client.hashgate.test",
       "the record has the client address and HELO", str(r))
    ok(r.get("mail_from") == "alice@example.org"
       and r.get("rcpt_to") == ["bob@example.net", "carol@example.net"],
       "the record has the envelope sender and every recipient", str(r))
    ok(r.get("sha256") == hm.sha256(REJ) and r.get("size") == len(REJ),
       "the record has the attachment's SHA-256 and size", str(r))
    ok(r.get("filename") == "holiday.jpg" and r.get("declared_type") == "image/jpeg"
       and r.get("detected_type") == "application/octet-stream",
       "the record has file name, declared and detected type", str(r))
    ok(r.get("part") == "2" and r.get("lists", [{}])[0].get("version") == "2026-11",
       "the record has the part path and the list version", str(r))
    ok(not any(len(str(v)) > 2000 for v in r.values()),
       "the record holds no content (no long fields)")
    mode = os.stat(m.evidence).st_mode & 0o777
    ok(mode == 0o640, "the evidence log is mode 0640", oct(mode))
    ok("match queue_id=%s" % qid in m.log(),
       "a log line names the match with its queue ID")

    # hold
    msg, mid = hm.msg_attach(HOLD, filename="held.png", ctype="image/png")
    code, text = pf.send(msg)
    ok(code == 250, "a hold-listed attachment is accepted (250)", text)
    qid = pf.queue_id_of(mid)
    held = pf.hold_ids()
    ok(qid is not None and qid in held,
       "the mail is in Postfix's hold queue (postqueue -j)", "%s in %s" % (qid, held))
    recs = m.records_for(mid)
    ok(len(recs) == 1 and recs[0]["action"] == "hold" and recs[0].get("queue_id") == qid
       and qid in (recs[0].get("held_at") or ""),
       "its record says hold and where it is kept (queue ID)", str(recs))
    ok(not sink_has(mid), "the held mail is not delivered")
    # Postfix logs the hold but not the quarantine reason; the milter's
    # log line names the list for that queue ID
    ok(qid is not None and "%s: milter-hold" % qid in pf.log()
       and "match queue_id=%s client=127.0.0.1 part=2 list=holdlist action=hold" % qid
       in m.log(),
       "Postfix logs milter-hold for the queue ID; the milter's log names the list")

    # tag
    msg, mid = hm.msg_attach(TAG)
    code, text = pf.send(msg)
    got = delivered(mid)
    ok(code == 250 and got is not None, "a tag-listed mail is delivered")
    ok(got is not None and "taglist" in (got.get("X-Hashgate") or ""),
       "the delivered mail carries the X-Hashgate header naming the list",
       str(got.get("X-Hashgate") if got else None))
    recs = m.records_for(mid)
    ok(len(recs) == 1 and recs[0]["action"] == "tag", "its record says tag")

    # log
    msg, mid = hm.msg_attach(LOG)
    code, text = pf.send(msg)
    got = delivered(mid)
    ok(code == 250 and got is not None and got.get("X-Hashgate") is None,
       "a log-listed mail is delivered untouched")
    recs = m.records_for(mid)
    ok(len(recs) == 1 and recs[0]["action"] == "log", "its record says log")

    # a digest on an allow-list never triggers an action
    msg, mid = hm.msg_attach(ALLOWED)
    code, text = pf.send(msg)
    ok(code == 250 and delivered(mid) is not None and not m.records_for(mid),
       "an attachment on rejlist and on an allow-list is delivered, no record",
       "%d %s" % (code, text))
    ok("on allow-list known-good" in m.log(), "the milter logs the allow-list that let it pass")

    # two parts on two lists: the stronger action wins, both recorded
    both = (hm._headers("two", "<two@hashgate.test>")
            + 'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
            "--b\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + hm._b64_lines(TAG) + "\r\n--b\r\nContent-Type: image/png\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n" + hm._b64_lines(HOLD)
            + "\r\n--b--\r\n").encode()
    code, text = pf.send(both)
    recs = m.records_for("<two@hashgate.test>")
    qid = pf.queue_id_of("<two@hashgate.test>")
    ok(code == 250 and qid in pf.hold_ids() and len(recs) == 2
       and all(x["action"] == "hold" for x in recs),
       "tag + hold parts in one mail: held, two records saying hold", str(recs))
    pf.flush_hold()

    # monitor mode: restart the milter with MonitorOnly yes (killed: a
    # graceful stop waits out libmilter's 5 s poll, tested elsewhere)
    m.stop(signal.SIGKILL)
    m.settings["MonitorOnly"] = "yes"
    m.start()
    msg, mid = hm.msg_attach(REJ)
    code, text = pf.send(msg)
    got = delivered(mid)
    ok(code == 250 and got is not None,
       "monitor mode: a reject-listed mail is delivered", "%d %s" % (code, text))
    ok(got is not None and "rejlist" in (got.get("X-Hashgate") or ""),
       "monitor mode: the mail carries the X-Hashgate header")
    recs = m.records_for(mid)
    ok(len(recs) == 1 and recs[0]["action"] == "log"
       and recs[0].get("intended_action") == "reject" and recs[0]["monitor"] is True,
       "monitor mode: recorded as log, intended reject", str(recs))

    # milter gone: Postfix tempfails, nothing is delivered unscanned
    m.stop(signal.SIGKILL)
    before = len(pf.sink_files())
    msg, mid = hm.msg_attach(CLEAN)
    code, text = pf.send(msg)
    ok(400 <= code < 500, "milter stopped: Postfix answers 4xx",
       "%d %s" % (code, text))
    time.sleep(1)
    ok(len(pf.sink_files()) == before and not sink_has(mid),
       "milter stopped: nothing delivered")

    # milter killed in the middle of a message
    m.settings["MonitorOnly"] = "no"
    m.start()
    before = len(pf.sink_files())
    msg, mid = hm.msg_attach(CLEAN)
    s = socket.create_connection(("127.0.0.1", pf.port), timeout=30)
    f = s.makefile("rb")
    f.readline()
    for cmd in (b"EHLO client.hashgate.test", b"MAIL FROM:<a@example.org>",
                b"RCPT TO:<b@example.net>", b"DATA"):
        s.sendall(cmd + b"\r\n")
        while True:
            line = f.readline()
            if line[3:4] != b"-":
                break
    s.sendall(msg[: len(msg) // 2])
    m.stop(signal.SIGKILL)
    s.sendall(msg[len(msg) // 2:] + b"\r\n.\r\n")
    reply = f.readline().decode(errors="replace").strip()
    s.sendall(b"QUIT\r\n")
    s.close()
    ok(reply.startswith("4"), "milter killed mid-message: Postfix tempfails it",
       reply)
    time.sleep(1)
    ok(len(pf.sink_files()) == before, "milter killed mid-message: nothing delivered")

    # over TCP the milter replies to every chunk and rejects from the body
    # callback itself (over unix the verdict waits for end of message)
    m.stop(signal.SIGKILL)
    tm = hm.Milter(os.path.join(tmp, "tcp"), db, transport="inet",
                   ListAction=["rejlist reject", "taglist tag"])
    os.makedirs(tm.base)
    m = tm.start()
    pf.postconf("smtpd_milters = " + tm.postfix_spec)
    msg, mid = hm.msg_attach(REJ)
    code, text = pf.send(msg)
    ok("%d %s" % (code, text) == REPLY and len(m.records_for(mid)) == 1,
       "over TCP: a listed attachment is refused and recorded", "%d %s" % (code, text))
    msg, mid = hm.msg_attach(TAG)
    code, text = pf.send(msg)
    got = delivered(mid)
    ok(code == 250 and got is not None and "taglist" in (got.get("X-Hashgate") or ""),
       "over TCP: a tag-listed mail arrives with the header")
    # a delayed-ACK stall holds every mail 40 ms or more; other load on a
    # shared machine slows some mails, never all: the fastest of ten shows
    # a stall, the average would also show the load
    times = []
    for _ in range(10):
        t0 = time.time()
        pf.send(hm.msg_plain()[0])
        times.append(time.time() - t0)
    ok(min(times) < 0.035, "over TCP: no delayed-ACK stall (fastest of 10 "
       "mails %.0f ms, average %.0f ms, one session each)"
       % (min(times) * 1000, sum(times) * 100))

except Exception as e:  # a missing binary or server is a failure
    import traceback
    traceback.print_exc()
    ok(False, "milter action tests ran", repr(e))
finally:
    if m is not None:
        m.stop()
    if pf is not None:
        if ok.failed or os.environ.get("HG_DEBUG"):
            print("# maillog tail:\n# " + pf.log_tail(int(os.environ.get("HG_DEBUG", "15"))).replace("\n", "\n# "))
        pf.close()
    if m is not None and (ok.failed or os.environ.get("HG_DEBUG")):
        print("# milter log tail:\n# " + "\n# ".join(m.log().splitlines()[-15:]))
    shutil.rmtree(tmp, ignore_errors=True)
ok.exit()
