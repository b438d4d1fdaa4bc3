# SPDX-License-Identifier: BSD-2-Clause
"""hgmilter.py - run the real hashgate-milter for tests, benchmarks and the demo.

Synthetic data only: every "listed" item is seeded random bytes, and lists
are compiled at test time from their digests with `hashgate compile`.
The milter runs in the foreground (-f) with its stderr in the temp dir,
is stopped by its PID, and owns nothing outside that dir.
"""

import base64
import binascii
import hashlib
import json
import os
import quopri
import random
import signal
import socket
import struct
import subprocess
import threading
import time
from email.utils import make_msgid

TOP = os.environ.get("HG_TOP") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("HG_BIN") or os.path.join(TOP, "build")
MILTER = os.path.join(BIN, "hashgate-milter")
HASHGATE = os.path.join(BIN, "hashgate")

# the unprivileged user the milter runs as in tests
RUN_AS = "nobody"


def blob(seed, size, no_newlines=False):
    """size seeded random bytes; the same seed always gives the same bytes."""
    data = random.Random(seed).randbytes(size)
    if no_newlines:
        data = data.replace(b"\r", b"x").replace(b"\n", b"y")
    return data


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def compile_db(out, lists, allow=None):
    """lists: {name: [hex digests]} or {name: ([hex], version)}; allow:
    {name: [hex]} allow-lists. Writes out."""
    args = [HASHGATE, "compile", "-o", out]
    tmp = os.path.dirname(out)
    for name, v in list(lists.items()) + [("allow:" + n, a) for n, a in (allow or {}).items()]:
        version = None
        if isinstance(v, tuple):
            v, version = v
        src = os.path.join(tmp, "list-%s-%d.txt" % (name.replace(":", "-"), os.getpid()))
        with open(src, "w") as f:
            f.write("".join(h + "\n" for h in v))
        if name.startswith("allow:"):
            args += ["--allow", "%s=%s" % (name[6:], src)]
        else:
            args.append("%s=%s%s" % (name, src, "@" + version if version else ""))
    p = subprocess.run(args, capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise RuntimeError("hashgate compile failed: %s" % p.stderr)
    os.chmod(out, 0o644)
    return out


def swap_db(path, lists):
    """Write a new database beside path and rename it over path."""
    tmp = path + ".new"
    compile_db(tmp, lists)
    os.rename(tmp, path)


# ---- messages ----

def _headers(subject, msgid, extra=""):
    return ("From: sender@example.org\r\nTo: rcpt@example.net\r\n"
            "Subject: %s\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\n%s"
            % (subject, msgid, extra))


def _b64_lines(data):
    enc = base64.b64encode(data).decode()
    return "\r\n".join(enc[i:i + 76] for i in range(0, len(enc), 76))


def msg_plain(text="hello, nothing to see here\r\n", msgid=None):
    msgid = msgid or make_msgid("hashgate.test")
    return (_headers("plain", msgid) + "Content-Type: text/plain\r\n\r\n"
            + text).encode(), msgid


def msg_attach(data, encoding="base64", filename="photo.jpg", msgid=None,
               ctype="image/jpeg"):
    """A multipart/mixed mail: a text part and data as an attachment in
    base64, quoted-printable or x-uuencode. Returns (bytes, Message-ID)."""
    msgid = msgid or make_msgid("hashgate.test")
    if encoding == "base64":
        body = _b64_lines(data)
    elif encoding == "quoted-printable":
        body = quopri.encodestring(data, quotetabs=True).decode("ascii")
        body = body.replace("\r\n", "\n").replace("\n", "\r\n")
    elif encoding == "x-uuencode":
        body = _uu(data, filename)
    else:
        raise ValueError(encoding)
    s = (_headers("attachment", msgid)
         + 'Content-Type: multipart/mixed; boundary="=-b1"\r\n\r\n'
         "preamble\r\n--=-b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
         "--=-b1\r\nContent-Type: %s; name=\"%s\"\r\n"
         "Content-Disposition: attachment; filename=\"%s\"\r\n"
         "Content-Transfer-Encoding: %s\r\n\r\n%s\r\n--=-b1--\r\n"
         % (ctype, filename, filename, encoding, body))
    return s.encode(), msgid


def _uu(data, filename):
    lines = ["begin 644 %s" % filename]
    for i in range(0, len(data), 45):
        lines.append(binascii.b2a_uu(data[i:i + 45]).decode().rstrip("\n"))
    lines += ["`", "end"]
    return "\r\n".join(lines)


def msg_uu_inline(data, filename="photo.jpg", msgid=None):
    """A text/plain mail with a "begin 644" uuencoded block in its body."""
    msgid = msgid or make_msgid("hashgate.test")
    s = (_headers("uuencoded", msgid) + "Content-Type: text/plain\r\n\r\n"
         "here it is:\r\n\r\n" + _uu(data, filename) + "\r\n\r\nbye\r\n")
    return s.encode(), msgid


def msg_nested(data, levels=3, msgid=None):
    """data attached (base64) to a mail, attached as message/rfc822 to a
    mail, ... levels deep."""
    inner, _ = msg_attach(data, msgid=make_msgid("inner.hashgate.test"))
    for n in range(levels - 1):
        inner = _wrap(inner, make_msgid("l%d.hashgate.test" % n))
    msgid = msgid or make_msgid("hashgate.test")
    return _wrap(inner, msgid), msgid


def _wrap(inner, msgid):
    return ((_headers("forwarded", msgid)
             + 'Content-Type: multipart/mixed; boundary="=-w"\r\n\r\n'
             "--=-w\r\nContent-Type: text/plain\r\n\r\nforwarded\r\n"
             "--=-w\r\nContent-Type: message/rfc822\r\n\r\n").encode()
            + inner + b"\r\n--=-w--\r\n")


# ---- the daemon ----

class Milter:
    """hashgate-milter with a config written from keyword settings."""

    def __init__(self, base, database, transport="unix", **settings):
        self.base = base
        self.database = database
        self.evidence = os.path.join(base, "evidence.log")
        self.conf = os.path.join(base, "hashgate-milter.conf")
        self.stderr_path = os.path.join(base, "milter.stderr")
        self.proc = None
        if transport == "unix":
            self.sock_path = os.path.join(base, "milter.sock")
            self.socket = "unix:" + self.sock_path
            self.postfix_spec = "unix:" + self.sock_path
            self.port = None
        else:
            v6 = transport == "inet6"
            self.host = "::1" if v6 else "127.0.0.1"
            s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET)
            s.bind((self.host, 0))
            self.port = s.getsockname()[1]
            s.close()
            self.sock_path = None
            self.socket = "%s:%d@%s" % (transport, self.port, self.host)
            self.postfix_spec = "%s:%s:%d" % (transport, self.host if not v6
                                              else "[::1]", self.port)
        self.settings = {
            "Socket": self.socket,
            "Database": database,
            "EvidenceLog": self.evidence,
            "UserID": RUN_AS,
            "Syslog": "no",
            "LogLevel": "debug",
            "ReloadInterval": "1",
        }
        if self.sock_path:
            self.settings["SocketMode"] = "0666"
        self.settings.update(settings)

    def write_conf(self):
        with open(self.conf, "w") as f:
            f.write("# written by tests/lib/hgmilter.py\n")
            for k, v in self.settings.items():
                for item in (v if isinstance(v, list) else [v]):
                    f.write("%s %s\n" % (k, item))

    def start(self, timeout=10, env=None):
        """env: variables added to the milter's environment."""
        self.write_conf()
        started_before = self.log().count("started version")
        self.stderr = open(self.stderr_path, "ab")
        e = dict(os.environ)
        e.update(env or {})
        self.proc = subprocess.Popen([MILTER, "-f", "-c", self.conf],
                                     stdout=self.stderr, stderr=self.stderr,
                                     env=e)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("hashgate-milter exited %d: %s" % (
                    self.proc.returncode, self.log()))
            if self._listening() and self._started(started_before):
                return self
            time.sleep(0.05)
        self.stop(signal.SIGKILL)     # leave nothing running behind a failure
        raise RuntimeError("hashgate-milter did not listen: " + self.log())

    def _started(self, started_before):
        """The milter listens before it writes its pid file, drops its
        privileges and logs "started": a test must not look at those
        before they happen."""
        if self.settings.get("LogLevel", "info") in ("info", "debug"):
            return self.log().count("started version") > started_before
        pid_file = self.settings.get("PidFile")
        if not pid_file:
            return True
        try:
            with open(pid_file) as f:
                return f.read().strip() == str(self.proc.pid)
        except OSError:
            return False

    def _listening(self):
        if self.sock_path:
            if not os.path.exists(self.sock_path):
                return False
            s = socket.socket(socket.AF_UNIX)
            target = self.sock_path
        else:
            s = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
            target = (self.host, self.port)
        try:
            s.connect(target)
            return True
        except OSError:
            return False
        finally:
            s.close()

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        self.stderr.close()
        return rc

    def log(self):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_log(self, pattern, timeout=10, count=1):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.log().count(pattern) >= count:
                return True
            time.sleep(0.05)
        return False

    def records(self):
        try:
            with open(self.evidence) as f:
                return [json.loads(line) for line in f if line.strip()]
        except OSError:
            return []

    def records_for(self, message_id):
        return [r for r in self.records() if r.get("message_id") == message_id]


# ---- the MTA's side of the milter protocol, for sequences Postfix never sends ----

# SMFIP_NR_*: the MTA wants no reply to these steps (Postfix offers them all)
NR_CONN, NR_HELO, NR_MAIL, NR_RCPT = 0x1000, 0x2000, 0x4000, 0x8000
NR_HDR, NR_EOH, NR_BODY = 0x80, 0x40000, 0x80000
NR_ALL = NR_CONN | NR_HELO | NR_MAIL | NR_RCPT | NR_HDR | NR_EOH | NR_BODY

# replies that come before the final one of a step (header changes, quarantine...)
_MODIFICATIONS = set(b"hqi+-mef2345p")


class MilterClient:
    """One milter connection, spoken as an MTA: every step returns the list
    of (code, data) replies ending with the final one, or None when the
    step was agreed to need no reply (protocol offers SMFIP_NR_* flags)."""

    def __init__(self, milter, protocol=0, timeout=20, actions=0x1FF):
        """actions: the SMFIF_* the MTA lets the milter use (all, as
        Postfix does; leave out QUARANTINE, 0x20, to make a hold fail)."""
        if milter.sock_path:
            self.s = socket.socket(socket.AF_UNIX)
            self.s.settimeout(timeout)
            self.s.connect(milter.sock_path)
        else:
            self.s = socket.create_connection((milter.host, milter.port),
                                              timeout=timeout)
        self._send(b"O", struct.pack(">III", 6, actions, protocol))
        code, data = self._recv()
        if code != b"O":
            raise RuntimeError("option negotiation answered %r" % code)
        _, self.actions, self.protocol = struct.unpack(">III", data[:12])

    def _send(self, cmd, data=b""):
        self.s.sendall(struct.pack(">I", len(data) + 1) + cmd + data)

    def _read(self, n):
        b = b""
        while len(b) < n:
            c = self.s.recv(n - len(b))
            if not c:
                raise EOFError("the milter closed the connection")
            b += c
        return b

    def _recv(self):
        n = struct.unpack(">I", self._read(4))[0]
        d = self._read(n)
        return d[:1], d[1:]

    def step(self, cmd, data=b"", noreply_flag=0):
        self._send(cmd, data)
        if noreply_flag and self.protocol & noreply_flag:
            return None
        replies = []
        while True:
            code, d = self._recv()
            replies.append((code, d))
            if code[0] not in _MODIFICATIONS:
                return replies

    def connect(self, host="client.hashgate.test", addr="127.0.0.1"):
        return self.step(b"C", host.encode() + b"\0" + b"4"
                         + struct.pack(">H", 2525) + addr.encode() + b"\0",
                         NR_CONN)

    def helo(self, name="client.hashgate.test"):
        return self.step(b"H", name.encode() + b"\0", NR_HELO)

    def mail(self, sender="<sender@example.org>"):
        return self.step(b"M", sender.encode() + b"\0", NR_MAIL)

    def rcpt(self, rcpt="<rcpt@example.net>"):
        return self.step(b"R", rcpt.encode() + b"\0", NR_RCPT)

    def data(self):
        return self.step(b"T")

    def message(self, raw, chunk=65535):
        """Headers and body of an RFC 5322 message (bytes, CRLF), as Postfix
        sends them; returns the replies of the last step sent."""
        head, _, body = raw.partition(b"\r\n\r\n")
        fields = []
        for line in head.split(b"\r\n"):
            if line[:1] in (b" ", b"\t") and fields:
                fields[-1][1].append(line)      # a folded line
            else:
                name, _, value = line.partition(b":")
                fields.append((name, [value.lstrip(b" ")]))
        last = None
        for name, value in fields:
            last = self.step(b"L", name + b"\0" + b"\n".join(value) + b"\0",
                             NR_HDR)
            if last and last[-1][0] != b"c":
                return last
        last = self.step(b"N", b"", NR_EOH)
        if last and last[-1][0] != b"c":
            return last
        for i in range(0, len(body), chunk):
            last = self.step(b"B", body[i:i + chunk], NR_BODY)
            if last and last[-1][0] != b"c":
                return last
        return last

    def eom(self):
        return self.step(b"E")

    def abort(self):
        self._send(b"A")

    def quit(self):
        try:
            self._send(b"Q")
        finally:
            self.s.close()


def final(replies):
    """'continue', 'accept', 'reject', 'tempfail' or the reply text ('550
    5.7.1 ...') of a step's replies."""
    if not replies:
        return None
    code, data = replies[-1]
    if code == b"y":
        return data.rstrip(b"\0").decode(errors="replace")
    return {b"c": "continue", b"a": "accept", b"r": "reject",
            b"t": "tempfail", b"d": "discard"}.get(code, repr(code))


def concurrent_mails(m, msgs, sessions, mails):
    """sessions connections at once, each sending mails mails in turn
    (message (k + i) % len(msgs) for session k), as MTAs with several
    mails queued do. Returns the replies at end of message, or the
    exception a session met."""
    replies = []

    def session(k):
        for i in range(mails):
            try:
                c = MilterClient(m)
                c.connect()
                c.helo()
                c.mail()
                c.rcpt()
                c.data()
                c.message(msgs[(k + i) % len(msgs)])
                replies.append(final(c.eom()))
                c.quit()
            except (OSError, EOFError) as e:
                replies.append(repr(e))

    threads = [threading.Thread(target=session, args=(k,))
               for k in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return replies


def check_tool(path):
    if not os.access(path, os.X_OK):
        raise RuntimeError("%s is missing: build it first (make all)" % path)


class Checks:
    """ok / not ok lines, counted; exit status from failures."""

    def __init__(self):
        self.failed = 0
        self.passed = 0

    def __call__(self, cond, what, why=""):
        if cond:
            self.passed += 1
            print("ok - %s" % what, flush=True)
        else:
            self.failed += 1
            print("not ok - %s%s" % (what, (": " + why) if why else ""),
                  flush=True)
        return cond

    def exit(self):
        raise SystemExit(1 if self.failed else 0)
