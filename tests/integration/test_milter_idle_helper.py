# SPDX-License-Identifier: BSD-2-Clause
"""hashgate-milter behind a real, private Postfix: an inspection helper that
dies while idle (killed by pid between two mails) costs no mail a 451.

Each round mails a clean zip (its helper stays up, idle), kills every
idle helper of the milter (SIGKILL, SIGTERM or SIGSEGV; at once before the
next mail, or a moment before it), then mails a zip holding a listed file:
every such mail is rejected as its list says, with its record, none gets
the fail verdict. Then the same with each helper caught dying: killed, but
held by ptrace at its exit with its socket still open (what a helper
tearing down its memory looks like on a busy machine, made the same on
every run), released once the mail has reached the milter. Archives come
from tests/lib/archives.py (seeded random bytes).
"""

import ctypes
import os
import signal
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import archives  # noqa: E402
import hgmilter as hm  # noqa: E402
from postfix import Postfix  # noqa: E402

ok = hm.Checks()
tmp = tempfile.mkdtemp(prefix="hg-milter-idle-")
os.chmod(tmp, 0o755)
pf = None
m = None

REPLY = "550 5.7.1 Message rejected: it contains content that is not accepted here"


libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p,
                        ctypes.c_void_p]
PTRACE_DETACH = 17
PTRACE_SEIZE = 0x4206
PTRACE_O_TRACEEXIT = 0x40


def ptrace(req, pid, addr, data):
    return libc.ptrace(req, pid, ctypes.c_void_p(addr), ctypes.c_void_p(data))


def stopped_at_exit(pid, timeout=5):
    """Wait until pid, traced with PTRACE_O_TRACEEXIT and killed, stops at
    its exit: its descriptors (the helper's socket) still open."""
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


def helpers():
    """The pids of the milter's children (its inspection helpers)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        # a zombie (state Z) is a dead helper not yet reaped
        if int(fields[1]) == m.pid and fields[0] != "Z":
            out.append(int(d))
    return sorted(out)


try:
    hm.check_tool(hm.MILTER)
    hm.check_tool(os.path.join(hm.BIN, "hashgate-inspect"))

    path = os.path.join(tmp, "listed.zip")
    res = archives.make("zip", path, seed=700)
    with open(path, "rb") as f:
        ZIP = f.read()
    key = sorted(res)[0]
    db = hm.compile_db(os.path.join(tmp, "db.hgdb"), {"rejlist": [res[key]]})

    m = hm.Milter(tmp, db, ListAction=["rejlist reject"])
    m.start(timeout=20)
    pf = Postfix(milter=m.postfix_spec, base=os.path.join(tmp, "pf"))
    pf.start()

    archives.make("zip", os.path.join(tmp, "clean.zip"), seed=701)
    with open(os.path.join(tmp, "clean.zip"), "rb") as f:
        CLEAN = f.read()

    def idle_helpers():
        """Mail a clean zip (read to its end, its helper stays up) and
        return the helpers running then, all idle."""
        msg, mid = hm.msg_attach(CLEAN, filename="clean.zip",
                                 ctype="application/octet-stream")
        r = pf.send(msg)
        return r[0], helpers()

    def listed(tag):
        msg, mid = hm.msg_attach(ZIP, filename="listed.zip",
                                 ctype="application/octet-stream")
        r = pf.send(msg)
        recs = m.records_for(mid)
        good = (r[0] == 550 and len(recs) == 1
                and recs[0].get("action") == "reject"
                and recs[0].get("part") == "2!" + key)
        return good, "%s: %d %s, %d records" % (tag, r[0], r[1], len(recs))

    # ---- killed between two mails (what an operator or the OOM killer
    # does) ----
    rounds = [(signal.SIGKILL, 0), (signal.SIGKILL, 0), (signal.SIGTERM, 0),
              (signal.SIGSEGV, 0), (signal.SIGKILL, 0.5), (signal.SIGKILL, 0)]
    said, good_all = [], True
    for sig, pause in rounds:
        code, victims = idle_helpers()
        for pid in victims:
            os.kill(pid, sig)
        if pause:
            time.sleep(pause)
        good, line = listed("%s of %s" % (signal.Signals(sig).name,
                                           victims))
        good_all = good_all and good and code == 250 and len(victims) > 0
        said.append(line)
    ok(good_all, "each of %d mails after its idle helpers were killed is "
       "rejected as its list says, with its record; none gets 451"
       % len(rounds), "\n".join(said))

    # ---- caught dying: the helper has its fatal signal but still holds
    # its socket (a process tearing down its memory; here held at its
    # exit by ptrace, so the moment is the same on every run) ----
    said, good_all, traced = [], True, True
    for i in range(3):
        code, victims = idle_helpers()
        held = []
        for pid in victims:
            if ptrace(PTRACE_SEIZE, pid, 0, PTRACE_O_TRACEEXIT) != 0:
                traced = False
                continue
            held.append(pid)
            os.kill(pid, signal.SIGKILL)
        for pid in held:
            stopped_at_exit(pid)
        box = {}
        th = threading.Thread(target=lambda: box.update(r=listed(
            "dying %s" % held)))
        th.start()
        # the mail reaches the milter meanwhile; then let them end
        time.sleep(1.5)
        for pid in held:
            ptrace(PTRACE_DETACH, pid, 0, 0)
        th.join(60)
        good, line = box.get("r", (False, "no reply"))
        good_all = good_all and good and len(held) > 0
        said.append(line)
    ok(traced, "the test could hold a helper at its exit (ptrace)")
    ok(good_all, "a mail sent while its idle helper is dying (killed, socket "
       "still open) goes to a new helper: rejected as listed, not 451",
       "\n".join(said))
    ok("archive not checked" not in m.log(),
       "the log has no 'archive not checked' for a helper that died idle",
       "\n".join(x for x in m.log().split("\n")
                 if "archive not checked" in x)[-600:])

finally:
    if m is not None:
        m.stop(signal.SIGKILL)
    if pf is not None:
        pf.close()
    if os.environ.get("HG_KEEP") is None:
        shutil.rmtree(tmp, ignore_errors=True)

ok.exit()
