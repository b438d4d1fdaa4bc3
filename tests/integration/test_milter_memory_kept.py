#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""hashgate-milter keeps the memory a message freed for the next one.

By default glibc gives an arena's free top back to the kernel from 128
KiB on (brk in the main arena, madvise(MADV_DONTNEED) in a thread's):
with a few sessions at once, mails' buffers went back to the kernel and
were faulted in again, and every return made the kernel interrupt the
other cores to flush their TLBs. The milter raises the thresholds at
start-up (milter/main.c). Under strace, after a first round has sized
its heaps, four sessions sending ten 100 KB mails each must make almost
no such call: at most one for four mails, for libmilter's worker threads
may exit meanwhile and glibc gives back each one's stack (1 to 6 calls
in five runs; the milter before the change made 34 and 37).
The same strace must have seen the milter read every mail, so a trace
that attached to nothing cannot pass.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import hgmilter as hm  # noqa: E402

ok = hm.Checks()
tmp = tempfile.mkdtemp(prefix="hg-milter-memkept-")
os.chmod(tmp, 0o755)

SESSIONS = 4
MAILS = 10              # a session
# a quarter of the mails: libmilter's worker threads may exit meanwhile,
# and glibc gives each exiting thread's stack back (madvise)
MAX_RETURNS = SESSIONS * MAILS // 4
RETURNS = re.compile(r"\b(munmap|brk|madvise)\(")
READS = re.compile(r"\bread\(")


def load(m, msgs, n):
    """SESSIONS connections at once, each sending n mails in turn."""
    return hm.concurrent_mails(m, msgs, SESSIONS, n)

m = None
try:
    hm.check_tool(hm.MILTER)
    hm.check_tool(hm.HASHGATE)
    db = hm.compile_db(os.path.join(tmp, "db.hgdb"),
                       {"blocked": [hm.sha256(hm.blob(900, 1000))]})
    msgs = [hm.msg_attach(hm.blob(910 + i, 100_000))[0]
            for i in range(SESSIONS)]
    # the thresholds under test are the milter's own, not ones we were given
    for var in ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_",
                "GLIBC_TUNABLES", "MALLOC_ARENA_MAX"):
        os.environ.pop(var, None)

    m = hm.Milter(tmp, db)
    m.start()
    warm = load(m, msgs, 3)
    out = os.path.join(tmp, "strace.out")
    # -f with -p attaches every thread of the process
    st = subprocess.Popen(["strace", "-f", "-qq", "-p", str(m.pid), "-e",
                           "trace=brk,madvise,munmap,read", "-o", out],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        time.sleep(1.0)     # strace attaches before it writes anything
        replies = load(m, msgs, MAILS)
    finally:
        st.send_signal(signal.SIGINT)
        st.wait(timeout=20)
    with open(out) as f:
        lines = f.readlines()
    calls = [ln.strip() for ln in lines if RETURNS.search(ln)]
    reads = sum(1 for ln in lines if READS.search(ln))
    print("# %d memory returns and %d reads in %d mails"
          % (len(calls), reads, SESSIONS * MAILS))
    for c in calls[:5]:
        print("#   " + c)
    ok(warm + replies == ["continue"] * (SESSIONS * (3 + MAILS)),
       "every mail scanned and passed", str(sorted(set(replies))))
    ok(reads >= SESSIONS * MAILS,
       "strace saw the milter read the mails", "%d reads" % reads)
    ok(len(calls) <= MAX_RETURNS,
       "%d sessions sending %d mails of 100 KB each: at most %d calls give "
       "memory back to the kernel (brk, madvise, munmap)"
       % (SESSIONS, MAILS, MAX_RETURNS), "%d calls" % len(calls))
    ok(m.alive(), "the milter runs on")
    m.stop(signal.SIGKILL)
    m = None
except Exception as e:  # a missing binary or tool is a failure
    import traceback
    traceback.print_exc()
    ok(False, "milter memory tests ran", repr(e))
finally:
    if m is not None:
        m.stop(signal.SIGKILL)
    shutil.rmtree(tmp, ignore_errors=True)
ok.exit()
