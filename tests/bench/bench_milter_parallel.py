# SPDX-License-Identifier: BSD-2-Clause
"""bench_milter_parallel.py - ParallelDigests against serial digests in
hashgate-milter, behind two private Postfix instances in the same run.

Both milters use the same plain list of MD5 and SHA-1 digests (one a line,
so every attachment gets both), one with ParallelDigests BENCH_PAR_MIN
(default 512K), one without. Mails carry one 25 MiB base64 attachment
(unique leading block). Two loads, runs alternating between the two:

  - one SMTP session: a mail at a time, so the helper has a core the
    session does not use (the latency a sender sees);
  - four sessions at once: Postfix's cleanup and smtpd, the milter's four
    session threads and the senders take every core, the case where the
    split must not cost more than it gives.

RESULT lines give mails/s split over serial (> 1: faster) and the milter's
CPU per mail split over serial (> 1: dearer), with the load average beside;
for one session also the best a split that cost nothing could give (the
serial time a mail less SHA-1's share, timed with hashlib). BENCH_REPEAT
(default 3) rounds. Synthetic data only.
"""

import hashlib
import multiprocessing as mp
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hgmilter as hm  # noqa: E402
from postfix import Postfix  # noqa: E402
import bench_milter as B  # noqa: E402

SIZE = 25 << 20
ROUNDS = int(os.environ.get("BENCH_REPEAT", "3"))
PAR = os.environ.get("BENCH_PAR_MIN", "512K")


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def run(port, sessions, per, tag):
    """Mails accepted per second over sessions sessions of per mails."""
    q = mp.Queue()
    procs = [mp.Process(target=B.session,
                        args=(port, SIZE, per, "%s-%d" % (tag, k), q))
             for k in range(sessions)]
    t0 = time.time()
    for p in procs:
        p.start()
    res = [q.get(timeout=900) for _ in procs]
    dt = time.time() - t0
    for p in procs:
        p.join()
    acc = sum(a for a, _ in res)
    if sum(b for _, b in res):
        raise RuntimeError("mails not accepted: %r" % res)
    return acc / dt, acc


def main():
    tmp = tempfile.mkdtemp(prefix="hg-bench-mpar-")
    os.chmod(tmp, 0o755)
    pfs, ms = {}, []
    try:
        hm.check_tool(hm.MILTER)
        src = os.path.join(tmp, "plain.txt")
        with open(src, "w") as f:
            for i in range(1000):
                b = ("synthetic-%d" % i).encode()
                f.write("%s\n%s\n" % (hashlib.md5(b).hexdigest(),
                                       hashlib.sha1(b).hexdigest()))
        db = os.path.join(tmp, "db.hgdb")
        subprocess.run([hm.HASHGATE, "compile", "-o", db, "cam=" + src],
                          check=True, capture_output=True)
        os.chmod(db, 0o644)
        for name, setting in (("serial", "off"), ("split", PAR)):
            d = os.path.join(tmp, name)
            os.makedirs(d)
            os.chmod(d, 0o755)
            m = hm.Milter(d, db, LogLevel="info", ReloadInterval="0",
                          ParallelDigests=setting)
            m.start()
            ms.append(m)
            pf = Postfix(milter=m.postfix_spec, base=os.path.join(tmp, "pf-"
                                                                   + name),
                         dump=False)
            pf.start()
            pfs[name] = (pf, m)
        for name, (pf, _) in pfs.items():
            run(pf.port, 1, 1, "warm-" + name)

        # hashlib's MD5 and SHA-1 of 25 MiB, for the ideal split
        blob = os.urandom(SIZE)
        t = {}
        for alg in ("md5", "sha1"):
            t0 = time.perf_counter()
            hashlib.new(alg, blob).digest()
            t[alg] = time.perf_counter() - t0

        for sessions, per in ((1, 4), (4, 2)):
            rate = {"serial": [], "split": []}
            cpu = {"serial": [], "split": []}
            for rnd in range(ROUNDS):
                order = ("serial", "split") if rnd % 2 == 0 \
                    else ("split", "serial")
                for name in order:
                    pf, m = pfs[name]
                    c0 = B.cpu_ticks(m.pid)
                    r, acc = run(pf.port, sessions, per,
                                 "%s-%d-%d" % (name, sessions, rnd))
                    c1 = B.cpu_ticks(m.pid)
                    rate[name].append(r)
                    cpu[name].append((c1 - c0) * B.TICK_MS / acc)
            rs, rp = statistics.median(rate["serial"]), \
                statistics.median(rate["split"])
            cs, cp = statistics.median(cpu["serial"]), \
                statistics.median(cpu["split"])
            extra = ""
            if sessions == 1:
                ts = 1.0 / rs
                extra = "; best a split that cost nothing could give " \
                        "%.2f x" % (ts / max(ts - min(t.values()), 1e-9))
            print("RESULT milter-parallel 25MiB attachment, %d session%s, "
                  "ParallelDigests %s vs off: %.2f x  (%.2f vs %.2f mails/s, "
                  "median of %d; milter CPU per mail %.2f x: %.0f vs %.0f "
                  "ms%s; load %s)"
                  % (sessions, "s" if sessions > 1 else "", PAR, rp / rs, rp,
                     rs, ROUNDS, cp / cs, cp, cs, extra, load()), flush=True)
    except Exception as e:  # noqa: BLE001
        import traceback
        traceback.print_exc()
        print("RESULT milter-parallel: benchmark failed: %r" % e)
        return 1
    finally:
        for pf, _ in pfs.values():
            pf.close()
        for m in ms:
            m.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
