#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_signed_db.py - servers that require a signed database (issue 19).

hashgate-milter with RequireSignature and nginx with hashgate_database_key,
each checked at start (-t / nginx -t) and on every new file while serving:
a database signed by the trusted key is used; an unsigned one, one signed
by another key, one with a byte flipped after signing (anywhere: header
with its checksum mended, digest table) is refused and the loaded database
stays in use, with the refusal logged; a good signed file swapped in
under load is taken with no mail or request lost. Keys are made by
`hashgate keygen`, databases by `hashgate compile --sign`; lists hold the
digests of seeded random bytes only.
"""

import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import hgmilter as hm  # noqa: E402
import nginx as N  # noqa: E402
from postfix import Postfix  # noqa: E402

ok = hm.Checks()
tmp = tempfile.mkdtemp(prefix="hg-signed-")
os.chmod(tmp, 0o755)

A = hm.blob(1901, 30_000)    # on the first database
B = hm.blob(1902, 30_000)    # on the next ones
HDR_SIG_AT = 768             # docs/db-format.md: format 3's signature block
HDR_META_LEN = 48


def run(*args):
    return subprocess.run([hm.HASHGATE] + list(args), capture_output=True,
                          text=True, timeout=120)


def keygen(name):
    path = os.path.join(tmp, name)
    r = run("keygen", path)
    if r.returncode != 0:
        raise RuntimeError("keygen: " + r.stderr)
    return path, r.stdout.strip()


def compile_db(out, data, key=None, name="blocked"):
    """A database listing data's SHA-256, signed by key (None: unsigned),
    written beside out and renamed over it."""
    src = out + ".txt"
    with open(src, "w") as f:
        f.write(hm.sha256(data) + "\n")
    args = ["compile", "-o", out + ".new", "%s=%s" % (name, src)]
    if key:
        args += ["--sign", key]
    r = run(*args)
    if r.returncode != 0:
        raise RuntimeError("compile: " + r.stderr)
    os.chmod(out + ".new", 0o644)
    os.rename(out + ".new", out)
    return out


def tamper(path, out, at=None, header_field=None):
    """Flip one byte of a copy of path; header_field: flip a byte of the
    creation time and mend the header checksum, as one who knows the
    format would (only the signature can then tell)."""
    with open(path, "rb") as f:
        raw = bytearray(f.read())
    if header_field:
        raw[16] ^= 1
        r = subprocess.run([os.path.join(hm.BIN, "tools", "db_meta_sum")],
                           input=bytes(raw), capture_output=True)
        if r.returncode != 0 or len(r.stdout) != 32:
            raise RuntimeError("db_meta_sum: %s" % r.stderr)
        raw[320:352] = r.stdout
    else:
        raw[at] ^= 0x20
    with open(out, "wb") as f:
        f.write(raw)
    os.chmod(out, 0o644)
    return out


def install(src, dst):
    shutil.copy(src, dst + ".inst")
    os.chmod(dst + ".inst", 0o644)
    os.rename(dst + ".inst", dst)


m = pf = ng = None
try:
    hm.check_tool(hm.MILTER)
    hm.check_tool(hm.HASHGATE)
    k1, id1 = keygen("k1")
    k2, id2 = keygen("k2")
    trusted = k1 + ".pub"
    variants = os.path.join(tmp, "variants")
    os.makedirs(variants)
    v = {}
    v["good-a"] = compile_db(os.path.join(variants, "good-a"), A, k1)
    v["good-b"] = compile_db(os.path.join(variants, "good-b"), B, k1)
    v["unsigned-b"] = compile_db(os.path.join(variants, "unsigned-b"), B)
    v["other-key-b"] = compile_db(os.path.join(variants, "other-key-b"), B,
                                  k2)
    size = os.path.getsize(v["good-b"])
    v["flipped-data-b"] = tamper(v["good-b"], v["good-b"] + ".data",
                                 at=size - 7)
    v["flipped-header-b"] = tamper(v["good-b"], v["good-b"] + ".header",
                                   header_field=True)
    # stripped: the block zeroed, the header checksum does not cover it
    with open(v["good-b"], "rb") as f:
        raw = bytearray(f.read())
    raw[HDR_SIG_AT:HDR_SIG_AT + 256] = bytes(256)
    v["stripped-b"] = os.path.join(variants, "stripped-b")
    with open(v["stripped-b"], "wb") as f:
        f.write(raw)
    os.chmod(v["stripped-b"], 0o644)
    refusals = {
        "unsigned-b": "not signed",
        "stripped-b": "not signed",
        "other-key-b": "not among the trusted keys",
        "flipped-data-b": "checksum",
        "flipped-header-b": "does not verify",
    }

    # ---- hashgate-milter ----
    mdir = os.path.join(tmp, "milter")
    os.makedirs(mdir)
    os.chmod(mdir, 0o755)
    dbpath = os.path.join(mdir, "db.hgdb")
    install(v["good-a"], dbpath)
    m = hm.Milter(mdir, dbpath, ReloadInterval="0",
                  RequireSignature=trusted)

    def check_conf():
        m.write_conf()
        return subprocess.run([hm.MILTER, "-t", "-c", m.conf],
                              capture_output=True, text=True, timeout=60)

    r = check_conf()
    ok(r.returncode == 0, "milter -t: a database signed by the trusted key "
       "passes", r.stderr)
    for name, why in refusals.items():
        install(v[name], dbpath)
        r = check_conf()
        ok(r.returncode != 0 and why in r.stderr,
           "milter -t: a database %s is refused (%s)" % (name, why),
           "rc %d: %s" % (r.returncode, r.stderr.strip()))
    install(v["good-a"], dbpath)
    for bad, why in ((os.path.join(tmp, "nokey.pub"), "cannot open"),
                     (k1, "not PEM public keys"),
                     ("k1.pub", "must be absolute")):
        m.settings["RequireSignature"] = bad
        r = check_conf()
        line = next((i + 1 for i, ln in enumerate(open(m.conf))
                     if ln.startswith("RequireSignature")), 0)
        ok(r.returncode != 0 and "%s:%d:" % (m.conf, line) in r.stderr
           and why in r.stderr,
           "milter -t: RequireSignature %s names the file and line (%s)"
           % (os.path.basename(bad), why), r.stderr.strip())
    m.settings["RequireSignature"] = trusted

    m.start()
    pf = Postfix(milter=m.postfix_spec, base=os.path.join(tmp, "pf"))
    pf.start()

    def mail(data, n):
        msg, _ = hm.msg_attach(data, msgid="<s%d@hashgate.test>" % n)
        return pf.send(msg)[0]

    ok(mail(A, 1) == 550 and mail(B, 2) == 250,
       "milter: the signed database is in use (A rejected, B passes)")
    n = 10
    for name, why in refusals.items():
        before = m.log().count("new database refused")
        install(v[name], dbpath)
        m.send_signal(signal.SIGHUP)
        refused = m.wait_log("new database refused", count=before + 1)
        last = m.log().split("new database refused")[-1].split("\n")[0]
        n += 2
        ok(refused and why in last and mail(A, n) == 550
           and mail(B, n + 1) == 250,
           "milter: a new file %s is refused (%s), logged, and the loaded "
           "database stays in use" % (name, why), last.strip())

    # a good signed file under load: every mail judged by one database
    NMAILS, SESSIONS = 80, 4
    results = [None] * NMAILS
    lock = threading.Lock()
    nxt = [0]

    def worker():
        while True:
            with lock:
                i = nxt[0]
                nxt[0] += 1
            if i >= NMAILS:
                return
            try:
                code = mail(A if i % 2 == 0 else B, 1000 + i)
            except Exception:   # noqa: BLE001 - a lost mail is a result
                code = 0
            results[i] = code

    threads = [threading.Thread(target=worker) for _ in range(SESSIONS)]
    for t in threads:
        t.start()
    while nxt[0] < NMAILS // 3:
        time.sleep(0.01)
    reloads = m.log().count("database reloaded")
    install(v["good-b"], dbpath)
    m.send_signal(signal.SIGHUP)
    for t in threads:
        t.join()
    lost = [c for c in results if c not in (250, 550)]
    ok(m.wait_log("database reloaded", count=reloads + 1) and not lost,
       "milter: a good signed database swapped in during %d mails in %d "
       "sessions: taken, no mail lost" % (NMAILS, SESSIONS),
       "codes other than 250/550: %s" % lost[:5])
    ok(mail(A, 2000) == 250 and mail(B, 2001) == 550,
       "milter: after the swap the new signed database decides")
    pf.stop()
    pf = None
    m.stop()
    m = None

    # ---- nginx ----
    os.makedirs(os.path.join(tmp, "ng"))
    ng = N.Nginx("", tmp=os.path.join(tmp, "ng"))
    ngdb = os.path.join(ng.tmp, "db.hgdb")
    install(v["good-a"], ngdb)
    body = r"""
    hashgate_database {tmp}/db.hgdb;
    hashgate_database_key %s;
    server {
        listen 127.0.0.1:{port};
        hashgate on;
        location / { proxy_pass http://recorder; }
    }
""" % trusted
    rc, out, _ = ng.test_conf(body)
    ok(rc == 0, "nginx -t: a database signed by the trusted key passes", out)
    swapped = body.replace("    hashgate_database {tmp}/db.hgdb;\n", "") \
                  .replace("hashgate_database_key %s;" % trusted,
                           "hashgate_database_key %s;\n    hashgate_database "
                           "{tmp}/db.hgdb;" % trusted)
    for name, why in refusals.items():
        install(v[name], ngdb)
        for order, text in (("key after", body), ("key before", swapped)):
            rc, out, _ = ng.test_conf(text)
            ok(rc != 0 and why in out,
               "nginx -t (%s the database): a database %s is refused (%s)"
               % (order, name, why), out.strip()[-300:])
    install(v["good-a"], ngdb)
    for bad, why in ((os.path.join(tmp, "nokey.pub"), "cannot open"),
                     (k1, "not PEM public keys")):
        rc, out, _ = ng.test_conf(body.replace(trusted, bad))
        ok(rc != 0 and "hashgate_database_key" in out and why in out
           and "test.conf:" in out,
           "nginx -t: hashgate_database_key %s is refused, naming the "
           "directive and line (%s)" % (os.path.basename(bad), why),
           out.strip()[-300:])

    ng.write_conf(body)
    ng.start()

    def upload(data):
        return N.http_request(ng.port, "PUT", "/u", data)[0]

    def settle(want_a, want_b, timeout=6):
        """Ask until both workers answer as wanted (each checks the file
        about once a second)."""
        deadline = time.time() + timeout
        good = 0
        while time.time() < deadline:
            if upload(A) == want_a and upload(B) == want_b:
                good += 1
                if good >= 8:
                    return True
            else:
                good = 0
            time.sleep(0.1)
        return False

    ok(settle(403, 200), "nginx: the signed database is in use (A stopped, "
       "B passes)")
    for name, why in refusals.items():
        mark = len(ng.error_log())
        install(v[name], ngdb)
        time.sleep(2.5)       # every worker has looked at the file
        log = ng.error_log()[mark:]
        ok("new database refused" in log and why in log and settle(403, 200),
           "nginx: a new file %s is refused by the workers (%s), logged, and "
           "the loaded database stays in use" % (name, why),
           log.strip()[-300:])
        # a configuration reload with it is refused by the master
        mark = len(ng.error_log())
        old = set(ng.worker_pids())
        ng.reload(wait_new=False)
        time.sleep(1.0)
        log = ng.error_log()[mark:]
        ok(set(ng.worker_pids()) == old and why in log and settle(403, 200),
           "nginx -s reload with a database %s: refused, the workers keep "
           "serving" % name, log.strip()[-300:])
    install(v["good-a"], ngdb)

    # a good signed file under load
    stop = threading.Event()
    statuses = []

    def client(data):
        while not stop.is_set():
            st = upload(data)
            statuses.append((data is A, st))

    threads = [threading.Thread(target=client, args=(d,))
               for d in (A, B, A, B)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    install(v["good-b"], ngdb)
    ok(settle(200, 403), "nginx: a good signed database swapped in under "
       "load is taken by every worker")
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join()
    lost = [s for _, s in statuses if s not in (200, 403)]
    ok(len(statuses) > 40 and not lost,
       "nginx: %d uploads during the swap, none failed" % len(statuses),
       "statuses other than 200/403: %s" % lost[:5])
    ok(not ng.crashes(), "nginx: no worker crashed", ng.crashes())
finally:
    if pf:
        pf.stop()
    if m:
        m.stop()
    if ng:
        ng.cleanup()
    shutil.rmtree(tmp, ignore_errors=True)
ok.exit()
