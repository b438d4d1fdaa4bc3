# SPDX-License-Identifier: BSD-2-Clause
"""hashgate-milter spoken to directly over the milter protocol.

Postfix sends one well-formed sequence per message; an MTA may also send
several messages on one connection, abort one in the middle, refuse a
recipient, not let the milter quarantine, and talk to many connections
at once while the database is reloaded. These checks drive the real milter
as an MTA would (no Postfix) and assert what the MTA is told: a listed
attachment is refused, a clean one goes on, nothing passes unscanned, and
a hold that cannot be made is deferred with a record that says so.

Synthetic data only: the listed item is seeded random bytes.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import hgmilter as hm  # noqa: E402
from hgmilter import MilterClient, final  # noqa: E402

ok = hm.Checks()
tmp = tempfile.mkdtemp(prefix="hg-milter-proto-")
os.chmod(tmp, 0o755)
milters = []

LISTED = hm.blob(4101, 6_000)
HELD = hm.blob(4103, 6_000)         # on a hold list
REJECT = "550 5.7.1 Message rejected: it contains content that is not accepted here"
TEMPFAIL = "451 4.3.0 Message could not be scanned, try again later"


def start(transport="unix", env=None, **settings):
    m = hm.Milter(tmp, DB, transport=transport, **settings)
    milters.append(m)
    return m.start(env=env)


exit_codes = []


def stop(m):
    exit_codes.append(m.stop())
    milters.remove(m)


def send(c, raw, rcpts=("<rcpt@example.net>",)):
    """One message on connection c; the verdict the MTA gets for it."""
    c.mail()
    for r in rcpts:
        c.rcpt(r)
    c.data()
    r = c.message(raw)
    if r is not None and final(r) != "continue":
        return final(r)
    return final(c.eom())


def records(m, msgid):
    return [r for r in m.records() if r.get("message_id") == msgid]


# A shared object that makes one realloc size fail, preloaded into the milter
# to reach the out-of-memory path of a recipient. A sanitizer build carries
# its own allocator in the binary, which a preload cannot replace.
FAIL_REALLOC_C = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
void *realloc(void *p, size_t n)
{
    static void *(*real)(void *, size_t);
    static long fail = -2;
    if (real == NULL) real = (void *(*)(void *, size_t)) dlsym(RTLD_NEXT, "realloc");
    if (fail == -2) { const char *e = getenv("HG_TEST_FAIL_REALLOC"); fail = e ? atol(e) : -1; }
    if ((long) n == fail) { errno = ENOMEM; return NULL; }
    return real(p, n);
}
"""


def sanitized(path):
    with open(path, "rb") as f:
        return b"__asan_init" in f.read()


try:
    hm.check_tool(hm.MILTER)
    hm.check_tool(hm.HASHGATE)
    DB = os.path.join(tmp, "db.hgdb")
    hm.compile_db(DB, {"blocked": [hm.sha256(LISTED)],
                       "held": [hm.sha256(HELD)]})

    # ---- several messages on one connection (unix socket, replies deferred) ----
    m = start()
    c = MilterClient(m, protocol=hm.NR_ALL)
    ok(c.protocol & hm.NR_BODY, "over a unix socket the milter agrees to "
       "send no reply per body chunk", "protocol %#x" % c.protocol)
    c.connect()
    c.helo()
    bad1, id1 = hm.msg_attach(LISTED)
    v = send(c, bad1, ("<a@example.net>", "<b@example.net>"))
    ok(v == REJECT, "a listed attachment is rejected at end of message when "
       "replies are deferred", v)
    rec = records(m, id1)
    ok(len(rec) == 1 and rec[0].get("rcpt_to") == ["a@example.net", "b@example.net"]
       and rec[0].get("action") == "reject",
       "its record names both recipients and the action", repr(rec))

    clean, id2 = hm.msg_attach(hm.blob(4102, 6_000))
    v = send(c, clean)
    ok(v == "continue", "the next message on the same connection, clean, goes "
       "on", v)
    bad3, id3 = hm.msg_attach(LISTED, encoding="x-uuencode")
    v = send(c, bad3)
    ok(v == REJECT, "and a third, listed again, is rejected: no verdict "
       "carries over between messages", v)

    # aborted in the middle of the body, then a new message
    c.mail()
    c.rcpt()
    c.data()
    bad4, id4 = hm.msg_attach(LISTED)
    c.message(bad4[:len(bad4) // 2])
    c.abort()
    bad5, id5 = hm.msg_attach(LISTED, filename="again.bin")
    v = send(c, bad5)
    ok(v == REJECT, "after an abort in the middle of a body the next message "
       "is scanned from its start and rejected", v)
    ok(records(m, id4) == [], "the aborted message leaves no record",
       repr(records(m, id4)))
    c.quit()

    # a connection dropped in the middle of a message, then another connection
    c = MilterClient(m, protocol=hm.NR_ALL)
    c.connect()
    c.mail()
    c.rcpt()
    c.data()
    c.message(bad4[:len(bad4) // 2])
    c.s.close()
    c = MilterClient(m)
    c.connect()
    v = send(c, bad1)
    ok(v == REJECT and m.alive(), "a connection dropped mid-message does not "
       "disturb the next one", v)
    c.quit()
    stop(m)

    # ---- no database: every message gets OnFail, deferred to its end ----
    os.rename(DB, DB + ".away")
    m = start()
    c = MilterClient(m, protocol=hm.NR_ALL)
    c.connect()
    v1 = send(c, hm.msg_plain()[0])
    v2 = send(c, hm.msg_plain()[0])
    ok(v1 == TEMPFAIL and v2 == TEMPFAIL, "without a database every message "
       "on a connection is tempfailed (OnFail tempfail)", "%s / %s" % (v1, v2))
    c.quit()
    stop(m)
    os.rename(DB + ".away", DB)

    # ---- a hold the MTA does not take: the hold first, then the records ----
    # Postfix always offers quarantine (its milter8 client offers every
    # action it has), so smfi_quarantine cannot be made to fail behind it:
    # this MTA leaves SMFIF_QUARANTINE out of the negotiation.
    m = start(ListAction="held hold")
    c = MilterClient(m, actions=0x1FF & ~0x20)
    c.connect()
    held, hid = hm.msg_attach(HELD)
    v = send(c, held)
    ok(v == TEMPFAIL, "a hold-listed mail the MTA does not let the milter "
       "quarantine is deferred (OnFail tempfail)", v)
    rec = records(m, hid)
    ok(len(rec) == 1 and rec[0].get("action") == "tempfail"
       and rec[0].get("intended_action") == "hold"
       and rec[0].get("error") == "I/O error" and "held_at" not in rec[0],
       "its record says what was done (tempfail), the hold it asked for and "
       "why, and no place it was held (it said hold)", repr(rec))
    c.quit()
    c = MilterClient(m)
    c.connect()
    c.mail()
    c.rcpt()
    c.data()
    held, hid = hm.msg_attach(HELD)
    c.message(held)
    r = c.eom()
    rec = records(m, hid)
    ok(r and r[0][0] == b"q" and final(r) == "continue" and len(rec) == 1
       and rec[0].get("action") == "hold" and rec[0].get("held_at"),
       "allowed to quarantine, the same mail is held and its record says "
       "where", "%r %r" % (r, rec))
    c.quit()
    stop(m)

    # ---- a recipient the milter has no memory for ----
    # A RCPT tempfail refuses that recipient only: the MTA goes on with the
    # others, so the message must still be scanned.
    if sanitized(hm.MILTER):
        print("# recipient out-of-memory check left out: a sanitizer build "
              "replaces the allocator a preload would fail", flush=True)
    else:
        so = os.path.join(tmp, "failrealloc.so")
        cc = subprocess.run(["cc", "-shared", "-fPIC", "-o", so, "-x", "c", "-",
                             "-ldl"], input=FAIL_REALLOC_C.encode(),
                            capture_output=True)
        ok(cc.returncode == 0, "the allocation-failure preload builds",
           cc.stderr.decode()[-300:])
        first = "<first@example.net>"
        long_local = "r" * 900
        second = "<%s@example.net>" % long_local
        # rcpts buffer: "first@example.net\0" (18) + second + "\0" + final "\0"
        fail_at = 18 + len(second) - 2 + 2
        m = start(transport="inet", env={"LD_PRELOAD": so,
                                         "HG_TEST_FAIL_REALLOC": str(fail_at)})
        c = MilterClient(m)
        c.connect()
        c.helo()
        c.mail()
        r1 = final(c.rcpt(first))
        r2 = final(c.rcpt(second))
        ok(r1 == "continue" and r2 == TEMPFAIL, "a recipient the milter "
           "cannot record gets 451, the first one is kept", "%s / %s" % (r1, r2))
        c.data()
        bad6, id6 = hm.msg_attach(LISTED)
        r = c.message(bad6)
        v = final(r) if final(r) != "continue" else final(c.eom())
        ok(v == REJECT, "the message still goes to the other recipient only "
           "after a scan: the listed attachment is rejected", v)
        c.quit()
        stop(m)

    # ---- many connections at once while the database is reloaded ----
    m = start(MaxParts="50")
    for k in range(2):
        hm.compile_db(DB + ".v%d" % k, {"blocked": [hm.sha256(LISTED)],
                                        "other%d" % k: [hm.sha256(hm.blob(4110 + k, 99))]})
    results, errors = [], []
    stop_hup = threading.Event()

    def worker(k):
        try:
            c = MilterClient(m, protocol=hm.NR_ALL if k % 2 else 0)
            c.connect()
            for i in range(12):
                listed = (i + k) % 3 == 0
                raw, _ = hm.msg_attach(LISTED if listed else hm.blob(5000 + 100 * k + i, 3_000))
                results.append((listed, send(c, raw)))
            c.quit()
        except Exception as e:  # noqa: BLE001 - reported as a failed check
            errors.append(repr(e))

    def hupper():
        n = 0
        while not stop_hup.is_set():
            shutil.copy(DB + ".v%d" % (n % 2), DB + ".new")
            os.rename(DB + ".new", DB)
            m.send_signal(signal.SIGHUP)
            n += 1
            time.sleep(0.05)

    h = threading.Thread(target=hupper)
    h.start()
    m.wait_log("database reloaded", timeout=20)
    reloads_before = m.log().count("database reloaded")
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    stop_hup.set()
    h.join()
    wrong = [(listed, v) for listed, v in results
             if (v == REJECT) != listed or v not in (REJECT, "continue")]
    ok(not errors and len(results) == 72 and not wrong,
       "6 connections at once, 72 messages, SIGHUP reloads meanwhile: every "
       "listed attachment rejected, every clean one passed",
       "%d results, wrong %r, errors %r" % (len(results), wrong[:3], errors[:2]))
    reloads_after = m.log().count("database reloaded")
    ok(m.alive() and reloads_after > reloads_before >= 1,
       "the milter reloaded during the run and is still up",
       "%d reloads before, %d after: %s" % (reloads_before, reloads_after,
                                            m.log()[-400:]))
    stop(m)
    ok(exit_codes and all(rc == 0 for rc in exit_codes),
       "every milter exited 0 on SIGTERM (a sanitizer finding would not)",
       repr(exit_codes))

except Exception as e:  # noqa: BLE001 - reported as a failed check
    ok(False, "milter protocol tests ran", repr(e))
    for m in milters:
        print("# milter log tail:\n# " + "\n# ".join(m.log().splitlines()[-15:]))
finally:
    for m in list(milters):
        m.stop()
    shutil.rmtree(tmp, ignore_errors=True)

ok.exit()
