# SPDX-License-Identifier: BSD-2-Clause
"""nginx.py - a private nginx with the hashgate module, for tests and benches.

Runs Debian's /usr/sbin/nginx from a prefix under a temp dir: its own
config, pid file, logs and temp paths, 127.0.0.1 listeners on free ports,
master_process on and 2 workers. Started, reloaded and stopped by the
master's PID; everything it made is removed by cleanup().

The upstream is a Recorder: a small HTTP server in its own process that
hashes each request body as it streams in (nothing is kept) and writes one
JSON line per request: path, method, bytes received, SHA-256, whether the
body was complete. A body cut short (the connection closed before the
declared length or the final chunk) is logged with complete=false.

Lists are made at test time from seeded random bytes: make_db() writes the
hex digests of some payloads and compiles them with $HG_BIN/hashgate.

Run as `python3 nginx.py recorder PORT LOGFILE` it is the recorder itself.
"""

import hashlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

NGINX = os.environ.get("HG_NGINX", "/usr/sbin/nginx")
TOP = os.environ.get("HG_TOP") or os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
HG_BIN = os.environ.get("HG_BIN") or os.path.join(
    TOP, os.environ.get("BUILD", "build"))
MODULE = os.path.join(HG_BIN, "ngx_http_hashgate_module.so")


def _terminated(signum, frame):
    # a test killed by the runner's timeout still stops what it started
    sys.exit(128 + signum)


if __name__ != "__main__" \
        and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
    signal.signal(signal.SIGTERM, _terminated)


# ---- checks in the suite's "ok - ..." protocol ----

class Checks:
    def __init__(self):
        self.failed = 0
        self.passed = 0

    def check(self, cond, what, why=""):
        if cond:
            self.passed += 1
            print("ok - %s" % what, flush=True)
        else:
            self.failed += 1
            print("not ok - %s%s" % (what, (": " + str(why)) if why else ""),
                  flush=True)
        return cond

    def done(self):
        sys.exit(1 if self.failed else 0)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def payload(seed, size):
    """size bytes of seeded random data: synthetic, reproducible."""
    return random.Random(seed).randbytes(size)


def make_db(path, lists, workdir=None, algs=("sha256",)):
    """Compile a database: lists maps a list name to payloads (bytes).

    Each payload's digests (for each alg in algs) go on the list. Returns
    the hashgate compile result (CompletedProcess)."""
    workdir = workdir or os.path.dirname(path)
    args = [os.path.join(HG_BIN, "hashgate"), "compile", "-o", path]
    for name, items in lists.items():
        txt = os.path.join(workdir, "list-%s.txt" % name)
        with open(txt, "w") as f:
            for data in items:
                for alg in algs:
                    f.write(hashlib.new(alg, data).hexdigest() + "\n")
        args.append("%s=%s" % (name, txt))
    r = subprocess.run(args, capture_output=True, text=True, errors="replace")
    if r.returncode != 0:
        raise RuntimeError("hashgate compile failed: %s" % r.stderr)
    os.chmod(path, 0o644)
    return r


def make_db_from_hex(path, lists, workdir=None):
    """As make_db, lists mapping a name to hex digest strings."""
    workdir = workdir or os.path.dirname(path)
    args = [os.path.join(HG_BIN, "hashgate"), "compile", "-o", path]
    for name, digests in lists.items():
        txt = os.path.join(workdir, "list-%s.txt" % name)
        with open(txt, "w") as f:
            for d in digests:
                f.write(d + "\n")
        args.append("%s=%s" % (name, txt))
    r = subprocess.run(args, capture_output=True, text=True, errors="replace")
    if r.returncode != 0:
        raise RuntimeError("hashgate compile failed: %s" % r.stderr)
    os.chmod(path, 0o644)
    return r


def multipart(parts, boundary="hgboundary0123456789"):
    """A multipart/form-data body: parts are (field, filename, type, bytes)."""
    out = []
    for field, filename, ctype, data in parts:
        out.append(b"--" + boundary.encode() + b"\r\n")
        disp = 'Content-Disposition: form-data; name="%s"' % field
        if filename is not None:
            disp += '; filename="%s"' % filename
        out.append(disp.encode() + b"\r\n")
        if ctype:
            out.append(b"Content-Type: " + ctype.encode() + b"\r\n")
        out.append(b"\r\n" + data + b"\r\n")
    out.append(b"--" + boundary.encode() + b"--\r\n")
    return b"".join(out), "multipart/form-data; boundary=" + boundary


# ---- the upstream recorder ----

class Recorder:
    def __init__(self, tmp):
        self.port = free_port()
        self.log = os.path.join(tmp, "recorder.jsonl")
        open(self.log, "w").close()
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "recorder",
             str(self.port), self.log],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("recorder did not start")

    def entries(self, settle=0.3):
        time.sleep(settle)
        out = []
        with open(self.log, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.strip():
                    out.append(json.loads(line))
        return out

    def clear(self):
        open(self.log, "w").close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def _recorder_main(port, logpath):
    import threading
    lock = threading.Lock()

    def log(entry):
        with lock:
            with open(logpath, "a") as f:
                f.write(json.dumps(entry) + "\n")

    def readline(f):
        line = f.readline(65537)
        if not line:
            raise EOFError
        return line

    def serve(conn):
        f = conn.makefile("rb", buffering=65536)
        try:
            while True:
                try:
                    line = f.readline(65537)
                except OSError:
                    return
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    continue
                method, path = line.decode("latin-1").split()[:2]
                headers = {}
                while True:
                    h = readline(f)
                    if h in (b"\r\n", b"\n"):
                        break
                    k, _, v = h.decode("latin-1").partition(":")
                    headers[k.strip().lower()] = v.strip()
                sha = hashlib.sha256()
                got = 0
                complete = True
                try:
                    if headers.get("transfer-encoding", "").lower() == "chunked":
                        while True:
                            size = int(readline(f).split(b";")[0], 16)
                            if size == 0:
                                while readline(f) not in (b"\r\n", b"\n"):
                                    pass
                                break
                            left = size
                            while left:
                                b = f.read(min(left, 1 << 20))
                                if not b:
                                    raise EOFError
                                sha.update(b)
                                got += len(b)
                                left -= len(b)
                            readline(f)
                    else:
                        left = int(headers.get("content-length", "0"))
                        while left:
                            b = f.read(min(left, 1 << 20))
                            if not b:
                                raise EOFError
                            sha.update(b)
                            got += len(b)
                            left -= len(b)
                except (EOFError, OSError, ValueError):
                    complete = False
                log({"method": method, "path": path, "bytes": got,
                     "sha256": sha.hexdigest(), "complete": complete,
                     "verdict": headers.get("x-hashgate-verdict"),
                     "body_sha256": headers.get("x-hashgate-sha256")})
                if not complete:
                    return
                body = b"recorded\n"
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
                             b"Content-Type: text/plain\r\n\r\n%s"
                             % (len(body), body))
        finally:
            try:
                conn.close()
            except OSError:
                pass

    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(256)
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


# ---- the private nginx ----

CONF = """
{load}
{user}
worker_processes {workers};
master_process on;
daemon on;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log notice;
events {{ worker_connections 1024; }}
http {{
    log_format hg '{logfmt}';
    access_log {prefix}/access.log hg;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    upstream recorder {{ server 127.0.0.1:{rport}; keepalive 8; }}
{http}
}}
"""


class Nginx:
    """A private nginx. http is the text inside http {} after the common
    part (use {port}, {rport}, {prefix}, {tmp} placeholders); module=False
    runs the same config without load_module (for baselines), a path
    loads that module file instead of $HG_BIN's. log_sha256=False leaves
    $hashgate_sha256 out of the access log: naming it makes every body's
    SHA-256 computed whatever the lists need (benchmarks of what a list
    costs)."""

    def __init__(self, http="", workers=2, module=True, recorder=True,
                 tmp=None, log_sha256=True):
        self.log_sha256 = log_sha256
        self.own_tmp = tmp is None
        self.tmp = tmp or tempfile.mkdtemp(prefix="hg-nginx-")
        # workers run as nobody when we are root: they must reach the db
        os.chmod(self.tmp, 0o755)
        self.prefix = os.path.join(self.tmp, "nginx")
        os.makedirs(self.prefix, exist_ok=True)
        self.conf = os.path.join(self.prefix, "nginx.conf")
        self.port = free_port()
        self.port2 = free_port()
        self.workers = workers
        self.module = module
        self.recorder = Recorder(self.tmp) if recorder else None
        self.http = http
        self.master = None
        self.write_conf(http)

    def vars(self):
        return {"port": self.port, "port2": self.port2,
                "rport": self.recorder.port if self.recorder else 1,
                "prefix": self.prefix, "tmp": self.tmp}

    def render(self, http):
        v = self.vars()
        body = http
        for k, val in v.items():
            body = body.replace("{%s}" % k, str(val))
        user = "user nobody nogroup;" if os.geteuid() == 0 else ""
        if self.module:
            logfmt = ("$request_method $uri $status $hashgate_verdict "
                      "$hashgate_list %s $request_id"
                      % ("$hashgate_sha256" if self.log_sha256 else "-"))
            # module: True, or the path of another build's module
            load = "load_module %s;" % (self.module if isinstance(
                self.module, str) else MODULE)
        else:
            logfmt = "$request_method $uri $status - - - $request_id"
            load = ""
        text = CONF.format(load=load, logfmt=logfmt, user=user,
                           workers=self.workers, http=body, **v)
        if not self.module:
            text = "\n".join(l for l in text.split("\n")
                             if "hashgate" not in l)
        return text

    def write_conf(self, http=None, path=None):
        if http is not None:
            self.http = http
        with open(path or self.conf, "w") as f:
            f.write(self.render(self.http))

    def cmd(self, *args, conf=None):
        # HG_NGINX_PRELOAD: a sanitizer runtime for a sanitized module
        env = dict(os.environ)
        # (nginx itself keeps its cycle memory to exit: no leak checks there)
        if os.environ.get("HG_NGINX_PRELOAD"):
            env["LD_PRELOAD"] = os.environ["HG_NGINX_PRELOAD"]
            env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=1"
        # nginx -t quotes config text, which tests may fill with any bytes
        return subprocess.run([NGINX, "-p", self.prefix + "/", "-c",
                               conf or self.conf] + list(args),
                              capture_output=True, text=True,
                              errors="replace", env=env)

    def test_conf(self, http):
        """nginx -t on a config with this http part: (rc, output, path)."""
        path = os.path.join(self.prefix, "test.conf")
        with open(path, "w") as f:
            f.write(self.render(http))
        r = self.cmd("-t", conf=path)
        return r.returncode, r.stdout + r.stderr, path

    def pidfile(self):
        return os.path.join(self.prefix, "nginx.pid")

    def start(self):
        r = self.cmd()
        if r.returncode != 0:
            raise RuntimeError("nginx did not start: %s%s\n%s"
                               % (r.stdout, r.stderr, self.error_log()))
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                with open(self.pidfile()) as f:
                    self.master = int(f.read().strip())
                if len(self.worker_pids()) == self.workers:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        self.wait_port(self.port)
        return self

    def wait_port(self, port):
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx is not listening on %d" % port)

    def worker_pids(self):
        if not self.master:
            return []
        pids = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % d) as f:
                    st = f.read()
                ppid = int(st.rsplit(")", 1)[1].split()[1])
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    cmdline = f.read()
            except (OSError, IndexError, ValueError):
                continue
            if ppid == self.master and b"worker process" in cmdline \
                    and b"shutting down" not in cmdline:
                pids.append(int(d))
        return sorted(pids)

    def reload(self, http=None, wait_new=True):
        old = set(self.worker_pids())
        if http is not None:
            self.write_conf(http)
        os.kill(self.master, signal.SIGHUP)
        if not wait_new:
            return
        deadline = time.time() + 10
        while time.time() < deadline:
            now = set(self.worker_pids())
            if len(now) == self.workers and not (now & old):
                return
            time.sleep(0.05)
        raise RuntimeError("reload did not replace the workers")

    def stop(self):
        if not self.master:
            return
        try:
            os.kill(self.master, signal.SIGQUIT)
        except ProcessLookupError:
            self.master = None
            return
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                os.kill(self.master, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            os.kill(self.master, signal.SIGKILL)
        self.master = None

    def evidence(self, name="evidence.jsonl"):
        """The records of the evidence log {prefix}/name, [] if none yet."""
        try:
            with open(os.path.join(self.prefix, name)) as f:
                return [json.loads(line) for line in f]
        except OSError:
            return []

    def error_log(self):
        """The error log's text. It quotes request lines and headers as
        clients sent them, bytes that need not be UTF-8: those read as
        U+FFFD, never as an exception."""
        try:
            with open(os.path.join(self.prefix, "error.log"),
                      encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def crashes(self):
        """Error log lines of workers that died on a signal, and sanitizer
        reports (nginx sends its stderr to the error log)."""
        return [l for l in self.error_log().splitlines()
                if "exited on signal" in l or "runtime error:" in l
                or "AddressSanitizer" in l]

    def access_log(self, wait_for=None, timeout=3):
        """Lines of the access log; with wait_for, wait until a line has
        that text (nginx logs a request after its response is sent)."""
        deadline = time.time() + timeout
        while True:
            try:
                # the URI is logged as sent: read non-UTF-8 bytes as U+FFFD
                with open(os.path.join(self.prefix, "access.log"),
                          encoding="utf-8", errors="replace") as f:
                    lines = f.read().splitlines()
            except OSError:
                lines = []
            if wait_for is None or any(wait_for in l for l in lines) \
                    or time.time() > deadline:
                return lines
            time.sleep(0.05)

    def cleanup(self):
        self.stop()
        if self.recorder:
            self.recorder.stop()
        if self.own_tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()


def private_rss(pid):
    """Private (anonymous + private file) memory of pid, in bytes."""
    total = 0
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith(("Private_Clean:", "Private_Dirty:")):
                total += int(line.split()[1]) * 1024
    return total


def http_request(port, method, path, body=b"", headers=None, chunked=False,
                 timeout=30):
    """One request over a fresh connection: (status, response body).
    status is 0 when the connection was closed without a response."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    hdrs = dict(headers or {})
    try:
        if chunked:
            hdrs["Transfer-Encoding"] = "chunked"

            def gen():
                step = 7001
                for i in range(0, len(body), step):
                    yield body[i:i + step]
            conn.request(method, path, body=gen(), headers=hdrs,
                         encode_chunked=True)
        else:
            conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        return resp.status, resp.read()
    except (ConnectionError, OSError):
        return 0, b""
    finally:
        conn.close()


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "recorder":
        _recorder_main(int(sys.argv[2]), sys.argv[3])
    else:
        sys.stderr.write("usage: nginx.py recorder PORT LOGFILE\n")
        sys.exit(2)
