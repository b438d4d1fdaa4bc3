#!/usr/bin/env python3
"""test_nginx_reload.py - database swaps and faults while nginx serves uploads.

The database is replaced and `nginx -s reload` sent while four clients keep
uploading: no request may fail unless it was a match. Without a reload,
each worker notices a new file by its identity (checked at most once a
second) and swaps to it; a garbage or deleted file is logged and the last
good database stays in use; a reload with a bad database is refused and the
running workers keep serving. A file truncated in place under a worker
costs requests the fail verdict, never the worker.
"""

import http.client
import os
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


def install_garbage(ng):
    tmpdb = os.path.join(ng.tmp, "next.hgdb")
    with open(tmpdb, "wb") as f:
        f.write(N.payload(399, 8192))
    os.chmod(tmpdb, 0o644)
    os.rename(tmpdb, os.path.join(ng.tmp, "db.hgdb"))


def statuses(ng, data, n=6):
    return [N.http_request(ng.port, "POST", "/probe", data)[0]
            for _ in range(n)]


def post(conn, data):
    """The status, or the error if the connection was dropped."""
    try:
        conn.request("POST", "/probe", body=data)
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
    st = statuses(ng, CLEAN, 6) + statuses(ng, C, 6)
    t.check(st == [200] * 6 + [403] * 6,
            "and a good database installed by rename is taken again", str(st))


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
    t.check(statuses(ng, B) == [403] * 6,
            "after the reload the new database's digest is rejected")

    # swap without a reload: each worker notices within about a second
    workers = ng.worker_pids()
    install(ng, {"cam": [A, C]})
    time.sleep(1.3)
    st = statuses(ng, C, 8)
    t.check(st == [403] * 8 and statuses(ng, B) == [200] * 6,
            "a new database file is picked up without a reload", str(st))
    t.check(ng.error_log().count("reloaded") >= 1,
            "the swap is logged", ng.error_log()[-500:])

    # rewritten in place (not renamed): our mapping shows the new bytes, so
    # the fail mode applies until a good file is installed by rename
    with open(os.path.join(ng.tmp, "db.hgdb"), "r+b") as f:
        f.truncate(64)
    time.sleep(1.3)
    st = statuses(ng, CLEAN, 6) + statuses(ng, C, 6)
    t.check(st == [503] * 12,
            "a database truncated in place: uploads get the fail verdict "
            "(503), never pass unscanned", str(st))
    t.check("modified in place" in ng.error_log(),
            "the in-place change is logged", ng.error_log()[-500:])
    install(ng, {"cam": [A, C]})
    time.sleep(1.3)
    st = statuses(ng, CLEAN, 6) + statuses(ng, C, 6)
    t.check(st == [200] * 6 + [403] * 6,
            "a good database installed by rename ends the fail mode", str(st))

    truncated_under_a_request(t, ng)

    # garbage in its place: logged, the last good one stays
    install_garbage(ng)
    time.sleep(1.3)
    st = statuses(ng, C, 8)
    t.check(st == [403] * 8 and statuses(ng, CLEAN) == [200] * 6,
            "a garbage database is refused and the last good one stays",
            str(st))
    t.check("new database refused" in ng.error_log(),
            "the refused database is logged", ng.error_log()[-500:])

    # a database of 0 entries is a good database: nothing is listed
    install(ng, {"empty": []})
    time.sleep(1.3)
    st = statuses(ng, C, 6) + statuses(ng, CLEAN, 6)
    t.check(st == [200] * 12, "a database of 0 entries is taken and every "
            "upload passes", str(st))
    install(ng, {"cam": [A, C]})
    time.sleep(1.3)
    st = statuses(ng, C, 8)
    t.check(st == [403] * 8, "and a listed database after it applies again",
            str(st))

    # deleted (each worker notices on its next request)
    os.unlink(os.path.join(ng.tmp, "db.hgdb"))
    time.sleep(1.3)
    st = statuses(ng, C, 8)
    t.check(st == [403] * 8 and statuses(ng, CLEAN) == [200] * 6,
            "a deleted database: nginx keeps serving with the last good one",
            str(st))
    t.check("unavailable" in ng.error_log(), "the missing database is logged",
            ng.error_log()[-500:])

    # a reload with a bad database is refused by the master
    install_garbage(ng)
    ng.reload(wait_new=False)
    time.sleep(1.5)
    st = statuses(ng, C, 8)
    t.check(ng.worker_pids() == workers and st == [403] * 8,
            "a reload with a bad database is refused; the running workers "
            "keep serving", "%s %s %s" % (workers, ng.worker_pids(), st))

    t.check(not ng.crashes(), "no worker crashed", ng.crashes())


if __name__ == "__main__":
    main()
