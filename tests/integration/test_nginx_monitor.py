#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_nginx_monitor.py - hashgate_monitor never changes what passes.

With hashgate_monitor on and no hashgate_on_error, an upload the module
cannot scan (over hashgate_max_parts, a Content-Encoding it cannot read) or
whose record cannot be written reaches the application, and the error log
says it would have been refused. hashgate_on_error given explicitly, in
the location or inherited from the server, still applies in monitor mode;
outside monitor mode the default stays 503. The same rule as the milter's
MonitorOnly (test_milter_monitor.py): common/policy decides both.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import nginx as N  # noqa: E402

HTTP = r"""
    hashgate_database {tmp}/db.hgdb;
    hashgate_evidence_log {prefix}/evidence.jsonl;
    client_max_body_size 16m;

    server {
        listen 127.0.0.1:{port};
        hashgate on;
        hashgate_max_parts 3;

        location /monitor/ {
            hashgate_monitor on;
            proxy_pass http://recorder;
        }
        location /monitor-full/ {
            hashgate_monitor on;
            hashgate_evidence_log /dev/full;
            proxy_pass http://recorder;
        }
        location /strict/ {
            hashgate_monitor on;
            hashgate_on_error reject;
            proxy_pass http://recorder;
        }
        location /enforce/ { proxy_pass http://recorder; }
    }

    server {
        listen 127.0.0.1:{port2};
        hashgate on;
        hashgate_max_parts 3;
        hashgate_monitor on;
        hashgate_on_error reject;

        location /inherited/ { proxy_pass http://recorder; }
    }
"""

LISTED = N.payload(601, 20 * 1024)
WOULD = "passed by \"hashgate_monitor on\", would be rejected (503)"


def main():
    t = N.Checks()
    ng = N.Nginx(HTTP)
    try:
        run(t, ng)
    finally:
        ng.cleanup()
    t.done()


def reached(ng, path):
    return [e for e in ng.recorder.entries()
            if e["path"] == path and e["complete"]]


def run(t, ng):
    N.make_db(os.path.join(ng.tmp, "db.hgdb"), {"cam": [LISTED]})
    ng.start()

    parts = [("f%d" % i, "f%d.bin" % i, None, N.payload(610 + i, 500))
             for i in range(6)]
    form, ctype = N.multipart(parts)

    def post(port, path, body=form, headers=None):
        h = {"Content-Type": ctype}
        h.update(headers or {})
        return N.http_request(port, "POST", path, body, h)[0]

    st = post(ng.port, "/monitor/parts")
    t.check(st == 200 and reached(ng, "/monitor/parts"),
            "monitor mode without hashgate_on_error: a form over "
            "hashgate_max_parts reaches the application", "status %d" % st)
    t.check(WOULD in ng.error_log(),
            "it is logged as what would have happened: '%s'" % WOULD,
            ng.error_log()[-1500:])

    st = post(ng.port, "/monitor/gzip", b"\x1f\x8b" + N.payload(620, 2000),
              {"Content-Type": "application/octet-stream",
               "Content-Encoding": "gzip"})
    t.check(st == 200 and reached(ng, "/monitor/gzip"),
            "monitor mode: a body with a Content-Encoding passes",
            "status %d" % st)

    st = post(ng.port, "/monitor-full/listed", LISTED,
              {"Content-Type": "application/octet-stream"})
    t.check(st == 200 and reached(ng, "/monitor-full/listed"),
            "monitor mode, evidence log full: a listed upload still reaches "
            "the application", "status %d" % st)

    st = post(ng.port, "/strict/parts")
    t.check(st == 503 and not reached(ng, "/strict/parts"),
            "monitor mode with hashgate_on_error reject: over the limit "
            "gives 503", "status %d" % st)

    st = post(ng.port2, "/inherited/parts")
    t.check(st == 503 and not reached(ng, "/inherited/parts"),
            "hashgate_on_error reject set on the server applies in its "
            "monitor-mode locations", "status %d" % st)

    st = post(ng.port, "/enforce/parts")
    t.check(st == 503 and not reached(ng, "/enforce/parts"),
            "outside monitor mode the default is still 503", "status %d" % st)

    t.check(not ng.crashes(), "no worker crashed", ng.crashes())


if __name__ == "__main__":
    main()
