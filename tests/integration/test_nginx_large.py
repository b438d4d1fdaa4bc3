#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_nginx_large.py - a 1 GB upload streams through without nginx growing.

The body is made on the fly from a seeded 1 MiB block (never stored) and
sent with a Content-Length through a location without request buffering,
so it goes straight to the recorder. The workers' private RSS is sampled
while it streams: growth must stay under 16 MiB, the upstream must get the
exact bytes, and $hashgate_sha256 in the access log must be their SHA-256.
Run with hashing on the event loop and in the hashing thread.
"""

import hashlib
import http.client
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import nginx as N  # noqa: E402

SIZE = 1 << 30
BLOCK = N.payload(501, 1 << 20)
RSS_LIMIT = 16 << 20

HTTP = r"""
    hashgate_database {tmp}/db.hgdb;
    client_max_body_size 2g;
    server {
        listen 127.0.0.1:{port};
        hashgate on;
        location / {
            proxy_request_buffering off;
            proxy_http_version 1.1;
            proxy_pass http://recorder;
        }
    }
"""


def main():
    t = N.Checks()
    for extra, mode in (("", "event loop"),
                        ("hashgate_thread on;", "hashing thread")):
        ng = N.Nginx(extra + HTTP)
        try:
            run(t, ng, mode)
        finally:
            ng.cleanup()
    t.done()


def run(t, ng, mode):
    N.make_db(os.path.join(ng.tmp, "db.hgdb"),
              {"cam": [N.payload(502, 5000)]})
    ng.start()
    workers = ng.worker_pids()
    # warm both workers up so their first-request allocations are counted
    for _ in range(8):
        N.http_request(ng.port, "POST", "/warm", N.payload(503, 200000))
    base = {p: N.private_rss(p) for p in workers}
    peak = dict(base)
    done = threading.Event()

    def sample():
        while not done.is_set():
            for p in workers:
                try:
                    peak[p] = max(peak[p], N.private_rss(p))
                except OSError:
                    pass
            time.sleep(0.1)

    sampler = threading.Thread(target=sample)
    sampler.start()

    expect = hashlib.sha256()

    def gen():
        for _ in range(SIZE // len(BLOCK)):
            expect.update(BLOCK)
            yield BLOCK

    start = time.time()
    conn = http.client.HTTPConnection("127.0.0.1", ng.port, timeout=120)
    try:
        conn.request("PUT", "/big", body=gen(),
                     headers={"Content-Length": str(SIZE)})
        st = conn.getresponse().status
    except OSError as e:
        st = "error %s" % e
    finally:
        conn.close()
        done.set()
        sampler.join()
    secs = time.time() - start

    es = [e for e in ng.recorder.entries() if e["path"] == "/big"]
    t.check(st == 200 and len(es) == 1 and es[0]["complete"]
            and es[0]["bytes"] == SIZE
            and es[0]["sha256"] == expect.hexdigest(),
            "%s: 1 GB streamed upload reaches the upstream intact (%.1f s)"
            % (mode, secs),
            "status %s, %s" % (st, es))
    growth = max(peak[p] - base[p] for p in workers)
    t.check(growth < RSS_LIMIT,
            "%s: worker private RSS grew %.1f MiB (< 16 MiB) during the "
            "1 GB upload" % (mode, growth / 1048576.0),
            "%s -> %s" % (base, peak))
    acc = [l.split() for l in ng.access_log(" /big ") if " /big " in l]
    t.check(acc and acc[0][5] == expect.hexdigest(),
            "%s: $hashgate_sha256 of the 1 GB body is right" % mode, str(acc))
    t.check(ng.worker_pids() == workers and not ng.crashes(),
            "%s: no worker died" % mode, str(ng.crashes()))


if __name__ == "__main__":
    main()
