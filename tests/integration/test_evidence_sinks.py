# SPDX-License-Identifier: BSD-2-Clause
"""Evidence records into the log pipeline: EvidenceLog journald and
EvidenceLog syslog:FACILITY:SOCKET beside the file, behind a private
Postfix, into a private systemd-journald.

The test runs itself again in a mount namespace of its own (unshare -m)
where /run/systemd/journal and /run/log/journal are fresh tmpfs: the
journald started there (Debian's own binary) is the only one the milter
can reach, and nothing of the host's logging is touched. Its syslog
socket (/run/systemd/journal/dev-log) stands in for rsyslog's /dev/log.
Records are read back with journalctl -D on the private journal. The
same for nginx: hashgate_evidence_log FILE journald syslog:local4:SOCKET.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import hgmilter as hm  # noqa: E402
import nginx as N  # noqa: E402
from postfix import Postfix  # noqa: E402

JOURNALD = "/lib/systemd/systemd-journald"
SOCK = "/run/systemd/journal/socket"
DEVLOG = "/run/systemd/journal/dev-log"
MESSAGE_ID = "4f3c2a9e8b1d47c6a05e7d2b9c81f634"   # evsink_journald.c

if os.environ.get("HG_TEST_IN_NS") != "1":
    for tool in (JOURNALD, shutil.which("journalctl"), shutil.which("unshare")):
        if not tool or not os.access(tool, os.X_OK):
            print("not ok - %s is installed (systemd, util-linux)" % tool)
            sys.exit(1)
    env = dict(os.environ, HG_TEST_IN_NS="1")
    sys.exit(subprocess.run(["unshare", "-m", "--propagation", "private",
                             sys.executable, os.path.abspath(__file__)],
                            env=env).returncode)

ok = hm.Checks()
tmp = tempfile.mkdtemp(prefix="hg-evsinks-")
os.chmod(tmp, 0o755)
pf = m = jd = ng = None
LISTED = hm.blob(901, 6000)


def mount_tmpfs(path):
    os.makedirs(path, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", path],
                   check=True)


def start_journald():
    p = subprocess.Popen([JOURNALD], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline and not (os.path.exists(SOCK)
                                          and os.path.exists(DEVLOG)):
        time.sleep(0.05)
    return p


def journal(*match):
    """Entries of the private journal (optionally FIELD=value matches)."""
    p = subprocess.run(["journalctl", "-D", "/run/log/journal", "-o", "json",
                        "--no-pager"] + list(match),
                       capture_output=True, text=True, timeout=30)
    return [json.loads(x) for x in p.stdout.splitlines() if x.strip()]


def wait_journal(pred, *match, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        hits = [e for e in journal(*match) if pred(e)]
        if hits:
            return hits
        time.sleep(0.1)
    return []


def wait_for(pred, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return False


def check_conf(lines, name):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write("Socket unix:%s/t.sock\nDatabase %s\nUserID nobody\n%s"
                % (tmp, db, lines))
    return subprocess.run([hm.MILTER, "-t", "-c", path], capture_output=True,
                          text=True, timeout=30)


try:
    hm.check_tool(hm.MILTER)
    hm.check_tool(hm.HASHGATE)
    mount_tmpfs("/run/systemd/journal")
    mount_tmpfs("/run/log/journal")
    jd = start_journald()
    ok(os.path.exists(SOCK) and os.path.exists(DEVLOG),
       "a private systemd-journald listens in the test's own namespace")

    db = hm.compile_db(os.path.join(tmp, "db.hgdb"),
                       {"blocked": [hm.sha256(LISTED)]})

    # ---- -t checks what the destinations are, and that they answer ----
    p = check_conf("EvidenceLog journald\nEvidenceLog syslog:local3:%s\n"
                   % DEVLOG, "good.conf")
    ok(p.returncode == 0, "-t accepts EvidenceLog journald and "
       "syslog:local3:SOCKET", p.stderr)
    p = check_conf("EvidenceLog syslog:local9\n", "fac.conf")
    ok(p.returncode != 0 and "fac.conf:4:" in p.stderr
       and "local9" in p.stderr,
       "-t: an unknown syslog facility is an error naming file:line",
       p.stderr)
    p = check_conf("EvidenceLog syslog:daemon:%s/nowhere.sock\n" % tmp,
                   "nosock.conf")
    ok(p.returncode != 0 and "nowhere.sock" in p.stderr,
       "-t: a syslog socket nobody listens on is an error naming it",
       p.stderr)
    p = check_conf("EvidenceLog evidence.log\n", "rel.conf")
    ok(p.returncode != 0 and "rel.conf:4:" in p.stderr,
       "-t: a relative path is neither a file nor syslog nor journald",
       p.stderr)
    p = check_conf("EvidenceLog %s/a.log\nEvidenceLog %s/b.log\n"
                   % (tmp, tmp), "two.conf")
    ok(p.returncode != 0 and "one file only" in p.stderr,
       "-t: two files is an error (one file, syslog and journald beside it)",
       p.stderr)

    # ---- a listed attachment through Postfix: file, journald, syslog ----
    m = hm.Milter(tmp, db, DefaultAction="reject")
    m.settings["EvidenceLog"] = [m.evidence, "journald",
                                 "syslog:local3:%s" % DEVLOG]
    m.start()
    pf = Postfix(milter=m.postfix_spec, base=os.path.join(tmp, "pf"))
    pf.start()
    msg, mid = hm.msg_attach(LISTED, filename="listed.bin")
    code, text = pf.send(msg)
    ok(code == 550, "the listed attachment is rejected", "%d %s" % (code, text))
    wait_for(lambda: m.records_for(mid), 10)
    recs = m.records_for(mid)
    ok(len(recs) == 1, "the file has its record", m.log()[-1500:])
    rec = recs[0] if recs else {}

    ents = wait_journal(lambda e: e.get("HASHGATE_MESSAGE_ID") == mid,
                        "MESSAGE_ID=" + MESSAGE_ID)
    ok(len(ents) == 1, "journald has one entry for it, found by "
       "MESSAGE_ID=%s" % MESSAGE_ID, str(journal()[-3:])[:1500])
    e = ents[0] if ents else {}
    ok(e.get("HASHGATE_SHA256") == hm.sha256(LISTED)
       and e.get("HASHGATE_LIST") == "blocked"
       and e.get("HASHGATE_ACTION") == "reject"
       and e.get("HASHGATE_CHANNEL") == "smtp"
       and e.get("HASHGATE_FILENAME") == "listed.bin"
       and e.get("HASHGATE_QUEUE_ID") == rec.get("queue_id")
       and e.get("SYSLOG_IDENTIFIER") == "hashgate-milter"
       and e.get("PRIORITY") == "4",
       "its fields are the record's: HASHGATE_SHA256, _LIST, _ACTION, "
       "_CHANNEL, _FILENAME, _QUEUE_ID; SYSLOG_IDENTIFIER hashgate-milter, "
       "PRIORITY 4 for a reject", json.dumps(e)[:1500])
    ok(rec and json.loads(e.get("HASHGATE_RECORD", "null")) == rec,
       "HASHGATE_RECORD is the whole record, as the file has it")
    ok("reject" in e.get("MESSAGE", "") and "blocked" in e.get("MESSAGE", ""),
       "MESSAGE says what happened for a person reading journalctl",
       e.get("MESSAGE", ""))

    sl = wait_journal(lambda x: x.get("SYSLOG_FACILITY") == "19"
                      and x.get("SYSLOG_IDENTIFIER") == "hashgate-milter"
                      and mid in x.get("MESSAGE", ""))
    ok(len(sl) == 1, "the syslog socket got one message for it, facility "
       "local3, tagged hashgate-milter", str(journal()[-3:])[:1500])
    try:
        line = json.loads(sl[0]["MESSAGE"]) if sl else None
    except ValueError:
        line = None
    ok(rec and line == rec,
       "the syslog message is the record's JSON line, whole",
       sl[0].get("MESSAGE", "")[:500] if sl else "")

    # ---- nginx: the same destinations, one directive ----
    NGX = r"""
    hashgate_database %s;
    hashgate_evidence_log {prefix}/evidence.jsonl journald syslog:local4:%s;
    server {
        listen 127.0.0.1:{port};
        hashgate on;
        location / { proxy_pass http://recorder; }
    }
""" % (db, DEVLOG)
    ng = N.Nginx(NGX, workers=1)
    for bad, want in (("syslog:local4:%s/nowhere.sock" % tmp, "nowhere.sock"),
                      ("syslog:kern", "kern"), ("off journald", "off"),
                      ("%s/a.log %s/b.log" % (tmp, tmp), "one file only")):
        rc, out, _ = ng.test_conf(NGX.replace(
            "{prefix}/evidence.jsonl journald syslog:local4:%s" % DEVLOG, bad))
        ok(rc != 0 and want in out and "hashgate_evidence_log" in out,
           "nginx -t refuses hashgate_evidence_log %s" % bad, out[-400:])
    rc, out, _ = ng.test_conf(NGX)
    ok(rc == 0, "nginx -t accepts a file, journald and syslog:local4:SOCKET "
       "in one hashgate_evidence_log", out[-400:])
    ng.start()
    st, _ = N.http_request(ng.port, "PUT", "/up/listed.bin", LISTED)
    ok(st == 403, "nginx refuses the listed upload", str(st))
    ents = wait_journal(lambda x: x.get("HASHGATE_CHANNEL") == "http"
                        and x.get("HASHGATE_URI") == "/up/listed.bin",
                        "MESSAGE_ID=" + MESSAGE_ID)
    e = ents[0] if ents else {}
    ok(len(ents) == 1 and e.get("HASHGATE_SHA256") == hm.sha256(LISTED)
       and e.get("HASHGATE_LIST") == "blocked"
       and e.get("HASHGATE_ACTION") == "reject"
       and e.get("HASHGATE_METHOD") == "PUT"
       and e.get("HASHGATE_REQUEST_ID")
       and e.get("SYSLOG_IDENTIFIER") == "nginx",
       "journald has the upload's entry: HASHGATE_CHANNEL http, _URI, "
       "_METHOD, _REQUEST_ID, _SHA256, _LIST, _ACTION; SYSLOG_IDENTIFIER "
       "nginx", json.dumps(ents)[:1500])
    sl = wait_journal(lambda x: x.get("SYSLOG_FACILITY") == "20"
                      and "/up/listed.bin" in x.get("MESSAGE", ""))
    try:
        srec = json.loads(sl[0]["MESSAGE"]) if sl else {}
    except ValueError:
        srec = {}
    try:
        with open(os.path.join(ng.prefix, "evidence.jsonl")) as f:
            frec = [json.loads(x) for x in f if x.strip()]
    except OSError:
        frec = []
    ok(len(sl) == 1 and frec and srec == frec[-1]
       and json.loads(e.get("HASHGATE_RECORD", "null")) == frec[-1],
       "the syslog message (local4) and HASHGATE_RECORD are the record the "
       "file has", str(sl)[:800])
    ng.stop()
    ng = None

    # ---- journald gone: the record is not lost silently ----
    jd.terminate()
    jd.wait(10)
    jd = None
    msg, mid2 = hm.msg_attach(LISTED, filename="again.bin")
    code, text = pf.send(msg)
    ok(code == 550, "with journald gone a listed attachment is still "
       "rejected (a reject stands without its record)",
       "%d %s" % (code, text))
    ok(wait_for(lambda: "journald did not take the evidence record"
                   in m.log(), 10),
       "the milter logs that journald did not take the record",
       m.log()[-1500:])
    ok(m.records_for(mid2) != [],
       "the file still took it: every destination is tried")
finally:
    if ng is not None:
        ng.stop()
    if pf is not None:
        pf.close()
    if m is not None:
        m.stop()
    if jd is not None:
        jd.terminate()
        jd.wait(10)
    shutil.rmtree(tmp, ignore_errors=True)

ok.exit()
