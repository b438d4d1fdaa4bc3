# SPDX-License-Identifier: BSD-2-Clause
"""Synthetic images for the PDQ tests (never photographs): made by
build/tools/mkimage (a seeded picture rendered at any size, so the picture
at half size is the image resized to half), their PDQ hashes as
`hashgate scan --json` prints them, a database compiled by `hashgate
compile` from lists of PDQ hashes, and hostile images."""

import json
import os
import struct
import subprocess
import zlib

TOP = os.environ.get("HG_TOP") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("HG_BIN") or os.path.join(TOP, "build")
MKIMAGE = os.path.join(BIN, "tools", "mkimage")
HASHGATE = os.path.join(BIN, "hashgate")


def make(path, fmt, w, h, seed, quality=90):
    """Write the picture of seed at w x h as fmt; returns its bytes."""
    subprocess.run([MKIMAGE, fmt, str(w), str(h), str(seed), path,
                    str(quality)], check=True)
    with open(path, "rb") as f:
        return f.read()


def pdq(path):
    """(hash hex, quality) of the image in path, by hashgate scan."""
    r = subprocess.run([HASHGATE, "scan", "--json", path],
                       capture_output=True, text=True, timeout=60)
    for line in r.stdout.splitlines():
        x = json.loads(line)
        if "image" in x and "pdq" in x["image"]:
            return x["image"]["pdq"], x["image"]["quality"]
    raise RuntimeError("no PDQ hash for %s: %s %s" % (path, r.stdout,
                                                      r.stderr))


def distance(a, b):
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def database(out, pdq=None, digests=None):
    """Compile out from pdq {list: [(HEX, QUALITY)]} (files the pdq reader
    takes: HEX,QUALITY a line) and digests {list: [HEX]} (text lists)."""
    args = []
    base = os.path.dirname(out)
    for name, rows in (pdq or {}).items():
        path = os.path.join(base, name + ".pdq")
        with open(path, "w") as f:
            for h, q in rows:
                f.write("%s,%d\n" % (h, q))
        args.append("%s=%s" % (name, path))
    for name, rows in (digests or {}).items():
        path = os.path.join(base, name + ".txt")
        with open(path, "w") as f:
            f.write("".join(h + "\n" for h in rows))
        args.append("%s=%s" % (name, path))
    subprocess.run([HASHGATE, "compile", "-o", out] + args, check=True,
                   capture_output=True)
    return out


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + \
        struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)


def png_declared(w, h, rows=1):
    """A grey PNG declaring w x h, holding rows rows of zeros: huge
    dimensions in a tiny file, or (rows = h) a decompression bomb."""
    raw = zlib.compress(b"".join(b"\0" + bytes(w) for _ in range(rows)), 9)
    return b"\x89PNG\r\n\x1a\n" + \
        _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) + \
        _chunk(b"IDAT", raw) + _chunk(b"IEND", b"")
