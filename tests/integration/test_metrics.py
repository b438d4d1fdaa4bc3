# SPDX-License-Identifier: BSD-2-Clause
"""Metrics (issue 19): the counters move as mails and uploads pass, the text
passes promtool, and a real Prometheus scrapes both servers.

A real milter behind a real, private Postfix (MetricsListen on 127.0.0.1;
another on ::1),
a second milter driven over the milter protocol (no database, evidence to
/dev/full, MetricsListen on a unix socket), and a real nginx with two
workers (hashgate_metrics in a location: counters summed in shared
memory). Every check scrapes /metrics over HTTP. Synthetic data only:
seeded random bytes on lists compiled at test time.
"""

import http.client
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
import io

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import archives  # noqa: E402
import hgmilter as hm  # noqa: E402
import nginx as N  # noqa: E402
from postfix import Postfix  # noqa: E402

ok = hm.Checks()
PROMTOOL = "/usr/bin/promtool"
PROMETHEUS = "/usr/bin/prometheus"

REJ = hm.blob(901, 40_000)
LOG = hm.blob(902, 20_000)
CLEAN = hm.blob(903, 30_000)
NEW = hm.blob(904, 10_000)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def scrape(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.headers.get("Content-Type"), r.read().decode()


def scrape_unix(path):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(path)
    s.sendall(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
    data = b""
    while True:
        c = s.recv(65536)
        if not c:
            break
        data += c
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode()


def value(text, series):
    """The sample of series (name{labels} exactly as rendered), or None."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line[len(series) + 1:])
    return None


def promtool(text):
    r = subprocess.run([PROMTOOL, "check", "metrics"], input=text,
                       capture_output=True, text=True)
    return r.returncode, (r.stdout + r.stderr).strip()


def multipart_mail(n):
    """A mail of n small attachments (for MaxParts)."""
    mid = "<parts-%d-%f@hashgate.test>" % (n, time.time())
    parts = "".join("--=-p\r\nContent-Type: application/octet-stream\r\n"
                    "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n"
                    % hm._b64_lines(hm.blob(1000 + i, 500)) for i in range(n))
    s = ("From: a@example.org\r\nTo: b@example.net\r\nSubject: parts\r\n"
         "Message-ID: %s\r\nMIME-Version: 1.0\r\n"
         'Content-Type: multipart/mixed; boundary="=-p"\r\n\r\n%s--=-p--\r\n'
         % (mid, parts))
    return s.encode(), mid


def children(ppids, comm):
    """Pids of the processes named comm whose parent is in ppids."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        name = st[st.index("(") + 1:st.rindex(")")]
        ppid = int(st.rsplit(")", 1)[1].split()[1])
        # the kernel keeps 15 characters of a name
        if ppid in ppids and name == comm[:15]:
            out.append(int(d))
    return out


def not_checked_archives(tmp):
    """(an encrypted zip, how many files in it, a zip one of whose two files
    is stored by a method nothing reads): files nothing can check."""
    enc = archives.make("zip-aes", os.path.join(tmp, "enc.zip"), seed=905)
    with open(os.path.join(tmp, "enc.zip"), "rb") as f:
        enc_zip = f.read()
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_STORED) as z:
        z.writestr("odd.bin", hm.blob(906, 3000))
        z.writestr("plain.bin", hm.blob(907, 3000))
    odd = bytearray(b.getvalue())
    # method 18 (IBM TERSE) in the first local header and its central
    # directory record: libarchive reads neither
    struct.pack_into("<H", odd, 8, 18)
    struct.pack_into("<H", odd, odd.find(b"PK\x01\x02") + 10, 18)
    return enc_zip, len(enc), bytes(odd)


def a_zip():
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        z.writestr("a/clean.bin", CLEAN)
    return b.getvalue()


def milter_send(m, raw):
    """One mail over the milter protocol: the final reply."""
    c = hm.MilterClient(m)
    try:
        c.connect()
        c.helo()
        c.mail()
        c.rcpt()
        c.data()
        c.message(raw)
        return hm.final(c.eom())
    finally:
        c.quit()


def wait_value(get, series, want, timeout=10):
    deadline = time.time() + timeout
    text = ""
    while time.time() < deadline:
        text = get()
        if value(text, series) == want:
            return text
        time.sleep(0.2)
    return text


# ---- the milter behind Postfix ----

def test_milter(tmp, texts):
    mport = free_port()
    db = hm.compile_db(os.path.join(tmp, "db.hgdb"), {
        "rejlist": ([hm.sha256(REJ)], "2026-11"),
        "loglist": [hm.sha256(LOG)],
    })
    m = hm.Milter(tmp, db, ListAction=["rejlist reject", "loglist log"],
                  MaxParts="6",
                  MetricsListen="inet:%d@127.0.0.1" % mport)
    url = "http://127.0.0.1:%d/metrics" % mport
    pf = None
    try:
        m.start()
        pf = Postfix(milter=m.postfix_spec, base=os.path.join(tmp, "pf"))
        pf.start()

        st, ctype, t0 = scrape(url)
        ok(st == 200 and ctype.startswith("text/plain; version=0.0.4"),
           "milter: GET /metrics answers 200 in the Prometheus text format",
           "%s %s" % (st, ctype))
        ok(value(t0, 'hashgate_scanned_total{channel="mail"}') == 0
           and value(t0, "hashgate_database_loaded") == 1
           and value(t0, 'hashgate_database_entries{algorithm="sha256"}') == 2,
           "milter: at start nothing is scanned and the database's 2 sha256 "
           "entries are shown")
        ok(value(t0, 'hashgate_database_list_info{list="rejlist",'
                     'version="2026-11"}') == 1,
           "milter: each list is shown with its version")
        lt = value(t0, "hashgate_database_load_timestamp_seconds")
        ok(lt is not None and abs(lt - time.time()) < 60,
           "milter: the load time is the Unix time of the load")
        age = value(t0, "hashgate_database_file_age_seconds")
        ok(age is not None and 0 <= age < 60,
           "milter: the database file's age is shown", str(age))
        ok('hashgate_scanned_total{channel="upload"}' not in t0,
           "milter: only the mail channel is shown")

        msg, _ = hm.msg_attach(CLEAN)
        code, _ = pf.send(msg)
        t1 = wait_value(lambda: scrape(url)[2],
                        'hashgate_scanned_total{channel="mail"}', 1)
        ok(code == 250 and value(t1, 'hashgate_scanned_total{channel="mail"}')
           == 1, "milter: a clean mail counts one mail scanned")
        ok(value(t1, 'hashgate_parts_scanned_total{channel="mail"}') == 2,
           "milter: its text part and attachment count two parts")
        b = value(t1, 'hashgate_parts_scanned_bytes_total{channel="mail"}')
        ok(b is not None and b >= len(CLEAN),
           "milter: the bytes of its parts are counted (decoded)", str(b))
        ok(value(t1, 'hashgate_scan_duration_seconds_count{channel="mail"}')
           == 1 and value(t1, 'hashgate_scan_duration_seconds_bucket'
                              '{channel="mail",le="+Inf"}') == 1,
           "milter: its scan time is in the latency histogram")

        msg, _ = hm.msg_attach(REJ)
        code, _ = pf.send(msg)
        msg, _ = hm.msg_attach(LOG)
        code2, _ = pf.send(msg)
        t2 = wait_value(lambda: scrape(url)[2],
                        'hashgate_scanned_total{channel="mail"}', 3)
        ok(code == 550 and value(t2, 'hashgate_matches_total{list="rejlist",'
                                     'action="reject"}') == 1,
           "milter: a rejected mail counts a match on its list with action "
           "reject", str(code))
        ok(code2 == 250 and value(t2, 'hashgate_matches_total{list="loglist",'
                                      'action="log"}') == 1,
           "milter: a logged mail counts a match with action log")

        msg, _ = multipart_mail(8)
        code, _ = pf.send(msg)
        t3 = wait_value(lambda: scrape(url)[2],
                        'hashgate_fail_verdicts_total{channel="mail",'
                        'reason="limit"}', 1)
        ok(code == 451 and value(t3, 'hashgate_fail_verdicts_total'
                                     '{channel="mail",reason="limit"}') == 1,
           "milter: a mail past MaxParts counts a fail verdict for a limit",
           str(code))
        ok(value(t3, 'hashgate_fail_verdicts_total{channel="mail",'
                     'reason="database"}') == 0,
           "milter: no other fail reason moved")

        # files inside archives that could not be checked
        enc_zip, nenc, odd = not_checked_archives(tmp)
        msg, _ = hm.msg_attach(enc_zip, filename="enc.zip",
                               ctype="application/zip")
        code, _ = pf.send(msg)
        series = 'hashgate_not_checked_total{channel="mail",reason="%s"}'
        tn = scrape(url)[2]
        ok(code == 250 and value(tn, series % "encrypted") == nenc
           and value(tn, series % "unreadable") == 0,
           "milter: each encrypted file inside an archive counts one object "
           "not checked, reason encrypted (%d)" % nenc,
           "%s %s" % (code, [x for x in tn.splitlines()
                             if "not_checked" in x]))
        msg, _ = hm.msg_attach(odd, filename="odd.zip",
                               ctype="application/zip")
        code, _ = pf.send(msg)
        tn = scrape(url)[2]
        ok(code == 250 and value(tn, series % "unreadable") == 1
           and value(tn, series % "encrypted") == nenc,
           "milter: a file inside an archive that nothing reads counts one "
           "object not checked, reason unreadable", "%s %s" % (code, [x for x in tn.splitlines()
                                                  if "not_checked" in x]))

        # an inspection helper that died is started again on next use
        victims = children({m.pid}, "hashgate-inspect")
        for v in victims:
            os.kill(v, signal.SIGKILL)
        codes = []
        for i in range(4):
            # one found dead is replaced before its mail: no 451
            msg, _ = hm.msg_attach(a_zip(), filename="a.zip",
                                   ctype="application/zip")
            codes.append(pf.send(msg)[0])
            r = value(scrape(url)[2], "hashgate_inspect_helper_restarts_total")
            if r and r >= 1:
                break
        ok(victims and r is not None and 1 <= r <= len(victims)
           and all(x == 250 for x in codes),
           "milter: a helper killed is counted as a restart when it is "
           "started again, and no mail gets 451 for it",
           "victims %s, mails %s, restarts %s" % (victims, codes, r))

        # a refused file, then a good one
        with open(os.path.join(tmp, "garbage"), "wb") as f:
            f.write(b"not a database" * 100)
        os.rename(os.path.join(tmp, "garbage"), db)
        m.send_signal(signal.SIGHUP)
        t4 = wait_value(lambda: scrape(url)[2],
                        "hashgate_database_reloads_refused_total", 1)
        ok(value(t4, "hashgate_database_reloads_refused_total") == 1
           and value(t4, "hashgate_database_loaded") == 1,
           "milter: a bad new file counts a refused reload, the old "
           "database stays loaded")
        hm.swap_db(db, {"rejlist": ([hm.sha256(REJ)], "2026-12"),
                        "newlist": [hm.sha256(NEW)]})
        m.send_signal(signal.SIGHUP)
        t5 = wait_value(lambda: scrape(url)[2],
                        "hashgate_database_reloads_total", 1)
        ok(value(t5, "hashgate_database_reloads_total") == 1
           and value(t5, 'hashgate_database_list_info{list="rejlist",'
                         'version="2026-12"}') == 1
           and value(t5, 'hashgate_database_list_info{list="rejlist",'
                         'version="2026-11"}') is None,
           "milter: a good new file counts a reload and its versions "
           "replace the old ones")
        texts["milter"] = scrape(url)[2]
        return m, pf, mport
    except Exception:
        if pf:
            pf.stop()
            pf.close()
        m.stop()
        raise


def test_milter_no_db(tmp):
    """No database, evidence to /dev/full, metrics on a unix socket."""
    base = os.path.join(tmp, "m2")
    os.makedirs(base)
    os.chmod(base, 0o777)
    db = os.path.join(base, "db.hgdb")
    sock = os.path.join(base, "metrics.sock")
    m = hm.Milter(base, db, ListAction=["loglist log"],
                  EvidenceLog="/dev/full", MetricsListen="unix:" + sock)
    try:
        m.start()
        st, t0 = scrape_unix(sock)
        ok(st == 200 and value(t0, "hashgate_database_loaded") == 0,
           "milter: MetricsListen unix:PATH serves /metrics; without a "
           "database hashgate_database_loaded is 0")
        msg, _ = hm.msg_attach(CLEAN)
        r = milter_send(m, msg)
        _, t1 = scrape_unix(sock)
        ok(r is not None and r.startswith("451") and value(
            t1, 'hashgate_fail_verdicts_total{channel="mail",'
                'reason="database"}') == 1,
           "milter: a mail without a database counts a fail verdict for "
           "the database", str(r))

        hm.compile_db(db, {"loglist": [hm.sha256(LOG)]})
        m.send_signal(signal.SIGHUP)
        t2 = wait_value(lambda: scrape_unix(sock)[1],
                        "hashgate_database_loaded", 1)
        ok(value(t2, "hashgate_database_loaded") == 1,
           "milter: the database installed later shows as loaded")
        msg, _ = hm.msg_attach(LOG)
        r = milter_send(m, msg)
        _, t3 = scrape_unix(sock)
        ok(value(t3, 'hashgate_evidence_write_failures_total'
                     '{channel="mail"}') == 1
           and value(t3, 'hashgate_fail_verdicts_total{channel="mail",'
                         'reason="evidence"}') == 1
           and r is not None and r.startswith("451"),
           "milter: a logged match whose record the evidence log refuses "
           "counts an evidence failure and a fail verdict for evidence",
           str(r))
        rc, out = promtool(t3)
        ok(rc == 0 and out == "", "milter (no database, failures): promtool "
           "check metrics reports no problem", out)
    finally:
        m.stop()
    ok(not os.path.exists(sock), "milter: its metrics unix socket is "
       "removed at exit")


def test_milter_config(tmp):
    base = os.path.join(tmp, "m3")
    os.makedirs(base)
    os.chmod(base, 0o777)
    db = hm.compile_db(os.path.join(base, "db.hgdb"),
                       {"x": [hm.sha256(NEW)]})
    for bad, why in (("inet:99999@127.0.0.1", "a port out of range"),
                     ("inet:9100", "no address"),
                     ("inet:9100@localhost", "a name, not an address"),
                     ("inet6:9100@127.0.0.1", "an IPv4 address for inet6"),
                     ("unix:relative/path", "a relative path"),
                     ("http://127.0.0.1:9100", "not a socket spec")):
        m = hm.Milter(base, db, MetricsListen=bad)
        m.write_conf()
        r = subprocess.run([hm.MILTER, "-t", "-c", m.conf],
                           capture_output=True, text=True)
        line = [i for i, l in enumerate(open(m.conf), 1)
                if l.startswith("MetricsListen")][0]
        ok(r.returncode != 0 and ("%s:%d: MetricsListen" % (m.conf, line))
           in r.stderr, "milter -t refuses MetricsListen %s (%s), naming "
           "file and line" % (bad, why), r.stderr.strip())

    # the port is bound at start: taken, the start fails clearly
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    port = s.getsockname()[1]
    m = hm.Milter(base, db, MetricsListen="inet:%d@127.0.0.1" % port)
    try:
        m.start(timeout=5)
        started = True
    except RuntimeError as e:
        started = False
        err = str(e)
    finally:
        m.stop()
        s.close()
    ok(not started and "MetricsListen" in err and "Address already in use"
       in err, "milter: a MetricsListen port already taken stops the start "
       "with a clear error", err if not started else "it started")

    # IPv6: inet6:PORT@::1, as the milter's own Socket is written
    s = socket.socket(socket.AF_INET6)
    s.bind(("::1", 0))
    port = s.getsockname()[1]
    s.close()
    m = hm.Milter(base, db, MetricsListen="inet6:%d@::1" % port)
    got = (0, None, "")
    try:
        m.start(timeout=10)
        got = scrape("http://[::1]:%d/metrics" % port)
    except (RuntimeError, OSError) as e:
        got = (0, None, str(e))
    finally:
        m.stop()
    ok(got[0] == 200 and "hashgate_scanned_total" in got[2],
       "milter: MetricsListen inet6:PORT@::1 serves /metrics over IPv6",
       str(got)[:300])


# ---- nginx ----

NGX_HTTP = r"""
    hashgate_database {tmp}/db.hgdb;
    hashgate_list_action loglist log;
    hashgate_evidence_log {tmp}/evidence.log;
    server {
        listen 127.0.0.1:{port};
        add_header X-Worker $pid always;
        location = /metrics { hashgate_metrics; }
        location /full {
            hashgate on;
            hashgate_evidence_log /dev/full;
            proxy_pass http://recorder;
        }
        location / {
            hashgate on;
            hashgate_max_parts 4;
            proxy_pass http://recorder;
        }
    }
"""


def post(ng, path, body, ctype="application/octet-stream"):
    c = http.client.HTTPConnection("127.0.0.1", ng.port, timeout=30)
    try:
        c.request("POST", path, body=body, headers={"Content-Type": ctype})
        r = c.getresponse()
        r.read()
        return r.status, r.getheader("X-Worker")
    finally:
        c.close()


def test_nginx(texts):
    ng = N.Nginx(NGX_HTTP, workers=2)
    url = "http://127.0.0.1:%d/metrics" % ng.port
    try:
        N.make_db(os.path.join(ng.tmp, "db.hgdb"),
                  {"rejlist": [REJ], "loglist": [LOG]})
        ng.start()
        st, ctype, t0 = scrape(url)
        ok(st == 200 and ctype.startswith("text/plain; version=0.0.4"),
           "nginx: hashgate_metrics answers 200 in the Prometheus text format",
           "%s %s" % (st, ctype))
        ok(value(t0, 'hashgate_scanned_total{channel="upload"}') == 0
           and value(t0, "hashgate_database_loaded") == 1
           and value(t0, 'hashgate_database_entries{algorithm="sha256"}') == 2,
           "nginx: at start nothing is scanned and the database loaded at "
           "start is described")

        workers = set()
        for i in range(12):
            st, w = post(ng, "/up", CLEAN)
            workers.add(w)
        t1 = scrape(url)[2]
        ok(value(t1, 'hashgate_scanned_total{channel="upload"}') == 12
           and value(t1, 'hashgate_parts_scanned_total{channel="upload"}')
           == 12,
           "nginx: 12 clean uploads count 12 scanned, summed over the "
           "workers that took them (%d)" % len(workers))
        ok(value(t1, 'hashgate_parts_scanned_bytes_total{channel="upload"}')
           == 12 * len(CLEAN), "nginx: the bytes of the uploads are counted")

        st, _ = post(ng, "/up", REJ)
        st2, _ = post(ng, "/up", LOG)
        t2 = scrape(url)[2]
        ok(st == 403 and value(t2, 'hashgate_matches_total{list="rejlist",'
                                   'action="reject"}') == 1,
           "nginx: a refused upload counts a match on its list with action "
           "reject", str(st))
        ok(st2 == 200 and value(t2, 'hashgate_matches_total{list="loglist",'
                                    'action="log"}') == 1,
           "nginx: a logged upload counts a match with action log")

        body, ctype = N.multipart([("f%d" % i, "f%d.bin" % i,
                                    "application/octet-stream",
                                    hm.blob(2000 + i, 300)) for i in range(8)])
        st, _ = post(ng, "/up", body, ctype)
        t3 = scrape(url)[2]
        ok(st == 503 and value(t3, 'hashgate_fail_verdicts_total'
                                   '{channel="upload",reason="limit"}') == 1,
           "nginx: an upload past hashgate_max_parts counts a fail verdict "
           "for a limit", str(st))

        st, _ = post(ng, "/full", LOG)
        t4 = scrape(url)[2]
        ok(st == 503 and value(t4, 'hashgate_evidence_write_failures_total'
                                   '{channel="upload"}') == 1
           and value(t4, 'hashgate_fail_verdicts_total{channel="upload",'
                         'reason="evidence"}') == 1,
           "nginx: a logged match whose record the evidence log refuses "
           "counts an evidence failure and a fail verdict for evidence",
           str(st))
        ok(value(t4, 'hashgate_scan_duration_seconds_count{channel="upload"}')
           == value(t4, 'hashgate_scanned_total{channel="upload"}'),
           "nginx: every upload is in the latency histogram")

        # files inside archives that could not be checked
        enc_zip, nenc, odd = not_checked_archives(ng.tmp)
        st, _ = post(ng, "/up", enc_zip, "application/zip")
        st2, _ = post(ng, "/up", odd, "application/zip")
        series = 'hashgate_not_checked_total{channel="upload",reason="%s"}'
        tn = scrape(url)[2]
        ok(st == 200 and value(tn, series % "encrypted") == nenc,
           "nginx: each encrypted file inside an archive counts one object "
           "not checked, reason encrypted (%d)" % nenc,
           "%s %s" % (st, [x for x in tn.splitlines() if "not_checked" in x]))
        ok(st2 == 200 and value(tn, series % "unreadable") == 1,
           "nginx: a file inside an archive that nothing reads counts one "
           "object not checked, reason unreadable", "%s %s" % (st2, [x for x in tn.splitlines()
                                                 if "not_checked" in x]))

        # a worker's helper (started on first use) killed, then used again
        zipped = a_zip()
        for i in range(4):
            post(ng, "/up", zipped, "application/zip")
        victims = children(set(ng.worker_pids()), "hashgate-inspect")
        for v in victims:
            os.kill(v, signal.SIGKILL)
        time.sleep(0.5)
        codes = []
        for i in range(6):
            codes.append(post(ng, "/up", zipped, "application/zip")[0])
        th = scrape(url)[2]
        r = value(th, "hashgate_inspect_helper_restarts_total")
        ok(victims and r is not None and 1 <= r <= len(victims)
           and all(x == 200 for x in codes),
           "nginx: a worker's helper killed is counted as a restart when "
           "it is started again, and no upload gets 503 for it",
           "victims %s, restarts %s, statuses %s" % (victims, r, codes))

        # a bad file: refused once, not once per worker
        with open(os.path.join(ng.tmp, "garbage"), "wb") as f:
            f.write(b"not a database" * 100)
        os.rename(os.path.join(ng.tmp, "garbage"),
                  os.path.join(ng.tmp, "db.hgdb"))
        t5 = wait_value(lambda: scrape(url)[2],
                        "hashgate_database_reloads_refused_total", 1)
        time.sleep(2.5)      # both workers have seen it by now
        t5 = scrape(url)[2]
        ok(value(t5, "hashgate_database_reloads_refused_total") == 1
           and value(t5, "hashgate_database_loaded") == 1,
           "nginx: a bad new file counts one refused reload (not one per "
           "worker), the old database stays")
        N.make_db(os.path.join(ng.tmp, "next.hgdb"),
                  {"rejlist": [REJ], "newlist": [NEW]})
        os.rename(os.path.join(ng.tmp, "next.hgdb"),
                  os.path.join(ng.tmp, "db.hgdb"))
        t6 = wait_value(lambda: scrape(url)[2],
                        "hashgate_database_reloads_total", 1)
        time.sleep(2.5)
        t6 = scrape(url)[2]
        ok(value(t6, "hashgate_database_reloads_total") == 1
           and value(t6, 'hashgate_database_list_info{list="newlist",'
                         'version=""}') == 1,
           "nginx: a good new file counts one reload and shows its lists")

        # rewritten in place: the database can no longer be trusted
        path = os.path.join(ng.tmp, "db.hgdb")
        size = os.path.getsize(path)
        with open(path, "r+b") as f:
            f.write(b"\xff" * size)
        time.sleep(2.5)
        st, _ = post(ng, "/up", CLEAN)
        st2, _ = post(ng, "/up", CLEAN)
        t7 = scrape(url)[2]
        ok(503 in (st, st2) and value(
            t7, 'hashgate_fail_verdicts_total{channel="upload",'
                'reason="database"}') >= 1,
           "nginx: an upload with the database spoiled in place counts a "
           "fail verdict for the database", "%s %s" % (st, st2))
        texts["nginx"] = t4

        # counters survive nginx -s reload (the zone is kept)
        N.make_db(os.path.join(ng.tmp, "next.hgdb"), {"rejlist": [REJ]})
        os.rename(os.path.join(ng.tmp, "next.hgdb"), path)
        before = value(scrape(url)[2], 'hashgate_scanned_total'
                                       '{channel="upload"}')
        ng.reload()
        after = value(scrape(url)[2], 'hashgate_scanned_total'
                                      '{channel="upload"}')
        ok(before is not None and after == before,
           "nginx: the counters go on over nginx -s reload",
           "%s -> %s" % (before, after))

        for bad, why in (("hashgate_metrics;\n" + NGX_HTTP, "at http level"),
                         (NGX_HTTP.replace("hashgate_metrics;",
                                           "hashgate_metrics on;"),
                          "with an argument"),
                         (NGX_HTTP.replace("hashgate_metrics;",
                                           "hashgate_metrics; "
                                           "hashgate_metrics;"),
                          "twice in a location")):
            rc, out, _ = ng.test_conf(bad)
            ok(rc != 0 and "hashgate_metrics" in out,
               "nginx -t refuses hashgate_metrics %s" % why, out.strip())
        # a content handler set after it would silently take its place
        bad = NGX_HTTP.replace("location = /metrics { hashgate_metrics; }",
                               "location = /metrics { hashgate_metrics;\n"
                               "            proxy_pass http://recorder; }")
        rc, out, path = ng.test_conf(bad)
        line = next(i + 1 for i, ln in enumerate(open(path))
                    if "hashgate_metrics;" in ln)
        ok(rc != 0 and "replaced by another content handler" in out
           and "%s:%d" % (path, line) in out,
           "nginx -t refuses proxy_pass after hashgate_metrics in one "
           "location, naming where hashgate_metrics is", out.strip())
        rc, out, _ = ng.test_conf(NGX_HTTP)
        ok(rc == 0, "nginx -t takes hashgate_metrics in a location of its "
           "own", out.strip())
        return ng
    except Exception:
        ng.cleanup()
        raise


# ---- a real Prometheus ----

def test_prometheus(tmp, mport, ng):
    if not os.access(PROMETHEUS, os.X_OK):
        print("ok - skip: a real Prometheus scrapes both # SKIP %s missing"
              % PROMETHEUS)
        return
    pdir = os.path.join(tmp, "prom")
    os.makedirs(pdir)
    port = free_port()
    conf = os.path.join(pdir, "prometheus.yml")
    with open(conf, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                "scrape_configs:\n"
                "  - job_name: milter\n    static_configs:\n"
                "      - targets: ['127.0.0.1:%d']\n"
                "  - job_name: nginx\n    static_configs:\n"
                "      - targets: ['127.0.0.1:%d']\n" % (mport, ng.port))
    log = open(os.path.join(pdir, "prometheus.log"), "wb")
    p = subprocess.Popen([PROMETHEUS, "--config.file=" + conf,
                          "--storage.tsdb.path=" + os.path.join(pdir, "data"),
                          "--web.listen-address=127.0.0.1:%d" % port],
                         stdout=log, stderr=log)

    def query(q):
        u = "http://127.0.0.1:%d/api/v1/query?query=%s" % (
            port, urllib.request.quote(q))
        with urllib.request.urlopen(u, timeout=5) as r:
            return json.loads(r.read())["data"]["result"]

    try:
        up = []
        deadline = time.time() + 40
        while time.time() < deadline:
            if p.poll() is not None:
                break
            try:
                up = query("up")
                if len(up) == 2 and all(r["value"][1] == "1" for r in up):
                    break
            except OSError:
                pass
            time.sleep(0.5)
        if p.poll() is not None and not up:
            print("ok - skip: a real Prometheus scrapes both # SKIP "
                  "prometheus did not start: %s" % open(
                      os.path.join(pdir, "prometheus.log")).read()[-300:])
            return
        ok(len(up) == 2 and all(r["value"][1] == "1" for r in up),
           "prometheus: up is 1 for the milter and nginx targets", str(up))
        res = []
        deadline = time.time() + 15
        while time.time() < deadline:
            res = query('hashgate_scanned_total')
            if len(res) == 2:
                break
            time.sleep(0.5)
        got = {r["metric"].get("job"): float(r["value"][1]) for r in res}
        ok(got.get("milter", 0) >= 4 and got.get("nginx", 0) >= 14,
           "prometheus: hashgate_scanned_total has both jobs' values", str(got))
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        log.close()


def main():
    hm.check_tool(hm.MILTER)
    tmp = tempfile.mkdtemp(prefix="hg-metrics-")
    os.chmod(tmp, 0o755)
    texts = {}
    m = pf = ng = None
    try:
        m, pf, mport = test_milter(tmp, texts)
        test_milter_no_db(tmp)
        test_milter_config(tmp)
        ng = test_nginx(texts)
        for who in ("milter", "nginx"):
            rc, out = promtool(texts.get(who, ""))
            ok(rc == 0 and out == "", "%s: promtool check metrics reports no "
               "problem" % who, out)
            print("# promtool check metrics (%s): rc=%d %s" % (
                who, rc, out or "(no output)"))
        test_prometheus(tmp, mport, ng)
    finally:
        if pf:
            pf.stop()
            pf.close()
        if m:
            m.stop()
        if ng:
            ng.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    ok.exit()


if __name__ == "__main__":
    main()
