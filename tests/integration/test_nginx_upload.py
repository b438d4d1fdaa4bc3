#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_nginx_upload.py - uploads through a real nginx with the hashgate module.

A private Debian nginx (2 workers) proxies to a recorder that hashes what
it receives. Clean uploads must reach it byte for byte; listed ones must get
the configured status and never complete there: raw POST/PUT, chunked,
request buffering on and off, client_body_in_file_only, dav PUT, HTTP/2
over TLS, multipart forms, hold and log actions, monitor mode, variables
and evidence records; all of it with hashing in the worker's hashing thread
and on the event loop. Every payload is seeded random bytes.
"""

import json
import os
import re
import socket
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import nginx as N  # noqa: E402
import ngfixture as F  # noqa: E402
from ngfixture import (entries_for, got_exact,  # noqa: E402
                       got_nothing_complete, sha)

HTTP = r"""
    hashgate_database {tmp}/db.hgdb;
    hashgate_evidence_log {prefix}/evidence.jsonl;
    client_max_body_size 64m;
    client_body_buffer_size 16k;

    server {
        listen 127.0.0.1:{port};
        listen 127.0.0.1:{port2} ssl http2;
        ssl_certificate {tmp}/cert.pem;
        ssl_certificate_key {tmp}/key.pem;

        hashgate on;
        hashgate_hold_path {tmp}/hold;
        hashgate_list_action holdme hold;
        hashgate_list_action logme log;

        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header X-Hashgate-Verdict $hashgate_verdict;
        proxy_set_header X-Hashgate-Sha256 $hashgate_sha256;

        location /buf/ { proxy_pass http://recorder; }
        location /nobuf/ {
            proxy_request_buffering off;
            proxy_pass http://recorder;
        }
        location /infile/ {
            client_body_in_file_only on;
            proxy_pass http://recorder;
        }
        location /dav/ {
            root {tmp}/davroot;
            dav_methods PUT;
            create_full_put_path on;
        }
        location /small/ {
            client_max_body_size 1k;
            proxy_pass http://recorder;
        }
        location /off/ {
            hashgate off;
            proxy_pass http://recorder;
        }
        location /monitor/ {
            hashgate_monitor on;
            proxy_pass http://recorder;
        }
        location /status/ {
            hashgate_reject_status 451;
            proxy_pass http://recorder;
        }
        location /form/ { proxy_pass http://recorder; }
        location /errpage/ {
            error_page 403 /blocked.html;
            proxy_pass http://recorder;
        }
        location = /blocked.html { return 403 "blocked\n"; }
        location /noform/ {
            hashgate_multipart off;
            proxy_pass http://recorder;
        }
    }
"""

LISTED = N.payload(101, 200 * 1024)
BIG_LISTED = N.payload(102, 3 * 1024 * 1024)
HELD = N.payload(103, 50 * 1024)
LOGGED = N.payload(104, 3000)
CLEAN = N.payload(105, 300 * 1024)
PART_LISTED = N.payload(106, 40 * 1024)


class Suffixed:
    """Checks whose names say which hashing mode ran them."""

    def __init__(self, t, suffix):
        self.t, self.suffix = t, suffix

    def check(self, cond, what, why=""):
        return self.t.check(cond, what + self.suffix, why)


def main():
    t = N.Checks()
    # bodies are hashed on the event loop (the default) and, with
    # hashgate_thread on, by the worker's hashing thread: both alike
    for extra, suffix in (("", ""),
                          ("hashgate_thread on;", " (hashing thread)")):
        ng = N.Nginx(extra + HTTP)
        try:
            run(Suffixed(t, suffix), ng)
        finally:
            ng.cleanup()
    t.done()


def run(t, ng):
    tmp = ng.tmp
    F.prepare(ng, {"cam": [LISTED, BIG_LISTED, PART_LISTED],
                   "holdme": [HELD], "logme": [LOGGED]})
    dav = os.path.join(tmp, "davroot", "dav")
    os.makedirs(dav)
    os.chmod(os.path.join(tmp, "davroot"), 0o755)
    if os.geteuid() == 0:
        os.chown(dav, 65534, 65534)
    ng.start()
    workers = ng.worker_pids()
    port = ng.port

    # raw uploads, request buffering on
    st, _ = N.http_request(port, "POST", "/buf/clean-post", CLEAN)
    ok, es = got_exact(ng, "/buf/clean-post", CLEAN)
    t.check(st == 200 and ok, "clean POST reaches the upstream byte for byte",
            "status %d, %s" % (st, es))
    t.check(es and es[0].get("body_sha256") == sha(CLEAN),
            "$hashgate_sha256 sent upstream is the body's SHA-256", str(es))
    t.check(es and es[0].get("verdict") == "none",
            "$hashgate_verdict sent upstream is none for a clean body",
            str(es))

    st, _ = N.http_request(port, "POST", "/buf/listed-post", LISTED)
    ok, es = got_nothing_complete(ng, "/buf/listed-post")
    t.check(st == 403 and not es, "listed POST gets 403, upstream got nothing",
            "status %d, %s" % (st, es))

    st, _ = N.http_request(port, "PUT", "/buf/listed-put", BIG_LISTED)
    es = entries_for(ng, "/buf/listed-put")
    t.check(st == 403 and not es,
            "listed 3 MiB PUT gets 403, upstream got nothing",
            "status %d, %s" % (st, es))

    st, _ = N.http_request(port, "PUT", "/buf/clean-put", CLEAN)
    ok, es = got_exact(ng, "/buf/clean-put", CLEAN)
    t.check(st == 200 and ok, "clean PUT reaches the upstream byte for byte",
            "status %d, %s" % (st, es))

    # request buffering off
    st, _ = N.http_request(port, "POST", "/nobuf/clean", CLEAN)
    ok, es = got_exact(ng, "/nobuf/clean", CLEAN)
    t.check(st == 200 and ok,
            "clean POST without request buffering reaches the upstream intact",
            "status %d, %s" % (st, es))

    # the upstream gets the leading buffers, never the last one
    st, _ = N.http_request(port, "POST", "/nobuf/listed", BIG_LISTED)
    ok, es = got_nothing_complete(ng, "/nobuf/listed")
    t.check(st == 403 and ok and len(es) == 1
            and es[0]["bytes"] < len(BIG_LISTED),
            "listed POST without request buffering gets 403 and is cut short "
            "at the upstream", "status %d, %s" % (st, es))

    # chunked
    st, _ = N.http_request(port, "POST", "/buf/chunked-clean", CLEAN,
                           chunked=True)
    ok, es = got_exact(ng, "/buf/chunked-clean", CLEAN)
    t.check(st == 200 and ok, "clean chunked POST reaches the upstream intact",
            "status %d, %s" % (st, es))

    st, _ = N.http_request(port, "POST", "/buf/chunked-listed", LISTED,
                           chunked=True)
    es = entries_for(ng, "/buf/chunked-listed")
    t.check(st == 403 and not es, "listed chunked POST gets 403",
            "status %d, %s" % (st, es))

    st, _ = N.http_request(port, "POST", "/nobuf/chunked-clean", CLEAN,
                           chunked=True)
    ok, es = got_exact(ng, "/nobuf/chunked-clean", CLEAN)
    t.check(st == 200 and ok,
            "clean chunked POST without buffering reaches the upstream intact",
            "status %d, %s" % (st, es))

    st, _ = N.http_request(port, "POST", "/nobuf/chunked-listed", BIG_LISTED,
                           chunked=True)
    ok, es = got_nothing_complete(ng, "/nobuf/chunked-listed")
    # What is held back is the read that ends the body: with its last data
    # chunk when the client's terminating chunk came in the same read, the
    # terminating chunk alone when it came later (a loaded machine). Either
    # way the upload never completes at the upstream (nginx-module/README).
    t.check(st == 403 and ok and len(es) == 1
            and es[0]["bytes"] <= len(BIG_LISTED),
            "listed chunked POST without buffering gets 403 and never "
            "completes at the upstream", "status %d, %s" % (st, es))

    # client_body_in_file_only
    st, _ = N.http_request(port, "POST", "/infile/clean", CLEAN)
    ok, es = got_exact(ng, "/infile/clean", CLEAN)
    t.check(st == 200 and ok,
            "client_body_in_file_only: clean body reaches the upstream",
            "status %d, %s" % (st, es))
    st, _ = N.http_request(port, "POST", "/infile/listed", LISTED)
    es = entries_for(ng, "/infile/listed")
    t.check(st == 403 and not es,
            "client_body_in_file_only: listed body gets 403",
            "status %d, %s" % (st, es))

    # dav PUT
    st, _ = N.http_request(port, "PUT", "/dav/clean.bin", CLEAN)
    path = os.path.join(dav, "clean.bin")
    same = os.path.exists(path) and open(path, "rb").read() == CLEAN
    t.check(st == 201 and same, "dav PUT of a clean file creates it",
            "status %d" % st)
    st, _ = N.http_request(port, "PUT", "/dav/listed.bin", LISTED)
    t.check(st == 403 and not os.path.exists(os.path.join(dav, "listed.bin")),
            "dav PUT of a listed file gets 403 and creates nothing",
            "status %d" % st)

    # client_max_body_size still applies
    st, _ = N.http_request(port, "POST", "/small/too-big", CLEAN)
    es = entries_for(ng, "/small/too-big")
    t.check(st == 413 and not es, "oversized upload gets 413",
            "status %d" % st)

    # other locations
    st, _ = N.http_request(port, "POST", "/off/listed", LISTED)
    ok, es = got_exact(ng, "/off/listed", LISTED)
    t.check(st == 200 and ok, "hashgate off: a listed body passes",
            "status %d" % st)
    st, _ = N.http_request(port, "POST", "/status/listed", LISTED)
    t.check(st == 451, "hashgate_reject_status 451 is used", "status %d" % st)

    nev = len(ng.evidence())
    st, _ = N.http_request(port, "POST", "/monitor/listed", LISTED)
    ok, es = got_exact(ng, "/monitor/listed", LISTED)
    ev = ng.evidence()[nev:]
    t.check(st == 200 and ok and len(ev) == 1 and ev[0].get("action") == "log"
            and ev[0].get("intended_action") == "reject",
            "monitor mode: a listed body passes and its record says it would "
            "have been rejected", "status %d, %s" % (st, ev))

    # log action
    nev = len(ng.evidence())
    st, _ = N.http_request(port, "POST", "/buf/logged", LOGGED)
    ok, es = got_exact(ng, "/buf/logged", LOGGED)
    ev = ng.evidence()[nev:]
    t.check(st == 200 and ok and len(ev) == 1 and ev[0].get("action") == "log"
            and ev[0]["lists"][0]["list"] == "logme",
            "list with action log: body passes, a record is written",
            "status %d, %s" % (st, ev))

    # evidence record of the reject
    rec = [e for e in ng.evidence() if e.get("uri") == "/buf/listed-post"]
    r0 = rec[0] if rec else {}
    want = {"channel": "http", "action": "reject", "client_addr": "127.0.0.1",
            "method": "POST", "uri": "/buf/listed-post", "sha256": sha(LISTED),
            "size": len(LISTED)}
    bad = {k: r0.get(k) for k in want if r0.get(k) != want[k]}
    t.check(len(rec) == 1 and not bad
            and r0.get("host") == "127.0.0.1"
            and re.fullmatch(r"[0-9a-f]{32}", r0.get("request_id") or "")
            and r0["lists"][0]["list"] == "cam"
            and r0.get("time", "").endswith("Z"),
            "evidence record of a rejected upload names client, host, method, "
            "URI, request id, digest, size and list", "%s %s" % (bad, r0))
    mode = stat.S_IMODE(os.stat(os.path.join(ng.prefix,
                                             "evidence.jsonl")).st_mode)
    t.check(mode & 0o007 == 0, "evidence log is not world-readable",
            oct(mode))

    # access log variables
    acc = [l.split() for l in ng.access_log(" /buf/listed-post ")]
    rej = [a for a in acc if a[1] == "/buf/listed-post"]
    t.check(rej and rej[0][2] == "403" and rej[0][3] == "reject"
            and rej[0][4] == "cam" and rej[0][5] == sha(LISTED),
            "access log: $hashgate_verdict, $hashgate_list, $hashgate_sha256 "
            "of a rejected upload", str(rej))

    # an error_page after the reject: the verdict is still in the log
    st, body = N.http_request(port, "POST", "/errpage/listed", LISTED)
    acc = [l.split() for l in ng.access_log(" /blocked.html ")
           if " /blocked.html " in l]
    t.check(st == 403 and body == b"blocked\n" and acc
            and acc[-1][3] == "reject" and acc[-1][4] == "cam",
            "with an error_page for 403 the access log still has the verdict "
            "and list", "%d %r %s" % (st, body, acc))

    # hold
    st, _ = N.http_request(port, "POST", "/buf/held", HELD)
    es = entries_for(ng, "/buf/held")
    hold = os.path.join(tmp, "hold")
    names = sorted(os.listdir(hold)) if os.path.isdir(hold) else []
    t.check(st == 403 and not es, "held upload gets the hold status (403)",
            "status %d, %s" % (st, es))
    hst = os.stat(hold)
    t.check(stat.S_IMODE(hst.st_mode) == 0o700
            and (os.geteuid() != 0 or hst.st_uid == 65534),
            "hold dir is 0700 and owned by the worker user",
            "%o uid %d" % (stat.S_IMODE(hst.st_mode), hst.st_uid))
    bodies = [n for n in names if not n.endswith(".json")]
    t.check(len(bodies) == 1 and len(names) == 2
            and re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{32}", bodies[0])
            and bodies[0] + ".json" in names,
            "hold dir has one body named time-request_id and its record",
            str(names))
    if len(bodies) == 1:
        bpath = os.path.join(hold, bodies[0])
        with open(bpath, "rb") as f:
            kept = f.read()
        bst = os.stat(bpath)
        t.check(kept == HELD and stat.S_IMODE(bst.st_mode) == 0o600
                and (os.geteuid() != 0 or bst.st_uid == 65534),
                "held body is the exact upload, mode 0600, owned by the "
                "worker user", "%o" % stat.S_IMODE(bst.st_mode))
        with open(bpath + ".json") as f:
            hr = json.loads(f.readline())
        t.check(hr.get("action") == "hold" and hr.get("held_at") == bpath
                and hr["lists"][0]["list"] == "holdme"
                and bodies[0].endswith(hr.get("request_id", "?"))
                and hr.get("sha256") == sha(HELD),
                "hold record names the held file, list, digest and request id",
                str(hr))
    st, _ = N.http_request(port, "POST", "/buf/clean-no-hold", CLEAN)
    t.check(sorted(os.listdir(hold)) == names,
            "a clean upload leaves nothing in the hold dir",
            str(os.listdir(hold)))

    # uploads that end without a verdict leave no partial copy either
    st, _ = N.http_request(port, "POST", "/small/chunked-too-big", CLEAN,
                           chunked=True)
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"POST /buf/aborted HTTP/1.1\r\nHost: x\r\n"
                 b"Content-Length: 1000000\r\n\r\n" + CLEAN[:100000])
    time.sleep(0.3)
    during = [n for n in os.listdir(hold) if n.endswith(".part")]
    sock.close()
    time.sleep(0.5)
    t.check(len(during) == 1, "while an upload streams its copy waits in "
            "the hold dir as NAME.part", str(during))
    t.check(st == 413 and sorted(os.listdir(hold)) == names,
            "an oversized chunked upload (413) and an aborted one leave no "
            "partial copy in the hold dir",
            "status %d, %s" % (st, os.listdir(hold)))

    # HTTP/2 over TLS
    body = os.path.join(tmp, "up.bin")
    for loc, name, data, want in (("buf", "h2-clean", CLEAN, "200"),
                                  ("buf", "h2-listed", LISTED, "403"),
                                  ("nobuf", "h2-clean", CLEAN, "200"),
                                  ("nobuf", "h2-listed", BIG_LISTED, "403")):
        with open(body, "wb") as f:
            f.write(data)
        path = "/%s/%s" % (loc, name)
        r = subprocess.run(["curl", "-sk", "--http2", "-o", "/dev/null",
                            "-w", "%{http_code} %{http_version}",
                            "--data-binary", "@" + body,
                            "https://127.0.0.1:%d%s" % (ng.port2, path)],
                           capture_output=True, text=True, timeout=30)
        out = r.stdout.split()
        es = entries_for(ng, path)
        if want == "200":
            ok = len(es) == 1 and es[0]["sha256"] == sha(data)
        elif loc == "buf":
            ok = not es
        else:
            ok = not any(e["complete"] for e in es)
        t.check(out == [want, "2"] and ok,
                "HTTP/2 upload, request buffering %s: %s gets %s%s" % (
                    "on" if loc == "buf" else "off",
                    "clean" if want == "200" else "listed", want,
                    " and reaches the upstream" if want == "200"
                    else ", upstream got nothing" if loc == "buf"
                    else ", never complete at the upstream"),
                "%s %s" % (out, es))

    # multipart/form-data
    form, ctype = N.multipart([
        ("title", None, None, b"holiday"),
        ("a", "a.bin", "application/octet-stream", N.payload(201, 9000)),
        ("b", "photo.jpg", "image/jpeg", PART_LISTED),
        ("c", "c.bin", "application/octet-stream", N.payload(202, 7000)),
    ])
    nev = len(ng.evidence())
    st, _ = N.http_request(port, "POST", "/form/one-listed", form,
                           {"Content-Type": ctype})
    es = entries_for(ng, "/form/one-listed")
    ev = ng.evidence()[nev:]
    t.check(st == 403 and not es,
            "form with several files, one listed, gets 403; upstream got "
            "nothing", "status %d, %s" % (st, es))
    t.check(len(ev) == 1 and ev[0].get("part") == "b"
            and ev[0].get("filename") == "photo.jpg"
            and ev[0].get("declared_type") == "image/jpeg"
            and ev[0].get("size") == len(PART_LISTED),
            "record of a listed form part names the field, file name and "
            "declared type", str(ev))

    clean_form, ctype = N.multipart([
        ("a", "a.bin", "application/octet-stream", N.payload(203, 70000)),
        ("b", "b.bin", "application/octet-stream", N.payload(204, 5000)),
    ])
    st, _ = N.http_request(port, "POST", "/form/clean", clean_form,
                           {"Content-Type": ctype})
    ok, es = got_exact(ng, "/form/clean", clean_form)
    t.check(st == 200 and ok, "clean form reaches the upstream byte for byte",
            "status %d, %s" % (st, es))

    st, _ = N.http_request(port, "POST", "/form/chunked", form,
                           {"Content-Type": ctype.replace(
                               "hgboundary0123456789", "hgboundary0123456789")},
                           chunked=True)
    t.check(st == 403, "chunked form with a listed part gets 403",
            "status %d" % st)

    big_form, ctype = N.multipart([
        ("a", "a.bin", "application/octet-stream", N.payload(205, 1 << 20)),
        ("b", "photo.jpg", "image/jpeg", PART_LISTED),
        ("c", "c.bin", "application/octet-stream", N.payload(206, 1 << 20)),
    ])
    st, _ = N.http_request(port, "POST", "/form/big-listed", big_form,
                           {"Content-Type": ctype})
    es = entries_for(ng, "/form/big-listed")
    t.check(st == 403 and not es,
            "2 MiB form with a listed part between large files gets 403",
            "status %d, %s" % (st, es))

    st, _ = N.http_request(port, "POST", "/noform/one-listed", form,
                           {"Content-Type": ctype})
    t.check(st == 200, "hashgate_multipart off: parts are not scanned",
            "status %d" % st)

    # nothing crashed
    t.check(ng.worker_pids() == workers and not ng.crashes(),
            "no worker crashed during the run",
            "%s -> %s; %s" % (workers, ng.worker_pids(), ng.crashes()))


if __name__ == "__main__":
    main()
