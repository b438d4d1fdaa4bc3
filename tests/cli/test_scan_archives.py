# SPDX-License-Identifier: BSD-2-Clause
"""test_scan_archives.py - `hashgate scan` opens archives, as files and as
attachments, through the sandboxed helper: each file inside is reported
under its chain (a.zip!x, mail.eml#2!x, a.zip!mid.tar!x) and a listed one
is FOUND; encrypted files are NOT CHECKED; a limit, a bomb or a helper that
dies makes the archive "not checked" and the exit status 2; --no-archives
and a missing helper. Archives are made by tests/lib/archives.py from
seeded random bytes."""
import base64
import hashlib
import io
import os
import random
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import archives  # noqa: E402
from clihelp import Suite, both, out  # noqa: E402

t = Suite("scan-archives")


def make(kind, name, **kw):
    """An archive of kind at name in the suite's dir; its {chain: sha256}."""
    os.makedirs(os.path.dirname(t.path(name)), exist_ok=True)
    return archives.make(kind, t.path(name), **kw)


def lines(p):
    return out(p).splitlines()


def mail_with(data, filename="a.zip", forwarded=False):
    """A message with data attached (base64) as part 2, or, forwarded, in
    a message/rfc822 part 2 (the attachment is then 2.2)."""
    b64 = base64.encodebytes(data).decode().replace("\n", "\r\n")
    inner = ("From: a@example.org\r\nTo: b@example.net\r\nSubject: s\r\n"
             "MIME-Version: 1.0\r\n"
             "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
             "--b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
             "--b1\r\nContent-Type: application/octet-stream\r\n"
             "Content-Disposition: attachment; filename=\"%s\"\r\n"
             "Content-Transfer-Encoding: base64\r\n\r\n%s--b1--\r\n"
             % (filename, b64))
    if not forwarded:
        return inner.encode()
    return ("From: c@example.org\r\nTo: d@example.net\r\nSubject: Fwd\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"w\"\r\n\r\n"
            "--w\r\nContent-Type: text/plain\r\n\r\nforwarded\r\n"
            "--w\r\nContent-Type: message/rfc822\r\n\r\n" + inner
            + "\r\n--w--\r\n").encode()


# ---- the archives and the list of one file in each ----

kinds = ["zip", "7z", "rar4", "rar5", "tar", "tar.gz", "tar.bz2", "tar.xz",
         "tar.zst", "cpio", "iso9660", "iso9660-hybrid",
         "iso9660-sysarea", "ar", "tnef", "gz"]
made = {}
listed = []
for i, kind in enumerate(kinds):
    res = make(kind, "arc/%02d.%s" % (i, kind.replace(".", "-")),
               seed=500 + i)
    first = sorted(res)[0]
    made[kind] = ("arc/%02d.%s" % (i, kind.replace(".", "-")), res, first)
    listed.append(res[first])
nested = make("nested", "nested.zip", seed=600)
deep = "mid1.tar!mid2.zip!l2-file00.bin"
t.check(deep in nested, "the nested fixture has a file two archives down",
        sorted(nested))
listed.append(nested.get(deep, ""))
clean = make("zip", "clean.zip", seed=700)
odd = make("zip", "odd.zip", seed=710, odd_names=True)
odd_key = [k for k in odd if "%21" in k]
listed.append(odd[odd_key[0]] if odd_key else "")


# a zip whose entry's CRC (local and central header) is wrong: an extractor
# still writes the bytes, so they are what is hashed and matched
def bad_crc_zip(data):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("crc.bin", data)
    b = bytearray(buf.getvalue())
    cd = b.find(b"PK\x01\x02")
    b[14:18] = b[cd + 16:cd + 20] = b"\xde\xad\xbe\xef"
    return bytes(b)


crc_data = random.Random(800).randbytes(20000)
with open(t.path("badcrc.zip"), "wb") as f:
    f.write(bad_crc_zip(crc_data))
listed.append(hashlib.sha256(crc_data).hexdigest())

t.write("block.txt", "".join(h + "\n" for h in listed if h))
p = t.run("compile", "-o", "db", "blk=block.txt")
t.check(p.returncode == 0, "test database compiles", both(p))

# ---- a listed file inside each format ----
for kind in kinds:
    path, res, first = made[kind]
    p = t.run("scan", "-d", "db", path)
    want = "%s!%s: blk FOUND" % (path, first)
    t.check(p.returncode == 1 and want in lines(p),
            "%s: a listed file inside is FOUND under its chain (%s)"
            % (kind, want), both(p))
    others = ["%s!%s: OK" % (path, k) for k in res if k != first]
    t.check(all(o in lines(p) for o in others) and lines(p)[0] == path + ": OK",
            "%s: the archive and its other files are OK" % kind, both(p))

# an image's system area is free for anything: one that starts like a JPEG
# is not held past its first bytes, so cannot be opened; not checked
iso = made["iso9660"][0]
with open(t.path(iso), "rb") as f:
    data = f.read()
with open(t.path("arc/dressed.jpg"), "wb") as f:
    f.write(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + data[11:])
p = t.run("scan", "-d", "db", "--no-images", "arc/dressed.jpg")
t.check(p.returncode == 2 and any(
    x.startswith("arc/dressed.jpg: ERROR not checked: an iso9660 image "
                 "whose first bytes say JPEG") for x in lines(p)),
        "an iso9660 image whose system area starts like a JPEG is not "
        "checked, exit 2 (never passed unopened)", both(p))
# with images on, its first bytes say JPEG, so it is kept whole for the
# helper, which finds the iso9660 image after all and opens it
p = t.run("scan", "-d", "db", "arc/dressed.jpg")
t.check(p.returncode == 1 and any(x.startswith("arc/dressed.jpg!")
                                  and x.endswith(" FOUND")
                                  for x in lines(p)),
        "with images on, that dressed-up iso9660 image is kept whole and "
        "opened: the listed file inside is FOUND", both(p))

path = made["zip"][0]
p = t.run("scan", "-d", "db", "--no-archives", path)
t.check(p.returncode == 0 and lines(p) == [path + ": OK"],
        "--no-archives hashes the archive as it is, nothing inside", both(p))

p = t.run("scan", "-d", "db", "badcrc.zip")
t.check(p.returncode == 1 and "badcrc.zip!crc.bin: blk FOUND" in lines(p),
        "a zip entry whose CRC is wrong is hashed as an extractor writes it: "
        "a listed one is FOUND", both(p))

p = t.run("scan", "-d", "db", "nested.zip")
t.check(p.returncode == 1 and "nested.zip!%s: blk FOUND" % deep in lines(p),
        "a zip inside a tar inside a zip: the file two levels down is FOUND",
        both(p))
t.check("nested.zip!mid1.tar: OK" in lines(p)
        and "nested.zip!mid1.tar!mid2.zip: OK" in lines(p),
        "the archives inside are reported too", both(p))
p = t.run("scan", "-d", "db", "--json", "nested.zip")
objs = [o for o in t.jsonl(p) if o.get("inner") == "!" + deep]
o = objs[0] if objs else {}
cont = o.get("containers") or []
t.check(o.get("verdict") == "match" and o.get("inner_path") == "l2-file00.bin"
        and o.get("filename") == "l2-file00.bin"
        and [c.get("path") for c in cont] == ["", "mid1.tar", "mid2.zip"]
        and [c.get("format") for c in cont] == ["zip", "tar", "zip"]
        and cont[1].get("sha256") == nested.get("mid1.tar")
        and cont[2].get("sha256") == nested.get("mid1.tar!mid2.zip")
        and o.get("sha256") == nested.get(deep),
        "--json: the file's inner path, name and chain of archives, each "
        "with its own digest", o)

p = t.run("scan", "-d", "db", "clean.zip")
t.check(p.returncode == 0 and len(lines(p)) == 1 + len(clean)
        and all(x.endswith(": OK") for x in lines(p)),
        "a clean zip: the zip and every file inside OK, exit 0", both(p))

big = make("zip", "big.zip", seed=720, files=300, size=64)
p = t.run("scan", "-d", "db", "big.zip")
t.check(p.returncode == 0 and len(lines(p)) == 301
        and all(x.endswith(": OK") for x in lines(p)),
        "a zip of 300 files: every file inside is checked, exit 0",
        both(p)[-300:])

p = t.run("scan", "-d", "db", "odd.zip")
t.check(p.returncode == 1 and odd_key
        and "odd.zip!%s: blk FOUND" % odd_key[0] in lines(p),
        "a '!' or '%' in a name is written %21 / %25 in the chain",
        both(p))

# ---- in mail ----
zipdata = open(t.path(made["zip"][0]), "rb").read()
first = made["zip"][2]
t.write("m/plain.eml", mail_with(zipdata))
t.write("m/fwd.eml", mail_with(zipdata, forwarded=True))
p = t.run("scan", "-d", "db", "m/plain.eml")
t.check(p.returncode == 1 and "m/plain.eml#2!%s: blk FOUND" % first in lines(p)
        and "m/plain.eml#2: OK" in lines(p),
        "a listed file in a zip attached to a mail is FOUND as #2!NAME",
        both(p))
p = t.run("scan", "-d", "db", "m/fwd.eml")
t.check(p.returncode == 1 and "m/fwd.eml#2.2!%s: blk FOUND" % first in lines(p),
        "a zip attached to a forwarded message/rfc822: #2.2!NAME FOUND",
        both(p))
p = t.run("scan", "-d", "db", "--json", "m/plain.eml")
objs = [o for o in t.jsonl(p) if o.get("part") == "2!" + first]
o = objs[0] if objs else {}
t.check(o.get("verdict") == "match" and o.get("inner_path") == first
        and [c.get("path") for c in o.get("containers", [])] == ["2"],
        "--json in mail: part is the chain, the attachment is the container",
        o)

# ---- encrypted ----
for kind in ("zip-zipcrypto", "zip-aes", "7z-encrypted"):
    res = make(kind, "enc/" + kind, seed=800)
    p = t.run("scan", "-d", "db", "enc/" + kind)
    nc = [x for x in lines(p) if x.endswith(": NOT CHECKED (encrypted)")]
    t.check(p.returncode == 2 and len(nc) == len(res),
            "%s: each encrypted file is NOT CHECKED (encrypted), exit 2"
            % kind, both(p))
p = t.run("scan", "-d", "db", "--json", "enc/zip-aes")
objs = [o for o in t.jsonl(p) if o.get("not_checked")]
t.check(objs and all(o.get("verdict") == "not checked"
                     and o.get("not_checked") == "encrypted"
                     and o.get("size", 0) > 0 and "sha256" not in o
                     for o in objs),
        "--json: not_checked encrypted, its declared size, no digest",
        both(p))

# ---- limits: not checked, exit 2, the limit named ----
make("zip", "lim/files.zip", seed=900, files=20)
make("nested", "lim/deep.zip", seed=901, depth=4)
make("zip", "lim/big.zip", seed=902, files=3, size=300000)
make("bomb-gzip", "lim/zeros.gz", zeros=64 << 20)
make("bomb-zip42", "lim/42.zip")
make("bomb-overlap", "lim/overlap.zip")
make("bomb-gzip", "lim/huge.gz", zeros=2 << 30)    # seconds to expand
limits = [
    ("files", ["--archive-max-files", "5"], "lim/files.zip"),
    ("depth", ["--archive-max-depth", "2"], "lim/deep.zip"),
    ("bytes", ["--archive-max-bytes", "100K"], "lim/big.zip"),
    ("file size", ["--archive-max-file-bytes", "64K"], "lim/big.zip"),
    ("ratio", [], "lim/zeros.gz"),
    ("time", ["--archive-max-ratio", "0", "--archive-max-bytes", "64G",
              "--archive-max-file-bytes", "64G", "--archive-timeout", "1"],
     "lim/huge.gz"),
]
for name, opts, path in limits:
    p = t.run("scan", "-d", "db", *opts, path)
    want = "archive %s limit reached" % name
    t.check(p.returncode == 2 and any(": ERROR not checked: " + want in x
                                      for x in lines(p)),
            "the %s limit: the archive is not checked (%s), exit 2"
            % (name, want), both(p))
for bomb in ("lim/42.zip", "lim/overlap.zip", "lim/zeros.gz"):
    p = t.run("scan", "-d", "db", bomb)
    t.check(p.returncode == 2 and "limit reached" in out(p),
            "%s: a bomb with the default limits is not checked, exit 2"
            % bomb, both(p))

# ---- the helper ----
p = t.run("scan", "-d", "db", "--helper", "/nonexistent/hashgate-inspect",
          made["zip"][0])
t.check(p.returncode == 2 and "nonexistent" in both(p)
        and "--no-archives" in both(p),
        "a missing helper is an error naming it, never archives unopened",
        both(p))
p = t.run("scan", "-d", "db", "--helper", "/bin/true", made["zip"][0],
          "clean.zip")
t.check(p.returncode == 2
        and sum(": ERROR not checked: " in x for x in lines(p)) == 2,
        "a helper that dies: each archive is not checked, exit 2", both(p))
p = t.run("scan", "-d", "db", "--archive-max-depth", "9", "clean.zip")
t.check(p.returncode == 2 and "--archive-max-depth" in both(p),
        "a limit out of range is a usage error", both(p))

t.done()
