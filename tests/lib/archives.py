#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""archives.py - synthetic archives, nested containers and bombs for tests.

Usage: archives.py KIND OUT [--seed N] [--files N] [--size N] [--odd-names]
                   [--depth N] [--copies N] [--levels N] [--zeros N]
                   [--check] [--tsv]
       archives.py --batch < LINES     (each line: KIND OUT [options])
       archives.py --list

Writes one container of KIND to OUT and prints, as one JSON object on
stdout, the sha256 of every file the inspection walk reports inside it,
keyed by its chain without the leading '!': "a.bin", "docs/b.bin",
"mid.tar!inner.zip!x.bin" (a nested container is a key too, with its own
digest). A '!' or '%' in a name is written %21 / %25 as in the part path.
Bombs print one path per level, not every copy (see make_zip42). --tsv
prints "sha256 TAB chain" lines instead, for tests written in C.

Every inner file is seeded random bytes (the same seed gives the same
files); nothing real is ever written. Tools used: Python's zipfile /
tarfile / gzip / bz2 / lzma, /usr/bin/bsdtar (cpio, iso9660, ar),
/usr/bin/7zz (7z, AES zip), /usr/bin/zstd and /usr/bin/lz4. RAR 4 and
RAR 5 have no free writer in Debian: they are written here, stored method
only, from RARLAB's published format descriptions (technote.txt for RAR
4, "RAR 5.0 archive format" for RAR 5), with their header and data CRCs;
bsdtar (libarchive) reads both. TNEF (winmail.dat) is written here too,
from [MS-OXTNEF]: attachments as attAttachRendData, attAttachTitle and
attAttachData, each attribute with its checksum.

As a module: make(kind, out, **opts) writes OUT and returns that dict;
files(seed, n, size) gives the inner files themselves. --check (check())
reads OUT back with bsdtar -xOf, following chains, and compares.
"""

import argparse
import bz2
import gzip
import hashlib
import io
import json
import lzma
import os
import random
import shlex
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
import zlib

BSDTAR = "/usr/bin/bsdtar"
SEVENZ = "/usr/bin/7zz"
PASSWORD = "synthetic"

# 2020-01-02 03:04:06, a fixed time so archives from one seed are alike
MTIME = 1577934246


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def esc(name):
    """A name as it appears in a part path's chain."""
    return name.replace("%", "%25").replace("!", "%21")


def files(seed=1, n=3, size=4096, odd_names=False, flat=False):
    """n seeded random files {path: bytes}, sizes in [size/2, size].

    Some go under directories unless flat; odd_names adds one named with
    a non-ASCII letter, a '!' and a '%' (the chain escaping)."""
    r = random.Random(seed)
    out = {}
    for i in range(n):
        sz = r.randint(max(1, size // 2), max(1, size))
        if flat or i % 3 != 1:
            name = "file%02d.bin" % i
        else:
            name = "docs/sub%d/file%02d.bin" % (i % 2, i)
        out[name] = r.randbytes(sz)
    if odd_names:
        out["caf\u00e9 !%.bin"] = r.randbytes(max(1, size // 2))
    return out


def nfiles(o, default=3):
    return default if o.files is None else o.files


def listing(fs, prefix=""):
    return {prefix + esc(k): sha256(v) for k, v in fs.items()}


def stage(fs, d):
    """Write files {path: bytes} under directory d, with fixed times."""
    for name, data in fs.items():
        p = os.path.join(d, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
    for root, dirs, names in os.walk(d):
        for x in dirs + names:
            os.utime(os.path.join(root, x), (MTIME, MTIME))


def dirs_of(fs):
    ds = set()
    for name in fs:
        parts = name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            ds.add("/".join(parts[:i]) + "/")
    return sorted(ds)


def write(out, data):
    with open(out, "wb") as f:
        f.write(data)


def run(cmd, cwd=None):
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


# ---- zip (Python's zipfile) ----

def zip_bytes(fs, methods=(zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED),
              with_dirs=True):
    """A zip of fs, methods taken in turn; directory entries first."""
    bio = io.BytesIO()
    with zipfile.ZipFile(bio, "w") as z:
        if with_dirs:
            for d in dirs_of(fs):
                zi = zipfile.ZipInfo(d, time.gmtime(MTIME)[:6])
                zi.external_attr = (0o40755 << 16) | 0x10
                z.writestr(zi, b"")
        for i, (name, data) in enumerate(fs.items()):
            zi = zipfile.ZipInfo(name, time.gmtime(MTIME)[:6])
            zi.compress_type = methods[i % len(methods)]
            zi.external_attr = 0o100644 << 16
            z.writestr(zi, data)
    return bio.getvalue()


def make_zip(out, o):
    fs = files(o.seed, nfiles(o), o.size, o.odd_names)
    write(out, zip_bytes(fs))
    return listing(fs)


def make_zip_stored(out, o):
    fs = files(o.seed, nfiles(o), o.size, o.odd_names)
    write(out, zip_bytes(fs, methods=(zipfile.ZIP_STORED,)))
    return listing(fs)


class _Unseekable(io.RawIOBase):
    """A write-only stream zipfile cannot seek in: it then writes each
    file's sizes and CRC after its data, in a data descriptor."""

    def __init__(self):
        self.buf = bytearray()

    def writable(self):
        return True

    def write(self, b):
        self.buf += b
        return len(b)


def make_zip_stream(out, o):
    """A zip as a streaming writer makes it: local headers without sizes,
    each file followed by a data descriptor (general purpose bit 3)."""
    fs = files(o.seed, nfiles(o), o.size, o.odd_names)
    st = _Unseekable()
    with zipfile.ZipFile(st, "w") as z:
        for i, (name, data) in enumerate(fs.items()):
            zi = zipfile.ZipInfo(name, time.gmtime(MTIME)[:6])
            zi.compress_type = (zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED)[i % 2]
            with z.open(zi, "w") as f:
                f.write(data)
    write(out, bytes(st.buf))
    return listing(fs)


def make_zip_hidden(out, o):
    """A zip whose entry "hidden.bin" has a local header and data but no
    central directory record: unzip and Windows do not list it, a reader
    walking the local headers does."""
    fs = files(o.seed, max(nfiles(o), 2), o.size, o.odd_names, flat=True)
    hidden = random.Random(o.seed + 1).randbytes(o.size)
    order = dict(list(fs.items())[:1])
    order["hidden.bin"] = hidden
    order.update(list(fs.items())[1:])
    data = zip_bytes(order, with_dirs=False)
    write(out, hide_central(data, "hidden.bin"))
    res = listing(fs)
    res["hidden.bin"] = sha256(hidden)
    return res


def hide_central(data, name):
    """Drop name's central directory record and fix the end record."""
    eocd = data.rfind(b"PK\x05\x06")
    (_, _, _, n_disk, n_all, cd_size, cd_off, clen) = struct.unpack(
        "<4sHHHHIIH", data[eocd:eocd + 22])
    cd = data[cd_off:cd_off + cd_size]
    keep = b""
    p = 0
    while p < len(cd):
        nlen, xlen, clen2 = struct.unpack("<HHH", cd[p + 28:p + 34])
        end = p + 46 + nlen + xlen + clen2
        if cd[p + 46:p + 46 + nlen] != name.encode():
            keep += cd[p:end]
        p = end
    tail = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, n_disk - 1,
                       n_all - 1, len(keep), cd_off, clen)
    return data[:cd_off] + keep + tail + data[eocd + 22:]


def make_zip_zipcrypto(out, o):
    """Traditional PKWARE encryption (ZipCrypto), password "synthetic"."""
    fs = files(o.seed, nfiles(o), o.size, o.odd_names)
    with tempfile.TemporaryDirectory() as d:
        stage(fs, os.path.join(d, "in"))
        tmp = os.path.join(d, "a.zip")
        run([BSDTAR, "--format", "zip", "--options",
             "zip:encryption=zipcrypt", "--passphrase", PASSWORD,
             "-cf", tmp] + sorted(set(n.split("/")[0] for n in fs)),
            cwd=os.path.join(d, "in"))
        shutil.copyfile(tmp, out)
    return listing(fs)


def make_zip_aes(out, o):
    """WinZip AES-256 encryption (7zz), password "synthetic"."""
    fs = files(o.seed, nfiles(o), o.size, o.odd_names)
    with tempfile.TemporaryDirectory() as d:
        stage(fs, os.path.join(d, "in"))
        tmp = os.path.join(d, "a.zip")
        run([SEVENZ, "a", "-tzip", "-mem=AES256", "-p" + PASSWORD, tmp,
             "."], cwd=os.path.join(d, "in"))
        shutil.copyfile(tmp, out)
    return listing(fs)


# ---- 7z ----

def make_7z_with(out, o, extra):
    fs = files(o.seed, nfiles(o), o.size, o.odd_names)
    with tempfile.TemporaryDirectory() as d:
        stage(fs, os.path.join(d, "in"))
        tmp = os.path.join(d, "a.7z")
        run([SEVENZ, "a", "-t7z", "-bd"] + extra + [tmp, "."],
            cwd=os.path.join(d, "in"))
        shutil.copyfile(tmp, out)
    return listing(fs)


def make_7z(out, o):
    return make_7z_with(out, o, [])


def make_7z_encrypted(out, o):
    """File data encrypted (AES), names readable."""
    return make_7z_with(out, o, ["-p" + PASSWORD, "-mhe=off"])


def make_7z_encrypted_headers(out, o):
    """Names encrypted too: nothing can be listed without the password."""
    return make_7z_with(out, o, ["-p" + PASSWORD, "-mhe=on"])


# ---- tar family (Python's tarfile; zstd and lz4 by their tools) ----

def tar_bytes(fs, with_dirs=True):
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.PAX_FORMAT) as t:
        if with_dirs:
            for d in dirs_of(fs):
                ti = tarfile.TarInfo(d.rstrip("/"))
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755
                ti.mtime = MTIME
                t.addfile(ti)
        for name, data in fs.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            ti.mtime = MTIME
            t.addfile(ti, io.BytesIO(data))
    return bio.getvalue()


def pipe(cmd, data):
    return subprocess.run(cmd, input=data, check=True,
                          stdout=subprocess.PIPE).stdout


def compress(kind, data, name=None):
    if kind == "gz":
        bio = io.BytesIO()
        with gzip.GzipFile(filename=name or "", mode="wb", fileobj=bio,
                           mtime=MTIME) as g:
            g.write(data)
        return bio.getvalue()
    if kind == "bz2":
        return bz2.compress(data)
    if kind == "xz":
        return lzma.compress(data)
    if kind == "zst":
        return pipe(["zstd", "-q", "-c"], data)
    if kind == "lz4":
        return pipe(["lz4", "-q", "-c"], data)
    raise ValueError(kind)


def make_tar_with(comp):
    def make(out, o):
        fs = files(o.seed, nfiles(o), o.size, o.odd_names)
        data = tar_bytes(fs)
        write(out, compress(comp, data) if comp else data)
        return listing(fs)
    return make


def make_compressed_with(comp):
    """One file compressed whole: the walk reports it as one entry, named
    by the gzip header's file name, "data" for the other compressors."""
    def make(out, o):
        data = files(o.seed, 1, o.size, flat=True)["file00.bin"]
        write(out, compress(comp, data, name="file00.bin"))
        return {("file00.bin" if comp == "gz" else "data"): sha256(data)}
    return make


# ---- cpio, iso9660, ar (bsdtar) ----

def make_bsdtar_with(fmt, flat=False):
    def make(out, o):
        fs = files(o.seed, nfiles(o), o.size, o.odd_names and not flat, flat)
        with tempfile.TemporaryDirectory() as d:
            stage(fs, os.path.join(d, "in"))
            tmp = os.path.join(d, "a.out")
            args = sorted(fs) if flat else sorted(
                set(n.split("/")[0] for n in fs))
            run([BSDTAR, "--format", fmt, "-cf", tmp] + args,
                cwd=os.path.join(d, "in"))
            shutil.copyfile(tmp, out)
        return listing(fs)
    return make


def make_iso_hybrid(out, o):
    """An iso9660 image with an MBR in its system area, as isohybrid and
    xorriso write for images that also boot from a USB stick: seeded
    bytes for the boot code, the 0x55AA signature at 510. The system area
    is free for anything: a part is an image by "CD001" at 32769 alone."""
    res = make_bsdtar_with("iso9660")(out, o)
    with open(out, "r+b") as f:
        head = f.read(32768)
        if head != bytes(32768):
            raise RuntimeError("bsdtar wrote into the system area")
        f.seek(0)
        f.write(random.Random(o.seed).randbytes(510) + b"\x55\xaa")
    return res


def make_iso_sysarea(out, o):
    """An iso9660 image one of whose files (the first by name, odd names
    aside) lies in the system area, at block 1: ISO 9660 lets an extent
    start anywhere, and libarchive seeks back to read it. A reader (or a
    spool) that skips or blanks the first 32 KiB would miss it. Its
    directory records (ISO 9660 and Joliet) are pointed there and its old
    blocks zeroed."""
    res = make_bsdtar_with("iso9660")(out, o)
    first = sorted(k for k in res if k.isascii() and " " not in k)[0]
    base = first.split("/")[-1]
    with open(out, "rb") as f:
        d = bytearray(f.read())
    moved = 0
    for name in (base.upper().encode() + b";1", base.encode("utf-16-be")):
        at = d.find(name, 32768)
        while at >= 0:
            rec = at - 33
            if d[rec + 32] == len(name) and d[rec] >= 33 + len(name):
                lba, size = struct.unpack_from("<II", d, rec + 2)[0], \
                    struct.unpack_from("<I", d, rec + 10)[0]
                if size > 15 * 2048:
                    raise RuntimeError("file too big for the system area")
                if moved == 0:
                    d[2048:2048 + size] = d[lba * 2048:lba * 2048 + size]
                    d[lba * 2048:lba * 2048 + size] = bytes(size)
                struct.pack_into("<I", d, rec + 2, 1)
                struct.pack_into(">I", d, rec + 6, 1)
                moved += 1
            at = d.find(name, at + 1)
    if moved != 2:
        raise RuntimeError("%s: %d directory records" % (first, moved))
    write(out, bytes(d))
    return res


# ---- RAR 4 and RAR 5, stored (RARLAB's technote / RAR 5.0 format) ----

RAR4_SIG = b"Rar!\x1a\x07\x00"
RAR5_SIG = b"Rar!\x1a\x07\x01\x00"


def dos_time(t):
    tm = time.gmtime(t)
    return (((tm.tm_year - 1980) << 25) | (tm.tm_mon << 21)
            | (tm.tm_mday << 16) | (tm.tm_hour << 11) | (tm.tm_min << 5)
            | (tm.tm_sec // 2))


def rar4_block(htype, flags, body):
    """HEAD_CRC (low 16 bits of the CRC32 of the rest), TYPE, FLAGS, SIZE."""
    rest = struct.pack("<BHH", htype, flags, 7 + len(body)) + body
    return struct.pack("<H", zlib.crc32(rest) & 0xffff) + rest


def rar4_file(name, data, is_dir=False, encrypted=False):
    """A file header and its data; encrypted: data stands for the cipher
    text of a file of the same size (random bytes, padded to 16)."""
    nb = name.encode()
    usize = len(data)
    if encrypted:
        data = random.Random(usize).randbytes((usize + 15) // 16 * 16)
    flags = 0x8000                      # LONG_BLOCK: ADD_SIZE (data) follows
    if is_dir:
        flags |= 0x00e0                 # dictionary bits all set: a directory
    if encrypted:
        flags |= 0x0004 | 0x0400        # PASSWORD, SALT
    attr = (0o40755 if is_dir else 0o100644)
    body = struct.pack("<IIBIIBBHI", len(data), usize, 3,
                       zlib.crc32(data), dos_time(MTIME), 29, 0x30,
                       len(nb), attr) + nb
    if encrypted:
        body += b"\x5a" * 8             # SALT
    return rar4_block(0x74, flags, body) + data


def rar4_bytes(fs, encrypted=False, encrypted_headers=False):
    out = RAR4_SIG
    # MAIN_HEAD: RESERVED1 (2), RESERVED2 (4); 0x0080 = headers encrypted
    out += rar4_block(0x73, 0x0080 if encrypted_headers else 0,
                      b"\0" * 6)
    if encrypted_headers:
        # what follows would be AES blocks: random bytes stand for them
        return out + random.Random(7).randbytes(256)
    for d in dirs_of(fs):
        out += rar4_file(d.rstrip("/"), b"", is_dir=True)
    for name, data in fs.items():
        out += rar4_file(name, data, encrypted=encrypted)
    out += rar4_block(0x7b, 0x4000, b"")  # ENDARC_HEAD
    return out


def vint(n):
    b = bytearray()
    while True:
        x = n & 0x7f
        n >>= 7
        if n:
            b.append(x | 0x80)
        else:
            b.append(x)
            return bytes(b)


def rar5_block(htype, hflags, fields, extra=b"", data=None):
    """CRC32, size, type, flags, [extra size], [data size], fields, extra;
    data None: no data area (a file header has one, even when empty)."""
    if extra:
        hflags |= 0x0001
    if data is not None:
        hflags |= 0x0002
    h = vint(htype) + vint(hflags)
    if extra:
        h += vint(len(extra))
    if data is not None:
        h += vint(len(data))
    h += fields + extra
    h = vint(len(h)) + h
    return struct.pack("<I", zlib.crc32(h)) + h + (data or b"")


def rar5_file(name, data, is_dir=False, encrypted=False):
    """As rar4_file, for RAR 5."""
    nb = name.encode()
    fflags = 0x0002 | (0x0001 if is_dir else 0x0004)   # mtime, dir or CRC
    fields = vint(fflags) + vint(len(data))
    fields += vint(0o40755 if is_dir else 0o100644)
    fields += struct.pack("<I", MTIME)
    if not is_dir:
        fields += struct.pack("<I", zlib.crc32(data))
    fields += vint(0)                   # compression: version 0, store
    fields += vint(1)                   # host OS: Unix
    fields += vint(len(nb)) + nb
    extra = b""
    if encrypted:
        # file encryption record: version 0 (AES-256), flags 0, KDF
        # count, salt, IV; the data is then the cipher text
        rec = vint(0x01) + vint(0) + vint(0) + bytes([15]) + b"\x5a" * 16 \
            + b"\xa5" * 16
        extra = vint(len(rec)) + rec
        data = random.Random(len(data)).randbytes(
            (len(data) + 15) // 16 * 16)
    return rar5_block(2, 0, fields, extra, data)


def rar5_bytes(fs, encrypted=False, encrypted_headers=False):
    out = RAR5_SIG
    if encrypted_headers:
        # archive encryption header: version 0, flags 0, KDF count, salt;
        # every header after it is encrypted (random bytes stand for them)
        out += rar5_block(4, 0, vint(0) + vint(0) + bytes([15])
                          + b"\x5a" * 16)
        return out + random.Random(7).randbytes(256)
    out += rar5_block(1, 0, vint(0))    # main archive header, no flags
    for d in dirs_of(fs):
        out += rar5_file(d.rstrip("/"), b"", is_dir=True)
    for name, data in fs.items():
        out += rar5_file(name, data, encrypted=encrypted)
    out += rar5_block(5, 0, vint(0))    # end of archive
    return out


def make_rar_with(writer, **kw):
    def make(out, o):
        fs = files(o.seed, nfiles(o), o.size, o.odd_names)
        write(out, writer(fs, **kw))
        return listing(fs)
    return make


# ---- TNEF (winmail.dat), [MS-OXTNEF] ----

TNEF_SIG = 0x223e9f78
LVL_MESSAGE, LVL_ATTACHMENT = 1, 2
ATT_TNEF_VERSION = 0x00089006
ATT_OEM_CODEPAGE = 0x00069007
ATT_MESSAGE_CLASS = 0x00078008
ATT_SUBJECT = 0x00018004
ATT_ATTACH_REND_DATA = 0x00069002
ATT_ATTACH_TITLE = 0x00018010
ATT_ATTACH_DATA = 0x0006800f


def tnef_attr(level, attr, data):
    """Level, attribute id, length, data, checksum (sum of data bytes)."""
    return (struct.pack("<BII", level, attr, len(data)) + data
            + struct.pack("<H", sum(data) & 0xffff))


def tnef_bytes(atts, key=0x1234):
    out = struct.pack("<IH", TNEF_SIG, key)
    out += tnef_attr(LVL_MESSAGE, ATT_TNEF_VERSION, struct.pack("<I", 0x10000))
    out += tnef_attr(LVL_MESSAGE, ATT_OEM_CODEPAGE, struct.pack("<II", 1252, 0))
    out += tnef_attr(LVL_MESSAGE, ATT_MESSAGE_CLASS, b"IPM.Microsoft Mail.Note\0")
    out += tnef_attr(LVL_MESSAGE, ATT_SUBJECT, b"synthetic\0")
    for name, data in atts.items():
        # attAttachRendData opens an attachment: type 1 (file), position
        out += tnef_attr(LVL_ATTACHMENT, ATT_ATTACH_REND_DATA,
                         struct.pack("<HIHHI", 1, 0xffffffff, 0, 0, 1))
        out += tnef_attr(LVL_ATTACHMENT, ATT_ATTACH_TITLE,
                         name.encode("cp1252") + b"\0")
        out += tnef_attr(LVL_ATTACHMENT, ATT_ATTACH_DATA, data)
    return out


def make_tnef(out, o):
    fs = files(o.seed, nfiles(o), o.size, flat=True)
    fs = {k.replace("file", "att"): v for k, v in fs.items()}
    write(out, tnef_bytes(fs))
    return listing(fs)


# ---- nested: zip / tar in turn, depth container levels ----

def make_nested(out, o):
    """depth levels (default 3: a zip inside a tar inside a zip), each with
    its own files beside the next container."""
    depth = o.depth or 3
    res = {}
    inner = None
    inner_name = None
    prefixes = []
    for lvl in range(depth):
        prefixes.append("!".join(["mid%d.%s" % (i, "tar" if i % 2 else "zip")
                                  for i in range(1, lvl + 1)]))
    for lvl in range(depth - 1, -1, -1):
        fs = files(o.seed + lvl, nfiles(o), o.size, o.odd_names and lvl == 0)
        fs = {("l%d-" % lvl) + k: v for k, v in fs.items()}
        members = dict(fs)
        if inner is not None:
            members[inner_name] = inner
        data = tar_bytes(members) if lvl % 2 else zip_bytes(members)
        pre = prefixes[lvl] + "!" if prefixes[lvl] else ""
        res.update(listing(members, pre))
        inner = data
        inner_name = "mid%d.%s" % (lvl, "tar" if lvl % 2 else "zip")
    write(out, inner)
    return dict(sorted(res.items()))


# ---- bombs ----

def make_zip42(out, o):
    """42.zip's shape: levels of zips, each holding copies of the level
    below; the innermost holds one file of zeros (--zeros bytes, default
    1 MiB). Expands to copies**levels * zeros. Prints one path per level
    (the first copy), not each of the copies**levels paths."""
    levels = o.levels or 4
    copies = o.copies or 16
    zeros = o.zeros or (1 << 20)
    leaf = bytes(zeros)
    deflate = (zipfile.ZIP_DEFLATED,)
    # blobs[lvl]: what each l<lvl>-NN.zip member holds
    blobs = {levels: zip_bytes({"zeros.bin": leaf}, deflate, False)}
    for lvl in range(levels, 1, -1):
        blobs[lvl - 1] = zip_bytes(
            {"l%d-%02d.zip" % (lvl, i): blobs[lvl] for i in range(copies)},
            deflate, False)
    write(out, zip_bytes({"l1-%02d.zip" % i: blobs[1] for i in range(copies)},
                         deflate, False))
    chain = ["l%d-00.zip" % lvl for lvl in range(1, levels + 1)]
    res = {}
    for lvl in range(1, levels + 1):
        res["!".join(chain[:lvl])] = sha256(blobs[lvl])
    res["!".join(chain + ["zeros.bin"])] = sha256(leaf)
    return res


def make_zip_overlap(out, o):
    """David Fifield's overlapping-entry zip ("A better zip bomb", 2019):
    one deflate kernel of zeros shared by every entry. Entry i's data is a
    stored deflate block quoting local header i+1, then entry i+1's data,
    so each of --files entries (default 64) expands to the kernel's --zeros
    bytes (default 4 MiB) plus the quoted headers, from an archive of a
    few KiB."""
    n = nfiles(o, 64)
    zeros = o.zeros or (4 << 20)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    kernel = c.compress(bytes(zeros)) + c.flush()
    names = [("%03d" % i).encode() for i in range(n)]

    def local(i, crc, csize, usize):
        return struct.pack("<IHHHHHIIIHH", 0x04034b50, 20, 0, 8, 0, 0x21,
                           crc, csize, usize, len(names[i]), 0) + names[i]

    # built from the last entry back: each quotes the next one's header
    headers = [None] * n
    csize = len(kernel)
    usize = zeros
    crc_tail = zlib.crc32(bytes(zeros))
    # the uncompressed bytes of entry i are LH[i+1] + ... + LH[n-1] + zeros;
    # their CRC needs the quoted headers in order: keep them as a list
    quoted = []
    res = {}
    for i in range(n - 1, -1, -1):
        crc = 0
        for q in quoted:
            crc = zlib.crc32(q, crc)
        crc = zlib.crc32(bytes(zeros), crc)
        h = local(i, crc, csize, usize)
        headers[i] = h
        res[names[i].decode()] = (quoted[:], crc)
        # entry i-1 quotes h in a stored, non-final deflate block
        quoted.insert(0, h)
        csize += 5 + len(h)
        usize += len(h)
    body = b""
    offsets = []
    for i in range(n):
        offsets.append(len(body))
        body += headers[i]
        if i < n - 1:
            h = headers[i + 1]
            body += struct.pack("<BHH", 0, len(h), len(h) ^ 0xffff)
    body += kernel
    cd = b""
    for i in range(n):
        sig, ver, fl, meth, tm, dt, crc, cs, us, nl, xl = struct.unpack(
            "<IHHHHHIIIHH", headers[i][:30])
        cd += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 20, 20, 0, 8,
                          tm, dt, crc, cs, us, nl, 0, 0, 0, 0, 0,
                          offsets[i]) + names[i]
    eocd = struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, n, n, len(cd),
                       len(body), 0)
    write(out, body + cd + eocd)
    out_res = {}
    for name, (q, crc) in res.items():
        h = hashlib.sha256()
        for x in q:
            h.update(x)
        z = bytes(1 << 20)
        left = zeros
        while left:
            k = min(left, len(z))
            h.update(z[:k])
            left -= k
        out_res[name] = h.hexdigest()
    return dict(sorted(out_res.items()))


def make_zip_tar_zeros(out, o):
    """A zip holding big.tar (deflated) holding --zeros bytes of zeros
    (default 64 MiB): a nested container that must be copied whole to be
    opened, for the memory limit."""
    zeros = o.zeros or (64 << 20)
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.USTAR_FORMAT) as t:
        ti = tarfile.TarInfo("zeros.bin")
        ti.size = zeros
        ti.mtime = MTIME
        t.addfile(ti, io.BytesIO(bytes(zeros)))
    tar = bio.getvalue()
    write(out, zip_bytes({"big.tar": tar}, (zipfile.ZIP_DEFLATED,), False))
    return {"big.tar": sha256(tar), "big.tar!zeros.bin": sha256(bytes(zeros))}


def make_gzip_zeros(out, o):
    """A gzip of --zeros bytes of zeros (default 1 GiB): about 1 MiB.
    Each MiB is deflated once with a full flush (the dictionary reset), so
    its compressed bytes repeat verbatim: written n times they are a valid
    stream of n MiB, without deflating a GiB."""
    zeros = o.zeros or (1 << 30)
    mib = 1 << 20
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = c.compress(bytes(mib)) + c.flush(zlib.Z_FULL_FLUSH)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    tail = c.compress(bytes(zeros % mib)) + c.flush()
    h = hashlib.sha256()
    crc = 0
    z = bytes(mib)
    for _ in range(zeros // mib):
        h.update(z)
        crc = zlib.crc32(z, crc)
    h.update(z[:zeros % mib])
    crc = zlib.crc32(z[:zeros % mib], crc)
    with open(out, "wb") as f:
        # gzip header: deflate, FNAME, mtime, XFL 2 (best), OS 3 (Unix)
        f.write(struct.pack("<BBBBIBB", 0x1f, 0x8b, 8, 0x08, MTIME, 2, 3)
                + b"zeros\0")
        for _ in range(zeros // mib):
            f.write(chunk)
        f.write(tail)
        f.write(struct.pack("<II", crc, zeros & 0xffffffff))
    return {"zeros": h.hexdigest()}


KINDS = {
    "zip": make_zip,
    "zip-stored": make_zip_stored,
    "zip-stream": make_zip_stream,
    "zip-hidden": make_zip_hidden,
    "zip-zipcrypto": make_zip_zipcrypto,
    "zip-aes": make_zip_aes,
    "7z": make_7z,
    "7z-encrypted": make_7z_encrypted,
    "7z-encrypted-headers": make_7z_encrypted_headers,
    "rar4": make_rar_with(rar4_bytes),
    "rar4-encrypted": make_rar_with(rar4_bytes, encrypted=True),
    "rar4-encrypted-headers": make_rar_with(rar4_bytes,
                                            encrypted_headers=True),
    "rar5": make_rar_with(rar5_bytes),
    "rar5-encrypted": make_rar_with(rar5_bytes, encrypted=True),
    "rar5-encrypted-headers": make_rar_with(rar5_bytes,
                                            encrypted_headers=True),
    "tar": make_tar_with(None),
    "tar.gz": make_tar_with("gz"),
    "tar.bz2": make_tar_with("bz2"),
    "tar.xz": make_tar_with("xz"),
    "tar.zst": make_tar_with("zst"),
    "tar.lz4": make_tar_with("lz4"),
    "gz": make_compressed_with("gz"),
    "bz2": make_compressed_with("bz2"),
    "xz": make_compressed_with("xz"),
    "zst": make_compressed_with("zst"),
    "lz4": make_compressed_with("lz4"),
    "cpio": make_bsdtar_with("newc"),
    "iso9660": make_bsdtar_with("iso9660"),
    "iso9660-hybrid": make_iso_hybrid,
    "iso9660-sysarea": make_iso_sysarea,
    "ar": make_bsdtar_with("ar", flat=True),
    "tnef": make_tnef,
    "nested": make_nested,
    "bomb-zip42": make_zip42,
    "bomb-overlap": make_zip_overlap,
    "bomb-gzip": make_gzip_zeros,
    "zip-tar-zeros": make_zip_tar_zeros,
}


# ---- check: libarchive (bsdtar -xOf) gives back what make() put in ----

def unesc(name):
    return name.replace("%21", "!").replace("%25", "%")


def bsdtar_extract(path, member, passphrase=None, stream=False):
    """member's bytes; stream: from a pipe, so that libarchive reads a zip
    by its local headers instead of its central directory."""
    cmd = [BSDTAR, "-xOf", "-" if stream else path]
    if passphrase:
        cmd += ["--passphrase", passphrase]
    with open(path, "rb") as f:
        # a pipe, not the file: libarchive seeks in a redirected file
        return subprocess.run(cmd + [member], check=True,
                              input=f.read() if stream else None,
                              stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE).stdout


def check(kind, out, res):
    """Extract every key of res from out with bsdtar, following chains
    through temporary files, and compare digests. Returns a list of
    failures (empty: all good). Kinds bsdtar cannot read (files compressed
    whole, TNEF, encrypted 7z / RAR) are decompressed another way or
    skipped (their names are checked by bsdtar -tf where it lists them)."""
    bad = []
    if kind in ("gz", "bz2", "xz", "zst", "lz4", "bomb-gzip"):
        tool = {"gz": "gzip", "bomb-gzip": "gzip", "bz2": "bzip2",
                "xz": "xz", "zst": "zstd", "lz4": "lz4"}[kind]
        h = hashlib.sha256()
        with subprocess.Popen([tool, "-dc", out],
                              stdout=subprocess.PIPE) as p:
            for chunk in iter(lambda: p.stdout.read(1 << 20), b""):
                h.update(chunk)
        if [h.hexdigest()] != list(res.values()):
            bad.append(kind)
        return bad
    if kind == "tnef" or "encrypted" in kind:
        listed = subprocess.run([BSDTAR, "-tf", out], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL).stdout.decode()
        if kind != "tnef" and "headers" not in kind:
            for k in res:
                if unesc(k) not in listed.splitlines():
                    bad.append(k)
        return bad
    pw = PASSWORD if kind in ("zip-zipcrypto", "zip-aes") else None
    if kind == "zip-hidden":
        # hidden from the central directory, found by the local headers
        listed = subprocess.run([BSDTAR, "-tf", out], check=True,
                                stdout=subprocess.PIPE).stdout.decode()
        if "hidden.bin" in listed.splitlines():
            bad.append("hidden.bin (in the central directory)")
    with tempfile.TemporaryDirectory() as d:
        for key, want in res.items():
            src = out
            try:
                for i, member in enumerate(key.split("!")):
                    data = bsdtar_extract(src, unesc(member), pw,
                                          stream=kind == "zip-hidden")
                    src = os.path.join(d, "%d" % i)
                    write(src, data)
                if sha256(data) != want:
                    bad.append(key)
            except subprocess.CalledProcessError as e:
                bad.append("%s (%s)" % (key, e.stderr.decode().strip()))
    return bad


class Opts:
    """The CLI's options, for callers of make()."""

    def __init__(self, seed=1, files=None, size=4096, odd_names=False,
                 depth=0, copies=0, levels=0, zeros=0):
        self.seed = seed
        self.files = files
        self.size = size
        self.odd_names = odd_names
        self.depth = depth
        self.copies = copies
        self.levels = levels
        self.zeros = zeros


def make(kind, out, **kw):
    """Write a KIND container to out; returns {chain: sha256}."""
    return KINDS[kind](out, Opts(**kw))


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("kind", nargs="?", choices=sorted(KINDS))
    ap.add_argument("out", nargs="?")
    ap.add_argument("--list", action="store_true", help="print the kinds")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--files", type=int, default=None,
                    help="inner files per level (default 3; bomb-overlap: "
                    "entries, default 64)")
    ap.add_argument("--size", type=int, default=4096,
                    help="largest inner file (bytes)")
    ap.add_argument("--odd-names", action="store_true",
                    help="add a file named with e-acute, '!' and '%%'")
    ap.add_argument("--depth", type=int, default=0, help="nested: levels")
    ap.add_argument("--levels", type=int, default=0, help="bomb-zip42")
    ap.add_argument("--copies", type=int, default=0, help="bomb-zip42")
    ap.add_argument("--zeros", type=int, default=0,
                    help="bombs: bytes of zeros in the kernel")
    ap.add_argument("--check", action="store_true",
                    help="read OUT back with bsdtar and compare")
    ap.add_argument("--tsv", action="store_true",
                    help="print 'sha256 TAB chain' lines, not JSON "
                    "(for C tests)")
    ap.add_argument("--batch", action="store_true",
                    help="read 'KIND OUT [ARGS]' lines from stdin; write "
                    "each OUT and OUT.tsv (one start for many fixtures)")
    a = ap.parse_args(argv)
    if a.batch:
        for line in sys.stdin:
            words = shlex.split(line)
            if not words:
                continue
            b = ap.parse_args(words)
            res = KINDS[b.kind](b.out, b)
            with open(b.out + ".tsv", "w") as f:
                for k in sorted(res):
                    f.write("%s\t%s\n" % (res[k], k))
        return 0
    if a.list:
        print("\n".join(sorted(KINDS)))
        return 0
    if not a.kind or not a.out:
        ap.error("KIND and OUT are required")
    res = KINDS[a.kind](a.out, a)
    if a.tsv:
        for k in sorted(res):
            sys.stdout.write("%s\t%s\n" % (res[k], k))
    else:
        json.dump(res, sys.stdout, indent=1, sort_keys=True)
        sys.stdout.write("\n")
    if a.check:
        bad = check(a.kind, a.out, res)
        for b in bad:
            sys.stderr.write("archives.py: %s: %s differs\n" % (a.kind, b))
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
