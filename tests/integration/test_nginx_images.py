#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_nginx_images.py - images uploaded through nginx, matched by their
PDQ hashes (issue 17).

A private Debian nginx with one worker proxies to the recorder. A list
holds the PDQ hash of one synthetic picture; the same picture resized to
half and re-encoded as JPEG at quality 60, uploaded as a form file part,
as a raw PUT and inside a zip, gets the list's status (403) with a record
giving the distance, the image's PDQ hash and the listed entry, and never
reaches the upstream whole; an unrelated picture passes byte for byte; an
image that does not decode passes with a record saying so; an image past
hashgate_image_max_pixels gets hashgate_image_limit's verdict (503, the
fail verdict, by default; 403 with reject); hashgate_pdq_images off lets
the resized copy through; nginx -t refuses bad values naming the line. The
worker never dies. All images are synthetic.
"""

import io
import os
import sys
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import images  # noqa: E402
import nginx as N  # noqa: E402
import ngfixture as F  # noqa: E402
from ngfixture import sha  # noqa: E402

HTTP = r"""
    hashgate_database {tmp}/db.hgdb;
    hashgate_evidence_log {prefix}/evidence.jsonl;
    client_max_body_size 50m;
    client_body_buffer_size 16k;

    server {
        listen 127.0.0.1:{port};

        hashgate on;
        hashgate_list_action imglist reject;

        proxy_http_version 1.1;
        proxy_set_header Connection "";

        location /on/ { proxy_pass http://recorder; }
        location /off/ {
            proxy_request_buffering off;
            proxy_pass http://recorder;
        }
        location /nopdq/ {
            hashgate_pdq_images off;
            proxy_pass http://recorder;
        }
        location /pixels/ {
            hashgate_image_max_pixels 100k;
            proxy_pass http://recorder;
        }
        location /pixrej/ {
            hashgate_image_max_pixels 100k;
            hashgate_image_limit reject;
            proxy_pass http://recorder;
        }
        location /quality/ {
            hashgate_pdq_min_quality 100;
            hashgate_pdq_dihedral on;
            hashgate_image_max_size 10m;
            hashgate_image_timeout 5s;
            proxy_pass http://recorder;
        }
    }
"""


def send(port, path, data, raw, filename="holiday.jpg"):
    if raw:
        return N.http_request(port, "PUT", path, data)
    body, ctype = N.multipart([("note", None, None, b"hello"),
                               ("upload", filename, "image/jpeg", data)])
    return N.http_request(port, "POST", path, body,
                          headers={"Content-Type": ctype})


def records_for(ng, path):
    return [r for r in ng.evidence() if r.get("uri") == path]


def main():
    t = N.Checks()
    for p in (images.MKIMAGE, images.HASHGATE):
        if not t.check(os.access(p, os.X_OK), "%s is built" % p):
            t.done()
    ng = N.Nginx(HTTP, workers=1)
    try:
        run(t, ng)
    finally:
        ng.cleanup()
    conf_checks(t)
    t.done()


def run(t, ng):
    tmp = ng.tmp
    base_p = os.path.join(tmp, "base.png")
    images.make(base_p, "png", 640, 480, 7)
    half = images.make(os.path.join(tmp, "half.jpg"), "jpeg", 320, 240, 7,
                       quality=60)
    other = images.make(os.path.join(tmp, "other.png"), "png", 640, 480, 99)
    base_h, base_q = images.pdq(base_p)
    half_h, half_q = images.pdq(os.path.join(tmp, "half.jpg"))
    dist = images.distance(base_h, half_h)
    images.database(os.path.join(tmp, "db.hgdb"),
                    pdq={"imglist": [(base_h, base_q)]},
                    digests={"digests": [sha(b"nothing uploaded here")]})
    ng.start()
    worker = ng.worker_pids()

    for raw in (False, True):
        for mode in ("on", "off"):
            kind = "PUT" if raw else "form"
            path = "/%s/half-%s" % (mode, kind)
            st, _ = send(ng.port, path, half, raw)
            nothing, es = F.got_nothing_complete(ng, path)
            recs = records_for(ng, path)
            rec = recs[0] if recs else {}
            lst = (rec.get("lists") or [{}])[0]
            t.check(st == 403 and nothing,
                    "the picture resized to half, JPEG q60, %s, buffering "
                    "%s: 403, the upstream never gets it whole"
                    % (kind, mode), "%s %s" % (st, es))
            t.check(len(recs) == 1 and lst.get("list") == "imglist"
                    and lst.get("algorithm") == "pdq"
                    and lst.get("distance") == dist
                    and (lst.get("listed") or {}).get("pdq") == base_h
                    and (rec.get("image") or {}).get("pdq") == half_h
                    and (rec.get("image") or {}).get("quality") == half_q
                    and rec.get("sha256") == sha(half),
                    "%s, buffering %s: its record gives the distance (%d), "
                    "the image's PDQ hash and the listed entry"
                    % (kind, mode, dist), str(recs))

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("trip/holiday.jpg", half)
    st, _ = send(ng.port, "/on/zip", buf.getvalue(), True)
    recs = records_for(ng, "/on/zip")
    t.check(st == 403 and len(recs) == 1
            and recs[0].get("part", "").endswith("!trip/holiday.jpg")
            and (recs[0].get("lists") or [{}])[0].get("distance") == dist,
            "the resized copy inside a zip: 403, the record names it inside",
            "%s %s" % (st, recs))

    for raw in (False, True):
        path = "/on/other-%s" % ("PUT" if raw else "form")
        st, _ = send(ng.port, path, other, raw, "other.png")
        es = F.entries_for(ng, path)
        t.check(st == 200 and len(es) == 1 and es[0]["complete"]
                and not records_for(ng, path),
                "an unrelated picture passes (%s), no record"
                % ("PUT" if raw else "form"), "%s %s" % (st, es))

    bad = b"\xff\xd8\xff\xe0" + bytes(64)
    st, _ = send(ng.port, "/on/broken", bad, True)
    recs = records_for(ng, "/on/broken")
    t.check(st == 200 and len(recs) == 1
            and recs[0].get("not_checked") == "image not decoded",
            "an image that does not decode passes, with a record saying so",
            "%s %s" % (st, recs))

    st, _ = send(ng.port, "/pixels/other", other, True)
    t.check(st == 503 and "image not checked" in ng.error_log(),
            "past hashgate_image_max_pixels: the fail verdict (503)",
            str(st))
    huge = images.png_declared(100000, 100000)
    st, _ = send(ng.port, "/on/huge", huge, True)
    t.check(st == 503, "100000 x 100000 pixels in %d bytes: 503" % len(huge),
            str(st))
    st, _ = send(ng.port, "/pixrej/other", other, True)
    recs = records_for(ng, "/pixrej/other")
    t.check(st == 403 and recs and recs[0].get("not_checked") == "image limit",
            "hashgate_image_limit reject: 403 with a record", "%s %s"
            % (st, recs))
    st, _ = send(ng.port, "/nopdq/half", half, True)
    t.check(st == 200 and not records_for(ng, "/nopdq/half"),
            "hashgate_pdq_images off: the resized copy passes", str(st))
    st, _ = send(ng.port, "/quality/half", half, True)
    t.check(st == 403 if half_q >= 100 else st == 200,
            "hashgate_pdq_min_quality 100: matched only at quality 100 "
            "(this one %d)" % half_q, str(st))

    t.check(ng.worker_pids() == worker and not ng.crashes(),
            "the worker never died", "%s -> %s, %s"
            % (worker, ng.worker_pids(), ng.crashes()))


def conf_checks(t):
    ng = N.Nginx("", workers=1, recorder=False)
    try:
        N.make_db_from_hex(os.path.join(ng.tmp, "db.hgdb"),
                           {"cam": ["00" * 32]})
        base = ("hashgate_database {tmp}/db.hgdb;\n"
                "server { listen 127.0.0.1:{port}; hashgate on; %s }")
        rc, out, _ = ng.test_conf(base % (
            "hashgate_pdq_images auto; hashgate_pdq_min_quality 0; "
            "hashgate_pdq_dihedral off; hashgate_image_max_pixels 64M; "
            "hashgate_image_max_size 100m; hashgate_image_timeout 30s; "
            "hashgate_image_limit accept;"))
        t.check(rc == 0, "nginx -t takes every image directive", out[-300:])
        for bad, words in (
                ("hashgate_pdq_images maybe;", "on, off or auto"),
                ("hashgate_pdq_min_quality 101;", "0 to 100"),
                ("hashgate_pdq_dihedral yes please;", "invalid number"),
                ("hashgate_image_max_pixels 1;", "pixels from"),
                ("hashgate_image_max_size 2g;", "bytes from"),
                ("hashgate_image_timeout 0;", "seconds"),
                ("hashgate_image_limit tag;", "bad action"),
                ("hashgate_image_limit fail; hashgate_image_limit accept;",
                 "is duplicate")):
            rc, out, path = ng.test_conf(base % bad)
            t.check(rc != 0 and words in out and "test.conf:" in out,
                    "nginx -t refuses \"%s\" naming the line" % bad,
                    out[-300:])
    finally:
        ng.cleanup()


main()
