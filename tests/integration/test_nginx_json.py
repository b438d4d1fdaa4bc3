#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_nginx_json.py - files uploaded inside JSON and url-encoded bodies
(issue 21), through a real nginx with the module.

A private Debian nginx with one worker proxies to the recorder; the list
holds the SHA-256 of one synthetic file (seeded random bytes, 300 KiB).
Checked: the file as a base64 JSON string, as a data: URL, nested in an
array of objects, as URL-safe base64 sent in many small chunks, as standard
base64 with "\\/" escapes, as a url-encoded form field (its bytes, and their
base64), inside a zip inside a JSON string (archives on) gets the list's
action and a record naming the JSON pointer or field, the file name and
the type; the hold action holds such a body; clean JSON APIs and forms
reach the upstream byte for byte with no record; hashgate_json off and
hashgate_form off let the file through; a body that is not well-formed is
checked up to its fault, and the log and the record say where parsing
stopped; each limit (nesting depth, candidate strings, form fields, bytes
decoded) gives the fail verdict (503), logged naming it; a 500 MiB JSON
string, streamed from a generator, is decoded and checked whole with the
default limits and refused by max_decoded=1m; invalid base64 and NUL bytes;
nginx -t refusing bad values of both directives, naming the parameter. Part
of it runs again with the hashing thread on. Every check would fail on the
module before issue 21: there, all of these bodies passed as they were.
"""

import base64
import hashlib
import http.client
import io
import json
import os
import re
import sys
import urllib.parse
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import nginx as N  # noqa: E402
import ngfixture as F  # noqa: E402
from ngfixture import entries_for, got_exact, sha  # noqa: E402

HTTP = r"""
    hashgate_database {tmp}/db.hgdb;
    hashgate_evidence_log {prefix}/evidence.jsonl;
    client_max_body_size 64m;
    client_body_buffer_size 16k;

    server {
        listen 127.0.0.1:{port};
        # where parsing stopped is logged at info
        error_log {prefix}/error.log info;

        hashgate on;
        hashgate_hold_path {tmp}/hold;
        hashgate_list_action holdme hold;

        proxy_http_version 1.1;
        proxy_set_header Connection "";

        location /on/ { proxy_pass http://recorder; }
        location /nobuf/ {
            proxy_request_buffering off;
            proxy_pass http://recorder;
        }
        location /jsonoff/ {
            hashgate_json off;
            proxy_pass http://recorder;
        }
        location /formoff/ {
            hashgate_form off;
            proxy_pass http://recorder;
        }
        location /depth/ {
            hashgate_json on max_depth=10;
            proxy_pass http://recorder;
        }
        location /strings/ {
            hashgate_json on max_strings=2;
            proxy_pass http://recorder;
        }
        location /fields/ {
            hashgate_form on max_fields=2;
            proxy_pass http://recorder;
        }
        location /small/ {
            hashgate_json on min_size=512;
            hashgate_form on min_size=512;
            proxy_pass http://recorder;
        }
        location /big/ {
            client_max_body_size 600m;
            proxy_pass http://recorder;
        }
        location /bigcap/ {
            client_max_body_size 600m;
            hashgate_json on max_decoded=1m;
            proxy_pass http://recorder;
        }
        location /formcap/ {
            hashgate_form on max_decoded=100k;
            proxy_pass http://recorder;
        }
        location /full/ {
            hashgate_json on max_retained=0;
            proxy_pass http://recorder;
        }
        location /retain/ {
            hashgate_json on max_retained=1k;
            proxy_pass http://recorder;
        }
    }
"""

LISTED = N.payload(2101, 300 * 1024)
HELD = N.payload(2102, 40 * 1024)
SMALL = N.payload(2103, 700)            # under the default min_size
# the 500 MiB string: this block (a multiple of 3 bytes, so each encodes
# alone) 500 times, base64: 375 MiB decoded
BIG_BLOCK = N.payload(2104, 786432)
BIG_REPS = 500

JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def b64(data):
    return base64.b64encode(data).decode()


def b64url(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def jbody(obj):
    return json.dumps(obj).encode()


def post(ng, path, body, headers=JSON, chunk=None, timeout=60):
    """POST body; with chunk, chunked in pieces of that many bytes (each
    one a body buffer of its own in nginx)."""
    if chunk is None:
        return N.http_request(ng.port, "POST", path, body, headers=headers,
                              timeout=timeout)
    conn = http.client.HTTPConnection("127.0.0.1", ng.port, timeout=timeout)
    try:
        def gen():
            for i in range(0, len(body), chunk):
                yield body[i:i + chunk]
        h = dict(headers)
        h["Transfer-Encoding"] = "chunked"
        conn.request("POST", path, body=gen(), headers=h,
                     encode_chunked=True)
        r = conn.getresponse()
        return r.status, r.read()
    except OSError:
        return 0, b""
    finally:
        conn.close()


def records(ng, path):
    return [r for r in ng.evidence() if r.get("uri") == path]


def log_since(ng, mark):
    return ng.error_log()[mark:]


class Suffixed:
    """Checks whose names say which hashing mode ran them."""

    def __init__(self, t, suffix):
        self.t, self.suffix = t, suffix

    def check(self, cond, what, why=""):
        return self.t.check(cond, what + self.suffix, why)


def main():
    t = N.Checks()
    ng = N.Nginx(HTTP, workers=1)
    try:
        F.start(ng, hex_lists=lists(), tls=False)
        worker = ng.worker_pids()
        listed(t, ng)
        clean(t, ng)
        switches(t, ng)
        malformed(t, ng)
        lazy(t, ng)
        limits(t, ng)
        hostile(t, ng)
        big_string(t, ng)
        alerts = [l for l in ng.error_log().splitlines() if "[alert]" in l]
        nrec = len(ng.evidence())
        t.check(ng.worker_pids() == worker and not ng.crashes()
                and not alerts and nrec >= 20,
                "the worker never died, no alert in the error log, %d "
                "records written" % nrec, "%s -> %s, %s, %s"
                % (worker, ng.worker_pids(), ng.crashes(), alerts[:5]))
    finally:
        ng.cleanup()

    # the same parts, hashed by the worker's hashing thread (bodies over
    # 256 KiB, buffers over 8 KiB go there)
    ng = N.Nginx("hashgate_thread on;\n" + HTTP, workers=1)
    try:
        F.start(ng, hex_lists=lists(), tls=False)
        listed(Suffixed(t, " (hashing thread)"), ng, short=True)
        nrec = len(ng.evidence())
        t.check(not ng.crashes() and nrec == 9,
                "hashing thread: no worker died, the 9 records written",
                "%s, %d records" % (ng.crashes(), nrec))
    finally:
        ng.cleanup()

    conf_checks(t)
    t.done()


def refused(t, ng, path, body, what, part, headers=JSON, chunk=None,
            filename=None, declared=None, encoding=None, size=None,
            digest=None):
    """body to path gets 403, the upstream gets nothing (never all of it
    without request buffering), and one record names part (and filename,
    declared type, encoding when given)."""
    st, _ = post(ng, path, body, headers, chunk)
    es = entries_for(ng, path)
    if path.startswith("/nobuf/"):
        es = [e for e in es if e["complete"]]
    recs = records(ng, path)
    rec = recs[0] if recs else {}
    want = {"action": "reject", "part": part,
            "sha256": digest or sha(LISTED),
            "size": size if size is not None else len(LISTED)}
    if filename is not None:
        want["filename"] = filename
    if declared is not None:
        want["declared_type"] = declared
    if encoding is not None:
        want["encoding"] = encoding
    bad = {k: rec.get(k) for k in want if rec.get(k) != want[k]}
    t.check(st == 403 and not es and len(recs) == 1 and not bad,
            "%s: 403, the upstream gets nothing whole, the record names %s"
            % (what, ", ".join("%s %s" % (k, json.dumps(v))
                               for k, v in want.items()
                               if k not in ("action", "sha256", "size"))),
            "status %s, upstream %s, wrong %s, records %s"
            % (st, es, bad, json.dumps(recs)[:500]))
    return rec


def listed(t, ng, short=False):
    data = b64(LISTED)
    refused(t, ng, "/on/json-b64", jbody({"name": "a.jpg", "data": data}),
            "the listed file as a base64 JSON string", "/data",
            filename="a.jpg", encoding="base64")
    refused(t, ng, "/on/data-url",
            jbody({"avatar": "data:image/jpeg;base64," + data,
                   "user": 17}),
            "the listed file as a data: URL", "/avatar",
            declared="image/jpeg")
    refused(t, ng, "/on/nested",
            jbody({"album": "trip", "files": [
                {"content": data, "filename": "b.png"},
                {"content": b64(N.payload(2110, 5000)), "filename": "c"}]}),
            "the listed file nested in an array of objects, its name "
            "after it", "/files/0/content", filename="b.png")
    refused(t, ng, "/on/urlsafe-chunked",
            jbody({"name": "u.bin", "blob": b64url(LISTED)}),
            "the listed file as unpadded URL-safe base64, chunked in 97-byte "
            "chunks", "/blob", chunk=97, filename="u.bin",
            encoding="base64url")
    refused(t, ng, "/nobuf/urlsafe-chunked",
            jbody({"name": "u.bin", "blob": b64url(LISTED)}),
            "the same with request buffering off", "/blob", chunk=97)
    escaped = jbody({"name": "e.jpg", "data": "@@"}).replace(
        b"@@", data.replace("/", "\\/").encode())
    assert b"\\/" in escaped
    refused(t, ng, "/on/escaped", escaped,
            "the listed file as standard base64 with \\/ escapes (PHP's "
            "json_encode)", "/data", filename="e.jpg")
    refused(t, ng, "/on/vnd-json", jbody({"data": {"attributes": {
        "file": data}}}),
            "the listed file in an application/vnd.api+json body",
            "/data/attributes/file",
            headers={"Content-Type": "application/vnd.api+json; "
                                     "charset=utf-8"})
    form = urllib.parse.urlencode({"title": "holiday", "photo": LISTED,
                                   "n": "3"}).encode()
    refused(t, ng, "/on/form-raw", form,
            "the listed file's bytes as a url-encoded form field", "photo",
            headers=FORM, encoding="url-encoded")
    form = urllib.parse.urlencode({"title": "holiday", "photo": data}).encode()
    refused(t, ng, "/on/form-b64", form,
            "the listed file's base64 as a url-encoded form field", "photo",
            headers=FORM)
    if short:
        return

    form = urllib.parse.urlencode(
        {"img": "data:image/png;base64," + data}).encode()
    refused(t, ng, "/on/form-data-url", form,
            "the listed file as a data: URL in a form field", "img",
            headers=FORM, declared="image/png")

    # a zip holding it, inside a JSON string: the archive is opened
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("readme.txt", b"holiday photos\n" * 10)
        z.writestr("photos/a.jpg", LISTED)
    zdata = buf.getvalue()
    st, _ = post(ng, "/on/zip-in-json",
                 jbody({"name": "photos.zip", "data": b64(zdata)}))
    recs = records(ng, "/on/zip-in-json")
    rec = recs[0] if recs else {}
    conts = rec.get("containers") or [{}]
    t.check(st == 403 and len(recs) == 1 and rec.get("sha256") == sha(LISTED)
            and rec.get("inner_path") == "photos/a.jpg"
            and (rec.get("part") or "").startswith("/data!")
            and conts[0].get("path") == "/data"
            and conts[0].get("sha256") == sha(zdata),
            "a zip holding the listed file, inside a JSON string: 403, the "
            "record names the inner path and the zip at /data",
            "status %s, %s" % (st, json.dumps(recs)[:600]))

    # the same with 256 KiB of ordinary fields and a fault after it: the
    # helper finds the file once the body was read (its tail in later
    # body buffers than the zip), and the record still says where parsing
    # stopped
    pad = [{"id": i, "note": "plain text %d" % i} for i in range(9000)]
    head = jbody({"name": "photos.zip", "data": b64(zdata), "pad": pad})[:-1]
    body = head + b', "x": ]}'
    fault = len(head) + 7
    st, _ = post(ng, "/on/zip-in-json-fault", body)
    recs = records(ng, "/on/zip-in-json-fault")
    rec = recs[0] if recs else {}
    t.check(st == 403 and rec.get("inner_path") == "photos/a.jpg"
            and rec.get("parse_stopped")
            and rec.get("parse_stopped_at") == fault,
            "a zip holding the listed file in a JSON string, a fault after "
            "it: 403, and the record says parsing stopped at byte %d"
            % fault, "status %s, %s" % (st, json.dumps(recs)[:600]))

    # the hold action: the body is kept whole, its record beside it
    hold = os.path.join(ng.tmp, "hold")
    before = set(os.listdir(hold)) if os.path.isdir(hold) else set()
    body = jbody({"profile": {"name": "h.jpg", "picture": b64(HELD)}})
    st, _ = post(ng, "/on/held", body)
    new = sorted(set(os.listdir(hold)) - before)
    kept = [n for n in new if not n.endswith(".json")]
    same, hrec = False, {}
    if len(kept) == 1:
        with open(os.path.join(hold, kept[0]), "rb") as f:
            same = f.read() == body
        with open(os.path.join(hold, kept[0] + ".json")) as f:
            hrec = json.loads(f.readline())
    t.check(st == 403 and same and hrec.get("action") == "hold"
            and hrec.get("part") == "/profile/picture"
            and hrec.get("filename") == "h.jpg"
            and hrec.get("sha256") == sha(HELD)
            and not entries_for(ng, "/on/held"),
            "a file on a hold list inside JSON: the body is held whole, its "
            "record beside it names /profile/picture",
            "status %s, new %s, %s" % (st, new, hrec))

    # min_size: a small file is a part only from that size, or as a data URL
    small = jbody({"icon": b64(SMALL)})
    st, _ = post(ng, "/on/small", small)
    st2, _ = post(ng, "/small/small", small)
    st3, _ = post(ng, "/on/small-url", jbody(
        {"icon": "data:image/gif;base64," + b64(SMALL)}))
    t.check(st == 200 and st2 == 403 and st3 == 403,
            "a listed 700-byte file as base64: passes under the default "
            "min_size (1 KiB), 403 with min_size=512, 403 as a data: URL "
            "at any size", "%s %s %s" % (st, st2, st3))


def clean(t, ng):
    """Clean bodies pass byte for byte with no record, while the same
    shapes carrying the listed file are refused."""
    lorem = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed "
             "do eiusmod tempor incididunt ut labore et dolore magna aliqua."
             " ") * 2000
    docs = {
        "small strings and numbers": {
            "id": 12345, "price": 19.99, "tags": ["a", "b", "c"],
            "ok": True, "none": None, "user": {"name": "ann", "age": 42},
            "list": list(range(500))},
        "long text that is not base64": {"name": "essay.txt",
                                         "text": lorem},
        "a long hex digest list": {"digests": [
            hashlib.sha256(b"%d" % i).hexdigest() for i in range(2000)]},
        "a clean 300 KiB file as base64": {"name": "ok.bin",
                                           "data": b64(N.payload(2120,
                                                                 300 << 10))},
    }
    for i, (what, doc) in enumerate(docs.items()):
        body = jbody(doc)
        path = "/on/clean-json-%d" % i
        st, _ = post(ng, path, body)
        ok, es = got_exact(ng, path, body)
        twin = dict(doc, zz=b64(LISTED))
        st2, _ = post(ng, path + "-twin", jbody(twin))
        t.check(st == 200 and ok and not records(ng, path) and st2 == 403,
                "clean JSON, %s: reaches the upstream byte for byte with no "
                "record (and with the listed file added, 403)" % what,
                "status %s, %s, twin %s" % (st, es, st2))
    # the same, chunked in small pieces
    doc = docs["small strings and numbers"]
    body = jbody(doc)
    st, _ = post(ng, "/on/clean-chunked", body, chunk=50)
    ok, es = got_exact(ng, "/on/clean-chunked", body)
    st2, _ = post(ng, "/on/clean-chunked-twin",
                  jbody(dict(doc, zz=b64(LISTED))), chunk=50)
    t.check(st == 200 and ok and not records(ng, "/on/clean-chunked")
            and st2 == 403,
            "clean JSON chunked in 50-byte chunks reaches the upstream byte "
            "for byte (and with the listed file added, 403)",
            "status %s, %s, twin %s" % (st, es, st2))

    form = urllib.parse.urlencode({
        "user": "ann", "comment": lorem[:5000], "n": "17",
        "q": "a+b=c&d"}).encode()
    st, _ = post(ng, "/on/clean-form", form, FORM)
    ok, es = got_exact(ng, "/on/clean-form", form)
    st2, _ = post(ng, "/on/clean-form-twin",
                  form + b"&f=" + urllib.parse.quote(LISTED).encode(), FORM)
    t.check(st == 200 and ok and not records(ng, "/on/clean-form")
            and st2 == 403,
            "a clean url-encoded form (a 5000-byte comment) reaches the "
            "upstream byte for byte with no record (and with the listed "
            "file in a field, 403)", "status %s, %s, twin %s" % (st, es, st2))


def switches(t, ng):
    body = jbody({"name": "a.jpg", "data": b64(LISTED)})
    st, _ = post(ng, "/jsonoff/listed", body)
    ok, _ = got_exact(ng, "/jsonoff/listed", body)
    form = urllib.parse.urlencode({"photo": LISTED}).encode()
    st2, _ = post(ng, "/jsonoff/form", form, FORM)
    t.check(st == 200 and ok and st2 == 403,
            "hashgate_json off: the listed file in JSON reaches the upstream "
            "(forms are still parsed there)", "%s %s" % (st, st2))
    st, _ = post(ng, "/formoff/listed", form, FORM)
    ok, _ = got_exact(ng, "/formoff/listed", form)
    st2, _ = post(ng, "/formoff/json", body)
    t.check(st == 200 and ok and st2 == 403,
            "hashgate_form off: the listed file in a form field reaches the "
            "upstream (JSON is still parsed there)", "%s %s" % (st, st2))
    # a JSON body behind a harmless first Content-Type
    mark = len(ng.error_log())
    raw = (b"POST /on/two-types HTTP/1.1\r\nHost: x\r\n"
           b"Content-Type: text/plain\r\nContent-Type: application/json\r\n"
           b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
           + body)
    st = raw_status(ng, raw)
    t.check(st == 503 and "conflicting Content-Type" in log_since(ng, mark),
            "a JSON body behind a text/plain Content-Type (applications "
            "that read the last one parse it): 503", str(st))


def raw_status(ng, raw):
    import socket
    s = socket.create_connection(("127.0.0.1", ng.port), timeout=30)
    try:
        s.sendall(raw)
        got = b""
        while b"\r\n" not in got:
            b = s.recv(4096)
            if not b:
                break
            got += b
        m = re.match(rb"HTTP/1\.\d (\d+)", got)
        return int(m.group(1)) if m else 0
    finally:
        s.close()


def stopped_at(log):
    m = re.search(r"parsing stopped at byte (\d+) \(([^)]*)\)", log)
    return (int(m.group(1)), m.group(2)) if m else (None, None)


def malformed(t, ng):
    data = b64(LISTED)
    whole = jbody({"name": "a.jpg", "data": data})
    # the file, then the fault: what came before was checked (a match that
    # decides stops the parser, which then never sees what follows)
    for what, body in (("cut short after the file", whole[:-1]),
                       ("with a fault after the file",
                        whole[:-1] + b', "x": ]}')):
        st, _ = post(ng, "/on/bad-after-%d" % len(body), body)
        t.check(st == 403, "JSON %s: still 403" % what, str(st))
    # cut inside the string, after the file's last character: the part is
    # ended with what it had, and the record says where parsing stopped
    body = whole[:whole.rindex(b'"')]
    mark = len(ng.error_log())
    st, _ = post(ng, "/on/cut-in-string", body)
    recs = records(ng, "/on/cut-in-string")
    rec = recs[0] if recs else {}
    at, why = stopped_at(log_since(ng, mark))
    t.check(st == 403 and rec.get("part") == "/data"
            and rec.get("parse_stopped")
            and rec.get("parse_stopped_at") == len(body) == at,
            "JSON cut inside the string after the file's last character: "
            "403; the log and the record say parsing stopped at its end "
            "(byte %d)" % len(body),
            "status %s, log at %s (%s), %s" % (st, at, why,
                                               json.dumps(recs)[:400]))
    # a file to hold does not stop the parser: its record has the fault
    head = jbody({"name": "h.jpg", "data": b64(HELD)})[:-1]
    body = head + b', "x": ]}'
    fault = len(head) + 7
    mark = len(ng.error_log())
    st, _ = post(ng, "/on/held-then-fault", body)
    recs = records(ng, "/on/held-then-fault")
    rec = recs[0] if recs else {}
    at, why = stopped_at(log_since(ng, mark))
    t.check(st == 403 and rec.get("action") == "hold"
            and rec.get("part") == "/data" and rec.get("parse_stopped")
            and rec.get("parse_stopped_at") == fault == at,
            "JSON with a fault after a file on a hold list: held; the log and "
            "the record say parsing stopped at byte %d" % fault,
            "status %s, log at %s (%s), %s" % (st, at, why,
                                               json.dumps(recs)[:400]))
    # the fault before the file: the rest is not read, as the
    # application will not read it either
    body = b'{"id": 7, "tags": ["a" "b"], "data": "' + data.encode() + b'"}'
    fault = body.index(b'"b"')
    mark = len(ng.error_log())
    st, _ = post(ng, "/on/bad-before", body)
    ok, es = got_exact(ng, "/on/bad-before", body)
    log = log_since(ng, mark)
    at, why = stopped_at(log)
    t.check(st == 200 and ok and at == fault and "[info]" in log,
            "JSON with a fault before the file: passes whole (the "
            "application refuses it), the log says (info) parsing stopped "
            "at byte %d" % fault, "status %s, at %s (%s)" % (st, at, why))
    # a form is never malformed: bad escapes are read as text, as
    # lenient decoders (Python's parse_qs) read them
    form = b"a=%zz%4&b=%&" + urllib.parse.urlencode({"photo": LISTED}).encode()
    mark = len(ng.error_log())
    st, _ = post(ng, "/on/bad-form", form, FORM)
    t.check(st == 403 and "parsing stopped" not in log_since(ng, mark),
            "a url-encoded form with bad %XX escapes before the listed file: "
            "read on, 403", str(st))


def limit_case(t, ng, path, body, what, words, headers=JSON, also=True,
               secret=None):
    """path gets 503, the limit named in the error log; secret, a key or
    field name from the request, only in the records (none here)."""
    mark = len(ng.error_log())
    st, _ = post(ng, path, body, headers)
    log = log_since(ng, mark)
    es = entries_for(ng, path)
    t.check(also and st == 503 and not es and all(w in log for w in words)
            and (secret is None or secret not in log),
            "%s: 503, the upstream gets nothing, the error log names the "
            "limit%s" % (what, "" if secret is None
                         else " and not the request's names"),
            "status %s, upstream %s, log %s" % (st, es, log.strip()[-400:]))


def limits(t, ng):
    deep = b"[" * 11 + b"1" + b"]" * 11
    st10, _ = post(ng, "/depth/ok", b"[" * 10 + b"1" + b"]" * 10)
    limit_case(t, ng, "/depth/deep", deep,
               "JSON nested 11 deep with max_depth=10 (10 deep passes)",
               ("hashgate_json max_depth",), also=st10 == 200)
    deep = b'{"a":' * 101 + b"1" + b"}" * 101
    limit_case(t, ng, "/on/deep", deep,
               "JSON nested 101 deep with the default max_depth (100)",
               ("max_depth",))
    three = jbody({"a": b64(N.payload(2130, 2000)),
                   "b": b64(N.payload(2131, 2000)),
                   "secret: key": b64(N.payload(2132, 2000))})
    limit_case(t, ng, "/strings/three", three,
               "three candidate strings with max_strings=2",
               ("more than 2 parts", "hashgate_json max_strings"),
               secret="secret")
    form = urllib.parse.urlencode({
        "a": N.payload(2133, 2000), "b": N.payload(2134, 2000),
        "secretfield": N.payload(2135, 2000)}).encode()
    limit_case(t, ng, "/fields/three", form,
               "three long form fields with max_fields=2",
               ("more than 2 parts", "hashgate_form max_fields"),
               FORM, secret="secretfield")
    limit_case(t, ng, "/formcap/big", urllib.parse.urlencode(
        {"a": N.payload(2136, 200 << 10)}).encode(),
        "a 200 KiB form field with max_decoded=100k",
        ("hashgate_form max_decoded",), FORM)


def hostile(t, ng):
    data = b64(LISTED)
    # invalid base64: characters no alphabet has, past the first KiB
    # (lenient decoders, Node's Buffer.from and Python's b64decode without
    # validate, skip them and store the file)
    bad = data[:3000] + "*!*" + data[3000:60000] + "\\n" + data[60000:]
    body = jbody({"data": "@@"}).replace(b"@@", bad.encode())
    st, _ = post(ng, "/on/invalid-b64", body)
    recs = records(ng, "/on/invalid-b64")
    t.check(st == 403 and recs and recs[0].get("sha256") == sha(LISTED),
            "base64 with invalid characters inside: they are skipped, as "
            "lenient decoders do, and the file is found (403)",
            "status %s, %s" % (st, json.dumps(recs)[:300]))
    junk = jbody({"data": "*" * 5000, "more": "!" * 5000})
    st, _ = post(ng, "/on/invalid-all", junk)
    ok, _ = got_exact(ng, "/on/invalid-all", junk)
    st2, _ = post(ng, "/on/invalid-all-twin", jbody(
        {"data": "*" * 5000, "zz": data}))
    t.check(st == 200 and ok and not records(ng, "/on/invalid-all")
            and st2 == 403,
            "strings that are no base64 at all pass byte for byte, no record "
            "(the file beside them: 403)", "%s %s" % (st, st2))
    # NUL bytes: escaped in a name, raw in the body
    body = jbody({"name": "a\u0000b.jpg", "data": data})
    st, _ = post(ng, "/on/nul-name", body)
    recs = records(ng, "/on/nul-name")
    t.check(st == 403 and len(recs) == 1 and recs[0].get("part") == "/data",
            "a file name with \\u0000 in it: 403, a record that is valid "
            "JSON", "status %s, %s" % (st, json.dumps(recs)[:300]))
    body = jbody({"name": "a.jpg", "data": data})[:-1] + b"\x00\x00}"
    st, _ = post(ng, "/on/nul-after", body)
    t.check(st == 403, "raw NUL bytes after the file: 403", str(st))
    # a raw control byte in a string is read as it is (lenient readers
    # store it); between tokens it is a fault
    body = b'{"x": "a\x00b", "data": "' + data.encode() + b'"}'
    st, _ = post(ng, "/on/nul-in-string", body)
    t.check(st == 403, "a raw NUL byte inside a string before the file: "
            "read on, 403", str(st))
    body = b'{"x": 1,\x00 "data": "' + data.encode() + b'"}'
    mark = len(ng.error_log())
    st, _ = post(ng, "/on/nul-between", body)
    at, _ = stopped_at(log_since(ng, mark))
    t.check(st == 200 and at == body.index(b"\x00"),
            "a raw NUL byte between tokens before the file: the body is not "
            "JSON, parsing stops there (logged at byte %d)"
            % body.index(b"\x00"), "status %s, at %s" % (st, at))


def lazy(t, ng):
    """The scanner that reads ahead of the tokenizer (max_retained)."""
    data = b64(LISTED)
    # ordinary records, then the file: caught up whatever max_retained
    recs = [{"id": i, "name": "user %d" % i, "tags": ["a", "b"]}
            for i in range(200)]
    body = jbody({"records": recs,
                  "upload": {"data": data, "filename": "late.jpg"},
                  "more": recs})
    for loc in ("/on/", "/full/", "/retain/"):
        refused(t, ng, loc + "lazy", body,
                "the file after 8 KiB of records, named after it (%s)" % loc,
                "/upload/data", filename="late.jpg")
    # a body with no possible part is not read for faults unless
    # max_retained=0 asks the tokenizer to read every byte
    bad = jbody({"records": recs})[:-1] + b' "x"}'
    for loc, logged in (("/on/", False), ("/full/", True)):
        mark = len(ng.error_log())
        st, _ = post(ng, loc + "bad-clean", bad)
        at, _ = stopped_at(log_since(ng, mark))
        t.check(st == 200 and (at == len(bad) - 4 if logged else at is None),
                "malformed JSON with no possible part at %s: passes, %s"
                % (loc, "where it stops is logged" if logged
                   else "not read for faults"), "status %s, at %s" % (st, at))


def big_gen(prefix, suffix):
    yield prefix
    enc = base64.b64encode(BIG_BLOCK)
    for _ in range(BIG_REPS):
        yield enc
    yield suffix


def big_post(ng, path):
    prefix = b'{"name": "big.bin", "data": "'
    suffix = b'"}'
    n = len(prefix) + len(suffix) + BIG_REPS * (len(BIG_BLOCK) // 3 * 4)
    conn = http.client.HTTPConnection("127.0.0.1", ng.port, timeout=600)
    try:
        conn.request("POST", path, body=big_gen(prefix, suffix),
                     headers={"Content-Type": "application/json",
                              "Content-Length": str(n)})
        r = conn.getresponse()
        r.read()
        return r.status, n
    except OSError as e:
        return str(e), n
    finally:
        conn.close()


def big_sha():
    h = hashlib.sha256()
    for _ in range(BIG_REPS):
        h.update(BIG_BLOCK)
    return h.hexdigest()


def lists():
    """The list: the file, the small one and the 375 MiB one (a match of
    that proves it was decoded whole); the held one on its own list."""
    return {"cam": [sha(LISTED), sha(SMALL), big_sha()],
            "holdme": [sha(HELD)]}


def big_string(t, ng):
    big = big_sha()
    size = len(BIG_BLOCK) * BIG_REPS
    st, n = big_post(ng, "/big/string")
    recs = records(ng, "/big/string")
    rec = recs[0] if recs else {}
    t.check(st == 403 and rec.get("sha256") == big and rec.get("size") == size
            and rec.get("part") == "/data",
            "a %d MiB JSON string (streamed): with the default limits "
            "(max_decoded 400 MiB) its %d MiB are decoded and checked: the "
            "listed file is found (403)" % (n >> 20, size >> 20),
            "status %s, %s" % (st, json.dumps(recs)[:400]))
    mark = len(ng.error_log())
    st, n = big_post(ng, "/bigcap/string")
    log = log_since(ng, mark)
    t.check(st == 503 and "hashgate_json max_decoded" in log
            and not entries_for(ng, "/bigcap/string"),
            "the same string with max_decoded=1m: 503, the limit named in "
            "the error log", "status %s, log %s" % (st, log.strip()[-300:]))


def conf_checks(t):
    """nginx -t refuses bad values of hashgate_json and hashgate_form,
    naming the parameter and the line."""
    ng = N.Nginx("", workers=1, recorder=False)
    try:
        N.make_db_from_hex(os.path.join(ng.tmp, "db.hgdb"),
                           {"cam": ["00" * 32]})
        base = ("hashgate_database {tmp}/db.hgdb;\n"
                "server { listen 127.0.0.1:{port}; hashgate on;\n%s\n}")
        good = ("hashgate_json on min_size=4k max_depth=50 max_strings=10 "
                "max_decoded=8m max_retained=16m;\nhashgate_form off "
                "min_size=100 max_fields=3 max_decoded=1g;\n"
                "location /x/ { hashgate_json off; }\n"
                "location /y/ { hashgate_json on max_retained=0; }")
        rc, out, _ = ng.test_conf(base % good)
        t.check(rc == 0, "nginx -t passes good values of both directives",
                out[-300:])
        for bad, words in (
                ("hashgate_json maybe;", ('"maybe"', '"on" or "off"')),
                ("hashgate_json;", ("invalid number of arguments",)),
                ("hashgate_json on max_depth=0;", ('"max_depth"', "from 1")),
                ("hashgate_json on max_depth=10001;", ('"max_depth"',)),
                ("hashgate_json on max_depth=ten;", ('"max_depth"',)),
                ("hashgate_json on min_size=1q;", ('"min_size"',)),
                ("hashgate_json on min_size=0;", ('"min_size"',)),
                ("hashgate_json on max_strings=-1;", ('"max_strings"',)),
                ("hashgate_json on max_decoded=0;", ('"max_decoded"',)),
                ("hashgate_json on max_decoded=;", ('"max_decoded"',)),
                ("hashgate_json on max_retained=2g;", ('"max_retained"',)),
                ("hashgate_form on max_retained=1m;",
                 ('unknown parameter "max_retained"',)),
                ("hashgate_json on max_fields=3;",
                 ('unknown parameter "max_fields"',)),
                ("hashgate_form on max_depth=3;",
                 ('unknown parameter "max_depth"',)),
                ("hashgate_form on max_strings=3;",
                 ('unknown parameter "max_strings"',)),
                ("hashgate_form on 12;", ("name=value",)),
                ("hashgate_json on max_depth=5 max_depth=6;",
                 ('"max_depth" given twice',)),
                ("hashgate_json on; hashgate_json off;", ("is duplicate",))):
            rc, out, _ = ng.test_conf(base % bad)
            t.check(rc != 0 and all(w in out for w in words)
                    and "test.conf:" in out,
                    "nginx -t refuses \"%s\" saying %s" % (bad, words[0]),
                    out[-300:])
    finally:
        ng.cleanup()


if __name__ == "__main__":
    main()
