#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_nginx_reload.py - database swaps and faults while nginx serves uploads.

The database is replaced and `nginx -s reload` sent while four clients keep
uploading: no request may fail unless it was a match. Without a reload,
each worker notices a new file by its identity (checked once a second,
idle or not) and swaps to it; a garbage or deleted file is logged and the
last good database stays in use; a reload with a bad database is refused
and the running workers keep serving. A file truncated in place under a
worker costs requests the fail verdict, never the worker, whether the
lookup runs on the event loop or in the hashing thread (hashgate_thread).

Which worker the kernel hands a new connection is not ours to choose, so
after each change the checks ask until every worker has answered (the
X-Hashgate-Test-Worker header names it) and judge every answer. A worker
held stopped through a swap shows the other case on purpose: truncating a
file it never took is, for it, a bad new file, and it keeps serving its own
last good database.
"""

import hashlib
import http.client
import os
import random
import signal
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import nginx as N  # noqa: E402

HTTP = r"""
    hashgate_database {tmp}/db.hgdb;
    server {
        listen 127.0.0.1:{port};
        hashgate on;
        add_header X-Hashgate-Test-Worker $pid always;
        location / { proxy_pass http://recorder; }
    }
"""

A = N.payload(301, 20000)     # on every database
B = N.payload(302, 30000)     # added by the reload
C = N.payload(303, 10000)     # added by the swap without reload
CLEAN = N.payload(304, 25000)


def install(ng, lists, name="db.hgdb"):
    """Compile to a temp name and rename over: an atomic replacement."""
    tmpdb = os.path.join(ng.tmp, "next.hgdb")
    N.make_db(tmpdb, lists)
    os.rename(tmpdb, os.path.join(ng.tmp, name))


def flip_digest_bit(path, data):
    """Flip the last bit of data's SHA-256 row in the digest table: the
    header and metadata stay intact (open accepts the file), only the
    whole-file checksum tells. The SHA-256 table's offset is the u64 at
    128 + 64 * 2 + 24 of the header (docs/db-format.md)."""
    with open(path, "r+b") as f:
        raw = bytearray(f.read())
        table = struct.unpack_from("<Q", raw, 128 + 64 * 2 + 24)[0]
        at = raw.find(hashlib.sha256(data).digest(), table)
        if at < 0:
            raise RuntimeError("digest not in the table")
        raw[at + 31] ^= 1
        f.seek(0)
        f.write(raw)


def install_garbage(ng):
    tmpdb = os.path.join(ng.tmp, "next.hgdb")
    with open(tmpdb, "wb") as f:
        f.write(N.payload(399, 8192))
    os.chmod(tmpdb, 0o644)
    os.rename(tmpdb, os.path.join(ng.tmp, "db.hgdb"))


def ask(ng, data):
    """One upload on a fresh connection: (status, pid of the worker that
    answered); (error name, None) if the connection was dropped."""
    conn = http.client.HTTPConnection("127.0.0.1", ng.port, timeout=10)
    try:
        conn.request("POST", "/probe", body=data)
        r = conn.getresponse()
        r.read()
        pid = r.getheader("X-Hashgate-Test-Worker") or ""
        return r.status, int(pid) if pid.isdigit() else None
    except (OSError, http.client.HTTPException) as e:
        return type(e).__name__, None
    finally:
        conn.close()


# every worker answers within this (a burst of four usually suffices)
REACH_SECONDS = 10


def by_worker(ng, data, n=6):
    """n uploads one after another, then bursts of four at once until every
    worker has answered at least one: {pid: [status, ...]}. A worker that
    answered nothing within REACH_SECONDS is missing from it."""
    got = {}
    lock = threading.Lock()

    def one():
        st, pid = ask(ng, data)
        with lock:
            got.setdefault(pid, []).append(st)

    for _ in range(n):
        one()
    end = time.time() + REACH_SECONDS
    while not set(ng.worker_pids()) <= set(got) and time.time() < end:
        burst = [threading.Thread(target=one) for _ in range(4)]
        for th in burst:
            th.start()
        for th in burst:
            th.join()
    return got


def on_every_worker(ng, data, want, n=6):
    """(every worker answered and every answer was want, what was seen)."""
    got = by_worker(ng, data, n)
    workers = ng.worker_pids()
    ok = bool(workers) and set(workers) <= set(got) \
        and all(st == want for sts in got.values() for st in sts)
    return ok, "workers %s, answers by worker %s" % (workers, got)


def wait_stopped(pid):
    deadline = time.time() + 5
    while time.time() < deadline:
        with open("/proc/%d/stat" % pid) as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "T":
                return
        time.sleep(0.02)
    raise RuntimeError("worker %d did not stop" % pid)


def post(conn, data, headers=None):
    """The status, or the error if the connection was dropped."""
    try:
        conn.request("POST", "/probe", body=data, headers=headers or {})
        r = conn.getresponse()
        r.read()
        return r.status
    except (OSError, http.client.HTTPException) as e:
        conn.close()
        return type(e).__name__


def truncated_under_a_request(t, ng):
    """The mapped file truncated in place between a worker's once-a-second
    identity checks: the next lookup reads pages the file no longer has,
    which without the SIGBUS guard kills the worker in mid-request."""
    dbpath = os.path.join(ng.tmp, "db.hgdb")
    seen, hit = [], None
    for _ in range(5):
        install(ng, {"cam": [A, C]})
        time.sleep(1.3)
        conn = http.client.HTTPConnection("127.0.0.1", ng.port, timeout=10)
        while time.time() % 1 > 0.2:     # three requests in one second,
            time.sleep(0.01)             # on one connection: one worker
        first = post(conn, CLEAN)
        os.truncate(dbpath, 0)
        seen.append((first, post(conn, C), post(conn, CLEAN)))
        conn.close()
        if "truncated in place under its mapping" in ng.error_log():
            hit = seen[-1]
            break
    t.check(all(isinstance(st, int) for s in seen for st in s),
            "a database truncated in place under running workers: no "
            "connection is dropped", str(seen))
    t.check(hit is not None and hit[1:] == (503, 503),
            "the upload whose lookup met the lost pages, and the next one, "
            "get the fail verdict (503), and it is logged",
            "%s %s" % (seen, ng.error_log()[-600:]))
    t.check("exited on signal" not in ng.error_log(),
            "no worker died (no SIGBUS)", ng.error_log()[-600:])
    install(ng, {"cam": [A, C]})
    time.sleep(1.3)
    ok1, got1 = on_every_worker(ng, CLEAN, 200)
    ok2, got2 = on_every_worker(ng, C, 403)
    t.check(ok1 and ok2, "and a good database installed by rename is taken "
            "again by every worker", "%s; %s" % (got1, got2))


def truncated_under_a_threaded_form(t):
    """The same with hashgate_thread on, for a form over 256 KiB: a part
    that ends in a buffer the worker's hashing thread digests is looked up
    there. That thread blocked every signal, SIGBUS included, so the lost
    pages killed the worker (a blocked synchronous fault is fatal) instead
    of reaching the database guard; it now leaves the fault signals open,
    as the verify thread does. One worker, so every request meets it."""
    ng = N.Nginx("hashgate_thread on;" + HTTP, workers=1)
    try:
        install(ng, {"cam": [A, C]})
        ng.start()
        dbpath = os.path.join(ng.tmp, "db.hgdb")
        # C ends after 128 KiB, in the middle of a 416 KiB body
        body, ctype = N.multipart([
            ("a", "a.bin", None, N.payload(305, 131072)),
            ("c", "c.bin", None, C),
            ("b", "b.bin", None, N.payload(306, 294912))])
        headers = {"Content-Type": ctype}
        worker = ng.worker_pids()
        conn = http.client.HTTPConnection("127.0.0.1", ng.port, timeout=10)
        before = post(conn, body, headers)
        conn.close()
        seen, hit = [], None
        for _ in range(5):
            install(ng, {"cam": [A, C]})
            time.sleep(1.3)
            conn = http.client.HTTPConnection("127.0.0.1", ng.port,
                                              timeout=10)
            while time.time() % 1 > 0.2:     # within one second of the
                time.sleep(0.01)             # worker's identity check
            first = post(conn, CLEAN)
            os.truncate(dbpath, 0)
            seen.append((first, post(conn, body, headers),
                         post(conn, CLEAN)))
            conn.close()
            if "truncated in place under its mapping" in ng.error_log() \
                    or "exited on signal" in ng.error_log():
                hit = seen[-1]
                break
        t.check(before == 403 and hit is not None and hit[1:] == (503, 503),
                "hashgate_thread on, a form whose parts are looked up in "
                "the hashing thread on a database truncated in place, and "
                "the next upload: the fail verdict (503), logged",
                "before %s, seen %s: %s" % (before, seen,
                                            ng.error_log()[-600:]))
        t.check("exited on signal" not in ng.error_log()
                and ng.worker_pids() == worker,
                "hashgate_thread on: the worker survives (same PID, no "
                "SIGBUS death)", "%s -> %s: %s" % (
                    worker, ng.worker_pids(), ng.error_log()[-600:]))
        install(ng, {"cam": [A, C]})
        time.sleep(1.3)
        conn = http.client.HTTPConnection("127.0.0.1", ng.port, timeout=10)
        after = (post(conn, body, headers), post(conn, CLEAN))
        conn.close()
        t.check(after == (403, 200) and ng.worker_pids() == worker,
                "hashgate_thread on: after a good file is installed by "
                "rename the same worker rejects the form again and passes a "
                "clean upload", "%s, workers %s -> %s" % (
                    after, worker, ng.worker_pids()))
    finally:
        ng.cleanup()


def truncated_under_an_idle_worker(t, ng):
    """A worker that served nothing since a swap still maps the file before
    it, intact (the rename only unlinked it). The new file truncated in
    place is then, for that worker, a bad new file: refused and logged, and
    it keeps serving its own last good database, as a deleted or garbage
    file leaves it. A worker that had mapped the truncated file can trust
    nothing in it and gives the fail verdict. Stopping one worker through
    the swap makes it the idle one: the kernel wakes only the other for new
    connections."""
    dbpath = os.path.join(ng.tmp, "db.hgdb")
    install(ng, {"cam": [A, B]})
    time.sleep(1.3)
    ok, got = on_every_worker(ng, B, 403)
    workers = ng.worker_pids()
    if not t.check(ok and len(workers) == 2,
                   "before the swap both workers reject the digest of the "
                   "database in use", got):
        return
    held, other = workers
    os.kill(held, signal.SIGSTOP)
    try:
        wait_stopped(held)
        install(ng, {"cam": [A, C]})
        time.sleep(1.3)
        took = [ask(ng, C) for _ in range(4)]
        with open(dbpath, "r+b") as f:
            f.truncate(64)
    finally:
        os.kill(held, signal.SIGCONT)
    t.check(took == [(403, other)] * 4,
            "with one worker stopped, the other takes the new database",
            "%s (held %d)" % (took, held))
    time.sleep(1.3)
    listed_before = by_worker(ng, B)
    clean = by_worker(ng, CLEAN)
    want = {other: (503, 503), held: (403, 200)}
    t.check(all(set(listed_before.get(pid, [])) == {w[0]}
                and set(clean.get(pid, [])) == {w[1]}
                for pid, w in want.items())
            and set(listed_before) | set(clean) == {held, other},
            "the database truncated in place after only one worker took it: "
            "that worker gives every upload the fail verdict (503); the "
            "worker still on the previous intact file keeps serving it "
            "(its listed digest rejected, a clean upload passed)",
            "took %d, held %d; previous digest %s, clean %s"
            % (other, held, listed_before, clean))
    mine = [l for l in ng.error_log().splitlines()
            if " %d#%d: " % (held, held) in l]
    t.check(any("new database refused" in l
                and "still using the one loaded" in l for l in mine),
            "the idle worker logs the truncated file as a refused new "
            "database", "\n".join(mine[-5:]))
    install(ng, {"cam": [A, C]})
    time.sleep(1.3)
    ok1, got1 = on_every_worker(ng, CLEAN, 200)
    ok2, got2 = on_every_worker(ng, C, 403)
    t.check(ok1 and ok2, "and a good database installed by rename is taken "
            "by both", "%s; %s" % (got1, got2))


def refused_new(ng, since, pid):
    """The refusal a worker logged since offset since, or ''."""
    for l in ng.error_log()[since:].splitlines():
        if " %d#%d: " % (pid, pid) in l and "new database refused" in l:
            return l
    return ""


def flipped_bit(t, ng):
    """A database whose digest table has one flipped bit passes open's
    header and metadata checks: only the whole-file checksum catches it.
    Swapped in by rename, each worker must verify it before use, refuse
    it and keep the old one; `nginx -s reload` and `nginx -t` must refuse
    it in the master."""
    install(ng, {"cam": [A, C]})
    time.sleep(1.3)
    ok, got = on_every_worker(ng, C, 403)
    if not t.check(ok, "before the bad file, every worker rejects the "
                   "digest of the database in use", got):
        return
    workers = ng.worker_pids()
    seen = len(ng.error_log())
    nxt = os.path.join(ng.tmp, "next.hgdb")
    N.make_db(nxt, {"cam": [A, B]})
    flip_digest_bit(nxt, A)
    os.rename(nxt, os.path.join(ng.tmp, "db.hgdb"))
    time.sleep(1.5)
    ok1, got1 = on_every_worker(ng, C, 403)
    ok2, got2 = on_every_worker(ng, CLEAN, 200)
    ok3, got3 = on_every_worker(ng, B, 200)
    t.check(ok1 and ok2 and ok3,
            "a database with one flipped bit in its digest table, renamed "
            "over the one in use: every worker keeps matching with the old "
            "one (its listed upload 403, a clean one 200, the new file's "
            "digest 200)", "%s; %s; %s" % (got1, got2, got3))
    lines = [refused_new(ng, seen, w) for w in workers]
    t.check(all("checksum mismatch" in l for l in lines),
            "each worker logs the flipped-bit file as a refused new "
            "database, naming the checksum", "%s / %s"
            % (lines, ng.error_log()[seen:][-600:]))

    seen = len(ng.error_log())
    ng.reload(wait_new=False)
    time.sleep(1.5)
    ok1, got1 = on_every_worker(ng, C, 403)
    ok2, got2 = on_every_worker(ng, CLEAN, 200)
    log = ng.error_log()[seen:]
    t.check(ng.worker_pids() == workers and ok1 and ok2
            and "hashgate_database refused" in log
            and "checksum mismatch" in log,
            "nginx -s reload with the flipped-bit file is refused and "
            "logged by the master; the running workers keep matching with "
            "the old database", "workers %s -> %s; %s; %s; log: %s"
            % (workers, ng.worker_pids(), got1, got2, log[-600:]))

    rc, out, _ = ng.test_conf(HTTP)
    t.check(rc != 0 and "checksum mismatch" in out,
            "nginx -t fails on the flipped-bit file", "rc %d: %s"
            % (rc, out.strip()[-600:]))


# digests in the database that shows the verify does not stall a worker:
# about 160 MB, whose whole-file SHA-256 takes a fair fraction of a second
BIG_DIGESTS = 5000000


def verify_does_not_stall(t, ng):
    """While each worker verifies a large new database (its whole-file
    checksum, O(size)), small uploads keep being answered: the verify runs
    beside the event loop, not on it."""
    nxt = os.path.join(ng.tmp, "next.hgdb")
    txt = os.path.join(ng.tmp, "list-big.txt")
    rnd = random.Random(77)
    with open(txt, "w") as f:
        f.write(hashlib.sha256(A).hexdigest() + "\n")
        f.write(hashlib.sha256(C).hexdigest() + "\n")
        for _ in range(0, BIG_DIGESTS, 500000):
            f.write(rnd.randbytes(32 * 500000).hex("\n", 32) + "\n")
    r = subprocess.run([os.path.join(N.HG_BIN, "hashgate"), "compile",
                        "-o", nxt, "cam=" + txt],
                       capture_output=True, text=True)
    os.unlink(txt)
    if not t.check(r.returncode == 0, "a database of %d digests is "
                   "compiled" % BIG_DIGESTS, r.stderr):
        return
    os.chmod(nxt, 0o644)
    workers = ng.worker_pids()
    seen = len(ng.error_log())
    lat = []
    stop = threading.Event()
    lock = threading.Lock()

    def client():
        while not stop.is_set():
            t0 = time.monotonic()
            st, _ = ask(ng, CLEAN[:2000])
            with lock:
                lat.append((time.monotonic() - t0, st))

    threads = [threading.Thread(target=client) for _ in range(4)]
    for th in threads:
        th.start()
    time.sleep(0.5)
    base = len(lat)
    os.rename(nxt, os.path.join(ng.tmp, "db.hgdb"))
    deadline = time.time() + 30
    done = []
    while time.time() < deadline:
        log = ng.error_log()[seen:]
        done = [l for l in log.splitlines() if "reloaded" in l]
        if len(done) >= len(workers):
            break
        time.sleep(0.05)
    time.sleep(0.3)
    stop.set()
    for th in threads:
        th.join()
    during = lat[base:]
    ms = []
    for l in done:
        at = l.find("verified in ")
        if at >= 0:
            ms.append(int(l[at + 12:].split()[0]))
    worst = max(x for x, _ in during) * 1000 if during else 0
    median = sorted(x for x, _ in during)[len(during) // 2] * 1000 \
        if during else 0
    print("# verify of %d digests: %s ms per worker; %d small uploads "
          "answered meanwhile, median %.1f ms, worst %.1f ms"
          % (BIG_DIGESTS, ms, len(during), median, worst))
    t.check(len(done) >= len(workers) and all(st == 200 for _, st in during)
            and len(ms) == len(done)
            and worst < max(50.0, min(ms) / 3.0),
            "while each worker verifies a %d-digest database (%s ms), small "
            "uploads are all answered, none waiting a third of that"
            % (BIG_DIGESTS, ms),
            "worst %.1f ms, median %.1f ms, %d answers, statuses %s; log %s"
            % (worst, median, len(during),
               sorted(set(st for _, st in during)), "\n".join(done)))
    ok, got = on_every_worker(ng, C, 403)
    t.check(ok, "and then every worker matches with the large database", got)


def main():
    t = N.Checks()
    ng = N.Nginx(HTTP)
    try:
        run(t, ng)
    finally:
        ng.cleanup()
    t.done()


def run(t, ng):
    install(ng, {"cam": [A]})
    ng.start()

    bad = []
    counts = {"ok": 0, "match": 0}
    stop = threading.Event()
    lock = threading.Lock()

    def client(i):
        items = [(CLEAN, (200,)), (A, (403,)), (B, (200, 403))]
        k = i
        while not stop.is_set():
            data, allowed = items[k % len(items)]
            k += 1
            st, _ = N.http_request(ng.port, "POST", "/load/%d" % i, data)
            with lock:
                if st not in allowed:
                    bad.append((k % len(items), st))
                elif st == 403:
                    counts["match"] += 1
                else:
                    counts["ok"] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    time.sleep(1)
    install(ng, {"cam": [A, B]})
    old = ng.worker_pids()
    ng.reload()
    time.sleep(1.5)
    stop.set()
    for th in threads:
        th.join()
    t.check(not bad and counts["ok"] > 20 and counts["match"] > 10,
            "database swapped and nginx reloaded under load: no request "
            "failed that was not a match",
            "bad %s, counts %s" % (bad[:10], counts))
    t.check(set(ng.worker_pids()).isdisjoint(old),
            "reload replaced the workers", "%s %s" % (old, ng.worker_pids()))
    ok, got = on_every_worker(ng, B, 403)
    t.check(ok, "after the reload every worker rejects the new database's "
            "digest", got)

    # swap without a reload: each worker checks the file once a second,
    # idle or not, so every worker takes it before any request comes
    workers = ng.worker_pids()
    seen = len(ng.error_log())
    install(ng, {"cam": [A, C]})
    time.sleep(2.5)
    idle_log = ng.error_log()[seen:]
    swapped = [w for w in workers
               if any(" %d#%d: " % (w, w) in l and "reloaded" in l
                      for l in idle_log.splitlines())]
    t.check(len(workers) == 2 and swapped == workers,
            "a new database file is taken by every worker within seconds "
            "while no request comes (each logs the swap)",
            "workers %s, log since the swap: %s" % (workers, idle_log[-600:]))
    ok1, got1 = on_every_worker(ng, C, 403, n=8)
    ok2, got2 = on_every_worker(ng, B, 200)
    t.check(ok1 and ok2, "a new database file is picked up without a "
            "reload, by every worker", "%s; %s" % (got1, got2))
    t.check(ng.error_log().count("reloaded") >= 1,
            "the swap is logged", ng.error_log()[-500:])

    # rewritten in place (not renamed): every worker now maps this file
    # (each answered above), its mapping shows the new bytes, so the fail
    # mode applies until a good file is installed by rename
    with open(os.path.join(ng.tmp, "db.hgdb"), "r+b") as f:
        f.truncate(64)
    time.sleep(1.3)
    ok1, got1 = on_every_worker(ng, CLEAN, 503)
    ok2, got2 = on_every_worker(ng, C, 503)
    t.check(ok1 and ok2, "a database truncated in place: every worker gives "
            "uploads the fail verdict (503), none passes unscanned",
            "%s; %s" % (got1, got2))
    t.check("modified in place" in ng.error_log()
            and "body not scanned, the database is unusable (I/O error)"
            in ng.error_log(),
            "the in-place change is logged, and each refused upload blames "
            "the database, not the upload", ng.error_log()[-500:])
    install(ng, {"cam": [A, C]})
    time.sleep(1.3)
    ok1, got1 = on_every_worker(ng, CLEAN, 200)
    ok2, got2 = on_every_worker(ng, C, 403)
    t.check(ok1 and ok2, "a good database installed by rename ends the fail "
            "mode on every worker", "%s; %s" % (got1, got2))

    truncated_under_an_idle_worker(t, ng)
    truncated_under_a_request(t, ng)
    truncated_under_a_threaded_form(t)

    # garbage in its place: logged, the last good one stays
    install_garbage(ng)
    time.sleep(1.3)
    ok1, got1 = on_every_worker(ng, C, 403, n=8)
    ok2, got2 = on_every_worker(ng, CLEAN, 200)
    t.check(ok1 and ok2, "a garbage database is refused and every worker "
            "keeps the last good one", "%s; %s" % (got1, got2))
    t.check("new database refused" in ng.error_log(),
            "the refused database is logged", ng.error_log()[-500:])

    # a database of 0 entries is a good database: nothing is listed
    install(ng, {"empty": []})
    time.sleep(1.3)
    ok1, got1 = on_every_worker(ng, C, 200)
    ok2, got2 = on_every_worker(ng, CLEAN, 200)
    t.check(ok1 and ok2, "a database of 0 entries is taken and every upload "
            "passes, on every worker", "%s; %s" % (got1, got2))
    install(ng, {"cam": [A, C]})
    time.sleep(1.3)
    ok, got = on_every_worker(ng, C, 403, n=8)
    t.check(ok, "and a listed database after it applies again", got)

    # deleted (each worker notices within a second)
    os.unlink(os.path.join(ng.tmp, "db.hgdb"))
    time.sleep(1.3)
    ok1, got1 = on_every_worker(ng, C, 403, n=8)
    ok2, got2 = on_every_worker(ng, CLEAN, 200)
    t.check(ok1 and ok2, "a deleted database: every worker keeps serving "
            "with the last good one", "%s; %s" % (got1, got2))
    t.check("unavailable" in ng.error_log(), "the missing database is logged",
            ng.error_log()[-500:])

    # a reload with a bad database is refused by the master
    install_garbage(ng)
    ng.reload(wait_new=False)
    time.sleep(1.5)
    ok, got = on_every_worker(ng, C, 403, n=8)
    t.check(ng.worker_pids() == workers and ok,
            "a reload with a bad database is refused; the running workers "
            "keep serving", "%s %s %s" % (workers, ng.worker_pids(), got))

    flipped_bit(t, ng)
    verify_does_not_stall(t, ng)

    t.check(not ng.crashes(), "no worker crashed", ng.crashes())


if __name__ == "__main__":
    main()
