# SPDX-License-Identifier: BSD-2-Clause
"""hashgate-milter bounds glibc's malloc arenas.

libmilter serves connections from a pool of worker threads that grows
with the sessions busy at once, and glibc gives threads up to 8 arenas per
core, each keeping what was freed into it. The milter sets M_ARENA_MAX to
4 at start-up: many concurrent connections, each sending mail, must then
leave at most 3 arenas besides the main one (without the bound glibc made
15 on two cores). The same load with MALLOC_ARENA_MAX=64 in the
environment (an operator's choice, which wins) shows that the count is
read from the process: there it grows past 3.

A non-main arena is a heap glibc maps 64 MiB-aligned and 64 MiB long: a
read-write anonymous mapping at an aligned address, followed by the
PROT_NONE rest of the reservation. /proc/PID/maps shows them.
"""

import os
import shutil
import signal
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import hgmilter as hm  # noqa: E402

ok = hm.Checks()
tmp = tempfile.mkdtemp(prefix="hg-milter-arenas-")
os.chmod(tmp, 0o755)

HEAP = 64 << 20         # glibc's HEAP_MAX_SIZE on 64-bit
BOUND = 4               # HG_MALLOC_ARENAS in milter/main.c, main arena included
CLIENTS = 48
ROUNDS = 3


def arena_heaps(pid):
    """Anonymous 64 MiB-aligned reservations of 64 MiB: glibc's heaps."""
    maps = []
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            fields = line.split()
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            maps.append((lo, hi, fields[1], fields[5] if len(fields) > 5 else ""))
    n = 0
    for i, (lo, hi, perm, path) in enumerate(maps):
        if path or perm != "rw-p" or lo % HEAP:
            continue
        end, j = hi, i + 1
        # the rest of the reservation is PROT_NONE (it may be merged with
        # a neighbouring PROT_NONE mapping, so it can run past the heap)
        while end < lo + HEAP and j < len(maps) and maps[j][0] == end \
                and not maps[j][3] and maps[j][2] == "---p":
            end = maps[j][1]
            j += 1
        if end >= lo + HEAP:
            n += 1
    return n


def load(m):
    """CLIENTS connections at once, each sending ROUNDS mails of about
    half a megabyte: libmilter's worker pool grows a thread for each
    session with data ready while the others are busy. Returns the
    replies at end of message."""
    msgs = [hm.msg_attach(hm.blob(710 + i, 400_000))[0] for i in range(4)]
    return hm.concurrent_mails(m, msgs, CLIENTS, ROUNDS)

m = None
try:
    hm.check_tool(hm.MILTER)
    hm.check_tool(hm.HASHGATE)
    db = hm.compile_db(os.path.join(tmp, "db.hgdb"),
                       {"blocked": [hm.sha256(hm.blob(700, 1000))]})

    # the bound under test is the milter's own, not one we were given
    os.environ.pop("MALLOC_ARENA_MAX", None)
    m = hm.Milter(tmp, db)
    m.start()
    replies = load(m)
    heaps = arena_heaps(m.pid)
    print("# %d arena heaps besides the main arena" % heaps)
    ok(replies == ["continue"] * (CLIENTS * ROUNDS),
       "%d concurrent connections: every mail scanned and passed" % CLIENTS,
       str(sorted(set(replies))))
    ok(heaps <= BOUND - 1, "after %d concurrent connections the milter has "
       "at most %d malloc arenas besides the main one" % (CLIENTS, BOUND - 1),
       "%d arena heaps" % heaps)
    ok(m.alive(), "the milter runs on")
    m.stop(signal.SIGKILL)

    # an operator's MALLOC_ARENA_MAX wins; it also shows the count is real
    m = hm.Milter(tmp, db)
    m.start(env={"MALLOC_ARENA_MAX": "64"})
    replies = load(m)
    heaps = arena_heaps(m.pid)
    print("# MALLOC_ARENA_MAX=64: %d arena heaps" % heaps)
    ok(len(replies) == CLIENTS * ROUNDS and heaps > BOUND - 1,
       "with MALLOC_ARENA_MAX=64 set by the operator the same load makes more "
       "arenas (the count sees them; the environment wins)",
       "%d arena heaps" % heaps)
    m.stop(signal.SIGKILL)
    m = None
except Exception as e:  # a missing binary or server is a failure
    import traceback
    traceback.print_exc()
    ok(False, "milter arena tests ran", repr(e))
finally:
    if m is not None:
        m.stop(signal.SIGKILL)
    shutil.rmtree(tmp, ignore_errors=True)
ok.exit()
