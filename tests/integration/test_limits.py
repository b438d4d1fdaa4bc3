# SPDX-License-Identifier: BSD-2-Clause
"""test_limits.py - hostile sizes and shapes through the real binaries.

Each input of issue 8's "Limits" list goes through `hashgate scan` (piped
on stdin, as a server would stream it), through hashgate-milter behind a
private Postfix and, as form uploads, through nginx with the module, all
with their default limits. For each: the verdict the configuration
defines (an ERROR line and exit 2 from the CLI, 451 from the milter with
OnFail tempfail, 503 from nginx with hashgate_on_error tempfail), peak
memory that stays small whatever the input size, and the next message or
upload still scanned (a listed attachment after the hostile input is
still found). Every listed item is seeded random
bytes; nothing is stored but small messages in a temp dir - the 2 GB
attachment is generated while it is piped.

HG_STREAM_MB sets the size of the streamed attachment (default 2048).
"""

import base64
import hashlib
import json
import os
import random
import shutil
import signal
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

# Peak RSS allowed for one CLI scan: it measures ~6 MB here whatever the
# input (5 MB of it the launcher's); a parser that buffered a part or a
# message would pass this at once.
CLI_RSS_MAX_KB = 32 * 1024
# The milter after every hostile mail (threads, libmilter buffers included).
MILTER_RSS_MAX_KB = 96 * 1024
# Private RSS of one nginx worker after every hostile upload (~1 MB here).
NGINX_RSS_MAX = 32 << 20
# One CLI run; the 2 GB stream takes ~11 s here.
CLI_TIMEOUT = 240

STREAM_MB = int(os.environ.get("HG_STREAM_MB", "2048"))
DEPTH = 1000
NPARTS = 100_000

ok = hm.Checks()
tmp = tempfile.mkdtemp(prefix="hg-limits-")
os.chmod(tmp, 0o755)

LISTED = hm.blob(8101, 6_000)
NEXT_LISTED = hm.blob(8102, 7_000)
HDRS = ("From: sender@example.org\r\nTo: rcpt@example.net\r\n"
        "Subject: %s\r\nMessage-ID: <%s.%d@hashgate.test>\r\n"
        "MIME-Version: 1.0\r\n")


def headers(what):
    return HDRS % (what, what, random.randrange(1 << 30))


def attachment(data, boundary):
    return ("--%s\r\nContent-Type: application/octet-stream\r\n"
            "Content-Disposition: attachment; filename=\"item.bin\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n"
            % (boundary, hm._b64_lines(data)))


def deep_multipart(depth, data):
    """depth nested multipart/mixed, data attached at the innermost one."""
    pre, post = [], []
    for d in range(1, depth):
        pre.append("--d%d\r\nContent-Type: multipart/mixed; boundary=\"d%d\""
                   "\r\n\r\n" % (d, d + 1))
        post.append("--d%d--\r\n" % d)
    inner = attachment(data, "d%d" % depth) + "--d%d--\r\n" % depth
    return (headers("deep-multipart")
            + 'Content-Type: multipart/mixed; boundary="d1"\r\n\r\n'
            + "".join(pre) + inner + "".join(reversed(post))).encode()


def deep_rfc822(depth, data):
    """data attached to a mail forwarded as message/rfc822 depth times."""
    pre, post = [], []
    for d in range(depth):
        pre.append(headers("fwd%d" % d)
                   + 'Content-Type: multipart/mixed; boundary="w%d"\r\n\r\n'
                   "--w%d\r\nContent-Type: text/plain\r\n\r\nforwarded\r\n"
                   "--w%d\r\nContent-Type: message/rfc822\r\n\r\n" % (d, d, d))
        post.append("\r\n--w%d--\r\n" % d)
    inner = (headers("innermost")
             + 'Content-Type: multipart/mixed; boundary="in"\r\n\r\n'
             + attachment(data, "in") + "--in--\r\n")
    return ("".join(pre) + inner + "".join(reversed(post))).encode()


def many_parts(n, data):
    """n tiny text parts, then data attached as part n + 1."""
    body = "".join("--p\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % i
                   for i in range(n))
    return (headers("parts") + 'Content-Type: multipart/mixed; boundary="p"'
            "\r\n\r\n" + body + attachment(data, "p") + "--p--\r\n").encode()


def long_header(n, data):
    """One header field of n bytes, then a listed attachment."""
    return (headers("long-header") + "X-Long: " + "a" * n + "\r\n"
            'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
            + attachment(data, "b") + "--b--\r\n").encode()


def garbage_base64(nbytes):
    """A base64 part of printable characters that are mostly not base64."""
    g = random.Random(8103)
    alphabet = "!#$%&()*,-.:;<>?@[]^_`{|}~\"' " + "AZaz09+/"
    text = "".join(g.choice(alphabet) for _ in range(nbytes))
    lines = "\r\n".join(text[i:i + 76] for i in range(0, len(text), 76))
    return (headers("garbage-base64")
            + 'Content-Type: multipart/mixed; boundary="g"\r\n\r\n'
            "--g\r\nContent-Type: image/jpeg\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n" + lines
            + "\r\n--g--\r\n").encode()


def nul_headers(data):
    """NULs in header values (and in a MIME part's header), then data."""
    return (b"From: sender@example.org\r\nTo: rcpt@example.net\r\n"
            b"Subject: nul\x00in\x00subject\r\nX-Nul: \x00\x00\x00\r\n"
            b"MIME-Version: 1.0\r\n"
            b'Content-Type: multipart/mixed; boundary="n"\r\n\r\n'
            b"--n\r\nContent-Type: text/plain\r\nX-Part: a\x00b\r\n\r\n"
            b"text\r\n" + attachment(data, "n").encode() + b"--n--\r\n")


def unclosed_part(data, filler_lines):
    """data attached as part 1, then a part 2 that is opened and never
    closed: filler lines and no boundary at all until the end of input."""
    return (headers("no-boundary")
            + 'Content-Type: multipart/mixed; boundary="never"\r\n\r\n'
            + attachment(data, "never")
            + "--never\r\nContent-Type: text/plain\r\n\r\n"
            + "".join("still waiting for the boundary %d\r\n" % i
                      for i in range(filler_lines))).encode()


def no_boundary_line(nbytes):
    """A multipart whose boundary never comes: one line of nbytes, no LF."""
    return (headers("no-boundary-line").encode()
            + b'Content-Type: multipart/mixed; boundary="never"\r\n\r\n'
            + b"x" * nbytes)


def next_message():
    return (headers("next") + 'Content-Type: multipart/mixed; boundary="x"'
            "\r\n\r\n" + attachment(NEXT_LISTED, "x") + "--x--\r\n").encode()


# ---- the CLI ----

# Peak RSS is the ru_maxrss wait4() returns, but Linux counts in it the
# memory of the process that forked before exec: forked from this test
# (which holds the inputs) it would say 160 MB. So a fresh, small Python
# (~5 MB) forks hashgate and writes its ru_maxrss to a file.
LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, ru = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write("%d" % ru.ru_maxrss)
code = os.waitstatus_to_exitcode(status)
os._exit(code if code >= 0 else 128 - code)
"""


def run_cli(args, feed):
    """hashgate ARGS with feed (bytes, or an iterator of chunks) piped to
    its stdin. Returns (exit status, stdout, stderr, peak RSS in kB,
    seconds)."""
    errpath = os.path.join(tmp, "cli.stderr")
    rsspath = os.path.join(tmp, "cli.rss")
    if os.path.exists(rsspath):
        os.unlink(rsspath)
    t0 = time.time()
    with open(errpath, "wb") as errf:
        p = subprocess.Popen([sys.executable, "-S", "-c", LAUNCHER, rsspath,
                              hm.HASHGATE] + args, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=errf,
                             start_new_session=True)
    # the launcher and hashgate both, so a hung scan cannot hang the test
    timer = threading.Timer(CLI_TIMEOUT, os.killpg, (p.pid, signal.SIGKILL))
    timer.start()

    def writer():
        try:
            for chunk in ([feed] if isinstance(feed, bytes) else feed):
                p.stdin.write(chunk)
        except (BrokenPipeError, ValueError):
            pass
        finally:
            try:
                p.stdin.close()
            except BrokenPipeError:
                pass

    w = threading.Thread(target=writer, daemon=True)
    w.start()
    out = p.stdout.read()
    w.join()
    p.wait()
    timer.cancel()
    with open(errpath, errors="replace") as f:
        err = f.read()
    try:
        with open(rsspath) as f:
            rss = int(f.read())
    except (OSError, ValueError):
        rss = 1 << 30                   # not measured: fails the check
    return (p.returncode, out.decode(errors="replace"), err, rss,
            time.time() - t0)


def write(name, data):
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def cli_limit(what, msg, expect_line, expect_rc=2):
    """msg piped to `hashgate scan -d DB - next.eml`: the stdin report has
    expect_line, exit status expect_rc, peak RSS small, next.eml scanned."""
    rc, out, err, rss, secs = run_cli(["scan", "-d", db, "-", next_eml], msg)
    first = [l for l in out.splitlines() if l.startswith("-")]
    ok(rc == expect_rc and any(expect_line in l for l in first),
       "scan - of %s: '%s', exit %d" % (what, expect_line, expect_rc),
       "exit %d, stdin lines %r, stderr %r" % (rc, first[-3:], err[-300:]))
    ok(rss < CLI_RSS_MAX_KB,
       "scan - of %s: peak RSS %d kB < %d kB (%.1f s)"
       % (what, rss, CLI_RSS_MAX_KB, secs), "peak RSS %d kB" % rss)
    ok("%s#1: next FOUND" % next_eml in out,
       "after %s the next message is scanned and its listed part found"
       % what, out[-300:])
    return out


def stream_chunks(raw_block, copies, boundary="big"):
    """A mail with one base64 attachment: raw_block repeated copies times,
    encoded block by block (len(raw_block) is a multiple of 57: each block
    is whole 76-character lines)."""
    enc = base64.b64encode(raw_block)
    wrapped = b"".join(enc[i:i + 76] + b"\r\n" for i in range(0, len(enc), 76))
    yield (headers("big-stream")
           + 'Content-Type: multipart/mixed; boundary="%s"\r\n\r\n'
           "--%s\r\nContent-Type: application/octet-stream\r\n"
           "Content-Disposition: attachment; filename=\"big.bin\"\r\n"
           "Content-Transfer-Encoding: base64\r\n\r\n"
           % (boundary, boundary)).encode()
    for _ in range(copies):
        yield wrapped
    yield ("--%s--\r\n" % boundary).encode()


NGINX_HTTP = r"""
    hashgate_database {tmp}/db.hgdb;
    client_max_body_size 128m;
    server {
        listen 127.0.0.1:{port};
        hashgate on;
        location / { proxy_pass http://recorder; }
    }
"""

pf = None
m = None
ng = None
try:
    hm.check_tool(hm.HASHGATE)
    hm.check_tool(hm.MILTER)

    # the stream's attachment: a seeded block repeated; its digest listed
    RAW = 57 * 18396                     # 1 MiB of base64 lines, whole
    block = hm.blob(8104, RAW)
    copies = max(1, -(-(STREAM_MB << 20) // RAW))   # at least STREAM_MB
    h = hashlib.sha256()
    for _ in range(copies):
        h.update(block)
    big_sha = h.hexdigest()

    db = hm.compile_db(os.path.join(tmp, "db.hgdb"), {
        "listed": [hm.sha256(LISTED)], "next": [hm.sha256(NEXT_LISTED)],
        "big": [big_sha]})
    next_eml = write("next.eml", next_message())

    # -- nesting, parts, header line: the parser's limits --
    cli_limit("%d-deep multipart nesting" % DEPTH,
              deep_multipart(DEPTH, LISTED), "(max_depth)")
    cli_limit("%d-deep message/rfc822 nesting" % DEPTH,
              deep_rfc822(DEPTH, LISTED), "(max_depth)")
    out = cli_limit("%d parts" % NPARTS, many_parts(NPARTS, LISTED),
                    "(max_parts)")
    nreported = sum(1 for l in out.splitlines() if l.startswith("-#"))
    ok(nreported == 1000 and "-#1000: OK" in out,
       "the 1000 parts before the limit are each reported OK",
       "%d part lines" % nreported)
    cli_limit("a 1 MB header line", long_header(1 << 20, LISTED),
              "(max_line_bytes)")

    # -- a 2 GB attachment, generated while piped --
    rc, out, err, rss, secs = run_cli(["scan", "-d", db, "-"],
                                      stream_chunks(block, copies))
    ok(rc == 1 and "-#1: big FOUND" in out,
       "scan - of a %d MB base64 attachment streamed on stdin: its digest "
       "is found (%.1f s, %.0f MB/s)" % (copies * RAW >> 20, secs,
                                         copies * RAW / 1e6 / secs),
       "exit %d, %r %r" % (rc, out[-200:], err[-200:]))
    ok(rss < CLI_RSS_MAX_KB,
       "scan - of the %d MB attachment: peak RSS %d kB < %d kB"
       % (copies * RAW >> 20, rss, CLI_RSS_MAX_KB), "peak RSS %d kB" % rss)

    # -- garbage, NULs, boundaries --
    rc, out, err, rss, secs = run_cli(["scan", "-d", db, "--json", "-",
                                       next_eml], garbage_base64(200_000))
    lines = [json.loads(l) for l in out.splitlines() if l.strip()]
    g = [l for l in lines if l.get("path") == "-"]
    ok(len(g) == 1 and g[0].get("decode_errors", 0) > 100_000
       and g[0].get("verdict") == "clean" and rc == 1,
       "base64 full of garbage: decode errors counted in the report, no crash",
       "exit %d, %r" % (rc, g))
    ok(any(l.get("path") == next_eml and l.get("verdict") == "match"
           for l in lines),
       "after garbage base64 the next message is scanned", out[-300:])

    cli_limit("NULs in header fields", nul_headers(LISTED),
              "-#2: listed FOUND", expect_rc=1)
    out = cli_limit("a part whose boundary never comes",
                    unclosed_part(LISTED, 20_000), "-#1: listed FOUND",
                    expect_rc=1)
    ok("-#2: OK" in out, "the part left open is scanned to the end of input",
       out[-300:])
    rc, out, err, rss, secs = run_cli(["scan", "-d", db, "-", next_eml],
                                      no_boundary_line(64 << 20))
    ok(rss < CLI_RSS_MAX_KB and "%s#1: next FOUND" % next_eml in out
       and "-: ERROR" in out and rc == 2,
       "a boundary that never comes after a 64 MB line without newline: "
       "an error (nothing was scanned), peak RSS %d kB, the next message "
       "scanned" % rss,
       "exit %d, %r %r" % (rc, out[-200:], err[-200:]))

    # -- a database of 0 entries --
    empty_txt = write("empty.txt", b"")
    empty_db = os.path.join(tmp, "empty.hgdb")
    p = subprocess.run([hm.HASHGATE, "compile", "-o", empty_db,
                        "empty=" + empty_txt], capture_output=True, text=True)
    ok(p.returncode == 0 and os.path.exists(empty_db),
       "an empty list compiles into a database", p.stderr)
    p = subprocess.run([hm.HASHGATE, "info", "--verify", empty_db],
                       capture_output=True, text=True)
    ok(p.returncode == 0 and "entries:  0" in p.stdout,
       "info --verify accepts the empty database", p.stdout + p.stderr)
    rc, out, err, rss, secs = run_cli(["scan", "-d", empty_db, "-", next_eml],
                                      next_message())
    ok(rc == 0 and "-#1: OK" in out and "%s#1: OK" % next_eml in out,
       "scan with the empty database says clean (exit 0)",
       "exit %d, %r %r" % (rc, out, err))

    # ---- the milter behind a private Postfix, default limits ----
    m = hm.Milter(tmp, db)
    m.start()
    pf = Postfix(milter=m.postfix_spec, base=os.path.join(tmp, "pf"))
    pf.start()
    TEMPFAIL = 451
    REJECT = 550
    MILTER_CASES = [
        ("%d-deep multipart nesting" % DEPTH,
         deep_multipart(DEPTH, LISTED), TEMPFAIL),
        ("%d-deep message/rfc822 nesting" % DEPTH,
         deep_rfc822(DEPTH, LISTED), TEMPFAIL),
        ("%d parts" % NPARTS, many_parts(NPARTS, LISTED), TEMPFAIL),
        ("NULs in header fields", nul_headers(LISTED), REJECT),
        ("a part whose boundary never comes",
         unclosed_part(LISTED, 20_000), REJECT),
        ("base64 full of garbage", garbage_base64(200_000), 250),
    ]
    for what, msg, want in MILTER_CASES:
        code, text = pf.send(msg)
        ok(code == want, "milter, %s: %d" % (what, want),
           "%d %s" % (code, text))
        code, text = pf.send(next_message())
        ok(code == REJECT and m.alive(),
           "milter, after %s: the next mail is scanned (550)" % what,
           "%d %s" % (code, text))

    # Postfix itself cuts header fields at header_size_limit (100 kB), so
    # the milter never sees 1 MB; what must hold is that the line cannot
    # hide the attachment after it.
    code, text = pf.send(long_header(1 << 20, LISTED))
    ok(code in (REJECT, TEMPFAIL),
       "milter, a 1 MB header line: the attachment after it is not "
       "delivered (%d)" % code, "%d %s" % (code, text))
    ok(m.wait_log("undecodable bytes skipped"),
       "milter: garbage base64 is logged as undecodable bytes skipped")
    ok(m.log().count("not scanned") >= 3,
       "milter: each limit hit is logged as not scanned")
    with open("/proc/%d/status" % m.pid) as f:
        hwm = int(f.read().split("VmHWM:")[1].split()[0])
    ok(hwm < MILTER_RSS_MAX_KB,
       "milter peak RSS after every hostile mail: %d kB < %d kB"
       % (hwm, MILTER_RSS_MAX_KB), "VmHWM %d kB" % hwm)

    # the empty database in the milter: everything is clean
    m.stop()
    m = hm.Milter(tmp, empty_db)
    m.start()
    code, text = pf.send(next_message())
    ok(code == 250, "milter with the empty database: an attachment is "
       "accepted as clean", "%d %s" % (code, text))

    # ---- nginx with the module: the same shapes as form uploads ----
    m.stop()
    m = None
    pf.close()
    pf = None
    os.makedirs(os.path.join(tmp, "ngx"))
    ng = N.Nginx(http=NGINX_HTTP, tmp=os.path.join(tmp, "ngx"))
    shutil.copy(db, os.path.join(ng.tmp, "db.hgdb"))
    os.chmod(os.path.join(ng.tmp, "db.hgdb"), 0o644)
    ng.start()

    def upload(body, ctype):
        return N.http_request(ng.port, "POST", "/up", body,
                              {"Content-Type": ctype}, timeout=120)[0]

    def next_upload(what):
        body, ctype = N.multipart([("file", "n.bin", None, NEXT_LISTED)])
        st = upload(body, ctype)
        ok(st == 403, "nginx, after %s: the next upload is scanned (403)"
           % what, "status %d" % st)

    body, ctype = N.multipart([("f%d" % i, None, None, b"x")
                               for i in range(NPARTS)]
                              + [("file", "l.bin", None, LISTED)])
    st = upload(body, ctype)
    ok(st == 503, "nginx, a form of %d parts: 503 (hashgate_on_error "
       "default)" % NPARTS, "status %d" % st)
    next_upload("%d parts" % NPARTS)

    nested = deep_multipart(DEPTH, LISTED).split(b"\r\n\r\n", 1)[1]
    body = (b'--top\r\nContent-Disposition: form-data; name="x"\r\n'
            b'Content-Type: multipart/mixed; boundary="d1"\r\n\r\n'
            + nested + b"\r\n--top--\r\n")
    st = upload(body, "multipart/form-data; boundary=top")
    ok(st == 503, "nginx, %d-deep multipart inside a form: 503" % DEPTH,
       "status %d" % st)
    next_upload("%d-deep nesting" % DEPTH)

    for what, first, want in (("a listed part", LISTED, 403),
                              ("a clean part", hm.blob(8105, 3000), 200)):
        body = (N.multipart([("file", "a.bin", None, first)], "top")[0]
                [:-len(b"--top--\r\n")]
                + b'--top\r\nContent-Disposition: form-data; name="x"\r\n'
                b"\r\n" + b"x" * (64 << 20))
        st = upload(body, "multipart/form-data; boundary=top")
        ok(st == want, "nginx, %s then a 64 MB part whose boundary never "
           "comes: %d" % (what, want), "status %d" % st)
    next_upload("a boundary that never comes")

    body = (b'--top\r\nContent-Disposition: form-data; name="x"; '
            b'filename="g.jpg"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
            + garbage_base64(100_000).split(b"\r\n\r\n", 2)[2]
            .rsplit(b"\r\n--g--", 1)[0]
            + b"\r\n--top--\r\n")
    st = upload(body, "multipart/form-data; boundary=top")
    ok(st == 200, "nginx, base64 full of garbage in a form part: passed "
       "as clean (200)", "status %d" % st)
    next_upload("garbage base64")

    rss = [N.private_rss(p) for p in ng.worker_pids()]
    ok(rss and max(rss) < NGINX_RSS_MAX and not ng.crashes(),
       "nginx workers after every hostile upload: private RSS %s kB, none "
       "died" % [r >> 10 for r in rss], "%r %r" % (rss, ng.crashes()))

    shutil.copy(empty_db, os.path.join(ng.tmp, "db.new"))
    os.chmod(os.path.join(ng.tmp, "db.new"), 0o644)
    os.rename(os.path.join(ng.tmp, "db.new"), os.path.join(ng.tmp, "db.hgdb"))
    ng.reload()
    body, ctype = N.multipart([("file", "n.bin", None, NEXT_LISTED)])
    st = upload(body, ctype)
    ok(st == 200, "nginx with the empty database: the upload passes as "
       "clean (200)", "status %d" % st)

except Exception as e:  # a missing binary or server is a failure
    import traceback
    traceback.print_exc()
    ok(False, "limit tests ran to the end", repr(e))
finally:
    if m is not None:
        if ok.failed:
            print("# milter log tail:\n# "
                  + "\n# ".join(m.log().splitlines()[-15:]))
        m.stop(signal.SIGKILL)
    if pf is not None:
        if ok.failed:
            print("# maillog tail:\n# " + pf.log_tail(15).replace("\n", "\n# "))
        pf.close()
    if ng is not None:
        if ok.failed:
            print("# nginx error log tail:\n# " + "\n# ".join(
                ng.error_log().splitlines()[-10:]))
        ng.cleanup()
    shutil.rmtree(tmp, ignore_errors=True)
ok.exit()
