# SPDX-License-Identifier: BSD-2-Clause
"""postfix.py - a private Postfix on loopback for tests, benchmarks and the demo.

Everything lives in one temp dir: config_directory (main.cf and master.cf
written here at start), queue_directory, data_directory, the maillog file
and the sink's mail dir. smtpd listens on a free 127.0.0.1 port and relays
every mail to smtp-sink (from the postfix package) on another free port;
the sink writes each received mail to its own file (unless dump=False,
for benchmarks). Start and stop are by PID; close() removes the dir.

Postfix writes errors only to syslog or a terminal; with no /dev/log here
the maillog_file (allowed by maillog_file_prefixes) is the only place to
read them, so every failure message includes its tail.

    with Postfix(milter="unix:/tmp/x/sock") as pf:
        code, text = pf.send(msg_bytes)
        pf.wait_delivered(1)
"""

import email
import json
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time

SBIN = "/usr/sbin"


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=10.0, host="127.0.0.1"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


MASTER_CF = """\
# written by tests/lib/postfix.py
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

MAIN_CF = """\
# written by tests/lib/postfix.py
compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.hashgate.test
mydomain = hashgate.test
myorigin = $myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
relayhost = [127.0.0.1]:{sink_port}
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
alias_maps =
alias_database =
local_recipient_maps =
biff = no
maillog_file = {base}/maillog
maillog_file_prefixes = {base}
message_size_limit = 104857600
in_flow_delay = 0
smtp_connection_cache_on_demand = yes
default_destination_concurrency_limit = 20
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
smtpd_milters = {milter}
milter_default_action = tempfail
milter_protocol = 6
milter_connect_timeout = 5s
milter_command_timeout = 30s
milter_content_timeout = 60s
"""


class PostfixError(Exception):
    pass


class Postfix:
    """A private Postfix instance relaying to a private smtp-sink."""

    def __init__(self, milter="", base=None, dump=True, extra_main=""):
        self.own_base = base is None
        self.base = base or tempfile.mkdtemp(prefix="hg-postfix-")
        os.makedirs(self.base, exist_ok=True)
        os.chmod(self.base, 0o755)
        self.config = os.path.join(self.base, "etc")
        self.queue = os.path.join(self.base, "queue")
        self.data = os.path.join(self.base, "data")
        self.sinkdir = os.path.join(self.base, "sink")
        self.maillog = os.path.join(self.base, "maillog")
        self.port = free_port()
        self.sink_port = free_port()
        self.milter = milter
        self.dump = dump
        self.extra_main = extra_main
        self.sink = None
        self.started = False

    # ---- lifecycle ----

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def _run(self, *args, check=True):
        p = subprocess.run(args, capture_output=True, text=True, timeout=60)
        if check and p.returncode != 0:
            raise PostfixError("%s failed (%d): %s%s\nmaillog:\n%s" % (
                " ".join(args), p.returncode, p.stdout, p.stderr,
                self.log_tail()))
        return p

    def postconf(self, *settings):
        """Change main.cf settings ("name = value") and reload."""
        self._run(SBIN + "/postconf", "-c", self.config,
                  *[s.replace(" = ", "=", 1) for s in settings])
        if self.started:
            self._run(SBIN + "/postfix", "-c", self.config, "reload")
            time.sleep(0.5)

    def start(self):
        for d in (self.config, self.queue, self.data, self.sinkdir):
            os.makedirs(d, exist_ok=True)
        os.chmod(self.sinkdir, 0o777)
        with open(os.path.join(self.config, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(port=self.port))
        with open(os.path.join(self.config, "main.cf"), "w") as f:
            f.write(MAIN_CF.format(queue=self.queue, data=self.data,
                                   base=self.base, sink_port=self.sink_port,
                                   milter=self.milter))
            f.write(self.extra_main)
        shutil.chown(self.data, "postfix", "postfix")

        # the sink first, so nothing waits in the queue
        args = [SBIN + "/smtp-sink", "-u", "postfix", "-c"]
        if self.dump:
            args += ["-d", self.sinkdir + "/%Y%m%d%H%M%S."]
        args += ["127.0.0.1:%d" % self.sink_port, "256"]
        self.sink = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        if not wait_port(self.sink_port):
            raise PostfixError("smtp-sink did not listen on %d" % self.sink_port)

        self._run(SBIN + "/postfix", "-c", self.config, "set-permissions",
                  check=False)
        self._run(SBIN + "/postfix", "-c", self.config, "start")
        self.started = True
        if not wait_port(self.port):
            raise PostfixError("smtpd did not listen on %d\nmaillog:\n%s"
                               % (self.port, self.log_tail()))

    def master_pid(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self):
        if self.started:
            pid = self.master_pid()
            self._run(SBIN + "/postfix", "-c", self.config, "stop",
                      check=False)
            # postfix stop returns before its children are gone
            deadline = time.time() + 10
            while pid and time.time() < deadline:
                try:
                    os.kill(pid, 0)
                except OSError:
                    break
                time.sleep(0.1)
            else:
                if pid:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
            self.started = False
        if self.sink is not None:
            self.sink.terminate()
            try:
                self.sink.wait(5)
            except subprocess.TimeoutExpired:
                self.sink.kill()
                self.sink.wait()
            self.sink = None

    def close(self):
        self.stop()
        if self.own_base:
            shutil.rmtree(self.base, ignore_errors=True)

    # ---- sending ----

    def send(self, msg, sender="sender@example.org",
             rcpts=("rcpt@example.net",), conn=None):
        """Send one message (bytes or str). Returns (code, text) of the
        reply to DATA, or of the first refused command."""
        if isinstance(msg, str):
            msg = msg.encode()
        own = conn is None
        s = conn or smtplib.SMTP("127.0.0.1", self.port, timeout=120)
        try:
            if own:
                s.ehlo("client.hashgate.test")
            code, text = s.mail(sender)
            if code >= 400:
                s.rset()
                return code, text.decode(errors="replace")
            for r in rcpts:
                code, text = s.rcpt(r)
                if code >= 400:
                    s.rset()
                    return code, text.decode(errors="replace")
            code, text = s.data(msg)
            return code, text.decode(errors="replace")
        except smtplib.SMTPResponseException as e:
            try:
                s.rset()
            except smtplib.SMTPException:
                pass
            return e.smtp_code, e.smtp_error.decode(errors="replace")
        finally:
            if own:
                try:
                    s.quit()
                except smtplib.SMTPException:
                    pass

    def connect(self):
        s = smtplib.SMTP("127.0.0.1", self.port, timeout=120)
        s.ehlo("client.hashgate.test")
        return s

    # ---- looking ----

    def log(self):
        try:
            with open(self.maillog, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_tail(self, n=30):
        return "\n".join(self.log().splitlines()[-n:])

    def queue_list(self):
        """postqueue -j: one dict per queued mail."""
        p = self._run(SBIN + "/postqueue", "-c", self.config, "-j",
                      check=False)
        return [json.loads(line) for line in p.stdout.splitlines()
                if line.strip()]

    def hold_ids(self):
        return [q["queue_id"] for q in self.queue_list()
                if q.get("queue_name") == "hold"]

    def sink_files(self):
        out = []
        for root, _, files in os.walk(self.sinkdir):
            out += [os.path.join(root, f) for f in files]
        return sorted(out)

    def sink_messages(self):
        """Parsed messages the sink received (dump=True)."""
        msgs = []
        for path in self.sink_files():
            with open(path, "rb") as f:
                msgs.append(email.message_from_bytes(f.read()))
        return msgs

    def delivered_count(self):
        return len(re.findall(r"status=sent", self.log()))

    def wait_delivered(self, n, timeout=30.0):
        """Wait until n mails were relayed to the sink; returns the count."""
        deadline = time.time() + timeout
        while True:
            c = self.delivered_count()
            if c >= n or time.time() > deadline:
                return c
            time.sleep(0.1)

    def queue_id_of(self, message_id):
        """The queue ID Postfix logged for a Message-ID (cleanup's line)."""
        m = re.search(r"postfix/cleanup\[\d+\]: ([0-9A-F]+): message-id=%s"
                      % re.escape(message_id), self.log())
        return m.group(1) if m else None

    def flush_hold(self):
        self._run(SBIN + "/postsuper", "-c", self.config, "-d", "ALL", "hold",
                  check=False)
