# SPDX-License-Identifier: BSD-2-Clause
"""test_report_submit.py - `hashgate report --submit` against a local
stand-in of NCMEC's reporting API (tests/lib/cybertip_standin.py; the real
service is never called): the steps in order (submit, upload and file
details per file, finish), every document valid against the schema, basic
authentication, the uploaded bytes those of the matched files (found in
the preserved items); a stand-in failing at each step in turn leaves a
state that resumes without a duplicate; an unanswered /submit is never
sent again on its own; a begun report can be retracted; credentials
readable by others, a plain-http endpoint elsewhere than this host, a held
incident not preserved and a draft edited into an invalid one are refused
before anything is sent.
"""
import base64
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from clihelp import TOP, Suite, both, md5, rand_bytes, sha256  # noqa: E402
from cybertip_standin import StandIn  # noqa: E402

t = Suite("submit")
XSD = os.path.join(TOP, "cli", "cybertip.xsd")
USER, PASSWORD = "esp-test", "s3cret pass"

A = rand_bytes(21, 6000)
TEXT = b"line one\nline two\n" * 40
TEXT_CRLF = TEXT.replace(b"\n", b"\r\n")[:-2]
BODY = rand_bytes(22, 7000)
REJ = rand_bytes(23, 3000)

mail = ("Received: from client by mx\nMessage-ID: <h1@example.org>\n"
        "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\"\n"
        "\n--b\nContent-Type: image/jpeg\nContent-Transfer-Encoding: base64\n"
        "\n%s\n--b\nContent-Type: text/plain\nContent-Transfer-Encoding: "
        "8bit\n\n%s\n--b--\n" % (base64.encodebytes(A).decode(),
                                 TEXT.decode().rstrip("\n")))
t.write("queue/Q1ABC", mail)
fake = t.write("fake-postcat", """#!/bin/sh
while [ $# -gt 1 ]; do shift; done
exec cat "%s/queue/$1"
""" % t.dir)
os.chmod(fake, 0o755)
os.makedirs(t.path("hold"), mode=0o700)
t.write("hold/20261125T110000Z-aaaa", BODY)


def rec(channel, time, key, data, action="hold", extra=None):
    r = {"record_version": 1, "time": time, "channel": channel,
         "action": action, "monitor": False,
         "lists": [{"list": "hotline", "version": "1", "algorithm": "sha256",
                    "digest": sha256(data), "label": None}],
         "md5": md5(data), "sha256": sha256(data), "size": len(data)}
    r.update(key)
    r.update(extra or {})
    return json.dumps(r)


mk = {"queue_id": "Q1ABC", "message_id": "<h1@example.org>",
      "client_addr": "192.0.2.7", "mail_from": "<s@example.org>",
      "rcpt_to": ["<r@example.net>"]}
t.write("ev.log", "\n".join([
    rec("smtp", "2026-11-25T10:00:00Z", mk, A, extra={"part": "2",
                                                     "filename": "a.jpg"}),
    rec("smtp", "2026-11-25T10:00:00Z", mk, TEXT_CRLF, extra={"part": "3"}),
    rec("http", "2026-11-25T11:00:00Z", {"request_id": "aaaa",
        "client_addr": "198.51.100.2", "host": "up.example", "uri": "/u"},
        BODY, extra={"held_at": t.path("hold/20261125T110000Z-aaaa")}),
    rec("smtp", "2026-11-25T12:00:00Z", {"queue_id": "R2REJ",
        "message_id": "<r2@example.org>", "client_addr": "192.0.2.9"},
        REJ, action="reject", extra={"part": "2"}),
]) + "\n")
t.write("reporter.conf", "Company Example Hosting Inc.\nFirstName Alice\n"
        "LastName Abuse\nEmail abuse@example.com\n"
        "Credentials %s\n" % t.path("creds"))
t.write("creds", "# the test endpoint's account\nUsername %s\n"
        "Password %s\n" % (USER, PASSWORD))
os.chmod(t.path("creds"), 0o600)

p = t.run("preserve", "store", "--store", "store", "--group", "nogroup",
          "--postcat", fake, "--hold-dir", t.path("hold"), "--settle", "0",
          "ev.log")
t.check(p.returncode == 0 and p.stdout.count(b"preserved ") == 2,
        "the held mail and upload are preserved", both(p))
p = t.run("report", "-c", "reporter.conf", "-s", "state.drafted", "-o",
          "drafts", "--settle", "0", "ev.log")
t.check(p.returncode == 0 and len(os.listdir(t.path("drafts"))) == 3,
        "three incidents are drafted", both(p))

WANT = {"Q1ABC": sorted([sha256(A), sha256(TEXT_CRLF)]),
        "aaaa": [sha256(BODY)], "R2REJ": []}


def fresh(name):
    """A state copied from the drafted one, and a new stand-in."""
    shutil.copy(t.path("state.drafted"), t.path(name))
    return StandIn(t.path("standin-" + name), XSD, USER, PASSWORD)


def submit(si, state, *extra, creds=None):
    a = ["report", "--submit", "-c", "reporter.conf", "-s", state,
         "--store", "store", "--endpoint", si.url if si else "x"]
    if creds:
        a += ["--credentials", creds]
    return t.run(*(a + list(extra)))


def reports_by_incident(st):
    """{queue or request ID: [report, ...]} from what the stand-in holds."""
    out = {}
    for rid, r in st["reports"].items():
        for key in WANT:
            if key in r["report"]:
                out.setdefault(key, []).append(r)
    return out


def complete(si, label):
    """Every incident reported once, finished, with its files' bytes."""
    st = si.state()
    by = reports_by_incident(st)
    good = (sorted(by) == sorted(WANT)
            and all(len(v) == 1 and v[0]["finished"] for v in by.values())
            and all(sorted(f["sha256"] for f in by[k][0]["files"].values())
                    == WANT[k] for k in WANT)
            and all(f["details"] is not None for v in by.values()
                    for f in v[0]["files"].values())
            and not st["violations"])
    t.check(good, label, json.dumps({"violations": st["violations"],
                                     "calls": st["calls"]})[:900])
    return st


# ---- everything at once ----
si = fresh("s1")
try:
    p = submit(si, "s1")
    out = p.stdout.decode()
    t.check(p.returncode == 0 and out.count("submitted ") == 3,
            "--submit submits every drafted incident", both(p))
    st = complete(si, "each incident is one finished report, its files "
                  "uploaded and described, no rule of the API broken")
    calls = [c[0] for c in st["calls"]]
    t.check(calls == ["submit", "upload", "fileinfo", "upload", "fileinfo",
                      "finish", "submit", "upload", "fileinfo", "finish",
                      "submit", "finish"],
            "the calls come in the API's order", calls)
    by = reports_by_incident(st)
    t.check(st["auth_failures"] == 0, "every call authenticates")
    names = sorted(f["name"] for f in by["Q1ABC"][0]["files"].values())
    t.check(names == ["1-a.jpg", "2-part-3.bin"],
            "files are uploaded under the draft's names", names)
    t.check("<fileId>" in list(by["aaaa"][0]["files"].values())[0]["details"]
            and "<reportId>" in list(by["aaaa"][0]["files"].values())[0]
            ["details"], "file details carry the report and file IDs")
    t.check(by["R2REJ"][0]["files"] == {} and sha256(REJ) in
            by["R2REJ"][0]["report"] and "no bytes were uploaded" in out,
            "a rejected mail (nothing held) is reported without files, its "
            "digests in the report", out)
    with open(t.path("s1")) as f:
        journal = f.read()
    t.check(journal.count("\tfinished\t") == 0 and journal.count("finished\t")
            == 3 and journal.count("opened\t") == 3,
            "the state journal records each step", journal[-600:])
    before = len(si.state()["calls"])
    p = submit(si, "s1")
    t.check(p.returncode == 0 and len(si.state()["calls"]) == before,
            "a second --submit sends nothing", both(p))
    p = t.run("report", "-f", "text", "-s", "s1", "--settle", "0", "ev.log")
    t.check("submitted 20" in p.stdout.decode() and ", report 100"
            in p.stdout.decode(), "the text form shows the report IDs",
            p.stdout)
finally:
    si.stop()

# ---- a failure at each step in turn, then a resume ----
for step, fail, what in [
        ("submit", {"submit": 1}, "/submit"),
        ("upload", {"upload": 1}, "/upload"),
        ("upload2", {"upload": [1, 1]}, "/upload"),
        ("fileinfo", {"fileinfo": 1}, "/fileinfo"),
        ("finish", {"finish": 1}, "/finish")]:
    si = fresh("f-" + step)
    try:
        si.set(fail=fail)
        p = submit(si, "f-" + step, "--incident", "Q1ABC")
        t.check(p.returncode == 2 and ("%s: the service answered HTTP 500, "
                                       "responseCode 1000" % what)
                in p.stderr.decode(),
                "a failure at %s stops the incident, named" % step, both(p))
        p = submit(si, "f-" + step)
        t.check(p.returncode == 0, "the next run resumes after a failure at "
                + step, both(p))
        st = complete(si, "after a failure at %s: one report per incident, "
                      "no duplicate, nothing sent twice" % step)
        t.check(len([c for c in st["calls"] if c[0] == "submit"
                     and c[3] == "ok"]) == 3,
                "after a failure at %s: /submit succeeded once per incident"
                % step, st["calls"])
    finally:
        si.stop()

# ---- an answer lost ----
si = fresh("d-submit")
try:
    si.set(drop={"submit": 1})
    p = submit(si, "d-submit", "--incident", "Q1ABC")
    t.check(p.returncode == 2 and "no answer to /submit" in p.stderr.decode(),
            "an unanswered /submit is named", both(p))
    p = submit(si, "d-submit", "--incident", "Q1ABC")
    st = si.state()
    t.check(p.returncode == 2 and "--resubmit" in p.stderr.decode()
            and len([c for c in st["calls"] if c[0] == "submit"]) == 1,
            "it is not submitted again on its own (the service may hold it)",
            both(p))
    p = submit(si, "d-submit", "--incident", "Q1ABC", "--resubmit")
    st = si.state()
    t.check(p.returncode == 0 and st["violations"]
            == ["submit: the same report submitted twice"],
            "--resubmit sends it again once a person says so", both(p))
finally:
    si.stop()
si = fresh("d-submit2")
try:
    # the second incident's /submit, after the first one's calls: libcurl
    # must not send it again by itself on a fresh connection
    si.set(drop={"submit": [1, 1]})
    p = submit(si, "d-submit2")
    st = si.state()
    t.check(p.returncode == 2 and "no answer to /submit" in p.stderr.decode()
            and len([c for c in st["calls"] if c[0] == "submit"]) == 3
            and not st["violations"],
            "an unanswered /submit later in a run is sent once, never again "
            "by the HTTP library", json.dumps(st["calls"]) + both(p))
finally:
    si.stop()
si = fresh("d-finish")
try:
    si.set(drop={"finish": 1})
    p = submit(si, "d-finish")
    t.check(p.returncode == 2, "an unanswered /finish stops", both(p))
    p = submit(si, "d-finish")
    complete(si, "a finish whose answer was lost is resumed: \"already "
             "finished\" is done")
finally:
    si.stop()

# ---- retract ----
si = fresh("r")
try:
    si.set(fail={"fileinfo": 1})
    p = submit(si, "r", "--incident", "aaaa")
    p = t.run("report", "--retract", "--incident", "aaaa", "-c",
              "reporter.conf", "-s", "r", "--endpoint", si.url)
    st = si.state()
    t.check(p.returncode == 0 and "retracted http/aaaa" in p.stdout.decode()
            and [r["retracted"] for r in st["reports"].values()] == [True],
            "a report begun is retracted", both(p))
    p = submit(si, "r", "--incident", "aaaa")
    t.check(b"retracted: draft it again" in p.stdout
            and len(si.state()["reports"]) == 1,
            "a retracted incident is not submitted again as it is", both(p))
    p = t.run("report", "--again", "--incident", "aaaa", "-c",
              "reporter.conf", "-s", "r", "-o", "drafts", "--settle", "0",
              "ev.log")
    p = submit(si, "r", "--incident", "aaaa")
    st = si.state()
    t.check(p.returncode == 0 and len(st["reports"]) == 2
            and not st["violations"],
            "drafted again, it is submitted afresh", both(p))
    p = t.run("report", "--retract", "--incident", "aaaa", "-c",
              "reporter.conf", "-s", "r", "--endpoint", si.url)
    t.check(p.returncode == 2 and b"finished" in p.stderr,
            "a finished report is not retracted", both(p))
finally:
    si.stop()

# ---- refused before anything is sent ----
si = fresh("bad")
try:
    os.chmod(t.path("creds"), 0o644)
    p = submit(si, "bad")
    t.check(p.returncode == 2 and b"must be readable by root only"
            in p.stderr and PASSWORD.encode() not in p.stderr,
            "credentials readable by others are refused", both(p))
    os.chmod(t.path("creds"), 0o600)
    t.write("badcreds", "Username x\nPasword %s\n" % PASSWORD)
    os.chmod(t.path("badcreds"), 0o600)
    p = submit(si, "bad", creds="badcreds")
    t.check(p.returncode == 2 and b"badcreds:2: not" in p.stderr
            and PASSWORD.encode() not in p.stderr,
            "a bad credentials line is named, never echoed", both(p))
    t.write("wrongcreds", "Username %s\nPassword nope\n" % USER)
    os.chmod(t.path("wrongcreds"), 0o600)
    p = submit(si, "bad", "--incident", "R2REJ", creds="wrongcreds")
    t.check(p.returncode == 2 and b"HTTP 401, responseCode 2000" in p.stderr
            and si.state()["reports"] == {},
            "a wrong password: refused by the service, nothing opened",
            both(p))
    p = t.run("report", "--submit", "-c", "reporter.conf", "-s", "bad",
              "--endpoint", "http://cybertip.example/ispws")
    t.check(p.returncode == 2 and b"must be https" in p.stderr,
            "plain http is refused but to this host", both(p))
    t.write("noend.conf", "Company C\nFirstName A\nLastName B\nEmail a@b\n")
    p = t.run("report", "--submit", "-c", "noend.conf", "-s", "bad")
    t.check(p.returncode == 2 and b"needs an endpoint" in p.stderr,
            "no endpoint configured: nothing is sent anywhere", both(p))
    os.rename(t.path("store"), t.path("store.away"))
    p = submit(si, "bad", "--incident", "aaaa")
    os.rename(t.path("store.away"), t.path("store"))
    t.check(p.returncode == 2 and b"preserve it first" in p.stderr,
            "a held incident not preserved is not submitted", both(p))
    draft = [d for d in os.listdir(t.path("drafts")) if "-http-" in d][0]
    with open(t.path("drafts", draft)) as f:
        text = f.read()
    with open(t.path("drafts", draft), "w") as f:
        f.write(text.replace("<fileViewedByEsp>false", "<fileViewedByEsp>"
                             "nobody"))
    p = submit(si, "bad", "--incident", "aaaa")
    with open(t.path("drafts", draft), "w") as f:
        f.write(text)
    t.check(p.returncode == 2 and b"the draft is not valid against the "
            b"schema" in p.stderr and si.state()["reports"] == {},
            "a draft edited into an invalid one is not sent", both(p))
finally:
    si.stop()
t.done()
