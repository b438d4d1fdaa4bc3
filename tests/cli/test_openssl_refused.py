# SPDX-License-Identifier: BSD-2-Clause
"""test_openssl_refused.py - when OpenSSL refuses a digest algorithm (a
FIPS-only openssl.cnf), each command that needs it stops with exit 2 and
names the algorithm and OpenSSL's reason, instead of a bare "cryptographic
library error". tests/lib/openssl-refuses-sha.cnf makes OpenSSL refuse
SHA-1 and SHA-256 and still give MD5."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clihelp import TOP, Suite, both, err, md5, rand_bytes, sha256  # noqa: E402

CNF = os.path.join(TOP, "tests", "lib", "openssl-refuses-sha.cnf")
REFUSED = {"OPENSSL_CONF": CNF}

t = Suite("openssl")
files = [rand_bytes(900 + i, 2000 + i) for i in range(2)]
t.write("one.bin", files[0])
t.write("list.txt", md5(files[0]) + "\n" + sha256(files[1]) + "\n")

# made with OpenSSL as configured on this machine
p = t.run("compile", "-o", "good.db", "syn=list.txt")
t.check(p.returncode == 0, "the database compiles with the system's OpenSSL",
        both(p))
p = t.run("scan", "-d", "good.db", "one.bin")
t.check(p.returncode == 1, "and a listed file matches with it (exit 1)",
        both(p))

for args, alg, what in (
        (("compile", "-o", "new.db", "syn=list.txt"), "sha256",
         "compile (lists and the file are checksummed with SHA-256)"),
        (("info", "good.db"), "sha256",
         "info (the header checksum is SHA-256)"),
        (("scan", "one.bin"), "sha1",
         "scan without a database (it reports all three digests)"),
        (("scan", "-d", "good.db", "one.bin"), "sha256",
         "scan with a database (it opens it)")):
    p = t.run(*args, env=REFUSED)
    e = err(p)
    t.check(p.returncode == 2 and "OpenSSL refused %s" % alg in e
            and "unsupported" in e,
            "%s: exit 2, naming %s and OpenSSL's reason" % (what, alg),
            both(p))
t.check(not os.path.exists(t.path("new.db")),
        "the refused compile left no database behind")

p = t.run("lookup", "good.db", md5(files[0]), env=REFUSED)
t.check(p.returncode == 2 and "OpenSSL refused sha256" in err(p),
        "lookup opens the database too, and says why it cannot", both(p))

t.done()
