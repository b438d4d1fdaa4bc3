#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""bench_nginx_json.py - nginx with the hashgate module parsing JSON bodies
for the files APIs upload in them (issue 21).

Two private nginx, 2 workers each, proxy to an upstream server block in
themselves that answers 200: one without the module (the base), one with it
(a SHA-256 database), whose location /on/ parses JSON (hashgate_json on,
the default) and /off/ does not (hashgate_json off). Rounds alternate, so
load on the machine hits each alike; medians are compared. Prints RESULT
lines:

  - a 10 MiB JSON body holding one image as an 8 MiB base64 string (6 MiB
    decoded) among 2 MiB of ordinary fields, POSTed one at a time (wrk, one
    connection): MB/s with the module, /on/, against the floor, the rate
    nginx without the module would reach if each request cost it exactly
    the work no scanner can avoid: SHA-256 of the raw body, decoding the
    base64 (libhashgate's decoder) and SHA-256 of the image, timed alone
    in CPU time by bench_json_work and printed beside. Target >= 0.9 x.
  - a 1 MiB JSON body of ordinary API data (records of ids, names, numbers,
    short and medium strings: no candidate string), wrk -c32: requests/s
    on /on/ against /off/ in the same nginx. Target >= 0.95 x. Printed
    beside: the parser's own time on that body (bench_json_work, alone)
    and the ceiling it sets, the ratio reached if the module added nothing
    else to nginx's CPU a request with hashgate_json off.

BENCH_ROUNDS (default 5) and BENCH_WRK_SECS (default 5) tune it.
BENCH_JSON_FLOOR_MODULE, the module of a build made with
-DHG_APIBODY_BENCH_FLOOR (which reads a JSON body once, as memchr does,
and nothing else), adds a third nginx to the 1 MiB rounds: the ratio no
scanner that reads each byte can pass, printed beside. Synthetic
data only. The machine is shared: the worker CPU a request (from /proc)
is printed beside each rate, and the ratios it gives, which other load
disturbs less.
"""

import base64
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
import nginx as N  # noqa: E402
import bench_nginx as bn  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
WRK_SECS = int(os.environ.get("BENCH_WRK_SECS", "5"))
IMAGE = 6 << 20                 # decoded; 8 MiB as base64
BODY = 10 << 20
API = 1 << 20
TARGET_IMAGE = 0.9
TARGET_API = 0.95

HTTP = r"""
    hashgate_database {tmp}/db.hgdb;
    client_max_body_size 64m;
    client_body_buffer_size 16m;
    upstream sink { server 127.0.0.1:{port2}; keepalive 32; }
    server {
        listen 127.0.0.1:{port};
        hashgate on;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        location /on/ { proxy_pass http://sink; }
        location /off/ {
            hashgate_json off;
            proxy_pass http://sink;
        }
    }
    server {
        listen 127.0.0.1:{port2};
        location / { return 200 "ok\n"; }
    }
"""


def result(name, value, unit, extra=""):
    print("RESULT nginx json %s: %s %s%s" % (
        name, value, unit, ("  (" + extra + ")") if extra else ""),
        flush=True)


def api_records(rnd, nbytes):
    """Ordinary API data: records of ids, names, numbers, booleans, short
    and medium text, nested objects, until the JSON is about nbytes."""
    words = ("alpha beta gamma delta order item price total customer "
             "shipping street city account status pending active note "
             "review comment rating product service").split()
    out, size = [], 2
    while size < nbytes:
        n = len(out)
        rec = {"id": n, "uuid": "%032x" % rnd.getrandbits(128),
               "name": "user-%d" % n, "email": "u%d@example.org" % n,
               "active": rnd.random() < 0.5, "score": rnd.random() * 100,
               "tags": rnd.sample(words, 3),
               "address": {"street": "%d %s" % (rnd.randrange(999),
                                                rnd.choice(words)),
                           "city": rnd.choice(words).title(),
                           "zip": "%05d" % rnd.randrange(100000)},
               "bio": " ".join(rnd.choice(words)
                               for _ in range(rnd.randrange(5, 90)))}
        out.append(rec)
        size += len(json.dumps(rec)) + 2
    return out


def image_body(rnd):
    """(body, image bytes): an 8 MiB base64 string among 2 MiB of
    ordinary fields, 10 MiB in all."""
    image = rnd.randbytes(IMAGE)
    head = {"user": {"id": 77, "name": "ann"}, "album": "trip",
            "name": "photo.jpg", "type": "image/jpeg"}
    text = json.dumps(dict(head, image="@@",
                           items=api_records(rnd, BODY - 4 * IMAGE // 3
                                             - 200)))
    body = text.replace('"@@"', '"%s"' % base64.b64encode(image).decode())
    return body.encode(), image


def work_secs(*args):
    """bench_json_work's figure, in seconds (see its header)."""
    r = subprocess.run([os.path.join(N.HG_BIN, "bench", "bench_json_work")]
                       + [str(a) for a in args],
                       capture_output=True, text=True, check=True)
    return int(r.stdout.split()[1]) / 1e9


def wrk(ng, path, body, lua, conns):
    """(requests/s, worker CPU ms a request)"""
    c0 = bn.worker_cpu(ng)
    r = subprocess.run(["wrk", "-t%d" % min(conns, 2), "-c%d" % conns,
                        "-d%ds" % WRK_SECS, "-s", lua,
                        "http://127.0.0.1:%d%s" % (ng.port, path)],
                       capture_output=True, text=True,
                       env=dict(os.environ, HG_BODY=body))
    cpu = bn.worker_cpu(ng) - c0
    rps = None
    for line in r.stdout.splitlines():
        if line.startswith("Requests/sec:"):
            rps = float(line.split()[1])
        if "Non-2xx" in line:
            raise RuntimeError("wrk: %s" % line)
    if not rps:
        raise RuntimeError("wrk printed no rate: %s %s" % (r.stdout, r.stderr))
    return rps, 1e3 * cpu / (rps * WRK_SECS)


def rounds(runs, body, lua, conns):
    """runs: (label, nginx, path); medians of rps and CPU per label."""
    rps = {label: [] for label, _, _ in runs}
    cpu = {label: [] for label, _, _ in runs}
    for i in range(ROUNDS):
        for label, ng, path in (runs if i % 2 == 0 else runs[::-1]):
            r, c = wrk(ng, path, body, lua, conns)
            rps[label].append(r)
            cpu[label].append(c)
    return ({k: statistics.median(v) for k, v in rps.items()},
            {k: statistics.median(v) for k, v in cpu.items()})


def main():
    tmp = tempfile.mkdtemp(prefix="hg-bench-json-")
    os.chmod(tmp, 0o755)
    base = mod = flo = None
    try:
        rnd = random.Random(2121)
        img_body, image = image_body(rnd)
        api_body = json.dumps(api_records(rnd, API)).encode()
        paths = {}
        for name, data in (("image", img_body), ("api", api_body)):
            paths[name] = os.path.join(tmp, name + ".json")
            with open(paths[name], "wb") as f:
                f.write(data)
        lua = os.path.join(tmp, "post.lua")
        with open(lua, "w") as f:
            f.write('local f = io.open(os.getenv("HG_BODY"), "rb")\n'
                    'wrk.method = "POST"\n'
                    'wrk.body = f:read("*a")\n'
                    'f:close()\n'
                    'wrk.headers["Content-Type"] = "application/json"\n')
        db = os.path.join(tmp, "db.hgdb")
        N.make_db(db, {"cam": [N.payload(2122, 1000)]})
        os.makedirs(os.path.join(tmp, "base"))
        base = N.Nginx(HTTP, module=False, recorder=False,
                       tmp=os.path.join(tmp, "base"))
        mod = N.Nginx(HTTP, recorder=False, tmp=tmp)
        base.start()
        mod.start()
        floor_so = os.environ.get("BENCH_JSON_FLOOR_MODULE")
        if floor_so:
            os.makedirs(os.path.join(tmp, "floor"))
            flo = N.Nginx(HTTP, module=floor_so, recorder=False,
                          tmp=os.path.join(tmp, "floor"))
            N.make_db(os.path.join(tmp, "floor", "db.hgdb"),
                      {"cam": [N.payload(2122, 1000)]})
            flo.start()

        # one upload at a time: the rate is the time one request takes
        rps, cpu = rounds([("base", base, "/on/"), ("on", mod, "/on/"),
                           ("off", mod, "/off/")],
                          paths["image"], lua, 1)
        mb = len(img_body) / 1e6
        tb = 1 / rps["base"]
        start = img_body.index(b'"image": "') + len(b'"image": "')
        tw = work_secs("floor", paths["image"], start,
                       img_body.index(b'"', start) - start)
        tp = work_secs("parse", paths["image"])
        floor = mb / (tb + tw)
        got = mb * rps["on"]
        result("10MiB body, 8MiB base64 image, vs floor",
               "%.2f" % (got / floor), "x",
               "target >= %.2f; with the module %.0f MB/s (json off %.0f "
               "MB/s), floor %.0f MB/s = nginx without the module (%.0f "
               "MB/s, %.1f ms a request) plus the work alone, %.1f ms: "
               "SHA-256 of the body, base64 decoding and SHA-256 of the "
               "image; worker CPU a request %.1f ms on, %.1f off, %.1f "
               "without the module, so by worker CPU %.2f x of the floor's "
               "%.1f ms; the body parser alone, image decoded and hashed, "
               "%.1f ms"
               % (TARGET_IMAGE, got, mb * rps["off"], floor, mb * rps["base"],
                  1e3 * tb, 1e3 * tw, cpu["on"], cpu["off"], cpu["base"],
                  (cpu["base"] + 1e3 * tw) / cpu["on"],
                  cpu["base"] + 1e3 * tw, 1e3 * tp))

        runs = [("on", mod, "/on/"), ("off", mod, "/off/")]
        if flo:
            runs += [("floor", flo, "/on/"), ("floor-off", flo, "/off/")]
        rps, cpu = rounds(runs, paths["api"], lua, 32)
        tp = 1e3 * work_secs("parse", paths["api"])
        result("1MiB API data, json on vs off", "%.2f" % (rps["on"]
                                                          / rps["off"]), "x",
               "target >= %.2f; %.0f req/s parsed, %.0f req/s with "
               "hashgate_json off; worker CPU a request %.2f ms vs %.2f ms "
               "(%.2f x); the parser alone takes %.2f ms on this body: with "
               "nothing else added, %.2f x while nginx's CPU sets the rate"
               % (TARGET_API, rps["on"], rps["off"], cpu["on"], cpu["off"],
                  cpu["off"] / cpu["on"], tp, cpu["off"] / (cpu["off"] + tp)))
        if flo:
            result("1MiB API data, a body read once and nothing else (floor "
                   "build), json on vs off", "%.2f" % (rps["floor"]
                                                       / rps["floor-off"]),
                   "x", "the ceiling of any scanner reading every byte; %.0f "
                   "vs %.0f req/s; worker CPU a request %.2f ms vs %.2f ms "
                   "(%.2f x)" % (rps["floor"], rps["floor-off"],
                                 cpu["floor"], cpu["floor-off"],
                                 cpu["floor-off"] / cpu["floor"]))
    finally:
        for ng in (base, mod, flo):
            if ng:
                ng.cleanup()
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
