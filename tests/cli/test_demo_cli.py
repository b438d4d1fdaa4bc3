# SPDX-License-Identifier: BSD-2-Clause
"""test_demo_cli.py - the CLI part of `make demo` runs, shows a clean file
and a match with their exit codes, and leaves no temp dir behind."""
import atexit
import glob
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clihelp import BIN, TOP, Suite, both  # noqa: E402

t = Suite("demo")
tmp = tempfile.mkdtemp(prefix="hg-demo-tmp-")
atexit.register(shutil.rmtree, tmp, True)
env = dict(os.environ, HG_BIN=BIN, HG_TOP=TOP, TMPDIR=tmp)
p = subprocess.run(["sh", os.path.join(TOP, "tests", "lib", "demo_cli.sh")],
                   capture_output=True, env=env, timeout=60)
o = p.stdout.decode(errors="replace")
t.check(p.returncode == 0, "the CLI demo runs to the end", both(p))
t.check("incoming/holiday.jpg: OK\n(exit 0" in o,
        "the demo shows a clean file with exit 0", o)
t.check("incoming/upload-0042.bin: demo FOUND" in o and "(exit 1" in o,
        "the demo shows a match with exit 1", o)
t.check("checksum: ok" in o and "entries:  2" in o,
        "the demo shows info --verify of a two-entry list", o)
t.check(len(o.splitlines()) <= 50, "the demo output stays short",
        len(o.splitlines()))
t.check(glob.glob(os.path.join(tmp, "*")) == [],
        "the demo removes its temp dir", os.listdir(tmp))
t.done()
