# SPDX-License-Identifier: BSD-2-Clause
"""hashgate-milter database swaps under load, and database faults.

200 mails go through a private Postfix in 4 parallel sessions while the
database is replaced (atomic rename + SIGHUP) and SIGHUPs rain on the
milter: every mail must be classified by the old list or the new one,
mails sent after the swap by the new one, and none lost (no 4xx, every
accepted mail at the sink). Then the file is replaced by garbage, by a
truncated copy, and deleted: the milter keeps the last good database and
says so; a good file is picked up again by the periodic identity check
without any signal. The mapped file truncated in place under the running
milter gives OnFail, not a crash. Restarted on a bad or missing file, the milter runs,
applies OnFail to every mail, and takes a good file once it is there.
"""

import os
import shutil
import signal
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import hgmilter as hm  # noqa: E402
from postfix import Postfix  # noqa: E402

ok = hm.Checks()
tmp = tempfile.mkdtemp(prefix="hg-milter-reload-")
os.chmod(tmp, 0o755)
pf = None
m = None

A = hm.blob(201, 40_000)    # listed in the old database
B = hm.blob(202, 40_000)    # listed in the new one
NMAILS = 200
SESSIONS = 4


def classify(item, code):
    """Which database decided: 'old', 'new', or None (lost/other)."""
    if code == 550:
        return "old" if item == "A" else "new"
    if code == 250:
        return "new" if item == "A" else "old"
    return None


try:
    hm.check_tool(hm.MILTER)
    hm.check_tool(hm.HASHGATE)
    dbpath = os.path.join(tmp, "db.hgdb")
    hm.compile_db(dbpath, {"blocked": ([hm.sha256(A)], "old")})
    old_copy = dbpath + ".oldcopy"
    shutil.copy(dbpath, old_copy)
    logs = os.path.join(tmp, "logs")      # writable by the milter's user,
    os.makedirs(logs)                     # as logrotate's "create" makes it
    shutil.chown(logs, hm.RUN_AS)
    m = hm.Milter(tmp, dbpath, ReloadInterval="0",
                  EvidenceLog=os.path.join(logs, "evidence.log"))
    m.evidence = m.settings["EvidenceLog"]
    m.start()
    pf = Postfix(milter=m.postfix_spec, base=os.path.join(tmp, "pf"))
    pf.start()

    msgs = []
    for i in range(NMAILS):
        item = "A" if i % 2 == 0 else "B"
        msg, mid = hm.msg_attach(A if item == "A" else B, msgid="<r%d@hashgate.test>" % i)
        msgs.append((item, msg, mid))
    results = [None] * NMAILS
    lock = threading.Lock()
    next_i = [0]
    swap = {}

    def worker():
        while True:
            with lock:
                i = next_i[0]
                next_i[0] += 1
            if i >= NMAILS:
                return
            item, msg, mid = msgs[i]
            t0 = time.time()
            try:
                code, text = pf.send(msg)
            except Exception as e:   # noqa: BLE001 - a lost mail is a result
                code, text = 0, repr(e)
            results[i] = (item, code, text, t0, time.time(), mid)

    def storm():
        # SIGHUPs all through the run, before and after the swap
        while any(r is None for r in results[-SESSIONS:]):
            m.send_signal(signal.SIGHUP)
            time.sleep(0.02)

    threads = [threading.Thread(target=worker) for _ in range(SESSIONS)]
    threads.append(threading.Thread(target=storm))
    for t in threads:
        t.start()
    while next_i[0] < NMAILS // 2:
        time.sleep(0.01)
    reloads_before = m.log().count("database reloaded")
    new = dbpath + ".new"
    hm.compile_db(new, {"blocked": ([hm.sha256(B)], "new")})
    swap["renamed"] = time.time()
    os.rename(new, dbpath)
    m.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while time.time() < deadline and "blocked:new" not in m.log():
        time.sleep(0.01)
    swap["loaded"] = time.time()
    for t in threads:
        t.join()

    lost = [r for r in results if r is None or classify(r[0], r[1]) is None]
    ok(not lost, "%d mails in %d sessions during a swap and a SIGHUP storm: "
       "every one classified by the old or the new list" % (NMAILS, SESSIONS),
       "unclassified: %s" % [(r[1], r[2]) if r else None for r in lost[:5]])
    early = [r for r in results if r and r[4] < swap["renamed"]]
    late = [r for r in results if r and r[3] > swap["loaded"]]
    ok(early and all(classify(r[0], r[1]) == "old" for r in early),
       "mails finished before the swap were judged by the old list (%d)" % len(early))
    ok(late and all(classify(r[0], r[1]) == "new" for r in late),
       "mails sent after the reload was logged were judged by the new list (%d)"
       % len(late))
    accepted = [r[5] for r in results if r and r[1] == 250]
    pf.wait_delivered(len(accepted) + 0, timeout=30)
    at_sink = {x["Message-ID"] for x in pf.sink_messages()}
    ok(all(mid in at_sink for mid in accepted),
       "every accepted mail (%d) reached the sink" % len(accepted),
       "missing %d" % len([x for x in accepted if x not in at_sink]))
    ok(m.alive() and m.log().count("database reloaded") > reloads_before,
       "the milter survived the SIGHUP storm and reloaded", "")

    # logrotate moves the evidence log away; SIGHUP makes a new one
    rotated = m.evidence + ".1"
    os.rename(m.evidence, rotated)
    hups = m.log().count("SIGHUP: reopening")
    m.send_signal(signal.SIGHUP)
    m.wait_log("SIGHUP: reopening", count=hups + 1)
    msg, mid = hm.msg_attach(B)
    code, _ = pf.send(msg)
    ok(code == 550 and len(m.records_for(mid)) == 1
       and os.stat(m.evidence).st_mode & 0o777 == 0o640,
       "after logrotate and SIGHUP, records go to a new 0640 evidence log")

    def judged():
        code, _ = pf.send(hm.msg_attach(B)[0])
        return code

    # garbage replaces the file: refused, the good one stays
    with open(new, "wb") as f:
        f.write(hm.blob(9, 100_000))
    os.rename(new, dbpath)
    m.send_signal(signal.SIGHUP)
    ok(m.wait_log("new database refused"),
       "a garbage database file is refused and logged")
    ok(judged() == 550 and m.alive(),
       "after the refused garbage, mail is still judged by the last good list")

    # a truncated copy (half a good file)
    with open(old_copy, "rb") as f:
        half = f.read()
    with open(new, "wb") as f:
        f.write(half[: len(half) // 2])
    os.rename(new, dbpath)
    refused = m.log().count("new database refused")
    m.send_signal(signal.SIGHUP)
    ok(m.wait_log("new database refused", count=refused + 1),
       "a truncated database file is refused and logged")
    ok(judged() == 550, "after the truncated file, the last good list still applies")

    # the file deleted
    os.unlink(dbpath)
    m.send_signal(signal.SIGHUP)
    ok(m.wait_log("No such file or directory; keeping the loaded one"),
       "a deleted database file is logged, the loaded one kept")
    ok(judged() == 550, "with the file deleted, mail is still judged")

    # the periodic identity check, no signal: restart with ReloadInterval 1
    m.stop(signal.SIGKILL)
    shutil.copy(old_copy, dbpath)
    m.settings["ReloadInterval"] = "1"
    m.start()
    code, _ = pf.send(hm.msg_attach(A)[0])
    ok(code == 550, "restarted on the old database: the old item is refused")
    hm.compile_db(new, {"blocked": ([hm.sha256(B)], "v3")})
    os.rename(new, dbpath)
    ok(m.wait_log("blocked:v3", timeout=10),
       "ReloadInterval: a new file is picked up without a signal")
    code_a, _ = pf.send(hm.msg_attach(A)[0])
    code_b, _ = pf.send(hm.msg_attach(B)[0])
    ok(code_a == 250 and code_b == 550,
       "after the periodic reload the new list decides", "%d %d" % (code_a, code_b))

    # a restart on a bad database: OnFail for every mail until a good file
    m.stop(signal.SIGKILL)
    with open(new, "wb") as f:
        f.write(hm.blob(10, 50_000))
    os.rename(new, dbpath)
    m.start()
    ok(m.wait_log("running without a database"),
       "started on a garbage database: runs and logs that it has none")
    code, text = pf.send(hm.msg_plain()[0])
    ok(code == 451, "started on a garbage database, OnFail tempfail: mail gets 451",
       "%d %s" % (code, text))
    hm.compile_db(new, {"blocked": ([hm.sha256(B)], "v4")})
    os.rename(new, dbpath)
    ok(m.wait_log("blocked:v4", timeout=10),
       "a good file put in place later is picked up without a restart")
    code_a, _ = pf.send(hm.msg_attach(A)[0])
    code_b, _ = pf.send(hm.msg_attach(B)[0])
    ok(code_a == 250 and code_b == 550, "then mail is judged by it",
       "%d %d" % (code_a, code_b))

    # the mapped file itself truncated in place (cp over it, not a rename),
    # with no periodic check to notice first: the next lookup reads pages
    # that are gone, which without the SIGBUS guard kills the milter
    m.stop(signal.SIGKILL)
    m.settings["ReloadInterval"] = "0"
    m.start()
    code_b, _ = pf.send(hm.msg_attach(B)[0])
    ok(code_b == 550, "restarted without a periodic check: the listed item "
       "is refused", str(code_b))
    os.truncate(dbpath, 0)
    code, text = pf.send(hm.msg_attach(B)[0])
    ok(code == 451 and m.alive(),
       "the database truncated in place under the running milter: the mail "
       "gets OnFail (451) and the milter does not crash",
       "%d %s alive=%s" % (code, text, m.alive()))
    ok(m.wait_log("truncated in place under its mapping"),
       "the truncation is logged as the reason the mail was not checked")
    code, text = pf.send(hm.msg_plain()[0])
    ok(code == 451 and m.alive(),
       "later mail gets OnFail too: nothing passes on the lost database",
       "%d %s" % (code, text))
    hm.compile_db(new, {"blocked": ([hm.sha256(B)], "v5")})
    os.rename(new, dbpath)
    m.send_signal(signal.SIGHUP)
    ok(m.wait_log("blocked:v5", timeout=10),
       "a good file installed by rename is loaded on SIGHUP")
    code_a, _ = pf.send(hm.msg_plain()[0])
    code_b, _ = pf.send(hm.msg_attach(B)[0])
    ok(code_a == 250 and code_b == 550,
       "and mail is judged again: clean delivered, listed refused",
       "%d %d" % (code_a, code_b))

    m.stop(signal.SIGKILL)
    os.unlink(dbpath)
    m.settings["OnFail"] = "accept"
    m.start()
    code, text = pf.send(hm.msg_plain()[0])
    ok(code == 250 and m.wait_log("OnFail accept: delivered unscanned"),
       "started with no database file, OnFail accept: delivered and logged as unscanned",
       "%d %s" % (code, text))

except Exception as e:  # a missing binary or server is a failure
    import traceback
    traceback.print_exc()
    ok(False, "milter reload tests ran", repr(e))
finally:
    if m is not None:
        m.stop(signal.SIGKILL)
    if pf is not None:
        if ok.failed:
            print("# maillog tail:\n# " + pf.log_tail(15).replace("\n", "\n# "))
        pf.close()
    if ok.failed and m is not None:
        print("# milter log tail:\n# " + "\n# ".join(m.log().splitlines()[-20:]))
    shutil.rmtree(tmp, ignore_errors=True)
ok.exit()
