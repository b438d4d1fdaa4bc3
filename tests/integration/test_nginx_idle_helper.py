#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_nginx_idle_helper.py - an inspection helper that dies while idle
(killed by pid between two uploads) costs no upload its fail verdict.

A private Debian nginx with one worker proxies to the recorder. Each round
uploads a clean zip (read to its end: the worker's helper stays up, idle),
kills the helper (SIGKILL, SIGTERM or SIGSEGV), then uploads a zip holding
a listed file: every one gets the list's 403 with its record, never the
fail verdict (503). Then the same with the helper caught dying: killed,
but held by ptrace at its exit with its socket still open (what a helper
tearing down its memory looks like on a busy machine, made the same on
every run), released once the upload has reached the worker. Archives come
from tests/lib/archives.py (seeded random bytes).
"""

import ctypes
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import archives as A  # noqa: E402
import nginx as N  # noqa: E402
import ngfixture as F  # noqa: E402

HTTP = r"""
    hashgate_database {tmp}/db.hgdb;
    hashgate_evidence_log {prefix}/evidence.jsonl;
    client_max_body_size 20m;

    server {
        listen 127.0.0.1:{port};
        hashgate on;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        location /on/ { proxy_pass http://recorder; }
    }
"""

libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p,
                        ctypes.c_void_p]
PTRACE_DETACH = 17
PTRACE_SEIZE = 0x4206
PTRACE_O_TRACEEXIT = 0x40


def ptrace(req, pid, addr, data):
    return libc.ptrace(req, pid, ctypes.c_void_p(addr), ctypes.c_void_p(data))


def stopped_at_exit(pid, timeout=5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with open("/proc/%d/status" % pid) as f:
                if "State:\tt" in f.read():
                    return True
        except OSError:
            return False
        time.sleep(0.02)
    return False


def helper_pid(ng):
    """The worker's helper (a live child running hashgate-inspect)."""
    workers = ng.worker_pids()
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read().rsplit(")", 1)[1].split()
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read()
        except (OSError, IndexError, ValueError):
            continue
        if int(st[1]) in workers and st[0] != "Z" \
                and b"hashgate-inspect" in cmd:
            return int(d)
    return None


def make(tmp, seed):
    out = os.path.join(tmp, "a-%d.zip" % seed)
    res = A.make("zip", out, seed=seed)
    with open(out, "rb") as f:
        return f.read(), res


def main():
    t = N.Checks()
    ng = N.Nginx(HTTP, workers=1)
    try:
        run(t, ng)
    finally:
        ng.cleanup()
    t.done()


def run(t, ng):
    listed, res = make(ng.tmp, 801)
    clean, _ = make(ng.tmp, 802)
    key = sorted(res)[0]
    F.start(ng, hex_lists={"cam": [res[key]]}, tls=False)
    n = [0]

    def idle_helper():
        n[0] += 1
        st, _ = N.http_request(ng.port, "PUT", "/on/clean-%d" % n[0], clean)
        return st, helper_pid(ng)

    def upload_listed(tag):
        n[0] += 1
        path = "/on/listed-%d" % n[0]
        st, _ = N.http_request(ng.port, "PUT", path, listed)
        recs = [r for r in ng.evidence() if r.get("uri") == path]
        good = st == 403 and len(recs) == 1 \
            and recs[0].get("part") == "body!" + key
        return good, "%s: %s, %d records" % (tag, st, len(recs))

    said, good_all = [], True
    for sig in (signal.SIGKILL, signal.SIGKILL, signal.SIGTERM,
                signal.SIGSEGV, signal.SIGKILL):
        st, pid = idle_helper()
        if pid is not None:
            os.kill(pid, sig)
        good, line = upload_listed("%s of %s" % (signal.Signals(sig).name,
                                                  pid))
        good_all = good_all and good and st == 200 and pid is not None
        said.append(line)
    t.check(good_all, "each upload after the worker's idle helper was killed "
            "gets the list's 403 with its record, none 503", "\n".join(said))

    said, good_all, traced = [], True, True
    for i in range(3):
        st, pid = idle_helper()
        if pid is None or ptrace(PTRACE_SEIZE, pid, 0,
                                 PTRACE_O_TRACEEXIT) != 0:
            traced = False
            continue
        os.kill(pid, signal.SIGKILL)
        stopped_at_exit(pid)
        box = {}
        th = threading.Thread(target=lambda: box.update(
            r=upload_listed("dying %d" % pid)))
        th.start()
        time.sleep(1.5)
        ptrace(PTRACE_DETACH, pid, 0, 0)
        th.join(60)
        good, line = box.get("r", (False, "no reply"))
        good_all = good_all and good
        said.append(line)
    t.check(traced, "the test could hold the helper at its exit (ptrace)")
    t.check(good_all, "an upload sent while the idle helper is dying "
            "(killed, socket still open) goes to a new helper: 403 as "
            "listed, not 503", "\n".join(said))
    t.check(not ng.crashes(), "no worker died", str(ng.crashes()))


if __name__ == "__main__":
    main()
