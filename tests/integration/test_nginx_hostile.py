#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_nginx_hostile.py - malformed multipart uploads get the configured verdict.

A form without its final boundary, a boundary over 70 characters, 10,000
parts, NULs in part headers and an overlong header line: each gets the
verdict hashgate_on_error says (503 by default, passed and logged with
"pass"), a listed part is still caught where the parser could reach it,
and no worker dies. An evidence log on a full disk (/dev/full): a match
that cannot be recorded gets the fail verdict too.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import nginx as N  # noqa: E402

HTTP = r"""
    hashgate_database {tmp}/db.hgdb;
    client_max_body_size 64m;
    server {
        listen 127.0.0.1:{port};
        hashgate on;
        hashgate_max_header_size 8k;
        location / { proxy_pass http://recorder; }
        location /pass/ {
            hashgate_on_error pass;
            proxy_pass http://recorder;
        }
        location /many/ {
            hashgate_max_parts 20000;
            proxy_pass http://recorder;
        }
        location /full/ {
            hashgate_evidence_log /dev/full;
            hashgate_list_action logme log;
            proxy_pass http://recorder;
        }
        location /full-pass/ {
            hashgate_evidence_log /dev/full;
            hashgate_list_action logme log;
            hashgate_on_error pass;
            proxy_pass http://recorder;
        }
    }
"""

LISTED = N.payload(401, 12000)
LOGGED = N.payload(406, 3000)


def form(parts, boundary="b0undary", final=True):
    body, ctype = N.multipart(parts, boundary)
    if not final:
        # the body stops right after the last part's data
        body = body[:-(len(boundary) + 8)]
    return body, ctype


def main():
    t = N.Checks()
    ng = N.Nginx(HTTP)
    try:
        run(t, ng)
    finally:
        ng.cleanup()
    t.done()


def post(ng, path, body, ctype):
    return N.http_request(ng.port, "POST", path, body,
                          {"Content-Type": ctype})[0]


def run(t, ng):
    N.make_db(os.path.join(ng.tmp, "db.hgdb"),
              {"cam": [LISTED], "logme": [LOGGED]})
    ng.start()
    workers = ng.worker_pids()

    clean = [("f", "a.bin", "application/octet-stream", N.payload(402, 5000))]
    listed = [("f", "a.bin", "application/octet-stream", LISTED)]

    body, ctype = form(listed, final=False)
    st = post(ng, "/nofinal-listed", body, ctype)
    t.check(st == 403, "form without a final boundary: a listed part is "
            "still rejected", "status %d" % st)
    body, ctype = form(clean, final=False)
    st = post(ng, "/nofinal-clean", body, ctype)
    t.check(st in (200, 503), "form without a final boundary, clean: "
            "passed or refused, never a crash", "status %d" % st)

    long_b = "x" * 100
    body, ctype = form(listed, boundary=long_b)
    st = post(ng, "/longboundary", body, ctype)
    t.check(st in (403, 503), "boundary over 70 characters: rejected "
            "(whole body listed or unscannable)", "status %d" % st)
    body, ctype = form(clean, boundary=long_b)
    st = post(ng, "/longboundary-clean", body, ctype)
    t.check(st == 503, "boundary over 70 characters: hashgate_on_error "
            "reject gives 503", "status %d" % st)
    st = post(ng, "/pass/longboundary-clean", body, ctype)
    es = [e for e in ng.recorder.entries()
          if e["path"] == "/pass/longboundary-clean"]
    t.check(st == 200 and len(es) == 1 and es[0]["complete"],
            "boundary over 70 characters with hashgate_on_error pass: passed",
            "status %d %s" % (st, es))
    t.check("passed by \"hashgate_on_error pass\"" in ng.error_log(),
            "the unscanned pass is logged as a warning")

    parts = [("p%d" % i, "f%d.bin" % i, None, b"x%d" % i)
             for i in range(10000)]
    body, ctype = form(parts)
    st = post(ng, "/tenk", body, ctype)
    t.check(st == 503, "10k parts over hashgate_max_parts give 503",
            "status %d" % st)
    st = post(ng, "/many/tenk", body, ctype)
    t.check(st == 200, "10k parts under a raised hashgate_max_parts pass",
            "status %d" % st)
    body, ctype = form(parts[:5000] + listed + parts[5000:])
    st = post(ng, "/many/tenk-listed", body, ctype)
    t.check(st == 403, "a listed part among 10k parts is rejected",
            "status %d" % st)

    nul = b"--b0undary\r\nContent-Disposition: form-data; name=\"a\0b\"; " \
          b"filename=\"x\0y.bin\"\r\nContent-Type: app\0lication/x\r\n\r\n" \
          + LISTED + b"\r\n--b0undary--\r\n"
    st = post(ng, "/nul", nul, "multipart/form-data; boundary=b0undary")
    t.check(st in (403, 503), "NULs in part headers: rejected or refused, "
            "never passed", "status %d" % st)

    over = b"--b0undary\r\nContent-Disposition: form-data; name=\"a\"; " \
           b"filename=\"" + b"y" * 100000 + b"\"\r\n\r\n" \
           + N.payload(403, 3000) + b"\r\n--b0undary--\r\n"
    st = post(ng, "/overlong", over, "multipart/form-data; boundary=b0undary")
    t.check(st == 503, "a part header line over hashgate_max_header_size "
            "gives 503", "status %d" % st)

    st = post(ng, "/garbage", N.payload(404, 50000),
              "multipart/form-data; boundary=b0undary")
    t.check(st in (200, 503), "random bytes declared as a form: passed or "
            "refused, never a crash", "status %d" % st)

    # evidence log on a full disk
    st = [N.http_request(ng.port, "POST", p, d)[0]
          for p, d in (("/full/listed", LISTED), ("/full/logged", LOGGED),
                       ("/full-pass/logged", LOGGED),
                       ("/full/clean", N.payload(407, 2000)))]
    log = ng.error_log()
    t.check(st == [403, 503, 200, 200],
            "evidence log full: a rejected match is still rejected, a "
            "log-only match gets hashgate_on_error (503, or passed with "
            "pass), clean uploads pass", str(st))
    t.check("No space left on device" in log
            and "a match not recorded" in log,
            "the full evidence log is logged", log[-600:])

    st, _ = N.http_request(ng.port, "POST", "/after", N.payload(405, 1000))
    t.check(st == 200, "the next normal upload is served", "status %d" % st)
    t.check(ng.worker_pids() == workers and not ng.crashes(),
            "no worker died (pids unchanged, no signal exits)",
            "%s %s %s" % (workers, ng.worker_pids(), ng.crashes()))


if __name__ == "__main__":
    main()
