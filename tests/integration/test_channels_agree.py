#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_channels_agree.py - mail and uploads with the same files get the
same records and the same fate.

The same synthetic files (seeded random bytes) go through a real Postfix
with hashgate-milter, as attachments of one mail, and through a real nginx
with the hashgate module, as files of one form, against one database with
a list per action. The records of both channels are compared field by
field, leaving out what only one channel has (time, channel, part path,
transfer encoding, where a held item is, and the channel's context).

- A part on a log list in a mail or form that is rejected (or held) for
  another part: every record says what was done to the whole, and none
  claims monitor mode or an intended action (nginx said "monitor": true).
  In monitor mode every record says so, with its own part's intended
  action.
- A listed file followed by a part over the part limit (MaxParts /
  hashgate_max_parts 2): the merge of a message's verdicts with a scan
  failure is decided once (hg_verdict_merge), so both channels give the
  same outcome and records. A reject stands (550 / 403: nothing more
  needed reading) and a hold stands (hold queue / hold directory: the
  preserved item covers the unscanned rest; the milter deferred it with
  451), its records saying "error": the rest was not scanned. A log match
  gets the fail verdict (451 / 503, "intended_action": "log"). In monitor
  mode and with the fail mode accept the item passes (or is held) and the
  records say the error too (the milter's said nothing).
- A hold that cannot be made (an MTA that does not let the milter
  quarantine, a hold directory nginx cannot write): both defer the item
  (451 / 503) and write the same record, tempfail with intended_action
  hold and the error; the milter wrote its record before trying and said
  hold.
- An evidence log that cannot be written: the log is a file on a 64 KiB
  tmpfs that is filled after the servers opened it, so write() fails at
  the match with ENOSPC. A reject stands (550 / 403), a hold stands (hold
  queue / hold directory), a log-only match is deferred (451 / 503) with
  the default fail mode and passes with OnFail accept / hashgate_on_error
  pass; each record goes whole, with the action applied, to the server's
  own log (the milter's log, nginx's error_log).
"""

import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import hgmilter as hm  # noqa: E402
import nginx as N  # noqa: E402
from postfix import Postfix  # noqa: E402

HTTP = r"""
    hashgate_database {tmp}/db.hgdb;
    hashgate_evidence_log {prefix}/evidence.jsonl;
    client_max_body_size 64m;
    server {
        listen 127.0.0.1:{port};
        hashgate on;
        hashgate_hold_path {tmp}/hold;
        hashgate_list_action rejlist reject;
        hashgate_list_action holdlist hold;
        hashgate_list_action loglist log;
        location /form/ { proxy_pass http://recorder; }
        location /monitor/ {
            hashgate_monitor on;
            proxy_pass http://recorder;
        }
        location /full/ {
            hashgate_evidence_log {tmp}/full/nginx-evidence.jsonl;
            proxy_pass http://recorder;
        }
        location /limit/ {
            hashgate_max_parts 2;
            proxy_pass http://recorder;
        }
        location /limit-monitor/ {
            hashgate_max_parts 2;
            hashgate_monitor on;
            proxy_pass http://recorder;
        }
        location /limit-pass/ {
            hashgate_max_parts 2;
            hashgate_on_error pass;
            proxy_pass http://recorder;
        }
        location /nohold/ {
            hashgate_hold_path {tmp}/hold-ro;
            proxy_pass http://recorder;
        }
        location /full-pass/ {
            hashgate_evidence_log {tmp}/full/nginx-evidence.jsonl;
            hashgate_on_error pass;
            proxy_pass http://recorder;
        }
    }
"""

REJ = N.payload(501, 40_000)
HOLD = N.payload(502, 30_000)
LOG = N.payload(503, 20_000)
EXTRA = N.payload(504, 5_000)       # on no list: the part over the limit

# (field, file name, declared type) of each file, alike in mail and form
NAMES = {id(LOG): ("a", "notes.bin", "application/octet-stream"),
         id(REJ): ("b", "photo.jpg", "image/jpeg"),
         id(HOLD): ("b", "photo.jpg", "image/jpeg"),
         id(EXTRA): ("c", "more.bin", "application/octet-stream")}

# what only one channel has, or differs by nature (time)
CHANNEL_ONLY = {"time", "channel", "part", "encoding", "held_at",
                "client_addr", "client_name", "helo", "mail_from", "rcpt_to",
                "message_id", "queue_id", "host", "method", "uri",
                "request_id"}

ok = hm.Checks()


def common(rec):
    return {k: v for k, v in rec.items() if k not in CHANNEL_ONLY}


def by_digest(recs):
    return {r.get("sha256"): common(r) for r in recs}


def same(mail_recs, http_recs):
    """(True, "") when both channels wrote the same records, else the
    fields that differ."""
    a, b = by_digest(mail_recs), by_digest(http_recs)
    if set(a) != set(b) or len(a) != len(mail_recs) \
            or len(b) != len(http_recs):
        return False, "mail %s, http %s" % (mail_recs, http_recs)
    diff = {}
    for d in a:
        for k in set(a[d]) | set(b[d]):
            if a[d].get(k) != b[d].get(k):
                diff[k] = (a[d].get(k), b[d].get(k))
    return not diff, "differs (mail, http): %s" % diff


def mail_of(files, msgid):
    """One mail: a text part, then each file as a base64 attachment."""
    s = (hm._headers("files", msgid)
         + 'Content-Type: multipart/mixed; boundary="=-b"\r\n\r\n'
         "--=-b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n")
    for data in files:
        _, fname, ctype = NAMES[id(data)]
        s += ("--=-b\r\nContent-Type: %s; name=\"%s\"\r\n"
              "Content-Disposition: attachment; filename=\"%s\"\r\n"
              "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n"
              % (ctype, fname, fname, hm._b64_lines(data)))
    return (s + "--=-b--\r\n").encode()


def form_of(files):
    return N.multipart([("note", None, None, b"see attached")]
                       + [NAMES[id(d)] + (d,) for d in files])


def post(ng, path, files):
    body, ctype = form_of(files)
    return N.http_request(ng.port, "POST", path, body,
                          {"Content-Type": ctype})[0]


def queue_id(pf, mid, timeout=10):
    """The queue ID Postfix logged for mid (its log is written a moment
    after the SMTP reply)."""
    deadline = time.time() + timeout
    while True:
        qid = pf.queue_id_of(mid)
        if qid or time.time() > deadline:
            return qid
        time.sleep(0.05)


def joined(text, pattern):
    """Records a server put in its own log in numbered pieces: pattern
    matches one piece line with groups (record key, i, n, piece)."""
    parts = {}
    for line in text.splitlines():
        m = re.search(pattern, line)
        if m:
            key, i, n, piece = m.groups()
            parts.setdefault(key, {})[int(i)] = (int(n), piece)
    out = []
    for key, p in parts.items():
        n = p[min(p)][0]
        if sorted(p) != list(range(1, n + 1)):
            out.append({"error": "pieces %s of %d for %s" % (sorted(p), n,
                                                              key)})
            continue
        try:
            out.append(json.loads("".join(p[i][1] for i in sorted(p))))
        except ValueError as e:
            out.append({"error": "%s: %r" % (key, e)})
    return out


def milter_fallback(m):
    return joined(m.log(), r" record queue_id=(\S+ part=\S+) (\d+)/(\d+): "
                           r"(.*)$")


def nginx_fallback(ng):
    return joined(ng.error_log(), r"hashgate: record request_id=(\S+ \d+) "
                                  r"(\d+)/(\d+): (.*)$")


def new(recs, before):
    return [r for r in recs if json.dumps(r, sort_keys=True) not in before]


def seen(recs):
    return {json.dumps(r, sort_keys=True) for r in recs}


def held_bodies(ng):
    return {n for n in os.listdir(os.path.join(ng.tmp, "hold"))
            if not n.endswith(".json")}


def was_delivered(pf, mid, timeout=15):
    deadline = time.time() + timeout
    while True:
        got = [x for x in pf.sink_messages() if x["Message-ID"] == mid]
        if got or time.time() > deadline:
            return bool(got)
        time.sleep(0.1)


def fill(path):
    """Fill the file system of path until it has no room left."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as e:
        if e.errno != errno.ENOSPC:
            raise
    finally:
        os.close(fd)


def main():
    tmp = tempfile.mkdtemp(prefix="hg-agree-")
    full = os.path.join(tmp, "full")
    os.makedirs(full)
    mounted = False
    pf = m = ng = None
    try:
        # an evidence log on a tiny file system, opened while there is room
        r = subprocess.run(["mount", "-t", "tmpfs", "-o",
                            "size=64k,mode=0755", "tmpfs", full],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("cannot mount a tmpfs (root needed): "
                               + r.stderr)
        mounted = True

        ng = N.Nginx(HTTP, tmp=tmp)
        N.make_db(os.path.join(tmp, "db.hgdb"),
                  {"rejlist": [REJ], "holdlist": [HOLD], "loglist": [LOG]})
        db = os.path.join(tmp, "db.hgdb")
        ng.start()

        base = os.path.join(tmp, "m")
        os.makedirs(base)
        os.chmod(base, 0o755)
        m = hm.Milter(base, db, ListAction=["rejlist reject",
                                            "holdlist hold",
                                            "loglist log"])
        m.start()
        pf = Postfix(milter=m.postfix_spec, base=os.path.join(tmp, "pf"))
        pf.start()

        run(pf, m, ng, full)
    except Exception as e:  # a missing binary or server is a failure
        import traceback
        traceback.print_exc()
        ok(False, "channel agreement tests ran", repr(e))
    finally:
        show = ok.failed or os.environ.get("HG_DEBUG")
        if m is not None:
            m.stop(signal.SIGKILL)
            if show:
                print("# milter log tail:\n# "
                      + "\n# ".join(m.log().splitlines()[-20:]))
        if ng is not None:
            if show:
                print("# nginx error log tail:\n# "
                      + "\n# ".join(ng.error_log().splitlines()[-20:]))
            ng.cleanup()
        if pf is not None:
            if show:
                print("# maillog tail:\n# "
                      + pf.log_tail(15).replace("\n", "\n# "))
            pf.close()
        if mounted and subprocess.run(["umount", full]).returncode != 0:
            subprocess.run(["umount", "-l", full])
        shutil.rmtree(tmp, ignore_errors=True)
    ok.exit()


def run(pf, m, ng, full):
    # ---- a log-listed file beside a reject- or hold-listed one ----
    for other, data, mcode in (("reject", REJ, 550), ("hold", HOLD, 250)):
        mid = "<log-and-%s@hashgate.test>" % other
        code, text = pf.send(mail_of([LOG, data], mid))
        qid = queue_id(pf, mid)
        mrecs = m.records_for(mid)
        nev = len(ng.evidence())
        st = post(ng, "/form/log-and-" + other, [LOG, data])
        hrecs = ng.evidence()[nev:]
        recs_ok = [len(recs) == 2
                   and all(r["action"] == other and r["monitor"] is False
                           and "intended_action" not in r for r in recs)
                   for recs in (mrecs, hrecs)]
        ok(code == mcode and recs_ok[0]
           and (other != "hold" or qid in pf.hold_ids()),
           "mail with a log-listed and a %s-listed attachment: %s, two "
           "records saying %s, neither monitor nor intended_action"
           % (other, "held" if other == "hold" else mcode, other),
           "%d %s, %s: %s" % (code, text, qid, mrecs))
        ok(st == 403 and recs_ok[1],
           "form with a log-listed and a %s-listed file: %s, two records "
           "saying %s, neither monitor nor intended_action"
           % (other, "held (403)" if other == "hold" else 403, other),
           "status %d: %s" % (st, hrecs))
        agree, why = same(mrecs, hrecs)
        ok(agree, "log + %s: mail and form records agree field by field"
           % other, why)
    pf.flush_hold()

    over_the_limit(pf, m, ng)
    hold_not_made(m, ng)

    # ---- monitor mode: each record says so, with its own intended ----
    m.stop(signal.SIGKILL)
    m.settings["MonitorOnly"] = "yes"
    m.start()
    mid = "<monitor@hashgate.test>"
    code, text = pf.send(mail_of([LOG, REJ], mid))
    mrecs = m.records_for(mid)
    want = {hm.sha256(LOG): "log", hm.sha256(REJ): "reject"}
    ok(code == 250 and len(mrecs) == 2
       and all(r["action"] == "log" and r["monitor"] is True
               and r.get("intended_action") == want.get(r["sha256"])
               for r in mrecs),
       "monitor mode, mail: delivered, each record says monitor and its own "
       "part's intended action", "%d %s: %s" % (code, text, mrecs))
    nev = len(ng.evidence())
    st = post(ng, "/monitor/log-and-reject", [LOG, REJ])
    hrecs = ng.evidence()[nev:]
    ok(st == 200 and len(hrecs) == 2
       and all(r["action"] == "log" and r["monitor"] is True
               and r.get("intended_action") == want.get(r["sha256"])
               for r in hrecs),
       "monitor mode, form: passed, each record says monitor and its own "
       "part's intended action", "status %d: %s" % (st, hrecs))
    agree, why = same(mrecs, hrecs)
    ok(agree, "monitor mode: mail and form records agree field by field",
       why)

    # ---- an evidence log that cannot be written ----
    m.stop(signal.SIGKILL)
    m.settings["MonitorOnly"] = "no"
    m.settings["EvidenceLog"] = os.path.join(full, "milter-evidence.log")
    m.start()
    fill(os.path.join(full, "filler"))
    logs = [os.path.join(full, n) for n in ("milter-evidence.log",
                                            "nginx-evidence.jsonl")]
    ok(all(os.path.exists(p) and os.path.getsize(p) == 0 for p in logs)
       and os.statvfs(full).f_bavail == 0,
       "both evidence logs are open on a file system with no room left",
       str([(p, os.path.exists(p)) for p in logs]))

    cases = (("reject", REJ, 550, 403), ("hold", HOLD, 250, 403),
             ("log", LOG, 451, 503))
    for what, data, mcode, hstatus in cases:
        before_m, before_h = seen(milter_fallback(m)), seen(nginx_fallback(ng))
        mid = "<full-%s@hashgate.test>" % what
        code, text = pf.send(mail_of([data], mid))
        qid = queue_id(pf, mid)
        bodies = held_bodies(ng)
        st = post(ng, "/full/" + what, [data])
        kept = held_bodies(ng) - bodies
        mrecs = new(milter_fallback(m), before_m)
        hrecs = new(nginx_fallback(ng), before_h)
        applied = "tempfail" if what == "log" else what
        rec_ok = [len(recs) == 1 and recs[0].get("action") == applied
                  and recs[0].get("sha256") == hm.sha256(data)
                  and recs[0].get("error") == "I/O error"
                  and recs[0].get("monitor") is False
                  and recs[0].get("intended_action") == (
                      "log" if what == "log" else None)
                  for recs in (mrecs, hrecs)]
        held = ", held: mail %s, upload %s" % (qid in pf.hold_ids(), kept)
        ok(code == mcode and rec_ok[0]
           and (what != "hold" or qid in pf.hold_ids())
           and mrecs[0].get("queue_id") == qid,
           "evidence log full, %s-listed mail: %d%s, its record (%s) whole "
           "in the milter's log" % (what, mcode,
                                    " and held" if what == "hold" else "",
                                    applied),
           "%d %s%s: %s" % (code, text, held, mrecs))
        ok(st == hstatus and rec_ok[1]
           and len(kept) == (1 if what == "hold" else 0),
           "evidence log full, %s-listed upload: %d%s, its record (%s) "
           "whole in nginx's error log" % (
               what, hstatus, " and its body kept in the hold dir"
               if what == "hold" else "", applied),
           "status %d%s: %s" % (st, held, hrecs))
        agree, why = same(mrecs, hrecs)
        ok(agree, "evidence log full, %s: the fallback records of mail and "
           "upload agree field by field" % what, why)
    pf.flush_hold()
    ok(all(os.path.getsize(p) == 0 for p in logs),
       "nothing, not even half a record, is in the full evidence logs")

    # fail-open: a log-only match passes, its record in the fallback log
    m.stop(signal.SIGKILL)
    m.settings["OnFail"] = "accept"
    m.start()
    before_m, before_h = seen(milter_fallback(m)), seen(nginx_fallback(ng))
    mid = "<full-log-accept@hashgate.test>"
    code, text = pf.send(mail_of([LOG], mid))
    st = post(ng, "/full-pass/log", [LOG])
    mrecs = new(milter_fallback(m), before_m)
    hrecs = new(nginx_fallback(ng), before_h)
    deadline = time.time() + 15
    while time.time() < deadline and not [
            x for x in pf.sink_messages() if x["Message-ID"] == mid]:
        time.sleep(0.1)
    delivered = [x for x in pf.sink_messages() if x["Message-ID"] == mid]
    ok(code == 250 and delivered and len(mrecs) == 1
       and mrecs[0].get("action") == "log"
       and mrecs[0].get("error") == "I/O error"
       and "intended_action" not in mrecs[0],
       "evidence log full, OnFail accept: a log-listed mail is delivered, "
       "its record (log) in the milter's log",
       "%d %s, delivered %d: %s" % (code, text, len(delivered), mrecs))
    ok(st == 200 and len(hrecs) == 1 and hrecs[0].get("action") == "log",
       "evidence log full, hashgate_on_error pass: a log-listed upload "
       "passes, its record (log) in nginx's error log",
       "status %d: %s" % (st, hrecs))
    agree, why = same(mrecs, hrecs)
    ok(agree, "evidence log full, fail-open: the fallback records of mail "
       "and upload agree field by field", why)
    ok(m.alive() and not ng.crashes(), "milter and nginx are still running",
       str(ng.crashes()))


def hold_not_made(m, ng):
    """A hold that cannot be made: an MTA that does not let the milter
    quarantine (Postfix always does, so the milter is spoken to directly)
    and a hold directory nginx cannot write. Both defer the item and say
    so in the same record: tempfail, intended hold, the error."""
    os.chmod(os.path.join(ng.tmp, "hold-ro"), 0o500)
    mid = "<hold-not-made@hashgate.test>"
    c = hm.MilterClient(m, actions=0x1FF & ~0x20)     # no SMFIF_QUARANTINE
    try:
        c.connect()
        c.mail()
        c.rcpt()
        c.data()
        r = c.message(mail_of([HOLD], mid))
        verdict = hm.final(r if r and hm.final(r) != "continue"
                           else c.eom())
    finally:
        c.quit()
    mrecs = m.records_for(mid)
    nev = len(ng.evidence())
    st = post(ng, "/nohold/x", [HOLD])
    hrecs = ng.evidence()[nev:]
    rec_ok = [len(recs) == 1 and recs[0].get("action") == "tempfail"
              and recs[0].get("intended_action") == "hold"
              and recs[0].get("monitor") is False
              and recs[0].get("error") == "I/O error"
              and "held_at" not in recs[0]
              for recs in (mrecs, hrecs)]
    ok(verdict is not None and verdict.startswith("451") and rec_ok[0],
       "a hold the MTA does not let the milter make: 451, its record says "
       "tempfail, intended hold, the error", "%s: %s" % (verdict, mrecs))
    ok(st == 503 and rec_ok[1],
       "a hold nginx cannot write: 503, its record says tempfail, intended "
       "hold, the error", "status %d: %s" % (st, hrecs))
    agree, why = same(mrecs, hrecs)
    ok(agree, "a hold not made: mail and form records agree field by field",
       why)


# (mode, listed file, mail's fate, form's status, held, record's action,
#  its intended_action, its error)
LIMIT_CASES = (
    ("enforcing", REJ, 550, 403, False, "reject", None, None),
    ("enforcing", HOLD, 250, 403, True, "hold", None, "limit reached"),
    ("enforcing", LOG, 451, 503, False, "tempfail", "log", "limit reached"),
    ("monitor", REJ, 250, 200, False, "log", "reject", "limit reached"),
    ("monitor", HOLD, 250, 200, False, "log", "hold", "limit reached"),
    ("fail-open", REJ, 550, 403, False, "reject", None, None),
    ("fail-open", HOLD, 250, 403, True, "hold", None, "limit reached"),
    ("fail-open", LOG, 250, 200, False, "log", None, "limit reached"),
)

LIMIT_MODES = {
    "enforcing": ({}, "/limit/"),
    "monitor": ({"MonitorOnly": "yes"}, "/limit-monitor/"),
    "fail-open": ({"OnFail": "accept"}, "/limit-pass/"),
}

LIST_OF = {id(REJ): "reject", id(HOLD): "hold", id(LOG): "log"}


def over_the_limit(pf, m, ng):
    """A listed file, then a part over MaxParts / hashgate_max_parts."""
    mode = None
    for (how, data, mcode, hstatus, held, action, intended,
         error) in LIMIT_CASES:
        if how != mode:
            mode = how
            m.stop(signal.SIGKILL)
            for k in ("MonitorOnly", "OnFail"):
                m.settings.pop(k, None)
            m.settings["MaxParts"] = "2"
            m.settings.update(LIMIT_MODES[how][0])
            m.start()
        what = LIST_OF[id(data)]
        mid = "<limit-%s-%s@hashgate.test>" % (how, what)
        code, text = pf.send(mail_of([data, EXTRA], mid))
        qid = queue_id(pf, mid)
        mrecs = m.records_for(mid)
        nev = len(ng.evidence())
        bodies = held_bodies(ng)
        st = post(ng, LIMIT_MODES[how][1] + what, [data, EXTRA])
        kept = held_bodies(ng) - bodies
        hrecs = ng.evidence()[nev:]
        rec_ok = [len(recs) == 1 and recs[0].get("action") == action
                  and recs[0].get("sha256") == hm.sha256(data)
                  and recs[0].get("intended_action") == intended
                  and recs[0].get("monitor") is (how == "monitor")
                  and recs[0].get("error") == error
                  for recs in (mrecs, hrecs)]
        fate = ("held" if held else "delivered" if mcode == 250
                else str(mcode))
        mail_ok = code == mcode and (qid in pf.hold_ids()) == held \
            and (mcode != 250 or held or was_delivered(pf, mid))
        want = "action %s%s%s" % (action, ", intended %s" % intended
                                  if intended else "",
                                  ", error '%s'" % error if error else "")
        ok(mail_ok and rec_ok[0],
           "%s, mail with a %s-listed attachment, then one over MaxParts: "
           "%s, its record says %s" % (how, what, fate, want),
           "%d %s, %s held %s: %s" % (code, text, qid, pf.hold_ids(), mrecs))
        ok(st == hstatus and len(kept) == (1 if held else 0) and rec_ok[1],
           "%s, form with a %s-listed file, then one over hashgate_max_parts: "
           "%d%s, its record says %s" % (how, what, hstatus,
                                         " and held" if held else "", want),
           "status %d, kept %s: %s" % (st, kept, hrecs))
        agree, why = same(mrecs, hrecs)
        ok(agree, "%s, %s-listed + over the part limit: mail and form records "
           "agree field by field" % (how, what), why)
    pf.flush_hold()
    m.stop(signal.SIGKILL)
    for k in ("MonitorOnly", "OnFail", "MaxParts"):
        m.settings.pop(k, None)
    m.start()


if __name__ == "__main__":
    main()
