# SPDX-License-Identifier: BSD-2-Clause
"""test_update_script.py - examples/update-lists.sh does the update workflow:
compile to a temp name, verify, rename atomically, signal the servers; a bad
list leaves the live database untouched."""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clihelp import HG, TOP, Suite, both, rand_bytes, sha256  # noqa: E402

t = Suite("updscript")
SCRIPT = os.path.join(TOP, "examples", "update-lists.sh")
objs = [rand_bytes(500 + i, 100 + i) for i in range(30)]

os.makedirs(t.path("lists"))
os.makedirs(t.path("db"))
hups = t.path("hups")
pidfile = t.path("milter.pid")

# a stand-in for hashgate-milter: counts the SIGHUPs it gets
fake = subprocess.Popen([sys.executable, "-c", """
import os, signal, sys, time
def hup(s, f):
    with open(sys.argv[1], "a") as fp:
        fp.write("HUP\\n")
signal.signal(signal.SIGHUP, hup)
open(sys.argv[2], "w").write(str(os.getpid()))
while True:
    time.sleep(0.1)
""", hups, pidfile])


def nhups():
    try:
        return open(hups).read().count("HUP")
    except FileNotFoundError:
        return 0


def run(**env):
    e = dict(os.environ)
    e.update({"HASHGATE": HG, "HASHGATE_DB": t.path("db", "live.hgdb"),
              "LIST_DIR": t.path("lists"), "MILTER_PIDFILE": pidfile,
              "NGINX_RELOAD": "touch " + t.path("nginx-reloaded")})
    e.update(env)
    return subprocess.run(["sh", SCRIPT], capture_output=True, env=e,
                          timeout=60)


try:
    for _ in range(50):
        if os.path.exists(pidfile) and open(pidfile).read():
            break
        time.sleep(0.1)

    t.write("lists/vendor.txt", "".join(sha256(o) + "\n" for o in objs[:10]))
    t.write("lists/fp.txt", sha256(objs[0]) + "\n")
    t.write("lists/lists.conf", "# test lists\nvendor vendor.txt block 2024-06\n"
            "fp fp.txt allow\n")

    p = run()
    live = t.path("db", "live.hgdb")
    t.check(p.returncode == 0 and os.path.exists(live),
            "the first run installs the database", both(p))
    i = subprocess.run([HG, "info", "--verify", live], capture_output=True)
    t.check(i.returncode == 0 and b"list vendor\n  version:  2024-06" in i.stdout
            and b"kind:     allow" in i.stdout,
            "the installed database has the lists of lists.conf", both(i))
    time.sleep(0.3)
    t.check(nhups() == 1 and os.path.exists(t.path("nginx-reloaded")),
            "the milter got SIGHUP and nginx was reloaded", nhups())
    t.check([n for n in os.listdir(t.path("db")) if n != "live.hgdb"] == [],
            "no temp file is left beside the live database",
            os.listdir(t.path("db")))

    p = run()
    time.sleep(0.3)
    t.check(p.returncode == 0 and b"no change" in p.stderr and nhups() == 1,
            "an unchanged list leaves the database and the servers alone",
            both(p))

    before = open(live, "rb").read()
    t.write("lists/vendor.txt", "".join(sha256(o) + "\n" for o in objs[:20])
            + "zz-not-a-digest\n")
    p = run(STRICT="1")
    t.check(p.returncode == 1 and b"unchanged" in p.stderr
            and open(live, "rb").read() == before,
            "a bad list with STRICT=1 is refused and the live file stays",
            both(p))

    p = run()
    time.sleep(0.3)
    t.check(p.returncode == 0 and b"vendor: +10 -0" in p.stderr,
            "an update shows the diff per list", both(p))
    lk = subprocess.run([HG, "lookup", live, sha256(objs[15])],
                        capture_output=True)
    t.check(lk.returncode == 1 and nhups() == 2,
            "after the update the new digest is live and the milter was told",
            both(lk))

    t.write("lists/lists.conf", "vendor missing.txt block\n")
    p = run()
    t.check(p.returncode == 1 and b"missing.txt" in p.stderr,
            "a list file that is missing stops the update", both(p))

    # ---- a fleet: signed, incremental, installed on every node ----
    subprocess.run([HG, "keygen", t.path("sign.key")], check=True,
                   capture_output=True)
    subprocess.run([HG, "keygen", t.path("other.key")], check=True,
                   capture_output=True)
    for n in ("node1", "node2"):
        os.makedirs(t.path(n))
    t.write("nodes", "# the fleet\n%s\n\n%s\n%s\n" % (
        t.path("node1", "db.hgdb"), t.path("node2", "db.hgdb"),
        t.path("gone", "db.hgdb")))
    fleet = dict(SIGN_KEY=t.path("sign.key"),
                 TRUST_KEYS=t.path("sign.key.pub"),
                 NODES_FILE=t.path("nodes"), INCREMENTAL="1",
                 NGINX_RELOAD="")
    t.write("lists/vendor.txt", "".join(sha256(o) + "\n"
                                        for o in objs[20:25]))
    t.write("lists/retired.txt", sha256(objs[1]) + "\n")
    t.write("lists/lists.conf", "vendor vendor.txt block 3\n"
            "vendor retired.txt remove\n")
    p = run(**fleet)
    node1, node2 = t.path("node1", "db.hgdb"), t.path("node2", "db.hgdb")
    infos = [subprocess.run([HG, "info", "--key", t.path("sign.key.pub"), f],
                            capture_output=True) for f in (live, node1, node2)]
    t.check(p.returncode == 1 and b"2 of 3 nodes" in p.stderr
            and all(i.returncode == 0 for i in infos),
            "a signed update is installed here and on every reachable node, "
            "each verified with the trusted key; the unreachable node is "
            "reported and the exit status says so", both(p))
    t.check(open(node1, "rb").read() == open(live, "rb").read()
            and sorted(os.listdir(t.path("node1"))) == ["db.hgdb"]
            and oct(os.stat(node1).st_mode & 0o777) == "0o644",
            "a node's file is the live one, 0644, with no temp file left",
            os.listdir(t.path("node1")))
    lk = subprocess.run([HG, "lookup", node2, sha256(objs[15]),
                         sha256(objs[22]), sha256(objs[1])],
                        capture_output=True)
    t.check(b"vendor version 3" in lk.stdout
            and lk.stdout.count(b"not found") == 1
            and (sha256(objs[1]) + ": not found").encode() in lk.stdout,
            "INCREMENTAL=1 kept the earlier digests, added the new ones and "
            "removed the retired one", both(lk))

    # a key the fleet does not trust: nothing is installed anywhere
    before = open(node1, "rb").read()
    t.write("lists/vendor.txt", sha256(objs[26]) + "\n")
    t.write("lists/lists.conf", "vendor vendor.txt block 4\n")
    p = run(**dict(fleet, SIGN_KEY=t.path("other.key")))
    t.check(p.returncode == 1 and b"does not verify" in p.stderr
            and open(node1, "rb").read() == before
            and open(live, "rb").read() == before,
            "signed by a key the fleet does not trust: refused before the "
            "swap, here and on the nodes", both(p))
    # the nodes check on their own: a copy that does not verify there
    t.write("nodes-strict", node1 + "\n")
    bad = t.path("tampered.hgdb")
    raw = bytearray(open(live, "rb").read())
    raw[-3] ^= 1
    with open(bad, "wb") as f:
        f.write(raw)
    d = subprocess.run(["sh", os.path.join(TOP, "examples", "distribute-db.sh"),
                        bad, t.path("nodes-strict")], capture_output=True,
                       env=dict(os.environ, HASHGATE=HG,
                                TRUST_KEYS=t.path("sign.key.pub")),
                       timeout=60)
    t.check(d.returncode == 1 and b"does not verify on the node" in d.stderr
            and open(node1, "rb").read() == before
            and sorted(os.listdir(t.path("node1"))) == ["db.hgdb"],
            "distribute-db.sh: a copy that does not verify on the node is "
            "removed and the node keeps its file", both(d))
finally:
    fake.send_signal(signal.SIGTERM)
    fake.wait(timeout=10)

t.done()
