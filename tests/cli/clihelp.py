# SPDX-License-Identifier: BSD-2-Clause
"""clihelp.py - what the CLI tests share: the binary, a temp dir, checks.

Each test script prints one line per check, "ok - what the user sees" or
"not ok - what failed and why", and exits non-zero when a check failed. A
missing binary is a failure. All data is synthetic: seeded random bytes and
lists made from their digests.
"""
import atexit
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

TOP = os.environ.get("HG_TOP") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("HG_BIN") or os.path.join(TOP, "build")
HG = os.path.join(BIN, "hashgate")

# A fixed creation time, so two compiles of the same content give the same bytes.
CREATED = "1700000000"


class Suite:
    def __init__(self, name):
        self.failed = 0
        self.dir = tempfile.mkdtemp(prefix="hg-cli-%s-" % name)
        atexit.register(shutil.rmtree, self.dir, True)
        if not os.access(HG, os.X_OK):
            self.check(False, "hashgate binary is built", "no executable at " + HG)
            self.done()

    def check(self, cond, what, why=""):
        if cond:
            print("ok - " + what)
        else:
            self.failed += 1
            msg = "not ok - " + what
            if why:
                msg += ": " + " ".join(str(why).split())[:600]
            print(msg)
        sys.stdout.flush()
        return cond

    def done(self):
        sys.exit(1 if self.failed else 0)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def write(self, name, data):
        p = self.path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        return p

    def run(self, *args, stdin=None, env=None, cwd=None):
        e = dict(os.environ)
        e["HASHGATE_CREATED"] = CREATED
        e.pop("LC_ALL", None)
        if env:
            e.update(env)
        return subprocess.run([HG] + [str(a) for a in args], input=stdin,
                              capture_output=True, cwd=cwd or self.dir,
                              env=e, timeout=60)

    def jsonl(self, proc):
        """Every stdout line parsed as JSON; raises ValueError on a bad line."""
        out = []
        for line in proc.stdout.decode().splitlines():
            out.append(json.loads(line))
        return out


def rand_bytes(seed, n):
    return random.Random(seed).randbytes(n)


def md5(b):
    return hashlib.md5(b).hexdigest()


def sha1(b):
    return hashlib.sha1(b).hexdigest()


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def out(proc):
    return proc.stdout.decode(errors="replace")


def err(proc):
    return proc.stderr.decode(errors="replace")


def both(proc):
    return "rc=%d stdout=%r stderr=%r" % (proc.returncode, out(proc)[-800:],
                                         err(proc)[-800:])
