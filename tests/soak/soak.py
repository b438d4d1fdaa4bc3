# SPDX-License-Identifier: BSD-2-Clause
"""soak.py - hashgate-milter and the nginx module under load for DURATION s.

The milter runs behind a private Postfix fed by 4 SMTP sessions, nginx
(2 workers, the hashgate module) proxies uploads to a recorder and is fed
by HTTP threads. Every item is distinct seeded random bytes: clean ones,
and listed ones drawn from pools whose digests were compiled into the
database before the start. At the end each item's fate is checked:

  mail, clean        250 at DATA, then relayed to the sink (status=sent)
  mail, reject-list  550 at DATA
  mail, hold-list    250 at DATA, then in Postfix's hold queue, never sent
  http, clean        200, and the recorder upstream got its body whole
  http, listed       403, and the recorder never saw its body

Beside the HTTP threads, wrk (2 threads, one keep-alive connection each,
paced) POSTs a fixed set of clean and listed bodies in turn, from 1 KiB to
1 MiB (the larger ones spill to nginx's client body temp files), raw and
multipart, for the whole run (soak_wrk.lua). Every wrk response is
counted against the status its body must get, and the recorder must hold
every clean wrk body whole and no listed one.

Every SOAK_SWAP_SECS the database is recompiled, as a list update job
would, with one more list whose version changes each time, and renamed
over the file in use. Both servers must log every swap (the milter once,
each nginx worker once) while every item keeps its fate, and the memory
judged after warm-up spans the swaps.

RSS of the milter and of the nginx workers is sampled every 10 s and
printed (VmRSS, its anonymous and file-backed shares, threads). After a
warm-up (a quarter of the run, at most 5 minutes) the mean anonymous RSS
of the last third of the samples must not exceed that of the first third
by more than the slack. Anonymous memory is what a leak grows; the
file-backed share is libmagic's magic.mgc and the database, mapped
read-only and paged in as more of them is touched (8 MB of magic.mgc
alone), so total RSS is reported but not judged. Prints "ok - ..." / "not ok - ..." lines, the samples and a
summary; exits 1 on any misclassified item, crash or growth.

Environment: DURATION (s, default 1800), SOAK_MAIL_RATE (mails/s over all
sessions, default 40), SOAK_HTTP_RATE (requests/s, default 200); 0 means
as fast as the machine goes. SOAK_WRK_DELAY (ms, default 20) is wrk's pause
after each response, on each of its connections. SOAK_SWAP_SECS (s,
default 60; 0: never) is the time between database swaps. The rates are capped because the machine is
shared: a soak proves stability over time, the benchmarks measure speed.
"""

import hashlib
import http.client
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import hgmilter as hm  # noqa: E402
import nginx as N  # noqa: E402
from postfix import Postfix  # noqa: E402

DURATION = int(os.environ.get("DURATION", "1800"))
MAIL_RATE = float(os.environ.get("SOAK_MAIL_RATE", "40"))
HTTP_RATE = float(os.environ.get("SOAK_HTTP_RATE", "200"))
WRK_DELAY = int(os.environ.get("SOAK_WRK_DELAY", "20"))
SWAP_SECS = float(os.environ.get("SOAK_SWAP_SECS", "60"))
# no swap this close to the end: each server must have logged the last one
SWAP_QUIET = 15
WRK_LUA = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "soak_wrk.lua")

SMTP_SESSIONS = 4
HTTP_THREADS = 2
MAILS_PER_SESSION = 20      # then a new connection, as real clients do
SAMPLE_SECS = 10
# Anonymous RSS growth allowed between the first and last third after
# warm-up: a new malloc arena when one more thread runs at once is ~0.6 MB;
# a leak of 100 bytes a mail over 30 minutes (72k mails) would be 7 MB.
RSS_SLACK_FRAC = 0.10
RSS_SLACK_KB = 2048

MAIL_MIX = (("clean", 0.70), ("reject", 0.15), ("hold", 0.15))
HTTP_LISTED = 0.25

NGINX_HTTP = r"""
    hashgate_database {tmp}/db.hgdb;
    hashgate_evidence_log {prefix}/evidence.jsonl;
    client_max_body_size 16m;
    client_body_buffer_size 128k;
    server {
        listen 127.0.0.1:{port};
        hashgate on;
        location /up/ {
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://recorder;
        }
        location /wrk/ {
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://recorder;
        }
    }
"""

stop = threading.Event()
lock = threading.Lock()


def say(line):
    print(line, flush=True)


class Checks:
    def __init__(self):
        self.failed = 0

    def __call__(self, cond, what, why=""):
        if not cond:
            self.failed += 1
        say("%s - %s%s" % ("ok" if cond else "not ok", what,
                           (": " + why) if (why and not cond) else ""))
        return cond


# ---- items: distinct seeded bytes ----

def mail_item(kind, i):
    """hm.blob() arguments of mail item i of kind; sizes vary. No CR or LF
    in the bytes: quoted-printable makes line breaks CRLF (RFC 2045), so
    binary with newlines would not come back byte for byte."""
    seed = "soak-mail-%s-%d" % (kind, i)
    size = 1024 + (i * 7919) % (64 * 1024) if kind == "clean" \
        else 512 + (i * 104729) % 4096
    return seed, size, True


def http_item(kind, i):
    seed = "soak-http-%s-%d" % (kind, i)
    size = 256 + (i * 7919) % (64 * 1024) if kind == "clean" \
        else 256 + (i * 104729) % 2048
    return seed, size, False


def wrk_items():
    """(kind, index, content type, body, listed digest or None) of the
    bodies wrk sends in turn: raw ones of each size, and one multipart
    body of each kind (the listed digest is its file part's)."""
    out = []
    sizes = (1024, 7 * 1024, 60 * 1024, 200 * 1024, 1024 * 1024)
    for kind in ("clean", "listed"):
        for n, size in enumerate(sizes):
            data = hm.blob("soak-wrk-%s-%d" % (kind, n), size)
            out.append((kind, n, "application/octet-stream", data,
                        hm.sha256(data) if kind == "listed" else None))
        data = hm.blob("soak-wrk-%s-form" % kind, 100 * 1024)
        body, ctype = N.multipart([
            ("note", None, None, b"soak wrk form"),
            ("file", "wrk-%s.bin" % kind, "application/octet-stream", data)])
        out.append((kind, len(sizes), ctype.replace(" ", ""), body,
                    hm.sha256(data) if kind == "listed" else None))
    return out


def wrk_start(tmp, port, items):
    manifest = os.path.join(tmp, "wrk-manifest")
    with open(manifest, "w") as mf:
        for kind, n, ctype, body, _ in items:
            path = os.path.join(tmp, "wrk-%s-%d" % (kind, n))
            with open(path, "wb") as f:
                f.write(body)
            mf.write("%s %d %s %s\n" % (kind, n, ctype, path))
    return subprocess.Popen(
        ["wrk", "-t2", "-c2", "-d%ds" % DURATION, "--timeout", "30s",
         "-s", WRK_LUA, "http://127.0.0.1:%d/" % port, "--", manifest,
         str(WRK_DELAY)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wrk_result(proc):
    """The key=value pairs of wrk's "soak-wrk:" line, and its output."""
    try:
        out, _ = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    m = re.search(r"^soak-wrk: (.*)$", out, re.M)
    if not m:
        return None, out
    return dict((k, float(v)) for k, v in
                (kv.split("=") for kv in m.group(1).split())), out


def pool_digests(item, kind, n):
    return [hm.sha256(hm.blob(*item(kind, i))) for i in range(n)]


class Counter:
    """Hands out item indexes per kind; a listed pool can run out."""

    def __init__(self, pools):
        self.next = {}
        self.pools = pools
        self.exhausted = 0

    def take(self, kind):
        with lock:
            i = self.next.get(kind, 0)
            if kind in self.pools and i >= self.pools[kind]:
                self.exhausted += 1
                kind = "clean"
                i = self.next.get(kind, 0)
            self.next[kind] = i + 1
            return kind, i


class Pacer:
    """At most rate events a second over all threads (0: no limit)."""

    def __init__(self, rate):
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.at = time.time()

    def wait(self):
        if not self.interval:
            return
        with lock:
            self.at = max(self.at + self.interval, time.time() - 1.0)
            at = self.at
        delay = at - time.time()
        if delay > 0:
            stop.wait(delay)


# ---- load ----

def smtp_session(pf, counter, pacer, results, rng):
    conn = None
    sent = 0
    encodings = ("base64", "base64", "base64", "quoted-printable",
                 "x-uuencode")
    while not stop.is_set():
        pacer.wait()
        if stop.is_set():
            break
        r = rng.random()
        for kind, share in MAIL_MIX:
            if r < share:
                break
            r -= share
        kind, i = counter.take(kind)
        msg, _ = hm.msg_attach(hm.blob(*mail_item(kind, i)),
                               encoding=rng.choice(encodings),
                               filename="item-%d.bin" % i,
                               ctype="application/octet-stream")
        try:
            if conn is None or sent >= MAILS_PER_SESSION:
                if conn is not None:
                    conn.quit()
                conn = pf.connect()
                sent = 0
            code, text = pf.send(msg, conn=conn)
            sent += 1
        except Exception as e:  # a dropped session is recorded, then retried
            code, text = 0, repr(e)
            conn = None
        qid = re.search(r"queued as ([0-9A-F]+)", text)
        with lock:
            results.append((kind, i, code, qid.group(1) if qid else text))
    if conn is not None:
        try:
            conn.quit()
        except Exception:
            pass


def http_post(conn, path, body, ctype):
    conn.request("POST", path, body=body,
                 headers={"Content-Type": ctype})
    resp = conn.getresponse()
    resp.read()
    return resp.status, resp.will_close


def http_client(port, counter, pacer, results, rng):
    conn = None
    while not stop.is_set():
        pacer.wait()
        if stop.is_set():
            break
        kind, i = counter.take("listed" if rng.random() < HTTP_LISTED
                                else "clean")
        data = hm.blob(*http_item(kind, i))
        if rng.random() < 0.3:
            body, ctype = N.multipart([
                ("note", None, None, b"soak item %d" % i),
                ("file", "item-%d.bin" % i, "application/octet-stream",
                 data)])
        else:
            body, ctype = data, "application/octet-stream"
        status = 0
        for attempt in (0, 1):  # a keep-alive connection may have closed
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", port,
                                                      timeout=60)
                status, close = http_post(conn, "/up/%s/%d" % (kind, i),
                                          body, ctype)
                if close:
                    conn.close()
                    conn = None
                break
            except (OSError, http.client.HTTPException):
                if conn is not None:
                    conn.close()
                conn = None
        with lock:
            results.append((kind, i, status,
                            hashlib.sha256(body).hexdigest()))
    if conn is not None:
        conn.close()


def swapper(db, lists, swaps):
    """Recompile the database every SWAP_SECS with a filler list whose
    version and digests change, and rename it over the one in use."""
    t_end = time.time() + DURATION - SWAP_QUIET
    n = 0
    while not stop.wait(SWAP_SECS) and time.time() < t_end:
        n += 1
        filler = [hashlib.sha256(b"soak-swap-%d-%d" % (n, k)).hexdigest()
                  for k in range(1000)]
        t = time.time()
        try:
            hm.swap_db(db, dict(lists, filler=(filler, "swap-%d" % n)))
        except Exception as e:
            say("# swap %d failed: %r" % (n, e))
            swaps.append(None)
            continue
        swaps.append(time.time() - t)


def mem_kb(pid):
    """VmRSS, RssAnon, RssFile (kB) and Threads of pid."""
    want = {"VmRSS:": 0, "RssAnon:": 0, "RssFile:": 0, "Threads:": 0}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k = line.split(None, 1)[0]
            if k in want:
                want[k] = int(line.split()[1])
    return [want["VmRSS:"], want["RssAnon:"], want["RssFile:"],
            want["Threads:"]]


def sampler(m, ng, samples, mail_res, http_res, t0):
    while True:
        t = time.time() - t0
        try:
            workers = ng.worker_pids()
            mil = mem_kb(m.pid)
            ngx = [0, 0, 0, len(workers)]
            for p in workers:
                for k, v in enumerate(mem_kb(p)[:3]):
                    ngx[k] += v
            row = (t, mil, ngx)
        except OSError as e:
            say("# sample failed: %r" % e)
            row = None
        if row:
            with lock:
                nm, nh = len(mail_res), len(http_res)
            samples.append(row)
            say("# t=%5.0fs milter rss=%d anon=%d file=%d kB threads=%d | "
                "nginx %d workers rss=%d anon=%d file=%d kB | mails=%d "
                "requests=%d" % (t, mil[0], mil[1], mil[2], mil[3], ngx[3],
                                 ngx[0], ngx[1], ngx[2], nm, nh))
        if stop.wait(SAMPLE_SECS):
            return


def growth(samples, who, col, warmup):
    """(first-third mean, last-third mean) of samples[who][col] after
    warmup seconds."""
    vals = [s[who][col] for s in samples if s[0] >= warmup]
    if len(vals) < 3:
        return None
    k = len(vals) // 3
    first, last = vals[:k], vals[-k:]
    return sum(first) / len(first), sum(last) / len(last)


def main():
    ok = Checks()
    tmp = tempfile.mkdtemp(prefix="hg-soak-")
    os.chmod(tmp, 0o755)
    m = pf = ng = wrk = None
    threads = []
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    try:
        for tool in (hm.HASHGATE, hm.MILTER, N.MODULE):
            if not os.path.exists(tool):
                raise RuntimeError("%s is missing: build it (make all)" % tool)

        # listed pools, sized from the rates with room to spare
        mrate = MAIL_RATE if MAIL_RATE > 0 else 200
        hrate = HTTP_RATE if HTTP_RATE > 0 else 1500
        pools = {"reject": int(mrate * 0.15 * DURATION * 1.5) + 100,
                 "hold": int(mrate * 0.15 * DURATION * 1.5) + 100}
        hpools = {"listed": int(hrate * HTTP_LISTED * DURATION * 1.5) + 200}
        witems = wrk_items()
        t = time.time()
        lists = {
            "rejlist": pool_digests(mail_item, "reject", pools["reject"]),
            "holdlist": pool_digests(mail_item, "hold", pools["hold"]),
            "httplist": pool_digests(http_item, "listed", hpools["listed"])
                        + [w[4] for w in witems if w[4]],
        }
        db = hm.compile_db(os.path.join(tmp, "db.hgdb"), lists)
        say("# database: %d + %d mail and %d http digests (%.1f s)"
            % (pools["reject"], pools["hold"], hpools["listed"],
               time.time() - t))

        m = hm.Milter(tmp, db, LogLevel="info",
                      ListAction=["rejlist reject", "holdlist hold"])
        m.start()
        pf = Postfix(milter=m.postfix_spec, base=os.path.join(tmp, "pf"),
                     dump=False, extra_main=(
                         # many 5xx per session are the point here: no tarpit
                         "smtpd_soft_error_limit = 100000\n"
                         "smtpd_hard_error_limit = 100000\n"
                         "smtpd_error_sleep_time = 0\n"))
        pf.start()
        ng = N.Nginx(http=NGINX_HTTP, tmp=tmp)
        ng.start()

        mail_res, http_res, samples = [], [], []
        mc, hc = Counter(pools), Counter(hpools)
        mp, hp = Pacer(MAIL_RATE), Pacer(HTTP_RATE)
        t0 = time.time()
        say("# soak: %d s, %d SMTP sessions (%s mails/s), %d HTTP threads "
            "(%s requests/s)" % (DURATION, SMTP_SESSIONS,
                                 MAIL_RATE or "max", HTTP_THREADS,
                                 HTTP_RATE or "max"))
        threads.append(threading.Thread(
            target=sampler, args=(m, ng, samples, mail_res, http_res, t0)))
        for n in range(SMTP_SESSIONS):
            threads.append(threading.Thread(
                target=smtp_session,
                args=(pf, mc, mp, mail_res, random.Random(100 + n))))
        for n in range(HTTP_THREADS):
            threads.append(threading.Thread(
                target=http_client,
                args=(ng.port, hc, hp, http_res, random.Random(200 + n))))
        swaps = []
        if SWAP_SECS > 0:
            threads.append(threading.Thread(target=swapper,
                                            args=(db, lists, swaps)))
        for th in threads:
            th.daemon = True
            th.start()
        wrk = wrk_start(tmp, ng.port, witems)
        stop.wait(DURATION)
        stop.set()
        for th in threads:
            th.join(120)
        elapsed = time.time() - t0

        # ---- fates ----
        n_clean = sum(1 for r in mail_res if r[0] == "clean" and r[2] == 250)
        pf.wait_delivered(n_clean, timeout=120)
        log = pf.log()
        sent = set(re.findall(r"\]: ([0-9A-F]+): to=<[^>]*>,.*status=sent",
                              log))
        held = set(pf.hold_ids())
        bad = {}
        counts = {}
        for kind, i, code, qid in mail_res:
            counts[kind] = counts.get(kind, 0) + 1
            if kind == "clean":
                good = code == 250 and qid in sent
            elif kind == "reject":
                good = code == 550
            else:
                good = code == 250 and qid in held and qid not in sent
            if not good:
                bad.setdefault("mail " + kind, []).append((i, code, qid))
        nmail = len(mail_res)
        ok(nmail > 0 and not any(k.startswith("mail") for k in bad),
           "mail: %d items (%s), each delivered, rejected with 550 or held "
           "as its list says" % (nmail, ", ".join(
               "%s %d" % kv for kv in sorted(counts.items()))),
           "; ".join("%s: %d wrong, e.g. %r" % (k, len(v), v[:3])
                     for k, v in bad.items() if k.startswith("mail")))

        recorded = {}
        wrk_seen = {}
        for e in ng.recorder.entries():
            if e.get("complete"):
                recorded[e["sha256"]] = recorded.get(e["sha256"], 0) + 1
            if e.get("path", "").startswith("/wrk/"):
                key = (e["path"], e.get("complete"), e["sha256"])
                wrk_seen[key] = wrk_seen.get(key, 0) + 1
        hcounts = {}
        for kind, i, status, sha in http_res:
            hcounts[kind] = hcounts.get(kind, 0) + 1
            if kind == "clean":
                good = status == 200 and recorded.get(sha, 0) >= 1
            else:
                good = status == 403 and sha not in recorded
            if not good:
                bad.setdefault("http " + kind, []).append((i, status))
        nhttp = len(http_res)
        ok(nhttp > 0 and not any(k.startswith("http") for k in bad),
           "http: %d requests (%s), clean ones reached the upstream whole "
           "(200), listed ones got 403 and never reached it" % (nhttp, ", ".join(
               "%s %d" % kv for kv in sorted(hcounts.items()))),
           "; ".join("%s: %d wrong, e.g. %r" % (k, len(v), v[:3])
                     for k, v in bad.items() if k.startswith("http")))

        w, wout = wrk_result(wrk)
        wrk = None
        if w is None:
            ok(False, "wrk ran to the end and reported",
               wout.strip()[-300:])
        else:
            say("# wrk: %d requests (%.1f/s), p99 %.1f ms"
                % (w["requests"], w["requests"] / elapsed, w["p99_ms"]))
            ok(w["clean_ok"] > 0 and w["listed_ok"] > 0
               and w["clean_bad"] == w["listed_bad"] == w["other"] == 0,
               "wrk: %d clean bodies got 200, %d listed ones 403"
               % (w["clean_ok"], w["listed_ok"]),
               "%d clean, %d listed answered otherwise, %d unmatched"
               % (w["clean_bad"], w["listed_bad"], w["other"]))
            answered = (w["clean_ok"] + w["clean_bad"] + w["listed_ok"]
                        + w["listed_bad"] + w["other"])
            ok(w["connect"] == w["read"] == w["write"] == w["timeout"] == 0
               and answered == w["requests"],
               "wrk: every request answered, no socket error or timeout",
               "%d answered of %d; connect %d, read %d, write %d, "
               "timeout %d" % (answered, w["requests"], w["connect"],
                               w["read"], w["write"], w["timeout"]))
            want_sha = dict(("/wrk/%s/%d" % (k, n), hm.sha256(body))
                            for k, n, _, body, _ in witems)
            clean_rec = sum(c for (path, whole, sha), c in wrk_seen.items()
                            if path.startswith("/wrk/clean/") and whole
                            and want_sha.get(path) == sha)
            wrong = [(path, whole) for (path, whole, sha) in wrk_seen
                     if path.startswith("/wrk/listed/") or not whole
                     or want_sha.get(path) != sha]
            ok(not wrong and clean_rec >= w["clean_ok"],
               "wrk: the upstream got %d clean bodies whole and no listed "
               "one" % clean_rec,
               "%d clean whole for %d answered 200; wrong: %r"
               % (clean_rec, w["clean_ok"], wrong[:3]))

        if SWAP_SECS > 0:
            done = [d for d in swaps if d is not None]
            mil_swaps = m.log().count("database reloaded")
            ngx_swaps = len(re.findall(r'hashgate: database "[^"]*" reloaded',
                                       ng.error_log()))
            ok(done and len(done) == len(swaps)
               and mil_swaps == len(done)
               and ngx_swaps == len(done) * len(ng.worker_pids()),
               "database swapped %d times under load (compile and rename "
               "%.2f s at most); the milter logged %d reloads, the nginx "
               "workers %d" % (len(done), max(done or [0]), mil_swaps,
                               ngx_swaps),
               "%d of %d swaps done; milter %d, nginx %d log lines"
               % (len(done), len(swaps), mil_swaps, ngx_swaps))

        nrec = len(m.records())
        want = counts.get("reject", 0) + counts.get("hold", 0)
        ok(nrec == want, "milter: one evidence record per listed mail (%d)"
           % nrec, "%d records for %d listed mails" % (nrec, want))
        ok(m.alive(), "the milter is still running")
        ok(not ng.crashes(), "no nginx worker died",
           "; ".join(ng.crashes()[:3]))
        ok(mc.exhausted == 0 and hc.exhausted == 0,
           "no listed pool ran out", "%d mail, %d http items sent clean "
           "instead" % (mc.exhausted, hc.exhausted))

        # ---- memory ----
        warmup = min(300.0, DURATION / 4.0)
        for who, name in ((1, "milter"), (2, "nginx workers")):
            for col, what in ((1, "anonymous RSS"), (0, "RSS")):
                g = growth(samples, who, col, warmup)
                if g is None:
                    ok(False, "%s %s: enough samples after warm-up"
                       % (name, what), "%d samples" % len(samples))
                    continue
                first, last = g
                line = ("%s %s after %.0f s warm-up: first third %.1f MB, "
                        "last third %.1f MB (%+.1f%%)"
                        % (name, what, warmup, first / 1024, last / 1024,
                           (last - first) * 100.0 / first))
                if col == 0:
                    say("# " + line + " (file-backed pages included)")
                    continue
                limit = first + max(first * RSS_SLACK_FRAC, RSS_SLACK_KB)
                ok(last <= limit, line + ", at most %.1f MB allowed"
                   % (limit / 1024),
                   "grew by %.1f MB" % ((last - first) / 1024))

        say("# summary: %.0f s; mail %d (%.1f/s), http %d (%.1f/s); "
            "misclassified %d; %d checks failed"
            % (elapsed, nmail, nmail / elapsed, nhttp, nhttp / elapsed,
               sum(len(v) for v in bad.values()), ok.failed))
    except BaseException as e:
        import traceback
        traceback.print_exc()
        ok(False, "the soak ran to the end", repr(e))
    finally:
        stop.set()
        if wrk is not None and wrk.poll() is None:
            wrk.kill()
            wrk.wait()
        if ok.failed and m is not None:
            say("# milter log tail:\n# " + "\n# ".join(
                m.log().splitlines()[-10:]))
        if m is not None:
            m.stop(signal.SIGKILL)
        if pf is not None:
            if ok.failed:
                say("# maillog tail:\n# " + pf.log_tail(10).replace(
                    "\n", "\n# "))
            pf.close()
        if ng is not None:
            if ok.failed:
                say("# nginx error log tail:\n# " + "\n# ".join(
                    ng.error_log().splitlines()[-10:]))
            ng.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(1 if ok.failed else 0)


if __name__ == "__main__":
    main()
