# SPDX-License-Identifier: BSD-2-Clause
"""hashgate-milter behind a real, private Postfix: archives attached to mail
are opened in the sandboxed helper and every file inside is judged.

A listed file inside a zip, 7z, rar (4 and 5), tar.gz, a zip inside a tar
inside a zip, and a zip attached to a forwarded message/rfc822 is rejected
or held per its list, the record naming its inner path and the chain of
archives; clean archives are delivered byte for byte; encrypted files get
ArchiveEncrypted with a record; each limit and each bomb gets the fail
verdict (451), named in the log, and is delivered under OnFail accept; a
helper killed, crashed or hung mid-archive gives the fail verdict, is
started again (a new pid) and the next mail is judged normally; -t and the
start-up refuse a missing helper. Archives come from tests/lib/archives.py
(seeded random bytes); lists are made from their digests at test time.
"""

import os
import signal
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import archives  # noqa: E402
import hgmilter as hm  # noqa: E402
from postfix import Postfix  # noqa: E402

ok = hm.Checks()
tmp = tempfile.mkdtemp(prefix="hg-milter-arc-")
os.chmod(tmp, 0o755)
arc = os.path.join(tmp, "arc")
os.makedirs(arc)
os.chmod(arc, 0o755)
pf = None
m = None

REPLY = "550 5.7.1 Message rejected: it contains content that is not accepted here"
TEMPFAIL = "451 4.3.0 Message could not be scanned, try again later"


def make(kind, name, **kw):
    """(bytes, {chain: sha256}) of a fresh archive."""
    path = os.path.join(arc, name)
    res = archives.make(kind, path, **kw)
    with open(path, "rb") as f:
        return f.read(), res


def forwarded(data, filename):
    """data attached to a mail attached (message/rfc822) to a mail: 2.2."""
    inner, _ = hm.msg_attach(data, filename=filename,
                             ctype="application/octet-stream",
                             msgid=hm.make_msgid("inner.hashgate.test"))
    mid = hm.make_msgid("hashgate.test")
    return hm._wrap(inner, mid), mid


def attach(data, filename):
    return hm.msg_attach(data, filename=filename,
                         ctype="application/octet-stream")


def sink_part(mid, filename):
    """The decoded bytes of the attachment filename of the delivered mail."""
    for x in pf.sink_messages():
        if x["Message-ID"] != mid:
            continue
        for part in x.walk():
            if part.get_filename() == filename:
                return part.get_payload(decode=True)
    return None


def delivered(mid, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for x in pf.sink_messages():
            if x["Message-ID"] == mid:
                return x
        time.sleep(0.1)
    return None


def restart(**settings):
    """The milter again with these settings (killed: a graceful stop waits
    out libmilter's poll, tested elsewhere)."""
    m.stop(signal.SIGKILL)
    for k in list(m.settings):
        if k.startswith("Archive") or k in ("OnFail", "InspectHelpers"):
            del m.settings[k]
    m.settings.update(settings)
    m.start(timeout=20)


def helpers():
    """{pid: cpu ticks} of the milter's children (its inspection helpers)."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        if int(fields[1]) == m.pid:
            out[int(d)] = int(fields[11]) + int(fields[12])
    return out


def busy_helper(timeout=15):
    """The helper that is using CPU now (one is opening an archive)."""
    deadline = time.time() + timeout
    before = helpers()
    while time.time() < deadline:
        time.sleep(0.2)
        now = helpers()
        for pid, ticks in now.items():
            if ticks > before.get(pid, ticks) + 2:
                return pid
        before = now
    return None


def send_async(msg):
    box = {}

    def run():
        box["reply"] = pf.send(msg)
    th = threading.Thread(target=run)
    th.start()
    return th, box


def reply(r):
    return "%d %s" % r


try:
    hm.check_tool(hm.MILTER)
    hm.check_tool(hm.HASHGATE)
    hm.check_tool(os.path.join(hm.BIN, "hashgate-inspect"))

    # ---- fixtures: one listed file in each ----
    cases = []      # (what, kind, list, bytes, {chain: sha}, key, filename)
    for i, (kind, lst) in enumerate([("zip", "rejlist"), ("7z", "holdlist"),
                                     ("rar4", "rejlist"), ("rar5", "rejlist"),
                                     ("tar.gz", "rejlist")]):
        data, res = make(kind, "c%d.bin" % i, seed=100 + i)
        key = ([k for k in sorted(res) if "/" in k] or sorted(res))[0]
        cases.append((kind, lst, data, res, key, "c%d.bin" % i))
    NEST, nest = make("nested", "nested.zip", seed=120)
    DEEP = "mid1.tar!mid2.zip!l2-file00.bin"
    ZIP2, zip2 = make("zip", "fwd.zip", seed=130)
    FWD_KEY = sorted(zip2)[0]
    CLEAN_ZIP, _ = make("zip", "clean.zip", seed=140)
    CLEAN_TGZ, _ = make("tar.gz", "clean.tgz", seed=141)
    ENC, enc = make("zip-aes", "enc.zip", seed=150)

    rej = [res[key] for _, lst, _, res, key, _ in cases if lst == "rejlist"]
    rej += [nest[DEEP], zip2[FWD_KEY]]
    hold = [res[key] for _, lst, _, res, key, _ in cases if lst == "holdlist"]
    db = hm.compile_db(os.path.join(tmp, "db.hgdb"),
                       {"rejlist": rej, "holdlist": hold})

    # ---- -t and start-up without the helper ----
    m = hm.Milter(tmp, db, ListAction=["rejlist reject", "holdlist hold"],
                  InspectHelper="/nonexistent/hashgate-inspect")
    m.write_conf()
    p = subprocess.run([hm.MILTER, "-t", "-c", m.conf], capture_output=True,
                       text=True, timeout=30)
    ok(p.returncode == 1 and "InspectHelper" in p.stderr
       and "/nonexistent/hashgate-inspect" in p.stderr,
       "-t fails when the helper is missing, naming it", p.stderr)
    try:
        m.start(timeout=10)
        started = True
    except RuntimeError:
        started = False
    ok(not started and "/nonexistent/hashgate-inspect" in m.log(),
       "the milter does not start without its helper, and says why",
       m.log()[-300:])
    m.settings["Archives"] = "no"
    m.write_conf()
    p = subprocess.run([hm.MILTER, "-t", "-c", m.conf], capture_output=True,
                       text=True, timeout=30)
    ok(p.returncode == 0, "with Archives no, -t needs no helper", p.stderr)
    del m.settings["Archives"], m.settings["InspectHelper"]
    m.settings["ArchiveEncrypted"] = "drop"
    m.write_conf()
    p = subprocess.run([hm.MILTER, "-t", "-c", m.conf], capture_output=True,
                       text=True, timeout=30)
    ok(p.returncode == 1 and m.conf + ":" in p.stderr
       and "ArchiveEncrypted" in p.stderr,
       "-t names file and line of a bad ArchiveEncrypted", p.stderr)
    del m.settings["ArchiveEncrypted"]
    m.write_conf()
    p = subprocess.run([hm.MILTER, "-t", "-c", m.conf], capture_output=True,
                       text=True, timeout=30)
    ok(p.returncode == 0, "-t with the helper (started on an empty zip) is OK",
       p.stderr)

    m.start(timeout=20)
    pids0 = set(helpers())
    ok(len(pids0) == 2 and "archives=yes" in m.log(),
       "two helpers run as soon as the milter has started", str(pids0))
    pf = Postfix(milter=m.postfix_spec, base=os.path.join(tmp, "pf"))
    pf.start()

    # ---- a listed file inside each ----
    for kind, lst, data, res, key, fname in cases:
        msg, mid = attach(data, fname)
        r = pf.send(msg)
        recs = m.records_for(mid)
        rec = recs[0] if recs else {}
        if lst == "rejlist":
            ok(reply(r) == REPLY, "a listed file inside a %s is rejected" % kind,
               reply(r))
        else:
            qid = pf.queue_id_of(mid)
            ok(r[0] == 250 and qid in pf.hold_ids(),
               "a hold-listed file inside a %s is held" % kind, reply(r))
        inner = archives.unesc(key)
        cont = rec.get("containers") or [{}]
        ok(len(recs) == 1 and rec.get("action") == ("reject" if lst == "rejlist"
                                                      else "hold")
           and rec.get("lists", [{}])[0].get("list") == lst
           and rec.get("part") == "2!" + key
           and rec.get("inner_path") == inner
           and rec.get("filename") == inner.split("/")[-1]
           and rec.get("sha256") == res[key]
           and len(cont) == 1 and cont[0].get("path") == "2"
           and cont[0].get("sha256") == hm.sha256(data)
           and cont[0].get("size") == len(data),
           "%s: one record with part 2!%s, its inner path, name, digest and "
           "the archive as its container" % (kind, key), str(recs))
    pf.flush_hold()

    msg, mid = attach(NEST, "nested.zip")
    r = pf.send(msg)
    recs = m.records_for(mid)
    rec = recs[0] if recs else {}
    cont = rec.get("containers") or []
    ok(reply(r) == REPLY and rec.get("part") == "2!" + DEEP
       and rec.get("inner_path") == "l2-file00.bin"
       and [c.get("path") for c in cont] == ["2", "mid1.tar", "mid2.zip"]
       and [c.get("format") for c in cont] == ["zip", "tar", "zip"]
       and cont[1].get("sha256") == nest["mid1.tar"]
       and cont[2].get("sha256") == nest["mid1.tar!mid2.zip"],
       "a listed file in a zip inside a tar inside a zip is rejected; its "
       "record gives each archive outermost first with its own digest",
       "%s %s" % (reply(r), recs))

    msg, mid = forwarded(ZIP2, "fwd.zip")
    r = pf.send(msg)
    recs = m.records_for(mid)
    ok(reply(r) == REPLY and len(recs) == 1
       and recs[0].get("part") == "2.2!" + FWD_KEY
       and (recs[0].get("containers") or [{}])[0].get("path") == "2.2",
       "a listed file in a zip attached to a forwarded message/rfc822 is "
       "rejected, part 2.2!%s" % FWD_KEY, "%s %s" % (reply(r), recs))
    ok("part=2.2!%s matched inside zip" % FWD_KEY in m.log(),
       "the log says the part matched inside a zip")

    # ---- clean archives: delivered byte for byte ----
    for data, fname in ((CLEAN_ZIP, "clean.zip"), (CLEAN_TGZ, "clean.tgz")):
        msg, mid = attach(data, fname)
        r = pf.send(msg)
        got = delivered(mid)
        ok(r[0] == 250 and got is not None and got.get("X-Hashgate") is None
           and sink_part(mid, fname) == data and m.records_for(mid) == [],
           "a clean %s is delivered byte for byte, untagged, no record"
           % fname, reply(r))

    # ---- encrypted: ArchiveEncrypted, with a record ----
    msg, mid = attach(ENC, "enc.zip")
    r = pf.send(msg)
    got = delivered(mid)
    recs = m.records_for(mid)
    ok(r[0] == 250 and got is not None and sink_part(mid, "enc.zip") == ENC,
       "an encrypted zip is delivered (ArchiveEncrypted accept, the default)",
       reply(r))
    ok(len(recs) == len(enc)
       and all(x.get("not_checked") == "encrypted" and x.get("action") == "none"
               and x.get("size", 0) > 0 and "sha256" not in x
               and x.get("part", "").startswith("2!") and x.get("filename")
               for x in recs)
       and sorted(x["part"][2:] for x in recs) == sorted(enc),
       "each encrypted file has a record: not_checked encrypted, its name, "
       "path and declared size, no digest", str(recs))
    ok("not_checked queue_id=" in m.log(),
       "the log has a not_checked line for each")
    MANY, many = make("7z-encrypted", "many.7z", seed=151, files=300,
                      size=64)
    n0 = m.log().count("no record for this one")
    msg, mid = attach(MANY, "many.7z")
    r = pf.send(msg)
    recs = m.records_for(mid)
    ok(r[0] == 250 and len(many) == 300 and len(recs) == 256
       and m.log().count("no record for this one") == n0 + 1
       and "44 matching or not-checked parts past the first 256 have no "
           "record" in m.log(),
       "a 7z of 300 encrypted files: 256 records, one log line for "
       "the rest with their count", "%s %d records" % (reply(r), len(recs)))
    for action, want in (("hold", "held"), ("reject", "rejected")):
        restart(ArchiveEncrypted=action)
        msg, mid = attach(ENC, "enc.zip")
        r = pf.send(msg)
        recs = m.records_for(mid)
        if action == "hold":
            good = r[0] == 250 and pf.queue_id_of(mid) in pf.hold_ids()
        else:
            good = reply(r) == REPLY
        ok(good and recs and all(x.get("action") == action
                                 and x.get("not_checked") == "encrypted"
                                 for x in recs),
           "ArchiveEncrypted %s: the mail is %s, its records say %s"
           % (action, want, action), "%s %s" % (reply(r), recs))
    pf.flush_hold()

    # ---- limits: 451 named in the log; delivered under OnFail accept ----
    FILES, _ = make("zip", "files.zip", seed=160, files=20)
    DEEP4, _ = make("nested", "deep.zip", seed=161, depth=4)
    BIG, _ = make("zip", "big.zip", seed=162, files=3, size=300000)
    ZEROS, _ = make("bomb-gzip", "zeros.gz", zeros=64 << 20)
    HUGE, _ = make("bomb-gzip", "huge.gz", zeros=3 << 30)
    Z42, _ = make("bomb-zip42", "42.zip")
    OVER, _ = make("bomb-overlap", "overlap.zip")
    wide = {"ArchiveMaxRatio": "0", "ArchiveMaxBytes": "64G",
            "ArchiveMaxFileBytes": "64G"}
    limits = [
        ("files", {"ArchiveMaxFiles": "5"}, FILES),
        ("depth", {"ArchiveMaxDepth": "2"}, DEEP4),
        ("bytes", {"ArchiveMaxBytes": "100K"}, BIG),
        ("file size", {"ArchiveMaxFileBytes": "64K"}, BIG),
        ("ratio", {}, ZEROS),
        ("time", dict(wide, ArchiveTimeout="1"), HUGE),
    ]
    for name, settings, data in limits:
        for onfail in ("tempfail", "accept"):
            s = dict(settings)
            if onfail == "accept":
                s["OnFail"] = "accept"
            restart(**s)
            want = "archive not checked: %s limit reached" % name
            n0 = m.log().count(want)
            a0 = m.log().count("OnFail accept: delivered unscanned")
            msg, mid = attach(data, "a.bin")
            r = pf.send(msg)
            named = m.log().count(want) > n0
            if onfail == "tempfail":
                ok(reply(r) == TEMPFAIL and named,
                   "the archive %s limit gives 451, the log names it" % name,
                   "%s %s" % (reply(r), m.log()[-400:]))
            else:
                ok(r[0] == 250 and delivered(mid) is not None and named
                   and m.log().count("OnFail accept: delivered unscanned")
                   > a0,
                   "the archive %s limit under OnFail accept: delivered, "
                   "logged" % name, "%s %s" % (reply(r), m.log()[-400:]))
    restart()
    for what, data in (("42.zip-style nested zip", Z42),
                       ("overlapping-entry zip", OVER),
                       ("gzip of zeros", ZEROS)):
        n0 = m.log().count("limit reached")
        msg, mid = attach(data, "bomb.bin")
        r = pf.send(msg)
        ok(reply(r) == TEMPFAIL and m.log().count("limit reached") > n0,
           "a %s gets 451 with the default limits, the limit logged" % what,
           "%s %s" % (reply(r), m.log()[-300:]))

    # ---- the helper killed, crashed, hung mid-archive ----
    listed_msg = cases[0]       # the zip on rejlist
    for how, sig, settings, cause in (
            ("killed (SIGKILL)", signal.SIGKILL,
             dict(wide, ArchiveTimeout="50"), "killed by signal 9"),
            ("crashed (SIGSEGV)", signal.SIGSEGV,
             dict(wide, ArchiveTimeout="50"), "SIGSEGV"),
            ("hung (SIGSTOP)", signal.SIGSTOP,
             dict(wide, ArchiveTimeout="3"), "time limit reached")):
        restart(**settings)
        before = set(helpers())
        n0 = m.log().count("archive not checked")
        msg, mid = attach(HUGE, "huge.gz")
        th, box = send_async(msg)
        victim = busy_helper()
        if victim is not None:
            os.kill(victim, sig)
        th.join(120)
        r = box.get("reply", (0, "no reply"))
        said = m.log().split("\n")[-40:]
        ok(victim is not None and reply(r) == TEMPFAIL
           and m.log().count("archive not checked") > n0
           and any("archive not checked" in x and cause in x for x in said),
           "a helper %s mid-archive: the mail gets 451, the log says '%s'"
           % (how, cause), "%s victim=%s %s" % (reply(r), victim,
                                               m.log()[-400:]))
        # a clean archive is read to its end: its helper stays up (one
        # stopped early, by a reject, is killed and started next time)
        msg, mid = attach(CLEAN_ZIP, "clean.zip")
        r = pf.send(msg)
        ok(r[0] == 250 and delivered(mid) is not None,
           "after a helper %s, the next mail is judged normally (a clean "
           "archive delivered)" % how, reply(r))
        after = set(helpers())
        ok(victim not in after and len(after) == 2 and after != before,
           "the helper is back: a new pid in place of %s" % victim,
           "before %s after %s" % (sorted(before), sorted(after)))
        msg, mid = attach(listed_msg[2], listed_msg[5])
        r = pf.send(msg)
        ok(reply(r) == REPLY and len(m.records_for(mid)) == 1,
           "and a listed file inside a zip is rejected again", reply(r))
    ok("started in place of pid=" in m.log(),
       "the milter logs the restarted helper's new pid")

finally:
    if m is not None:
        m.stop(signal.SIGKILL)
    if pf is not None:
        pf.close()
    if os.environ.get("HG_KEEP") is None:
        shutil.rmtree(tmp, ignore_errors=True)

ok.exit()
