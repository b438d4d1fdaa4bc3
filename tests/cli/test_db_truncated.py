# SPDX-License-Identifier: BSD-2-Clause
"""test_db_truncated.py - a database rewritten in place while `hashgate`
has it open: the scan says so and exits 2, it does not die of SIGBUS and
does not call the objects clean.

`hashgate scan -d DB - FILE` opens the database, then blocks reading its
stdin (a pipe we hold open); the database is truncated in place meanwhile
(as `cp other.db DB` would), then stdin is closed: looking up what it read
meets pages the file no longer has."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clihelp import CREATED, HG, Suite, both, rand_bytes, sha256  # noqa: E402

t = Suite("truncated")
listed = rand_bytes(901, 5000)
files = [rand_bytes(910 + i, 300) for i in range(3000)]   # a many-page file
t.write("list.txt", "".join(sha256(f) + "\n" for f in [listed] + files))
item = t.write("listed.bin", listed)
p = t.run("compile", "-o", "db", "cam=list.txt")
t.check(p.returncode == 0, "a database of 3001 digests compiles", both(p))
p = t.run("scan", "-d", "db", item)
t.check(p.returncode == 1 and b"FOUND" in p.stdout,
        "before: the listed file is found (exit 1)", both(p))

env = dict(os.environ, HASHGATE_CREATED=CREATED)
proc = subprocess.Popen([HG, "scan", "-d", "db", "-", item], cwd=t.dir,
                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, env=env)
proc.stdin.write(listed[:1000])
proc.stdin.flush()
time.sleep(0.5)                     # it has opened and mapped the database
os.truncate(t.path("db"), 0)        # rewritten in place, not renamed
out, errout = proc.communicate(listed[1000:], timeout=60)   # then EOF
o, e = out.decode(), errout.decode()
t.check(proc.returncode == 2,
        "a database truncated in place during a scan: exit 2 (an error), "
        "not a crash (%s)" % proc.returncode, o + e)
t.check("truncated in place" in e and e.count("not checked") == 2,
        "both objects are reported not checked, naming the cause", e)
t.check("OK" not in o and "FOUND" not in o,
        "neither object is called clean or found", o)

p = t.run("lookup", "db", sha256(listed))
t.check(p.returncode == 2 and "truncated" in p.stderr.decode(),
        "afterwards the file is refused with a clear error (exit 2)", both(p))
t.done()
