"""bench_milter.py - Postfix with hashgate-milter against Postfix without.

Three private Postfix instances run side by side, relaying to smtp-sink
(not writing mail to disk): one without a milter, one with hashgate-milter
over a unix socket, one over TCP, both milters on a 1M-digest SHA-256
database. Runs are interleaved (without, unix, tcp, without, ...) so
machine noise hits all alike; each figure is the best of REPEAT runs
(noise from a shared machine only ever slows a run), medians beside it.
A run is 4 SMTP sessions (4 processes, raw sockets, so the client is not
the bottleneck) sending mails with one base64 attachment; every
attachment is different (a unique leading block). The figure is mails
accepted (250 after DATA) per second. The milter's private memory
(RssAnon: not file-backed, so the database mapping does not count) is
sampled through the runs.

Synthetic data only. Prints RESULT lines.
"""

import base64
import multiprocessing as mp
import os
import random
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import hgmilter as hm  # noqa: E402
from postfix import Postfix  # noqa: E402

SESSIONS = 4
DIGESTS = int(os.environ.get("BENCH_DIGESTS", "1000000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
# mails per run, sized for a few seconds each on this machine
SIZES = [("100k", 100 * 1024, int(os.environ.get("BENCH_N_100K", "400"))),
         ("2m", 2 * 1024 * 1024, int(os.environ.get("BENCH_N_2M", "80")))]
RATIO_TARGET = 0.9
RSS_TARGET_MIB = 20.0

LINE = 57   # raw bytes per 76-character base64 line


def make_pool(size):
    """Base64 lines of seeded random bytes, shared by every mail."""
    raw = random.Random(4242).randbytes(size + LINE)
    return [base64.b64encode(raw[i:i + LINE]) for i in range(0, size, LINE)]


def message(pool_lines, tag):
    """A mail whose attachment is a unique 57-byte block + the pool."""
    uniq = random.Random(tag).randbytes(LINE)
    head = ("From: bench@example.org\r\nTo: sink@example.net\r\n"
            "Subject: bench %s\r\nMessage-ID: <%s@bench.hashgate.test>\r\n"
            "MIME-Version: 1.0\r\n"
            'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
            "--b\r\nContent-Type: text/plain\r\n\r\nbench mail\r\n"
            "--b\r\nContent-Type: application/octet-stream\r\n"
            "Content-Disposition: attachment; filename=\"f%s.bin\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n" % (tag, tag, tag)).encode()
    return b"".join([head, base64.b64encode(uniq), b"\r\n",
                     b"\r\n".join(pool_lines), b"\r\n--b--\r\n.\r\n"])


def _reply(f):
    while True:
        line = f.readline()
        if not line:
            raise IOError("connection closed")
        if line[3:4] != b"-":
            return int(line[:3]), line


def session(port, size, n, tag0, out):
    """One SMTP session sending n mails; puts (accepted, failures)."""
    pool = make_pool(size)
    s = socket.create_connection(("127.0.0.1", port), timeout=120)
    f = s.makefile("rb")
    accepted = failed = 0
    try:
        _reply(f)
        s.sendall(b"EHLO bench.hashgate.test\r\n")
        _reply(f)
        for i in range(n):
            msg = message(pool, "%s-%d" % (tag0, i))
            s.sendall(b"MAIL FROM:<bench@example.org>\r\n")
            _reply(f)
            s.sendall(b"RCPT TO:<sink@example.net>\r\n")
            _reply(f)
            s.sendall(b"DATA\r\n")
            _reply(f)
            s.sendall(msg)
            code, line = _reply(f)
            if code == 250:
                accepted += 1
            else:
                failed += 1
                s.sendall(b"RSET\r\n")
                _reply(f)
        s.sendall(b"QUIT\r\n")
    finally:
        s.close()
    out.put((accepted, failed))


def run(port, size, n, tag):
    q = mp.Queue()
    per = n // SESSIONS
    procs = [mp.Process(target=session, args=(port, size, per, "%s-%d" % (tag, k), q))
             for k in range(SESSIONS)]
    t0 = time.time()
    for p in procs:
        p.start()
    results = [q.get(timeout=600) for _ in procs]
    dt = time.time() - t0
    for p in procs:
        p.join()
    acc = sum(a for a, _ in results)
    fail = sum(b for _, b in results)
    return acc / dt, fail


def rss_anon_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main():
    tmp = tempfile.mkdtemp(prefix="hg-bench-milter-")
    os.chmod(tmp, 0o755)
    instances = []
    milters = []
    peak = {}
    stop_sampling = threading.Event()
    status = 0
    try:
        hm.check_tool(hm.MILTER)
        hm.check_tool(hm.HASHGATE)
        print("# compiling a %d-digest SHA-256 list (synthetic)" % DIGESTS, flush=True)
        src = os.path.join(tmp, "big.txt")
        rnd = random.Random(1)
        with open(src, "w") as f:
            for _ in range(DIGESTS // 10000):
                f.write("".join(rnd.randbytes(32).hex() + "\n" for _ in range(10000)))
        db = os.path.join(tmp, "big.hgdb")
        import subprocess
        p = subprocess.run([hm.HASHGATE, "compile", "-o", db, "bench=" + src],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError("compile failed: " + p.stderr)
        os.unlink(src)

        for name, transport in (("unix", "unix"), ("tcp", "inet")):
            d = os.path.join(tmp, "m-" + name)
            os.makedirs(d)
            os.chmod(d, 0o755)
            m = hm.Milter(d, db, transport=transport, LogLevel="info",
                          ReloadInterval="0", DefaultAction="reject")
            m.start()
            milters.append((name, m))
        configs = [("without", "")] + [(n, m.postfix_spec) for n, m in milters]
        for name, spec in configs:
            pf = Postfix(milter=spec, base=os.path.join(tmp, "pf-" + name), dump=False)
            pf.start()
            instances.append((name, pf))

        def sample():
            while not stop_sampling.is_set():
                for n, m in milters:
                    peak[n] = max(peak.get(n, 0), rss_anon_kib(m.pid))
                time.sleep(0.2)
        sampler = threading.Thread(target=sample)
        sampler.start()

        figures = {}
        for label, size, n in SIZES:
            # warm-up: start smtpd/cleanup processes and the milter threads
            for name, pf in instances:
                run(pf.port, size, SESSIONS * 2, "warm-%s-%s" % (name, label))
            for rep in range(REPEAT):
                for name, pf in instances:
                    rate, fail = run(pf.port, size, n, "%s-%s-%d" % (name, label, rep))
                    figures.setdefault((label, name), []).append(rate)
                    print("# %-4s %-7s run %d: %7.1f mails/s%s" % (
                        label, name, rep, rate,
                        "  (%d not accepted!)" % fail if fail else ""), flush=True)
                    if fail:
                        status = 1
        stop_sampling.set()
        sampler.join()

        for label, _, _ in SIZES:
            base = max(figures[(label, "without")])
            base_med = statistics.median(figures[(label, "without")])
            for name, _ in milters:
                rate = max(figures[(label, name)])
                med = statistics.median(figures[(label, name)])
                ratio = rate / base if base else 0
                verdict = "PASS" if ratio >= RATIO_TARGET else "BELOW TARGET"
                print("RESULT milter-%s-%s: %.1f mails/s with hashgate-milter vs "
                      "%.1f without = %.2fx (best of %d; medians %.2fx) (target "
                      ">= %.1fx, %d-digest SHA-256 list, %d sessions) %s"
                      % (name, label, rate, base, ratio, REPEAT,
                         med / base_med if base_med else 0, RATIO_TARGET,
                         DIGESTS, SESSIONS, verdict))
        for name, m in milters:
            mib = peak.get(name, 0) / 1024.0
            print("RESULT milter-rss-%s: peak RssAnon %.1f MiB with a %d-digest "
                  "database (target <= %.0f MiB) %s" % (
                      name, mib, DIGESTS, RSS_TARGET_MIB,
                      "PASS" if mib <= RSS_TARGET_MIB else "ABOVE TARGET"))
    except Exception as e:  # noqa: BLE001
        import traceback
        traceback.print_exc()
        print("RESULT milter: benchmark failed: %r" % e)
        status = 1
    finally:
        stop_sampling.set()
        for _, pf in instances:
            pf.close()
        for _, m in milters:
            m.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
