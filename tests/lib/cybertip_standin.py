# SPDX-License-Identifier: BSD-2-Clause
"""cybertip_standin.py - a local stand-in for NCMEC's CyberTipline
reporting API, for tests of `hashgate report --submit`. The real service is
never called by tests.

It speaks the API's steps (docs/reporting.md, "Sources"): POST /submit
with a <report> document answers a reportResponse with a new reportId;
POST /upload (a form: id, file) a fileId and the file's MD5 as "hash";
POST /fileinfo with a <fileDetails> document; POST /finish and POST
/retract (a form: id). And it checks what a client does:

  - HTTP basic authentication with the user and password given (401 and
    responseCode 2000 otherwise);
  - every XML document against the schema (xmllint --schema), its root
    element the one the step takes;
  - the order of calls: files only for an open report of theirs, details
    once per file uploaded, finish only when every file has its details,
    nothing after finish or retract;
  - no report submitted twice (the same report document as one not
    retracted is a duplicate).
Whatever breaks a rule is answered as the service would (an error code)
and written down in "violations".

Failures are injected through CONTROL.json in its directory, read at each
request: {"fail": {"upload": 1}} answers the next upload with HTTP 500 and
responseCode 1000 and does nothing; {"drop": {"submit": 1}} does what the
next submit asks and closes the connection without answering (the client
cannot know whether it happened). Everything it saw is in STATE.json after
each request: reports (their documents, files, details, finished,
retracted), the calls in order, violations, and authentication failures.

    python3 cybertip_standin.py PORT DIR XSD USER PASSWORD

Tests use the StandIn class: it starts one on a free 127.0.0.1 port,
reads its state, sets its failures, and stops it by its PID.
"""

import base64
import email.parser
import email.policy
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, HTTPServer

PORT = DIR = XSD = USER = PASSWORD = STATE = CONTROL = None


class StandIn:
    """The stand-in in a process of its own, for a test."""

    def __init__(self, workdir, xsd, user, password):
        self.dir = workdir
        os.makedirs(workdir, exist_ok=True)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.url = "http://127.0.0.1:%d/ispws" % self.port
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), str(self.port),
             workdir, xsd, user, password],
            stdout=subprocess.DEVNULL, stderr=open(
                os.path.join(workdir, "stderr"), "wb"))
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("the CyberTipline stand-in did not listen")

    def state(self):
        with open(os.path.join(self.dir, "STATE.json")) as f:
            return json.load(f)

    def set(self, **control):
        """fail={"step": n}, drop={"step": n}."""
        with open(os.path.join(self.dir, "CONTROL.json"), "w") as f:
            json.dump(control, f)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

state = {"reports": {}, "calls": [], "violations": [], "auth_failures": 0,
         "submitted_docs": []}
next_report = [1000]
next_file = [1]


def save():
    tmp = STATE + ".tmp"
    with open(tmp, "w") as f:
        json.dump(state, f, indent=1)
    os.rename(tmp, STATE)


def control():
    try:
        with open(CONTROL) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def take(kind, step):
    """True (and one less of them) if a failure of this kind is due. A
    count N fails the next N calls; [SKIP, N] lets SKIP calls pass first."""
    c = control()
    v = c.get(kind, {}).get(step, 0)
    skip, n = (v if isinstance(v, list) else [0, v])
    if n <= 0:
        return False
    if skip > 0:
        c[kind][step] = [skip - 1, n]
        due = False
    else:
        c[kind][step] = [0, n - 1]
        due = True
    with open(CONTROL, "w") as f:
        json.dump(c, f)
    return due


def valid(doc, root):
    """None when doc is valid against the schema with this root, else why."""
    try:
        el = ET.fromstring(doc)
    except ET.ParseError as e:
        return "not XML: %s" % e
    if el.tag != root:
        return "root <%s>, not <%s>" % (el.tag, root)
    p = subprocess.run(["xmllint", "--noout", "--schema", XSD, "-"],
                       input=doc, capture_output=True)
    if p.returncode != 0:
        return "not valid against the schema: %s" % p.stderr.decode()[-400:]
    return None


def answer(root, code, desc="", **fields):
    x = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
         "<%s>" % root, "<responseCode>%d</responseCode>" % code]
    if root == "reportResponse":
        x.append("<responseDescription>%s</responseDescription>"
                 % (desc or ("Success" if code == 0 else "Error")))
    for k, v in fields.items():
        if k == "files":
            x.append("<files>%s</files>" % "".join(
                "<fileId>%s</fileId>" % f for f in v))
        else:
            x.append("<%s>%s</%s>" % (k, v, k))
    x.append("</%s>" % root)
    return "".join(x).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def violation(self, what):
        state["violations"].append(what)

    def authed(self):
        want = "Basic " + base64.b64encode(
            ("%s:%s" % (USER, PASSWORD)).encode()).decode()
        return self.headers.get("Authorization") == want

    def form(self, body):
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + self.headers.get("Content-Type", "").encode()
            + b"\r\n\r\n" + body)
        out = {}
        if not msg.is_multipart():
            return out
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            out[name] = (part.get_filename(), part.get_payload(decode=True))
        return out

    def open_report(self, rid, step):
        r = state["reports"].get(rid)
        if r is None:
            self.violation("%s for report %s, which does not exist" % (step, rid))
            return None, 5001
        if r["finished"]:
            self.violation("%s for report %s after finish" % (step, rid))
            return None, 5102
        if r["retracted"]:
            self.violation("%s for report %s after retract" % (step, rid))
            return None, 5101
        return r, 0

    def do_POST(self):
        step = self.path.rstrip("/").rsplit("/", 1)[-1]
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if not self.authed():
            state["auth_failures"] += 1
            save()
            self.send(401, answer("reportResponse", 2000,
                                  "Authentication required"))
            return
        if take("fail", step):
            state["calls"].append([step, None, None, "failed"])
            save()
            self.send(500, answer("reportResponse", 1000, "Server error"))
            return
        drop = take("drop", step)
        status, resp = getattr(self, "step_" + step, self.step_unknown)(body)
        save()
        if drop:
            state["calls"][-1][3] = "dropped"
            save()
            self.close_connection = True
            return
        self.send(status, resp)

    def step_unknown(self, body):
        self.violation("POST %s: no such endpoint" % self.path)
        state["calls"].append([self.path, None, None, "unknown"])
        return 404, answer("reportResponse", 4000, "Invalid request")

    def step_submit(self, body):
        if not self.headers.get("Content-Type", "").startswith("text/xml"):
            self.violation("submit without Content-Type text/xml")
        why = valid(body, "report")
        if why:
            self.violation("submit: " + why)
            state["calls"].append(["submit", None, None, "invalid"])
            return 200, answer("reportResponse", 4100, "Validation failed")
        doc = body.decode()
        if any(r["report"] == doc and not r["retracted"]
               for r in state["reports"].values()):
            self.violation("submit: the same report submitted twice")
        state["submitted_docs"].append(doc)
        rid = str(next_report[0])
        next_report[0] += 1
        state["reports"][rid] = {"report": doc, "files": {}, "order": [],
                                 "finished": False, "retracted": False}
        state["calls"].append(["submit", rid, None, "ok"])
        return 200, answer("reportResponse", 0, reportId=rid)

    def step_upload(self, body):
        f = self.form(body)
        rid = (f.get("id", (None, b""))[1] or b"").decode()
        r, code = self.open_report(rid, "upload")
        if r is None:
            state["calls"].append(["upload", rid, None, "refused"])
            return 200, answer("reportResponse", code)
        name, data = f.get("file", (None, None))
        if data is None:
            self.violation("upload without a file")
            return 200, answer("reportResponse", 4200, "Malformed file")
        fid = "%032x" % next_file[0]
        next_file[0] += 1
        r["files"][fid] = {"name": name, "size": len(data),
                           "md5": hashlib.md5(data).hexdigest(),
                           "sha256": hashlib.sha256(data).hexdigest(),
                           "details": None}
        r["order"].append(fid)
        state["calls"].append(["upload", rid, fid, "ok"])
        return 200, answer("reportResponse", 0, reportId=rid, fileId=fid,
                           hash=hashlib.md5(data).hexdigest())

    def step_fileinfo(self, body):
        why = valid(body, "fileDetails")
        if why:
            self.violation("fileinfo: " + why)
            state["calls"].append(["fileinfo", None, None, "invalid"])
            return 200, answer("reportResponse", 4100, "Validation failed")
        el = ET.fromstring(body)
        rid, fid = el.findtext("reportId"), el.findtext("fileId")
        r, code = self.open_report(rid, "fileinfo")
        if r is None:
            state["calls"].append(["fileinfo", rid, fid, "refused"])
            return 200, answer("reportResponse", code)
        if fid not in r["files"]:
            self.violation("fileinfo for file %s, not uploaded to report %s"
                           % (fid, rid))
            return 200, answer("reportResponse", 5002, "File does not exist")
        if r["files"][fid]["details"] is not None:
            self.violation("fileinfo twice for file %s" % fid)
        r["files"][fid]["details"] = body.decode()
        state["calls"].append(["fileinfo", rid, fid, "ok"])
        return 200, answer("reportResponse", 0, reportId=rid)

    def step_finish(self, body):
        rid = (self.form(body).get("id", (None, b""))[1] or b"").decode()
        r = state["reports"].get(rid)
        if r is not None and r["finished"]:
            state["calls"].append(["finish", rid, None, "again"])
            return 200, answer("reportDoneResponse", 5102, reportId=rid)
        r, code = self.open_report(rid, "finish")
        if r is None:
            state["calls"].append(["finish", rid, None, "refused"])
            return 200, answer("reportDoneResponse", code)
        missing = [f for f, v in r["files"].items() if v["details"] is None]
        if missing:
            self.violation("finish of report %s before the details of %s"
                           % (rid, missing))
        r["finished"] = True
        state["calls"].append(["finish", rid, None, "ok"])
        return 200, answer("reportDoneResponse", 0, reportId=rid,
                           files=r["order"])

    def step_retract(self, body):
        rid = (self.form(body).get("id", (None, b""))[1] or b"").decode()
        r = state["reports"].get(rid)
        if r is not None and r["retracted"]:
            state["calls"].append(["retract", rid, None, "again"])
            return 200, answer("reportResponse", 5101, reportId=rid)
        r, code = self.open_report(rid, "retract")
        if r is None:
            state["calls"].append(["retract", rid, None, "refused"])
            return 200, answer("reportResponse", code)
        r["retracted"] = True
        state["calls"].append(["retract", rid, None, "ok"])
        return 200, answer("reportResponse", 0, reportId=rid)


if __name__ == "__main__":
    PORT, DIR, XSD, USER, PASSWORD = sys.argv[1:6]
    STATE = os.path.join(DIR, "STATE.json")
    CONTROL = os.path.join(DIR, "CONTROL.json")
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    save()
    HTTPServer(("127.0.0.1", int(PORT)), Handler).serve_forever()
