#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_nginx_archives.py - files inside archives uploaded through nginx.

A private Debian nginx with one worker (so "the same worker" is certain)
proxies to the recorder. Archives are made by tests/lib/archives.py from
seeded random files; the lists hold the digest of one file inside. Checked:
a listed file inside a zip, 7z, rar, tar.gz and a zip inside a tar inside a
zip, sent as a multipart file part and as a raw PUT, with request buffering
on and off, gets the list's status (reject 403, hold) and a record naming
its inner path and containers, while the upstream never gets the whole
upload; clean archives reach the upstream byte for byte (also chunked, over
one keepalive connection, and over HTTP/2); each limit gives 503 with the
limit named in the error log; encrypted zips get the configured action;
the inspection helper killed mid-archive, or crashing, gives 503 and is
back for the next request; a request waiting for the helper does not stop
the worker from answering others; a client that goes away while its
upload is inspected costs nothing (same worker, no alert).
"""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import archives as A  # noqa: E402
import nginx as N  # noqa: E402
import ngfixture as F  # noqa: E402
from ngfixture import sha  # noqa: E402

HTTP = r"""
    hashgate_database {tmp}/db.hgdb;
    hashgate_evidence_log {prefix}/evidence.jsonl;
    client_max_body_size 200m;
    client_body_buffer_size 16k;

    server {
        listen 127.0.0.1:{port};
        listen 127.0.0.1:{port2} ssl http2;
        ssl_certificate {tmp}/cert.pem;
        ssl_certificate_key {tmp}/key.pem;

        hashgate on;
        hashgate_hold_path {tmp}/hold;
        hashgate_list_action holdme hold;

        proxy_http_version 1.1;
        proxy_set_header Connection "";

        location /on/ { proxy_pass http://recorder; }
        location /off/ {
            proxy_request_buffering off;
            proxy_pass http://recorder;
        }
        location /noarch/ {
            hashgate_archives off;
            proxy_pass http://recorder;
        }
        location /depth/ {
            hashgate_archive_max_depth 1;
            proxy_pass http://recorder;
        }
        location /files/ {
            hashgate_archive_max_files 2;
            proxy_pass http://recorder;
        }
        location /bytes/ {
            hashgate_archive_max_bytes 6k;
            proxy_pass http://recorder;
        }
        location /filesize/ {
            hashgate_archive_max_file_size 2k;
            proxy_pass http://recorder;
        }
        location /ratio/ {
            hashgate_archive_max_ratio 10;
            proxy_pass http://recorder;
        }
        location /time/ {
            hashgate_archive_timeout 1s;
            proxy_pass http://recorder;
        }
        location /timeoff/ {
            hashgate_archive_timeout 1s;
            proxy_request_buffering off;
            proxy_pass http://recorder;
        }
        location /slow/ {
            hashgate_archive_max_ratio 0;
            hashgate_archive_max_bytes 8g;
            hashgate_archive_max_file_size 8g;
            proxy_pass http://recorder;
        }
        location /encrej/ {
            hashgate_archive_encrypted reject;
            proxy_pass http://recorder;
        }
        location /enchold/ {
            hashgate_archive_encrypted hold;
            proxy_pass http://recorder;
        }
    }
"""

LISTED_SEED = 101       # the first file of these archives is on "cam"
HELD_SEED = 202         # ... on "holdme"
CLEAN_SEED = 303        # nothing listed


class ArchiveNginx(N.Nginx):
    """The helper's test hooks are read from its environment, which nginx
    clears for its workers unless the main context passes it on."""

    def render(self, http):
        return "env HASHGATE_INSPECT_TEST=1;\n" + super().render(http)


def make(tmp, kind, **kw):
    """(bytes, {chain: sha256}) of a KIND archive."""
    out = os.path.join(tmp, "a-%s-%d" % (kind, kw.get("seed", 1)))
    res = A.make(kind, out, **kw)
    with open(out, "rb") as f:
        return f.read(), res


def deepest(res):
    """The chain of the most deeply nested file (not a container)."""
    keys = [k for k in res if not k.endswith((".zip", ".tar"))]
    return max(keys, key=lambda k: (k.count("!"), k))


def send(port, path, data, raw, chunked=False, headers=None):
    """A raw PUT of data, or a form with data as its file part."""
    if raw:
        return N.http_request(port, "PUT", path, data, headers=headers,
                              chunked=chunked)
    body, ctype = N.multipart([("note", None, None, b"hello"),
                               ("upload", "x.bin", "application/octet-stream",
                                data)])
    h = {"Content-Type": ctype}
    h.update(headers or {})
    return N.http_request(port, "POST", path, body, headers=h,
                          chunked=chunked)


def entries_for(ng, path):
    return F.entries_for(ng, path, 0.2)


def records_for(ng, reqpath):
    return [r for r in ng.evidence()
            if (r.get("uri") or r.get("context", {}).get("uri")) == reqpath
            or reqpath in json.dumps(r)]


def main():
    t = N.Checks()
    ng = ArchiveNginx(HTTP, workers=1)
    try:
        run(t, ng)
    finally:
        ng.cleanup()
    ng = ArchiveNginx("hashgate_thread on;\n" + HTTP, workers=1)
    try:
        run_threaded(t, ng)
    finally:
        ng.cleanup()
    conf_checks(t)
    t.done()


def run_threaded(t, ng):
    """hashgate_thread on: parts of bodies over 256 KiB end in the hashing
    thread, where their archives are spooled and handed over."""
    listed = make(ng.tmp, "zip", seed=611, files=4, size=200000)
    clean = make(ng.tmp, "zip", seed=612, files=4, size=200000)
    F.start(ng, hex_lists={"cam": [listed[1][deepest(listed[1])]]})
    for raw in (False, True):
        for mode in ("on", "off"):
            kind = "PUT" if raw else "form"
            path = "/%s/thread-listed-%s" % (mode, kind)
            st, _ = send(ng.port, path, listed[0], raw)
            es = entries_for(ng, path)
            t.check(st == 403 and not any(e["complete"] for e in es),
                    "hashing thread, %s, buffering %s: a listed file inside "
                    "a 600 KB zip gets 403" % (kind, mode), str(st))
            path = "/%s/thread-clean-%s" % (mode, kind)
            st, _ = send(ng.port, path, clean[0], raw)
            es = entries_for(ng, path)
            t.check(st == 200 and len(es) == 1 and es[0]["complete"],
                    "hashing thread, %s, buffering %s: a clean 600 KB zip "
                    "passes" % (kind, mode), "%s %s" % (st, es))
    t.check(not ng.crashes(), "hashing thread: no worker died",
            str(ng.crashes()))


def conf_checks(t):
    """nginx -t refuses bad archive settings and a missing helper."""
    ng = N.Nginx("", workers=1, recorder=False)
    try:
        N.make_db_from_hex(os.path.join(ng.tmp, "db.hgdb"),
                           {"cam": ["00" * 32]})
        base = ("hashgate_database {tmp}/db.hgdb;\n"
                "server { listen 127.0.0.1:{port}; hashgate on; %s }")
        rc, out, _ = ng.test_conf(base % "")
        t.check(rc == 0, "nginx -t passes the defaults (archives on, the "
                "helper found beside the module)", out[-300:])
        for bad, words in (
                ("hashgate_archive_encrypted tag;", "no header to tag"),
                ("hashgate_archive_unreadable maybe;", "bad action"),
                ("hashgate_archive_max_depth 9;", "must be between"),
                ("hashgate_archive_max_files 0;", "must be between"),
                ("hashgate_archive_max_bytes 0;", "more than 0"),
                ("hashgate_archive_max_file_size lots;", "invalid value"),
                ("hashgate_archive_timeout 0;", "more than 0"),
                ("hashgate_archive_encrypted reject; "
                 "hashgate_archive_encrypted hold;", "is duplicate")):
            rc, out, path = ng.test_conf(base % bad)
            t.check(rc != 0 and words in out and "test.conf:" in out,
                    "nginx -t refuses \"%s\" naming the line" % bad,
                    out[-300:])
        missing = "hashgate_inspect_helper /nonexistent/hashgate-inspect;\n"
        rc, out, _ = ng.test_conf(missing + base % "")
        t.check(rc != 0 and "/nonexistent/hashgate-inspect" in out
                and "test.conf:1" in out,
                "nginx -t refuses a missing helper where archives are on, "
                "naming hashgate_inspect_helper's line", out[-300:])
        broken = "hashgate_inspect_helper /bin/false;\n"
        rc, out, _ = ng.test_conf(broken + base % "")
        t.check(rc != 0 and "does not run" in out,
                "nginx -t refuses a helper that does not run (it is tried "
                "once on an empty zip)", out[-300:])
        rc, out, _ = ng.test_conf(missing + base % "hashgate_archives off;")
        t.check(rc == 0, "with hashgate_archives off, no helper is needed",
                out[-300:])
        rc, out, _ = ng.test_conf(base % "hashgate_archive_encrypted hold;")
        t.check(rc != 0 and "hashgate_hold_path" in out,
                "hashgate_archive_encrypted hold needs hashgate_hold_path",
                out[-300:])
    finally:
        ng.cleanup()


def run(t, ng):
    tmp = ng.tmp
    kinds = ("zip", "7z", "rar5", "rar4", "tar.gz", "nested")
    listed, held, clean = {}, {}, {}
    for i, k in enumerate(kinds):
        # a seed per kind: the same seed gives the same files inside, and
        # the nested kind seeds its levels with seed, seed + 1, ...
        listed[k] = make(tmp, k, seed=LISTED_SEED + 10 * i)
        held[k] = make(tmp, k, seed=HELD_SEED + 10 * i)
        clean[k] = make(tmp, k, seed=CLEAN_SEED + 10 * i)
    cam = set()
    holdme = set()
    for k in kinds:
        cam.add(listed[k][1][deepest(listed[k][1])])
        holdme.add(held[k][1][deepest(held[k][1])])
    enc = {k: make(tmp, k, seed=404) for k in ("zip-aes", "zip-zipcrypto")}
    for k in kinds:
        assert not (set(clean[k][1].values()) & (cam | holdme))
        # only the deepest file of a listed archive is on a list
        for d in (listed[k][1], held[k][1]):
            assert len(set(d.values()) & (cam | holdme)) == 1
    F.start(ng, hex_lists={"cam": sorted(cam), "holdme": sorted(holdme)})
    worker = ng.worker_pids()

    listed_files(t, ng, kinds, listed)
    held_files(t, ng, held)
    clean_files(t, ng, kinds, clean)
    http2_listed(t, ng, listed)
    others(t, ng, listed, clean)
    limits(t, ng, tmp)
    encrypted(t, ng, enc)
    helper_failures(t, ng, tmp, listed, clean)

    t.check(ng.worker_pids() == worker and not ng.crashes(),
            "the worker never died", "%s -> %s, %s"
            % (worker, ng.worker_pids(), ng.crashes()))
    # a reload tries the helper in the master, and stops the old worker's
    ng.reload()
    st, _ = send(ng.port, "/on/after-reload", clean["zip"][0], True)
    time.sleep(0.5)
    t.check(st == 200 and "unknown process" not in ng.error_log(),
            "after a reload, archives pass and no stray child is reaped by "
            "the master", str(st))
    alerts = [l for l in ng.error_log().splitlines() if "[alert]" in l
              or "[emerg]" in l]
    t.check(not alerts, "no alert in the error log", "\n".join(alerts[:5]))


def listed_files(t, ng, kinds, listed):
    for kind in kinds:
        data, res = listed[kind]
        inner = deepest(res)
        for raw in (False, True):
            for mode in ("on", "off"):
                path = "/%s/listed-%s-%s" % (mode, kind,
                                             "put" if raw else "form")
                st, _ = send(ng.port, path, data, raw)
                es = entries_for(ng, path)
                upstream_ok = not es if mode == "on" else \
                    not any(e["complete"] for e in es)
                recs = [r for r in ng.evidence() if r.get("uri") == path
                        or path in json.dumps(r)]
                rec = recs[0] if recs else {}
                want_part = ("body" if raw else "upload") + "!" + inner
                t.check(st == 403 and upstream_ok,
                        "%s: a listed file inside a %s %s, buffering %s, "
                        "gets 403 and never reaches the upstream whole"
                        % (inner, kind, "PUT" if raw else "form part", mode),
                        "status %s, upstream %s" % (st, es))
                t.check(len(recs) == 1 and rec.get("action") == "reject"
                        and rec.get("part") == want_part
                        and rec.get("inner_path") == A.unesc(
                            inner.split("!")[-1])
                        and len(rec.get("containers") or []) ==
                        inner.count("!") + 1,
                        "%s %s %s: the record names the inner path and its "
                        "%d container(s)" % (kind, "PUT" if raw else "form",
                                             mode, inner.count("!") + 1),
                        json.dumps(recs)[:600])


def held_files(t, ng, held):
    hold = os.path.join(ng.tmp, "hold")
    for mode in ("on", "off"):
        data, res = held["zip"]
        path = "/%s/held-zip" % mode
        before = set(os.listdir(hold))
        st, _ = send(ng.port, path, data, True)
        new = sorted(set(os.listdir(hold)) - before)
        body = [n for n in new if not n.endswith(".json")]
        same = False
        if len(body) == 1:
            with open(os.path.join(hold, body[0]), "rb") as f:
                same = f.read() == data
        t.check(st == 403 and len(new) == 2 and same,
                "buffering %s: a file on a hold list inside a zip gets the "
                "upload held whole, with its record beside it" % mode,
                "status %s, new %s" % (st, new))


def clean_files(t, ng, kinds, clean):
    for kind in kinds:
        data, _ = clean[kind]
        for raw in (False, True):
            for mode in ("on", "off"):
                path = "/%s/clean-%s-%s" % (mode, kind,
                                            "put" if raw else "form")
                st, _ = send(ng.port, path, data, raw)
                es = entries_for(ng, path)
                want = data if raw else None
                ok = len(es) == 1 and es[0]["complete"] and (
                    want is None or es[0]["sha256"] == sha(want))
                if not raw and ok:
                    body, _ = N.multipart([
                        ("note", None, None, b"hello"),
                        ("upload", "x.bin", "application/octet-stream",
                         data)])
                    ok = es[0]["sha256"] == sha(body)
                t.check(st == 200 and ok,
                        "a clean %s (%s, buffering %s) reaches the upstream "
                        "byte for byte" % (kind, "PUT" if raw else "form",
                                           mode),
                        "status %s, %s" % (st, es))
    # chunked, and several on one keepalive connection
    data, _ = clean["zip"]
    for mode in ("on", "off"):
        path = "/%s/clean-chunked" % mode
        st, _ = send(ng.port, path, data, True, chunked=True)
        es = entries_for(ng, path)
        t.check(st == 200 and len(es) == 1 and es[0]["sha256"] == sha(data),
                "buffering %s: a clean zip sent chunked reaches the upstream "
                "byte for byte" % mode, "status %s, %s" % (st, es))
    conn = http.client.HTTPConnection("127.0.0.1", ng.port, timeout=30)
    got = []
    try:
        for i, d in enumerate((clean["zip"][0], b"plain bytes",
                               clean["7z"][0])):
            conn.request("PUT", "/on/keepalive-%d" % i, body=d)
            r = conn.getresponse()
            r.read()
            got.append(r.status)
    except OSError as e:
        got.append(str(e))
    finally:
        conn.close()
    t.check(got == [200, 200, 200],
            "three uploads, two of them archives, on one keepalive "
            "connection all pass", str(got))
    # HTTP/2: the body reader resumed there too
    body = os.path.join(ng.tmp, "h2.bin")
    for mode, (data, _), want in (("on", clean["zip"], "200"),
                                  ("off", clean["zip"], "200")):
        with open(body, "wb") as f:
            f.write(data)
        r = subprocess.run(["curl", "-sk", "--http2", "-o", "/dev/null",
                            "-w", "%{http_code} %{http_version}",
                            "-X", "PUT", "--data-binary", "@" + body,
                            "https://127.0.0.1:%d/%s/h2-clean"
                            % (ng.port2, mode)],
                           capture_output=True, text=True, timeout=30)
        es = entries_for(ng, "/%s/h2-clean" % mode)
        t.check(r.stdout.split() == [want, "2"] and len(es) == 1
                and es[0]["sha256"] == sha(data),
                "HTTP/2, buffering %s: a clean zip reaches the upstream "
                "byte for byte" % mode, "%s %s" % (r.stdout, es))


def others(t, ng, listed, clean):
    import threading
    data, _ = listed["zip"]
    st, _ = send(ng.port, "/noarch/listed", data, True)
    t.check(st == 200 and len(entries_for(ng, "/noarch/listed")) == 1,
            "hashgate_archives off: a listed file inside a zip passes "
            "(archives hashed as they are)", str(st))
    # several uploads at once: their archives queue for the one helper
    got = {}

    def go(i, kind, lst):
        d = (listed if lst else clean)[kind][0]
        got[i] = (send(ng.port, "/on/queue-%d" % i, d, i % 2 == 0)[0],
                  403 if lst else 200)
    ths = [threading.Thread(target=go, args=(i, k, lst)) for i, (k, lst) in
           enumerate([("zip", True), ("7z", False), ("rar5", True),
                      ("nested", False), ("zip", False), ("rar4", True)])]
    for th in ths:
        th.start()
    for th in ths:
        th.join(60)
    t.check(len(got) == 6 and all(a == b for a, b in got.values()),
            "six uploads at once, their archives queued for the helper: "
            "each gets its own verdict", str(got))


def http2_listed(t, ng, listed):
    body = os.path.join(ng.tmp, "h2-listed.bin")
    with open(body, "wb") as f:
        f.write(listed["zip"][0])
    for mode in ("on", "off"):
        path = "/%s/h2-listed" % mode
        r = subprocess.run(["curl", "-sk", "--http2", "-o", "/dev/null",
                            "-w", "%{http_code} %{http_version}",
                            "-X", "PUT", "--data-binary", "@" + body,
                            "https://127.0.0.1:%d%s" % (ng.port2, path)],
                           capture_output=True, text=True, timeout=30)
        es = entries_for(ng, path)
        t.check(r.stdout.split() == ["403", "2"]
                and not any(e["complete"] for e in es),
                "HTTP/2, buffering %s: a listed file inside a zip gets 403"
                % mode, "%s %s" % (r.stdout, es))


def limit_case(t, ng, path, data, name, raw=True):
    before = len(ng.error_log())
    st, _ = send(ng.port, path, data, raw)
    log = ng.error_log()[before:]
    es = entries_for(ng, path)
    t.check(st == 503 and not es and ('archive limit "%s"' % name) in log,
            "%s: the %s limit gives 503 and is named in the error log"
            % (path, name), "status %s, upstream %s, log %s"
            % (st, es, log.strip()[-400:]))


def limits(t, ng, tmp):
    nested, _ = make(tmp, "nested", seed=505)
    limit_case(t, ng, "/depth/nested", nested, "depth")
    three, _ = make(tmp, "zip", seed=506, files=3, size=1000)
    limit_case(t, ng, "/files/three", three, "files")
    big, _ = make(tmp, "zip", seed=507, files=3, size=4096)
    limit_case(t, ng, "/bytes/big", big, "bytes")
    limit_case(t, ng, "/filesize/big", big, "file size")
    gz, _ = make(tmp, "bomb-gzip", zeros=64 << 20)
    limit_case(t, ng, "/ratio/gzip", gz, "ratio", raw=False)
    # the request's budget is shared by its parts: two zips of 3 files each
    body, ctype = N.multipart([("a", "a.zip", "application/zip", three),
                               ("b", "b.zip", "application/zip", three)])
    before = len(ng.error_log())
    st, _ = N.http_request(ng.port, "POST", "/files/two", body,
                           headers={"Content-Type": ctype})
    t.check(st == 503 and 'archive limit "files"' in ng.error_log()[before:],
            "the files limit counts every archive of the request", str(st))
    st, _ = send(ng.port, "/on/after-limits", three, True)
    t.check(st == 200, "after the limits, an archive within them passes",
            str(st))


def encrypted(t, ng, enc):
    for kind, (data, res) in sorted(enc.items()):
        st, _ = send(ng.port, "/on/%s" % kind, data, True)
        recs = [r for r in ng.evidence() if r.get("uri") == "/on/%s" % kind]
        t.check(st == 200 and recs
                and all(r.get("not_checked") == "encrypted" for r in recs),
                "%s, default: passes, each encrypted file recorded as not "
                "checked" % kind, "status %s, %s" % (st, recs))
        st, _ = send(ng.port, "/encrej/%s" % kind, data, True)
        t.check(st == 403, "%s with hashgate_archive_encrypted reject: 403"
                % kind, str(st))
        st, _ = send(ng.port, "/enchold/%s" % kind, data, False)
        t.check(st == 403 and any(n.endswith(".json") for n in
                                  os.listdir(os.path.join(ng.tmp, "hold"))),
                "%s with hashgate_archive_encrypted hold: held" % kind,
                str(st))


def helper_pid(ng):
    """The worker's helper: its child running hashgate-inspect, or None."""
    workers = ng.worker_pids()
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read()
        except (OSError, IndexError, ValueError):
            continue
        if ppid in workers and b"hashgate-inspect" in cmd:
            return int(d)
    return None


class Background:
    """A request sent in a thread: its status once done."""

    def __init__(self, port, path, data, hook):
        import threading
        self.st = None
        self.took = None

        def go():
            t0 = time.time()
            self.st, _ = send(port, path, data, True,
                              headers={"X-Hashgate-Inspect-Test": hook})
            self.took = time.time() - t0
        self.th = threading.Thread(target=go)
        self.th.start()

    def join(self, timeout=30):
        self.th.join(timeout)
        return self.st


def helper_failures(t, ng, tmp, listed, clean):
    data, _ = clean["zip"]

    # crashed (SIGSEGV in the helper, its test hook)
    before = len(ng.error_log())
    st, _ = send(ng.port, "/on/crash", data, True,
                 headers={"X-Hashgate-Inspect-Test": "crash"})
    log = ng.error_log()[before:]
    # (SIGSEGV; a sanitizer build's helper dies of SIGSYS in its handler)
    t.check(st == 503 and "archive not inspected" in log
            and "killed by signal" in log and not entries_for(ng, "/on/crash"),
            "the helper crashing mid-archive gives 503, logged with the cause",
            "status %s, log %s" % (st, log.strip()[-500:]))
    st, _ = send(ng.port, "/on/after-crash", data, True)
    pid = helper_pid(ng)
    started = re.findall(r"archive inspection helper (\d+) started",
                         ng.error_log()[before:])
    t.check(st == 200 and pid and started == [str(pid)],
            "after the crash, the next upload passes and the helper is back "
            "(a new process)", "status %s, pid %s" % (st, pid))

    # killed (SIGKILL) while it works on an archive (stalled by its hook)
    old = helper_pid(ng)
    before = len(ng.error_log())
    bg = Background(ng.port, "/on/killed", data, "stall")
    time.sleep(0.5)
    t.check(bg.st is None, "a stalled inspection keeps its upload waiting",
            str(bg.st))
    # the worker is not blocked meanwhile: a plain upload and a GET pass
    t0 = time.time()
    st1, _ = N.http_request(ng.port, "PUT", "/on/meanwhile", b"x" * 5000,
                            timeout=5)
    took = time.time() - t0
    t.check(st1 == 200 and took < 1.0 and bg.st is None,
            "while an upload waits for the helper, the same worker answers "
            "another request (%.0f ms)" % (took * 1000),
            "status %s in %.2f s, waiting one %s" % (st1, took, bg.st))
    if old:
        os.kill(old, signal.SIGKILL)
    st = bg.join()
    log = ng.error_log()[before:]
    t.check(st == 503 and "archive not inspected" in log
            and "SIGKILL" in log and not entries_for(ng, "/on/killed"),
            "the helper SIGKILLed mid-archive gives that upload 503, logged "
            "with the cause", "status %s, log %s" % (st, log.strip()[-500:]))
    st, _ = send(ng.port, "/on/after-kill", data, True)
    new = helper_pid(ng)
    t.check(st == 200 and new and new != old,
            "after the kill, the next upload passes and a new helper runs",
            "status %s, helper %s -> %s" % (st, old, new))

    # hung past hashgate_archive_timeout: the time limit
    before = len(ng.error_log())
    t0 = time.time()
    st, _ = send(ng.port, "/time/hang", data, True,
                 headers={"X-Hashgate-Inspect-Test": "hang"})
    took = time.time() - t0
    log = ng.error_log()[before:]
    t.check(st == 503 and 'archive limit "time"' in log and 0.8 < took < 5,
            "a helper that hangs past hashgate_archive_timeout (1s) gives 503 "
            "after about 1 s, the time limit logged",
            "status %s after %.2f s, log %s" % (st, took, log.strip()[-400:]))

    # the client goes away while its upload is inspected
    for loc, mode in (("time", "on"), ("timeoff", "off")):
        worker = ng.worker_pids()
        before = len(ng.error_log())
        s = socket.create_connection(("127.0.0.1", ng.port))
        s.sendall(b"PUT /%s/gone HTTP/1.1\r\nHost: x\r\n"
                  b"X-Hashgate-Inspect-Test: stall\r\n"
                  b"Content-Length: %d\r\n\r\n" % (loc.encode(), len(data))
                  + data)
        time.sleep(0.3)
        s.close()
        time.sleep(1.5)         # past the time limit: the stalled job ends
        st, _ = send(ng.port, "/on/after-gone", data, True)
        log = ng.error_log()[before:]
        path = "/%s/gone" % loc
        t.check(st == 200 and ng.worker_pids() == worker and not ng.crashes()
                and "[alert]" not in log
                and not any(e["complete"] for e in entries_for(ng, path)),
                "buffering %s: a client closing while its upload is "
                "inspected: the upload is dropped, the worker lives on, the "
                "next upload passes" % mode,
                "status %s, workers %s -> %s, log %s"
                % (st, worker, ng.worker_pids(), log.strip()[-600:]))
        acc = [l for l in ng.access_log(" %s " % path) if " %s " % path in l]
        t.check(acc and acc[0].split()[2] == "499",
                "buffering %s: the early close is noticed while waiting: the "
                "request ends (499), not by the helper's time limit (503)"
                % mode, str(acc))

    # a client leaving while a real archive is opened: the helper's answer,
    # entries and all, comes for a request that is gone
    gz, _ = make(tmp, "bomb-gzip", zeros=256 << 20)
    worker = ng.worker_pids()
    before = len(ng.error_log())
    s = socket.create_connection(("127.0.0.1", ng.port))
    s.sendall(b"PUT /slow/gone HTTP/1.1\r\nHost: x\r\n"
              b"Content-Length: %d\r\n\r\n" % len(gz) + gz)
    time.sleep(0.2)
    s.close()
    t0 = time.time()
    st, _ = send(ng.port, "/slow/after", data, True)
    took = time.time() - t0
    time.sleep(0.5)
    log = ng.error_log()[before:]
    acc = [l for l in ng.access_log(" /slow/gone ") if " /slow/gone " in l]
    t.check(st == 200 and acc and acc[0].split()[2] == "499"
            and ng.worker_pids() == worker and not ng.crashes()
            and "[alert]" not in log,
            "a client leaving while its 256 MiB gzip is opened: the late "
            "answer is discarded, the next upload (queued behind it, %.1f s) "
            "passes" % took, "status %s, %s, log %s"
            % (st, acc, log.strip()[-500:]))


if __name__ == "__main__":
    main()
