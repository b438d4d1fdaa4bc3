# SPDX-License-Identifier: BSD-2-Clause
"""bench_nginx_archive.py - nginx with the hashgate module opening archives
against the same module with archive scanning off, on 1 MiB zip uploads of
20 files, and the sandboxed helpers' memory per nginx worker (issue 16).

Two private nginx (2 workers each, the module loaded, the same 1M-digest
SHA-256 database) proxy to an upstream server block in themselves that
answers 200: one with "hashgate_archives on" (each zip goes to its
worker's hashgate-inspect, its 20 files are hashed and matched), one with
"hashgate_archives off" (the zip is hashed as one body). wrk POSTs the zip
as a raw body with 8 connections; rounds alternate, medians are compared.

The floor: what inflating the zip alone would cost. nginx's CPU per
request with archives off (its workers, from /proc) is measured, and so is
the CPU one zip takes to inflate here (zlib, as libarchive uses); the
floor is the ratio "off" would reach if each request cost that much more:
cpu_off / (cpu_off + inflate). wrk shares the 2 cores, so both are rough.

Memory: RSS of the hashgate-inspect processes of each worker: before the
first archive (a worker starts its helper on first use, so none), peak
while the load runs (sampled every 100 ms), and idle after it.

Synthetic data only. Prints RESULT lines.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
import nginx as N  # noqa: E402
import bench_nginx as bn  # noqa: E402
import bench_milter_archive as bma  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
TARGET = 0.8

HTTP = r"""
    hashgate_database {tmp}/db.hgdb;
    client_max_body_size 16m;
    client_body_buffer_size 2m;
    upstream sink { server 127.0.0.1:{port2}; keepalive 32; }
    server {
        listen 127.0.0.1:{port};
        hashgate on;
        hashgate_archives %s;
        location / {
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://sink;
        }
    }
    server {
        listen 127.0.0.1:{port2};
        location / { return 200 "ok\n"; }
    }
"""


def helper_rss(ng):
    """KiB of RSS of every hashgate-inspect under each worker: a list."""
    return [sum(bma.rss_kib(h) for h in bma.helpers_of(w))
            for w in ng.worker_pids()]


def wrk(ng, body, lua):
    c0 = bn.worker_cpu(ng)
    r = subprocess.run(["wrk", "-t2", "-c8", "-d%ds" % bn.WRK_SECS, "-s", lua,
                        "http://127.0.0.1:%d/up" % ng.port],
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
    return rps, 1e3 * cpu / (rps * bn.WRK_SECS)


def main():
    tmp = tempfile.mkdtemp(prefix="hg-bench-narc-")
    os.chmod(tmp, 0o755)
    ngs = {}
    try:
        rnd = __import__("random").Random(1617)
        hexes = [rnd.randbytes(32).hex() for _ in range(1000000)]
        db = os.path.join(tmp, "db.hgdb")
        N.make_db_from_hex(db, {"big": hexes})
        body = os.path.join(tmp, "a.zip")
        with open(body, "wb") as f:
            f.write(bma.make_zip("nginx"))
        lua = os.path.join(tmp, "post.lua")
        with open(lua, "w") as f:
            f.write('local f = io.open(os.getenv("HG_BODY"), "rb")\n'
                    'wrk.method = "POST"\n'
                    'wrk.body = f:read("*a")\n'
                    'f:close()\n'
                    'wrk.headers["Content-Type"] = "application/zip"\n')
        for name, on in (("on", "on"), ("off", "off")):
            d = os.path.join(tmp, name)
            os.makedirs(d)
            os.chmod(d, 0o755)
            os.symlink(db, os.path.join(d, "db.hgdb"))
            ngs[name] = N.Nginx(HTTP.replace("%s", on), recorder=False, tmp=d)
            ngs[name].start()
        time.sleep(0.5)
        idle = helper_rss(ngs["on"])

        peak = [0]
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                peak[0] = max([peak[0]] + helper_rss(ngs["on"]))
                time.sleep(0.1)
        sampler = threading.Thread(target=sample)
        sampler.start()

        rates = {"on": [], "off": []}
        cpu = {"on": [], "off": []}
        try:
            for r in range(ROUNDS):
                line = []
                for name in (("on", "off") if r % 2 == 0 else ("off", "on")):
                    rps, c = wrk(ngs[name], body, lua)
                    rates[name].append(rps)
                    cpu[name].append(c)
                    line.append("%s %.1f req/s, %.2f worker CPU-ms a request"
                                % (name, rps, c))
                print("# round %d: %s" % (r, "; ".join(line)), flush=True)
        finally:
            stop.set()
            sampler.join()

        time.sleep(1.0)
        after = helper_rss(ngs["on"])
        on, off = statistics.median(rates["on"]), statistics.median(rates["off"])
        ratio = on / off
        c_off = statistics.median(cpu["off"])
        c_on = statistics.median(cpu["on"])
        infl = bma.inflate_cpu_ms()
        floor = c_off / (c_off + infl)
        ok = ratio >= TARGET or (floor < TARGET and ratio >= 0.9 * floor)
        print("RESULT nginx-archive: archives on %.1f, off %.1f req/s = %.2fx "
              "(median of %d; 1 MiB zip of %d files as a raw POST, wrk -c8); "
              "floor (inflating the zip alone: %.1f CPU-ms a request on "
              "%.2f worker CPU-ms with archives off) %.2fx; worker CPU a "
              "request on %.2f ms (the helper's is apart); target >= %.1fx, "
              "or within 10%% of the floor: %s"
              % (on, off, ratio, ROUNDS, bma.FILES, infl, c_off, floor, c_on,
                 TARGET, "PASS" if ok else "BELOW TARGET"), flush=True)
        print("RESULT nginx-archive-helper-memory: hashgate-inspect RSS per "
              "worker: before the first archive %s MiB (started on first "
              "use), peak under load %.1f MiB, idle after it %s MiB"
              % ("/".join("%.1f" % (k / 1024.0) for k in idle),
                 peak[0] / 1024.0,
                 "/".join("%.1f" % (k / 1024.0) for k in after)), flush=True)
    except Exception as e:  # noqa: BLE001
        import traceback
        traceback.print_exc()
        print("RESULT nginx-archive: benchmark failed: %r" % e)
    finally:
        for ng in ngs.values():
            ng.cleanup()
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
