# SPDX-License-Identifier: BSD-2-Clause
"""test_signed.py - hashgate keygen, compile --sign and info --verify/--key:
the commands a list job runs to sign a database and check it before it is
installed (issue 19). Lists hold digests of seeded random bytes."""
import os
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clihelp import Suite, both, err, out, rand_bytes, sha256  # noqa: E402

t = Suite("signed")
objs = [rand_bytes(1900 + i, 100 + i) for i in range(40)]
t.write("a.txt", "".join(sha256(o) + "\n" for o in objs[:30]))
t.write("b.txt", "".join(sha256(o) + "\n" for o in objs[30:]))

# ---- keygen ----
p = t.run("keygen", "k1")
kid = out(p).strip()
t.check(p.returncode == 0 and kid.startswith("ed25519:") and len(kid) == 24,
        "keygen prints the new key's ID", both(p))
mode = stat.S_IMODE(os.stat(t.path("k1")).st_mode)
pmode = stat.S_IMODE(os.stat(t.path("k1.pub")).st_mode)
with open(t.path("k1.pub")) as f:
    pub = f.read()
t.check(mode == 0o600 and pmode == 0o644
        and pub.startswith("-----BEGIN PUBLIC KEY-----"),
        "keygen writes the private key for its owner only and a PEM public "
        "key", "%o %o %r" % (mode, pmode, pub[:40]))
with open(t.path("k1"), "rb") as f:
    before = f.read()
p = t.run("keygen", "k1")
with open(t.path("k1"), "rb") as f:
    after = f.read()
t.check(p.returncode == 2 and "k1" in err(p) and before == after,
        "keygen never replaces an existing key", both(p))
p = t.run("keygen", "k2")
kid2 = out(p).strip()
t.check(p.returncode == 0 and kid2 != kid, "a second key has another ID",
        both(p))

# ---- compile --sign, info ----
p = t.run("compile", "-o", "s.db", "--sign", "k1", "L=a.txt@1")
t.check(p.returncode == 0 and ("signed by " + kid) in err(p),
        "compile --sign signs and says with which key", both(p))
p = t.run("info", "s.db")
t.check(p.returncode == 0 and ("signed:   " + kid) in out(p),
        "info names the signer", both(p))
p = t.run("info", "--verify", "s.db")
t.check(p.returncode == 0 and "checksum: ok" in out(p)
        and ("signature: ok, by " + kid) in out(p),
        "info --verify checks the signature with the key it names", both(p))
p = t.run("info", "--key", "k1.pub", "s.db")
t.check(p.returncode == 0 and "(trusted)" in out(p),
        "info --key: signed by a trusted key", both(p))
p = t.run("info", "--key", "k2.pub", "s.db")
t.check(p.returncode == 2 and "not among the trusted keys" in err(p)
        and kid in err(p),
        "info --key with another key: exit 2, naming the signer", both(p))

p = t.run("compile", "-o", "u.db", "L=a.txt@1")
p2 = t.run("info", "--verify", "u.db")
p3 = t.run("info", "--key", "k1.pub", "u.db")
t.check(p.returncode == 0 and p2.returncode == 0
        and "signed:   no" in out(p2) and p3.returncode == 2
        and "not signed" in err(p3),
        "an unsigned database passes --verify alone and fails --key",
        both(p3))

# the same content signed and unsigned: only the signature block differs
with open(t.path("s.db"), "rb") as f:
    s_raw = f.read()
with open(t.path("u.db"), "rb") as f:
    u_raw = f.read()
diff = [i for i in range(min(len(s_raw), len(u_raw))) if s_raw[i] != u_raw[i]]
t.check(len(s_raw) == len(u_raw) and diff and min(diff) >= 768
        and max(diff) < 1024,
        "signing changes nothing but the header's signature block",
        "%d vs %d bytes, differing %s..%s" % (len(s_raw), len(u_raw),
                                              diff[:1], diff[-1:]))

# a key that is not a key, or not Ed25519
t.write("nokey", "hello\n")
p = t.run("compile", "-o", "x.db", "--sign", "nokey", "L=a.txt")
t.check(p.returncode == 2 and "nokey" in err(p) and "private key" in err(p)
        and not os.path.exists(t.path("x.db")),
        "compile --sign with a file that is no key fails before writing",
        both(p))
p = t.run("compile", "-o", "x.db", "--sign", "k1.pub", "L=a.txt")
t.check(p.returncode == 2 and not os.path.exists(t.path("x.db")),
        "compile --sign with a public key fails", both(p))
p = t.run("info", "--key", "k1", "s.db")
t.check(p.returncode == 2 and "not PEM public keys" in err(p),
        "info --key with a private key file: refused, saying what it wants",
        both(p))

# ---- incremental compiles ----
p = t.run("compile", "--base", "s.db", "-o", "inc.db", "L=b.txt@2")
t.check(p.returncode == 0 and "warning" in err(p) and kid in err(p)
        and "signed:   no" in out(t.run("info", "inc.db")),
        "--base from a signed file without --sign warns that the new one "
        "is not signed", both(p))
p = t.run("compile", "--base", "s.db", "-o", "inc2.db", "--sign", "k2",
          "L=b.txt@2")
p2 = t.run("info", "--key", "k2.pub", "inc2.db")
p3 = t.run("lookup", "inc2.db", sha256(objs[0]), sha256(objs[35]))
t.check(p.returncode == 0 and p2.returncode == 0 and p3.returncode == 1
        and "not found" not in out(p3),
        "--base --sign signs the updated file afresh, with both days' "
        "digests", both(p2) + both(p3))

# ---- tampering ----
raw = bytearray(s_raw)
for at in (8, 40, 700, 1100, len(raw) // 2, len(raw) - 1):
    bad = bytearray(raw)
    bad[at] ^= 0x04
    t.write("bad.db", bytes(bad))
    p = t.run("info", "--key", "k1.pub", "bad.db")
    t.check(p.returncode == 2, "a byte flipped at %d of %d: refused"
            % (at, len(raw)), both(p))
bad = bytearray(raw)
bad[768:1024] = bytes(256)
t.write("bad.db", bytes(bad))
p = t.run("info", "--key", "k1.pub", "bad.db")
t.check(p.returncode == 2 and "not signed" in err(p),
        "the signature stripped: the file is refused as unsigned", both(p))
t.done()
