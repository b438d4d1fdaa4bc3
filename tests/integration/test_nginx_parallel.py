#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_nginx_parallel.py - hashgate_parallel_digests gives the same verdicts
and records as digests computed one after the other.

A plain list of MD5 and SHA-1 digests (one a line, as many hotlines ship
them: a scan computes both) lists one 6 MiB file by its MD5 only and
another by its SHA-1 only; a third file is clean. Each is uploaded raw
(request buffering on and off) and as a form part, through nginx with the
split on (hashgate_parallel_digests 64k, the smallest) on the event loop
and in the hashing thread, and with it off: both listed files must be
refused through either algorithm, the clean one must reach the upstream
byte for byte, and the evidence records (digests, size, list, algorithm)
must be the same in all three. Then with a database compiled with
--all-digests (all three computed). nginx -t refuses sizes under 64k and
words other than off.
"""

import hashlib
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import nginx as N  # noqa: E402
import ngfixture as F  # noqa: E402

SIZE = 6 << 20
BY_MD5 = N.payload(801, SIZE)
BY_SHA1 = N.payload(802, SIZE + 12345)
CLEAN = N.payload(803, SIZE + 777)

HTTP = r"""
    hashgate_database {tmp}/db.hgdb;
    hashgate_evidence_log {prefix}/evidence.jsonl;
    client_max_body_size 64m;
    client_body_buffer_size 128k;
    server {
        listen 127.0.0.1:{port};
        hashgate on;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        location /buf/ { proxy_pass http://recorder; }
        location /nobuf/ {
            proxy_request_buffering off;
            proxy_pass http://recorder;
        }
    }
"""

MODES = (("split on the event loop", "hashgate_parallel_digests 64k;"),
         ("split in the hashing thread",
          "hashgate_thread on; hashgate_parallel_digests 64k;"),
         ("serial", ""))


def compile_db(path, all_digests=False):
    src = path + ".txt"
    with open(src, "w") as f:
        f.write(hashlib.md5(BY_MD5).hexdigest() + "\n")
        f.write(hashlib.sha1(BY_SHA1).hexdigest() + "\n")
    args = [os.path.join(N.HG_BIN, "hashgate"), "compile", "-o", path]
    if all_digests:
        args.append("--all-digests")
    r = subprocess.run(args + ["cam=" + src], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("hashgate compile failed: %s" % r.stderr)
    os.chmod(path, 0o644)


def digest_part(rec):
    """What must not depend on how the digests were computed."""
    return json.dumps({k: rec.get(k) for k in ("action", "lists", "md5",
                                               "sha1", "sha256", "size",
                                               "part", "filename")},
                      sort_keys=True)


def right_digests(rec, data):
    return (rec.get("md5") == hashlib.md5(data).hexdigest()
            and rec.get("sha1") == hashlib.sha1(data).hexdigest()
            and rec.get("sha256") == hashlib.sha256(data).hexdigest()
            and rec.get("size") == len(data))


def run(t, label, extra, all_digests, records):
    ng = N.Nginx(extra + HTTP, workers=1)
    try:
        compile_db(os.path.join(ng.tmp, "db.hgdb"), all_digests)
        ng.start()
        tag = "%s%s" % (label, ", --all-digests db" if all_digests else "")
        for loc in ("buf", "nobuf"):
            for name, data, want in (("by-md5", BY_MD5, 403),
                                     ("by-sha1", BY_SHA1, 403),
                                     ("clean", CLEAN, 200)):
                path = "/%s/%s" % (loc, name)
                st, _ = N.http_request(ng.port, "POST", path, data)
                if want == 403:
                    ok, es = F.got_nothing_complete(ng, path)
                    t.check(st == 403 and ok,
                            "%s: 6 MiB file listed %s only is refused "
                            "(%s)" % (tag, name[3:], loc),
                            "status %s, upstream %s" % (st, es))
                else:
                    ok, es = F.got_exact(ng, path, data)
                    t.check(st == 200 and ok,
                            "%s: clean 6 MiB file reaches the upstream "
                            "intact (%s)" % (tag, loc),
                            "status %s, upstream %s" % (st, es))
        for name, data in (("by-md5", BY_MD5), ("by-sha1", BY_SHA1)):
            body, ctype = N.multipart([("f", name + ".bin",
                                        "application/octet-stream", data),
                                       ("g", "clean.bin",
                                        "application/octet-stream", CLEAN)])
            st, _ = N.http_request(ng.port, "POST", "/buf/form-" + name,
                                   body, {"Content-Type": ctype})
            t.check(st == 403, "%s: form with a part listed %s only is "
                    "refused" % (tag, name[3:]), "status %s" % st)
        recs = {}
        evs = ng.evidence()
        for e in evs:
            recs.setdefault(e.get("uri"), []).append(digest_part(e))
        records[label] = recs
        t.check(len(recs) == 6, "%s: a record for each refused upload"
                % tag, str(sorted(recs)))
        raw = [(e, BY_MD5 if e["uri"].endswith("md5") else BY_SHA1)
               for e in evs if "form" not in e.get("uri", "")]
        t.check(len(raw) == 4 and all(right_digests(e, d) for e, d in raw)
                and all(e["lists"][0]["algorithm"] in e["uri"]
                        for e, _ in raw),
                "%s: records of the raw uploads carry their true MD5, SHA-1, "
                "SHA-256 and size, and the algorithm that matched" % tag,
                json.dumps([e for e, _ in raw])[:2000])
        t.check(not ng.crashes(), "%s: no worker died" % tag,
                str(ng.crashes()))
    finally:
        ng.cleanup()


def check_conf(t):
    ng = N.Nginx(HTTP, workers=1)
    try:
        compile_db(os.path.join(ng.tmp, "db.hgdb"))
        for value, good in (("off", True), ("64k", True), ("1m", True),
                            ("1g", True), ("1G", True), ("1024m", True),
                            ("63k", False), ("0", False), ("on", False),
                            ("2g", False), ("1025m", False)):
            rc, out, path = ng.test_conf("hashgate_parallel_digests %s;\n"
                                         % value + HTTP)
            if good:
                t.check(rc == 0, "nginx -t accepts "
                        "hashgate_parallel_digests %s" % value, out)
            else:
                t.check(rc != 0 and "64k to 1g" in out
                        and os.path.basename(path) + ":" in out,
                        "nginx -t refuses hashgate_parallel_digests %s, "
                        "naming the file and line" % value, out)
    finally:
        ng.cleanup()


def main():
    t = N.Checks()
    check_conf(t)
    for all_digests in (False, True):
        records = {}
        for label, extra in MODES:
            run(t, label, extra, all_digests, records)
        for label, _ in MODES[:2]:
            t.check(records[label] == records["serial"],
                    "%s%s: records say the same as serial digests'"
                    % (label, ", --all-digests db" if all_digests else ""),
                    "%s\nvs\n%s" % (records[label], records["serial"]))
    t.done()


if __name__ == "__main__":
    main()
