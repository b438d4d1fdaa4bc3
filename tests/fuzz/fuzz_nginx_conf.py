#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""fuzz_nginx_conf.py - fuzz the nginx module's directives through `nginx -t`.

nginx parses its configuration itself and calls the module's handlers, and
its code is no library we could link a libFuzzer target against, so this
drives the real thing: Debian's /usr/sbin/nginx runs `-t` on generated
configs and loads the module built with ASan+UBSan (tests/fuzz/
build_nginx.sh), with gcc's sanitizer runtimes in LD_PRELOAD.

Configs come from a grammar of nginx blocks (main, events, http, server,
location, nested location, if) holding the hashgate directives, each value
drawn valid or invalid from the module's own rules (hashgate_json and
hashgate_form with their name=value parameters in any order, unknown,
repeated or out of range; hashgate_metrics, a location's content handler;
hashgate_database_key and the signature it asks of hashgate_database, in
either order; the image settings hashgate_pdq_* and hashgate_image_* as
common/inspect/image_conf.c reads them), nginx lines reading the module's
variables (and `set` on one, which nginx refuses), and from mutations of
earlier configs. A model of nginx's parse and merge (the oracle) says what
`nginx -t` must do with each one:
  - valid: exit 0, and a [warn] naming file:line for each list action whose
    list is not in the database, in a context where hashgate is on;
  - a bad directive: exit 1 and one [emerg] whose message is the expected
    one and ends "in CONF:LINE" with the line of the directive's ";";
  - an error found when nginx merges the levels (hashgate on without a
    database, hold without a hold path (hashgate_image_limit hold asks for
    one too, where archives are on), a header size below 64, archive
    byte limits or timeout of 0, and where hashgate and archives are on, an
    inspection helper that is no executable file or does not run): the
    same, with the line of the http block's closing brace, where nginx is
    when it merges;
  - and always: no signal, no sanitizer report, no [alert] or [crit].
A violation is saved to the artifacts dir as a config whose first line is
its expectation ("# expect: ok" or "# expect: emerg line N: REGEX", a warn
list may follow); --replay checks saved configs the same way.

Every path in a config is relative to the private prefix (-p), a fresh temp
dir per config holding the fixtures: db/ (databases compiled at start with
hashgate compile from seeded random digests: good, 0 entries, truncated,
garbage, empty, and signed by key a), keys/ (hashgate keygen's pairs a and
b, and ab.pub with both public keys), modules/ (the sanitized module and
hashgate-inspect),
logs/, exists_dir/, afile and helper_false (an executable that exits). So a saved config replays anywhere, and nothing a config creates or
chowns (nginx chowns hold dirs to the worker user) is outside the prefix.

Leaks: a config nginx accepts is never freed (`nginx -t` exits with its
cycle alive, and LeakSanitizer would report every allocation of it and
replace nginx's exit status, the signal the oracle reads), so leak checks
run only on configs expected to fail, where nginx destroys the cycle and
runs the module's pool cleanups: what is still allocated then is a leak of
an error path. Suppressed: nginx's own init-cycle pool (ngx_memalign from
main) and OpenSSL's process state, which includes the digest table the
library fetches once into a static of the module that nginx dlclose()s.
"""

import argparse
import copy
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NGINX = "/usr/sbin/nginx"
MODULE = "ngx_http_hashgate_module.so"

# One nginx -t takes 50-150 ms here; longer is a hang worth keeping. Counted
# only while this fuzzer runs: a campaign held stopped (SIGSTOP) for a
# benchmark must not come back to a false hang.
RUN_TIMEOUT = 30

# Configs kept for mutation: enough variety, small enough to stay fresh.
POOL_SIZE = 32

# From the module and libhashgate's headers (checked against them at start).
LIST_NAME_MAX = 64          # HG_LIST_NAME_MAX
POLICY_MAX_LISTS = 256      # HG_POLICY_MAX_LISTS
MIN_HEADER_SIZE = 64        # merge check in ngx_http_hashgate_merge_loc_conf
DEFAULT_HEADER_SIZE = 256 * 1024    # HG_MAX_HEADER_BYTES
NGX_MAX_INT = 2 ** 63 - 1   # ngx_atoi, ngx_atosz on amd64

# The fixture databases: made once per fuzz run from a fixed seed (not the
# run's), so the list names a saved config relies on never change.
FIXTURE_SEED = 20261126
LONG_LIST = "L" * 60 + "-x.y"          # exactly LIST_NAME_MAX bytes
DB_LISTS = {"good.hgdb": ["csam", "hotline-a", "x.y_z", LONG_LIST],
            "zero.hgdb": ["csam"]}
DB_LISTS["signed.hgdb"] = DB_LISTS["good.hgdb"]
# hashgate_database_key: which keys each key file holds (made at start by
# hashgate keygen), and which key signed each database (none: unsigned)
KEY_FILES = {"keys/a.pub": {"a"}, "keys/b.pub": {"b"}, "keys/ab.pub": {"a", "b"}}
SIGNED_BY = {"signed.hgdb": {"a"}}

MAIN, EVENTS, HTTP, SRV, LOC, IF = "main", "events", "http", "server", "location", "if"
HG_CTX = {HTTP, SRV, LOC}

# name: (kind, contexts, number of arguments)
SPECS = {
    "hashgate": ("flag", HG_CTX, 1),
    "hashgate_database": ("db", {HTTP}, 1),
    "hashgate_thread": ("flag", {HTTP}, 1),
    "hashgate_parallel_digests": ("parsize", {HTTP}, 1),
    "hashgate_list_action": ("list", HG_CTX, 2),
    "hashgate_default_action": ("action", HG_CTX, 1),
    "hashgate_monitor": ("flag", HG_CTX, 1),
    "hashgate_reject_status": ("status", HG_CTX, 1),
    "hashgate_hold_path": ("hold", HG_CTX, 1),
    "hashgate_hold_status": ("status", HG_CTX, 1),
    "hashgate_evidence_log": ("evlog", HG_CTX, None),
    "hashgate_multipart": ("flag", HG_CTX, 1),
    "hashgate_on_error": ("onerror", HG_CTX, 1),
    "hashgate_max_parts": ("count", HG_CTX, 1),
    "hashgate_max_depth": ("count", HG_CTX, 1),
    "hashgate_max_header_size": ("size", HG_CTX, 1),
    "hashgate_archives": ("flag", HG_CTX, 1),
    "hashgate_inspect_helper": ("helper", {HTTP}, 1),
    "hashgate_archive_encrypted": ("ncaction", HG_CTX, 1),
    "hashgate_archive_unreadable": ("ncaction", HG_CTX, 1),
    "hashgate_archive_max_depth": ("adepth", HG_CTX, 1),
    "hashgate_archive_max_files": ("afiles", HG_CTX, 1),
    "hashgate_archive_max_bytes": ("offset", HG_CTX, 1),
    "hashgate_archive_max_file_size": ("offset", HG_CTX, 1),
    "hashgate_archive_max_ratio": ("aratio", HG_CTX, 1),
    "hashgate_archive_timeout": ("msec", HG_CTX, 1),
    # NGX_CONF_1MORE: on|off, then name=value parameters
    "hashgate_json": ("apibody", HG_CTX, None),
    "hashgate_form": ("apibody", HG_CTX, None),
    "hashgate_metrics": ("metrics", {LOC}, 0),
    "hashgate_database_key": ("dbkey", {HTTP}, 1),
    # image matching (nginx-module/README.md; parsed by common/inspect/
    # image_conf.c, the milter's PdqImages ... ImageLimit alike)
    "hashgate_pdq_images": ("pdqimages", HG_CTX, 1),
    "hashgate_pdq_min_quality": ("quality", HG_CTX, 1),
    "hashgate_pdq_dihedral": ("dihedral", HG_CTX, 1),
    "hashgate_image_max_pixels": ("pixels", HG_CTX, 1),
    "hashgate_image_max_size": ("imgbytes", HG_CTX, 1),
    "hashgate_image_timeout": ("imgtime", HG_CTX, 1),
    "hashgate_image_limit": ("imglimit", HG_CTX, 1),
}

# image_conf.c's words (any case, whole value) and the messages after
# "NAME: bad value "V": expected "
IMAGE_WORDS = {"pdqimages": {b"on": 1, b"yes": 1, b"off": 0, b"no": 0,
                             b"auto": 2},
               "dihedral": {b"on": 1, b"yes": 1, b"off": 0, b"no": 0}}
IMAGE_EXPECTED = {
    "pdqimages": r"on, off or auto",
    "dihedral": r"on or off",
    "quality": r"a quality from 0 to 100",
    "pixels": r"pixels from 10000 to 1000M \(suffix k or M: thousands, "
              r"millions\)",
    "imgbytes": r"bytes from 1k to 1G \(suffix k, M or G\)",
    "imgtime": r"seconds from 1 to 3600",
}

# hashgate_json / hashgate_form parameters: name: (size or count, min, max)
APIBODY = {
    "hashgate_json": {"min_size": ("size", 1, NGX_MAX_INT),
                      "max_depth": ("count", 1, 10000),
                      "max_strings": ("count", 1, 1000000),
                      "max_decoded": ("size", 1, NGX_MAX_INT)},
    "hashgate_form": {"min_size": ("size", 1, NGX_MAX_INT),
                      "max_fields": ("count", 1, 1000000),
                      "max_decoded": ("size", 1, NGX_MAX_INT)},
}

# the defaults the merge checks see (HG_INSPECT_* in hashgate/inspect.h)
DEFAULT_ARCHIVE_BYTES = 400 << 20
DEFAULT_ARCHIVE_FILE_BYTES = 100 << 20
DEFAULT_ARCHIVE_TIMEOUT = 30000
# hashgate_archive_timeout is at most an hour, as the milter's
# ArchiveTimeout (found session 10, regressions/fuzz_nginx_conf/
# archive_timeout_over_32_bits.conf: the helper's 32-bit ms once cut
# 2^32 ms + 1 to 1 ms); refused at the directive's line.
ARCHIVE_TIMEOUT_MAX = 3600 * 1000
ARCHIVE_TIMEOUT_MSG = r'"hashgate_archive_timeout" directive is more than 1h'


ENUMS = {"action": [b"reject", b"hold", b"log"],
         "onerror": [b"reject", b"pass"]}

BOUNDS = {"status": (400, 599), "count": (1, 1000000),
          "adepth": (1, 8), "afiles": (1, 100000000), "aratio": (0, 1000000)}

# what hashgate_archive_encrypted / _unreadable take (and "tag", a mail
# action, refused with a reason of its own)
NC_ACTIONS = [b"accept", b"reject", b"hold", b"log"]

PLAIN = re.compile(rb"^[A-Za-z0-9._/+:=@%,-]+$")

# Filler directives of nginx's own, at most once per block.
FILLER = {
    HTTP: ["default_type text/plain;", "keepalive_timeout 5;",
           "client_max_body_size 1m;", "sendfile off;", "access_log off;",
           "log_format hg '$hashgate_verdict $hashgate_list $hashgate_sha256';",
           "add_header X-Hashgate $hashgate_verdict;"],
    SRV: ["client_max_body_size 2m;", "root html;", "keepalive_timeout 3;",
          "set $hg_list $hashgate_list;",
          "add_header X-Hashgate-Sha256 $hashgate_sha256 always;"],
    LOC: ["root html;", "client_body_buffer_size 16k;", "return 204;",
          "default_type application/octet-stream;",
          "set $hg_verdict \"$hashgate_verdict:$hashgate_list\";",
          "add_header X-Hashgate $hashgate_verdict;"],
}

# The module's variables ($hashgate_verdict, $hashgate_list and
# $hashgate_sha256, which also makes the module compute SHA-256 at
# postconfiguration) are read-only: `set` on one is refused by nginx.
MODULE_VARS = ["hashgate_verdict", "hashgate_list", "hashgate_sha256"]



def run_awake(argv, cwd, env, out_path):
    """Run argv with stdout and stderr to out_path: (exit status, output).
    Status None: it ran RUN_TIMEOUT seconds of our awake time and was
    killed. A wait that took far longer than asked for means this process
    was held stopped; only the time asked for counts."""
    with open(out_path, "wb") as out:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=out)
        awake, rc = 0.0, None
        while True:
            t0 = time.monotonic()
            try:
                rc = proc.wait(timeout=0.25)
                break
            except subprocess.TimeoutExpired:
                awake += min(time.monotonic() - t0, 0.5)
                if awake >= RUN_TIMEOUT:
                    proc.kill()
                    proc.wait()
                    break
    with open(out_path, "rb") as f:
        return rc, f.read()

class Dir:
    """A directive: name, argument values (bytes, as nginx sees them after
    unescaping) and how they are written."""

    def __init__(self, name, vals, fmt=None):
        self.name = name
        self.vals = list(vals)
        self.fmt = fmt or {}
        self.line = None            # line of its ';' once rendered


class Block:
    def __init__(self, kind, head, items=None):
        self.kind = kind
        self.head = head            # bytes before " {", e.g. b"location /l3"
        self.items = items or []
        self.close_line = None      # line of its '}' once rendered


class Raw:
    """A fixed line of nginx's own (filler, listen, load_module)."""

    def __init__(self, text):
        self.text = text
        self.line = None


class RawBad(Raw):
    """A line of nginx's own that nginx refuses, with its message (a
    regex): `set` on one of the module's variables."""

    def __init__(self, text, msg):
        Raw.__init__(self, text)
        self.msg = msg


def quote(r, v):
    """Write value v as one nginx token that unescapes to exactly v."""
    if v and PLAIN.match(v) and r.random() < 0.8:
        return v
    q = b'"' if r.random() < 0.7 else b"'"
    out = bytearray(q)
    for c in v:
        ch = bytes([c])
        if ch in (b"\\", q):
            out += b"\\" + ch
        elif ch == b"\n":
            out += b"\\n" if r.random() < 0.5 else b"\n"
        elif ch == b"\t":
            out += b"\\t" if r.random() < 0.5 else b"\t"
        elif ch == b"\r":
            out += b"\\r"
        else:
            out += ch
    out += q
    return bytes(out)


class Gen:
    """The grammar: generates and mutates config trees."""

    def __init__(self, r):
        self.r = r
        self.uniq = 0

    def next_id(self):
        self.uniq += 1
        return self.uniq

    # -- values -----------------------------------------------------------

    def case(self, v):
        r = self.r
        return bytes((c ^ 0x20) if chr(c).isalpha() and r.random() < 0.3 else c
                     for c in v)

    def odd(self):
        r = self.r
        pool = (list(range(1, 32)) + [0, 0x7f, 0x80, 0xc3, 0xa9, 0xff]
                + list(b"\\\"'${};# \t\n"))
        n = r.choice([1, 2, 5, 20, 300])
        return bytes(r.choice(pool) if r.random() < 0.4 else r.randrange(0x21, 0x7f)
                     for _ in range(n))

    def value(self, kind, valid):
        r = self.r
        if kind == "flag":
            if valid:
                return self.case(r.choice([b"on", b"off"]))
            return r.choice([b"yes", b"1", b"", b"o n", b"onn", b"of",
                             b"$enable", b"\xc3\xb6n", self.odd()])
        if kind in ENUMS:
            names = ENUMS[kind]
            if valid:
                return self.case(r.choice(names))
            other = [b"hold", b"log"] if kind == "onerror" else [b"pass"]
            return r.choice(other + [b"rejects", b"tempfail", b"", b"tag",
                                     b"reject ", b"accept", b"re\x00ject",
                                     self.odd()])
        if kind in BOUNDS:
            lo, hi = BOUNDS[kind]
            if valid:
                n = r.choice([lo, hi, r.randint(lo, hi)])
                s = str(n).encode()
                if r.random() < 0.1:
                    s = b"0" * r.randint(1, 20) + s
                return s
            return r.choice([str(lo - 1).encode(), str(hi + 1).encode(), b"0",
                             b"1000", b"-403", b"+451", b"4o3", b"", b"403.0",
                             b"1e3", str(NGX_MAX_INT).encode(),
                             str(NGX_MAX_INT + 1).encode(), b"9" * 40,
                             b"$status", b"0x1f4", self.odd()])
        if kind == "size":
            if valid and r.random() < 0.05:
                # parse fine, refused at merge (< 64)
                return r.choice([b"63", b"0", b"1", b"0k", b"0m"])
            if valid:
                return r.choice([b"64", b"65", b"1k", b"1K", b"2m", b"256k",
                                 b"0064", str(r.randint(64, 10 ** 7)).encode(),
                                 str(NGX_MAX_INT).encode(),
                                 str(NGX_MAX_INT // 1024).encode() + b"k",
                                 str(NGX_MAX_INT // 1024 ** 2).encode() + b"M"])
            return r.choice([b"1g", b"1G", b"-1", b"k", b"", b"1.5k", b"1kb",
                             b"64 ", str(NGX_MAX_INT + 1).encode(),
                             str(NGX_MAX_INT // 1024 + 1).encode() + b"k",
                             str(NGX_MAX_INT // 1024 ** 2 + 1).encode() + b"m",
                             b"$size", self.odd()])
        if kind == "name":
            # the edge lengths are literals, not LIST_NAME_MAX, so that a
            # wrong constant in the oracle meets the module's real edge
            alpha = b"abcXYZ019._-"
            if valid:
                if r.random() < 0.4:
                    return r.choice(DB_LISTS["good.hgdb"]).encode()
                n = r.choice([1, 5, 63, 64, r.randint(1, 64)])
                return bytes(r.choice(alpha) for _ in range(n))
            if r.random() < 0.3:
                return bytes(r.choice(alpha) for _ in range(r.choice([65, 66, 300])))
            return r.choice([b"", b"a b", b"a/b", b"\xc3\xa9", b"a\x00", b"a*b",
                             b"$list", b"csam;", self.odd()])
        if kind == "db":
            if valid:
                return r.choice([b"db/good.hgdb", b"./db/good.hgdb",
                                 b"db//good.hgdb", b"db/zero.hgdb",
                                 b"db/signed.hgdb", b"db/signed.hgdb"])
            return r.choice([b"db/missing.hgdb", b"db/trunc.hgdb",
                             b"db/garbage.hgdb", b"db/empty.hgdb", b"db",
                             b"db/", b"", b"db/good.hgdb\x00x",
                             b"nodir/good.hgdb"])
        if kind == "evlog":
            if valid:
                return r.choice([b"off", b"logs/evidence.jsonl", b"ev.jsonl",
                                 b"afile", b"OFF", b"logs/ev with space.jsonl",
                                 b"logs/ev\x01\xff.jsonl"])
            return r.choice([b"nodir/ev.jsonl", b"logs", b"exists_dir/", b"",
                             b"off\x00x", b"logs/ev\x00.jsonl"])
        if kind == "hold":
            if valid:
                return r.choice([b"hold", b"hold/", b"hold2", b"exists_dir",
                                 b"logs/hold", b""])
            return r.choice([b"nodir/hold", b"afile", b"hold\x00x",
                             b"hold/sub"])
        if kind == "ncaction":
            if valid:
                return self.case(r.choice(NC_ACTIONS))
            return r.choice([b"tag", b"TAG", b"Tag", b"none", b"tempfail",
                             b"pass", b"accepts", b"accep", b"", b"accept ",
                             b"acc\x00ept", b"accept\x00", b"log\x00x",
                             b"tag\x00", b"t" * 16, b"reject" * 14, self.odd()])
        if kind == "offset":
            if valid and r.random() < 0.05:
                # parse fine, refused at merge (not more than 0)
                return r.choice([b"0", b"0k", b"0m", b"0G", b"000"])
            if valid:
                return r.choice([b"1", b"1k", b"400m", b"100M", b"8g", b"8G",
                                 b"0001", str(r.randint(1, 10 ** 12)).encode(),
                                 str(NGX_MAX_INT).encode(),
                                 str(NGX_MAX_INT // 1024).encode() + b"k",
                                 str(NGX_MAX_INT // 1024 ** 2).encode() + b"m",
                                 str(NGX_MAX_INT // 1024 ** 3).encode() + b"g"])
            return r.choice([b"", b"-1", b"1t", b"1kb", b"1.5m", b"g", b"k",
                             b"1 k", b"+1", b"0x10", b"$bytes",
                             str(NGX_MAX_INT + 1).encode(),
                             str(NGX_MAX_INT // 1024 + 1).encode() + b"K",
                             str(NGX_MAX_INT // 1024 ** 2 + 1).encode() + b"M",
                             str(NGX_MAX_INT // 1024 ** 3 + 1).encode() + b"G",
                             self.odd()])
        if kind == "parsize":
            # "off" (exactly), or an offset from 64k to 1g
            if valid:
                return r.choice([b"off", b"64k", b"64K", b"512k", b"1m",
                                 b"1g", b"1G", b"1024m", b"65536",
                                 b"1048576k", str(r.randint(65536, 1 << 30))
                                 .encode()])
            return r.choice([b"on", b"OFF", b"Off", b"off ", b"", b"0",
                             b"63k", b"65535", b"1025m", b"2g", b"-64k",
                             b"1t", b"64kb", b"off\x00", str((1 << 30) + 1)
                             .encode(), self.odd()])
        if kind == "msec":
            return self.time_value(valid)
        if kind in IMAGE_WORDS:
            if valid:
                return self.case(r.choice(sorted(IMAGE_WORDS[kind])))
            return r.choice([b"", b"onn", b"autos", b"1", b"true", b"o n",
                             b"on\x00", b"auto " if kind == "pdqimages"
                             else b"auto", b"\xc3\xb6n", self.odd()])
        if kind in ("quality", "pixels", "imgbytes", "imgtime"):
            return self.image_number(kind, valid)
        if kind == "imglimit":
            if valid:
                return self.case(r.choice([b"fail"] + NC_ACTIONS))
            return r.choice([b"tag", b"TAG", b"tempfail", b"failed", b"fai",
                             b"", b"none", b"pass", b"fail\x00", b"fail ",
                             self.odd()])
        if kind == "dbkey":
            if valid:
                return r.choice([b"keys/a.pub", b"./keys/a.pub", b"keys/ab.pub",
                                 b"keys//ab.pub", b"keys/b.pub"])
            return r.choice([b"keys/missing.pub", b"afile", b"exists_dir",
                             b"db/good.hgdb", b"", b"keys", b"keys/a.pub\x00x",
                             b"keys/a.pub/", b"keys/a"])
        if kind == "helper":
            if valid:
                return r.choice([b"modules/hashgate-inspect",
                                 b"./modules/hashgate-inspect",
                                 b"modules//hashgate-inspect"])
            return r.choice([b"afile", b"exists_dir", b"modules", b"", b"logs",
                             b"nodir/hashgate-inspect", b"modules/nohelper",
                             b"modules/hashgate-inspect\x00x",
                             b"modules/hashgate-inspect/", b"db/good.hgdb",
                             b"helper_false"])
        raise ValueError(kind)

    # image_conf.c's numbers: (unit of the suffixes, G allowed, min, max)
    IMAGE_NUMBERS = {"quality": (None, False, 0, 100),
                     "pixels": (1000, False, 10000, 10 ** 9),
                     "imgbytes": (1024, True, 1024, 1 << 30),
                     "imgtime": (None, False, 1, 3600)}

    def image_number(self, kind, valid):
        r = self.r
        unit, g, lo, hi = self.IMAGE_NUMBERS[kind]
        sfx = [b""] + ([b"k", b"K", b"m", b"M"] if unit else []) \
            + ([b"g", b"G"] if g else [])
        if valid:
            s = r.choice(sfx)
            mul = {b"": 1, b"k": unit, b"m": (unit or 1) ** 2,
                   b"g": (unit or 1) ** 3}[s.lower()]
            n = r.choice([lo, hi, r.randint(lo, hi)])
            n = max(-(-lo // mul), n // mul)
            v = str(n).encode()
            if r.random() < 0.1 and len(v) < 12:
                v = b"0" * r.randint(1, 12 - len(v)) + v
            if kind == "imgtime" and r.random() < 0.5:
                s = b"s"
            return v + s
        edge = [str(lo - 1).encode(), str(hi + 1).encode(), b"", b"-1",
                b"+5", b"1.5", b"0x10", b"1e2", b"9" * 13, b"0" * 12 + b"1",
                b"k", b"s", b"1 ", b" 1", b"$v", self.odd()]
        if unit:
            edge += [str(hi // unit + 1).encode() + b"k",
                     str(hi // unit ** 2 + 1).encode() + b"M", b"1t", b"1kb",
                     b"9" * 12 + b"k"]
        if g:
            # past 2^64 once multiplied: 2^34 + 1 gigabytes wrap to 1G
            edge += [b"2G", b"17179869185G", b"17179869184G",
                     b"999999999999G", b"34359738369g"]
        else:
            edge += [b"1G", b"1g"]
        if kind == "quality":
            edge += [b"50k", b"50M", b"100s"]
        if kind == "imgtime":
            edge += [b"0", b"0s", b"1ms", b"1m", b"1h", b"30S", b"1ss",
                     b"3601s", b"5 s"]
        return r.choice(edge)

    # ngx_parse_time's units for milliseconds, largest first, and the
    # largest count of each (NGX_MAX_INT_T_VALUE / its milliseconds)
    TIME_UNITS = [(b"w", 604800000), (b"d", 86400000), (b"h", 3600000),
                  (b"m", 60000), (b"s", 1000), (b"ms", 1), (b"", 1000)]

    def time_value(self, valid):
        r = self.r
        if valid and r.random() < 0.05:
            # parse fine, refused at merge (not more than 0)
            return r.choice([b"0", b"0s", b"0ms", b"0h 0m", b"00", b"0d0s"])
        if valid and r.random() < 0.4:
            return r.choice([b"30s", b"1", b"500ms", b"1ms", b"1h 30m",
                             b"2h30m", b"1d", b"1w", b"1m1s1ms", b"10s ",
                             b"1 2", b"1w1d1h1m1s1ms", b"10s 5", b"1h30",
                             # around 2^32 ms (see ARCHIVE_TIMEOUT_MAX)
                             b"4294967295ms", b"4294967296ms", b"4294967297ms",
                             b"49d17h2m47s296ms", b"50d"])
        if valid:
            units = sorted(r.sample(range(len(self.TIME_UNITS)),
                                    r.randint(1, 3)))
        else:
            units = [r.randrange(len(self.TIME_UNITS))
                     for _ in range(r.randint(1, 3))]
        out = []
        for u in units:
            name, ms = self.TIME_UNITS[u]
            edge = NGX_MAX_INT // ms
            if r.random() < (0.1 if valid else 0.3):
                n = edge + r.choice([0, 0 if valid else 1])
            else:
                n = r.choice([0, 1, r.randint(1, 1000)])
            out.append(str(n).encode() + name)
        v = r.choice([b"", b" ", b"  "]).join(out)
        if not valid:
            v = r.choice([v, v + b"y", b"1y", b"1M", b"ms", b"s", b"", b"-1s",
                          b" 10s", b"1 s", b"5s1", b"1m 1h",
                          b"1.5s", b"1ss", b"1sec", b"1mss", b"1s1m", b"1h1h",
                          b"9" * 25, b"$t", self.odd()])
        return v

    def param_value(self, spec, valid):
        r = self.r
        kind, lo, hi = spec
        if kind == "count":
            if valid:
                s = str(r.choice([lo, hi, r.randint(lo, hi)])).encode()
                return b"0" * r.randint(1, 3) + s if r.random() < 0.1 else s
            return r.choice([str(lo - 1).encode(), str(hi + 1).encode(), b"",
                             b"-1", b"1k", b"1.5", b"+5", b"0x10", b"1 ",
                             str(NGX_MAX_INT).encode(),
                             str(NGX_MAX_INT + 1).encode(), b"9" * 30,
                             self.odd()])
        if valid:
            return r.choice([b"1", b"512", b"64k", b"8m", b"1g", b"8G", b"1K",
                             b"01", str(r.randint(1, 10 ** 9)).encode(),
                             str(NGX_MAX_INT).encode(),
                             str(NGX_MAX_INT // 1024 ** 3).encode() + b"g"])
        return r.choice([b"0", b"0k", b"0g", b"", b"-1", b"1t", b"1kb", b"k",
                         b"1.5m", str(NGX_MAX_INT + 1).encode(),
                         str(NGX_MAX_INT // 1024 ** 3 + 1).encode() + b"g",
                         self.odd()])

    def apibody(self, name, valid):
        """hashgate_json / hashgate_form's arguments: on|off, then its
        parameters in any order; invalid: exactly one thing wrong."""
        r = self.r
        params = APIBODY[name]
        first = self.case(r.choice([b"on", b"off"]))
        if r.random() < 0.03:
            first += b"\x00junk"      # ngx_strcasecmp stops at the NUL
        names = r.sample(sorted(params), r.randint(0, len(params)))
        vals = [first] + [n.encode() + b"=" + self.param_value(params[n], True)
                          for n in names]
        if valid:
            return vals
        how = r.choice(["first", "noeq", "unknown", "twice", "value", "value"])
        pos = r.randint(1, len(vals))
        if how == "first":
            vals[0] = r.choice([b"yes", b"", b"1", b"onn", b"of", b"o n",
                                b"min_size=1k", b"$on", b"\x00on", self.odd()])
        elif how == "noeq":
            vals.insert(pos, r.choice([b"min_size", b"1k", b"", b"on",
                                       b"max_depth:5", b"max_fields 9"]))
        elif how == "unknown":
            others = [k for p in APIBODY.values() for k in p if k not in params]
            pn = r.choice([s.encode() for s in others]
                          + [b"MIN_SIZE", b"min_size ", b"min-size", b"",
                             b"max_parts", b"size", b"min_size\x00",
                             b" min_size", b"min_sizes", b"max_decode"])
            vals.insert(pos, pn + b"=" + r.choice([b"1", b"1k", b""]))
        elif how == "twice":
            n = r.choice(sorted(params))
            for _ in range(2):
                vals.insert(r.randint(1, len(vals)), n.encode() + b"="
                            + self.param_value(params[n], True))
        else:
            n = r.choice(sorted(params))
            vals.insert(pos, n.encode() + b"="
                        + self.param_value(params[n], False))
        return vals

    def directive(self, name, valid=True):
        kind = SPECS[name][0]
        if kind == "list":
            nv = valid or self.r.random() < 0.5
            vals = [self.value("name", nv),
                    self.value("action", valid or not nv)]
        elif kind == "apibody":
            vals = self.apibody(name, valid)
        elif kind == "metrics":
            vals = [] if valid else [self.r.choice([b"on", b"off", b"",
                                                    b"/metrics"])]
        else:
            vals = [self.value(kind, valid)]
        return Dir(name, vals, self.fmt())

    def fmt(self):
        r = self.r
        f = {}
        if r.random() < 0.1:
            f["sep"] = r.choice([b"\t", b"   ", b"\n    ", b" \n\t"])
        if r.random() < 0.1:
            f["comment"] = True
        if r.random() < 0.15:
            f["join"] = True        # on the previous directive's line
        if r.random() < 0.05:
            f["spacesemi"] = True
        return f

    # -- blocks ------------------------------------------------------------

    def fill(self, blk, n):
        r = self.r
        names = [k for k, s in SPECS.items() if blk.kind in s[1]]
        have = {d.name for d in blk.items if isinstance(d, Dir)}
        for _ in range(n):
            name = r.choice(names)
            if name in have and name != "hashgate_list_action":
                continue
            have.add(name)
            blk.items.append(self.directive(name))
        for t in r.sample(FILLER.get(blk.kind, []),
                          r.randint(0, min(2, len(FILLER.get(blk.kind, []))))):
            blk.items.insert(r.randint(0, len(blk.items)), Raw(t.encode()))

    def location(self, prefix, depth):
        r = self.r
        i = self.next_id()
        if depth == 0 and r.random() < 0.15:
            loc = Block(LOC, b"location = /e%d" % i)
            self.fill(loc, r.randint(0, 3))
            return loc
        path = prefix + b"/l%d" % i
        loc = Block(LOC, b"location " + path)
        self.fill(loc, r.randint(0, 3))
        if depth < 2:
            for _ in range(r.choice([0, 0, 1, 2])):
                loc.items.append(self.location(path, depth + 1))
        if r.random() < 0.2:
            loc.items.append(self.ifblock())
        return loc

    def ifblock(self):
        if self.r.random() < 0.3:
            b = Block(IF, b"if ($hashgate_verdict = reject)")
        else:
            b = Block(IF, b"if ($request_method = POST)")
        b.items.append(Raw(b"return 403;"))
        return b

    def config(self):
        """A config with no parse error; some are refused at merge."""
        r = self.r
        main = Block(MAIN, b"")
        main.items = [Raw(b"load_module modules/" + MODULE.encode() + b";"),
                      Raw(b"pid logs/nginx.pid;"),
                      Raw(b"error_log logs/error.log;")]
        ev = Block(EVENTS, b"events")
        ev.items = [Raw(b"worker_connections 64;")]
        main.items.append(ev)
        http = Block(HTTP, b"http")
        main.items.append(http)
        # nginx -t creates these: inside the prefix, not /var/lib/nginx
        for t in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            http.items.append(Raw(b"%s_temp_path %s_tmp;" % (t.encode(), t.encode())))
        if r.random() < 0.85:
            http.items.append(self.directive("hashgate_database"))
        self.fill(http, r.randint(0, 4))
        nsrv = r.choice([0, 1, 1, 2, 3]) if r.random() < 0.1 else r.choice([1, 2, 3])
        for _ in range(nsrv):
            i = self.next_id()
            s = Block(SRV, b"server")
            s.items.append(Raw(b"listen unix:logs/s%d.sock;" % i))
            if r.random() < 0.5:
                s.items.append(Raw(b"server_name s%d.test;" % i))
            self.fill(s, r.randint(0, 4))
            for _ in range(r.randint(0, 3)):
                s.items.append(self.location(b"", 0))
            if r.random() < 0.15:
                s.items.append(self.ifblock())
            http.items.insert(r.randint(0, len(http.items)), s)
        # enough of them switched on that merge checks matter
        blocks = [b for b in walk_blocks(main) if b.kind in HG_CTX]
        if r.random() < 0.6:
            b = r.choice(blocks)
            if not any(isinstance(d, Dir) and d.name == "hashgate"
                       for d in b.items):
                b.items.insert(r.randint(0, len(b.items)),
                               Dir("hashgate", [b"on"], self.fmt()))
        # and most that may hold have somewhere to
        # (a list action, the default action, or an archive action)
        holds = any(isinstance(d, Dir) and d.vals[-1:] and
                    d.vals[-1].lower() == b"hold" for b in blocks for d in b.items)
        if holds and r.random() < 0.8 and not any(
                isinstance(d, Dir) and d.name == "hashgate_hold_path"
                for d in http.items):
            http.items.insert(r.randint(0, len(http.items)),
                              self.directive("hashgate_hold_path"))
        return main

    # -- injections and mutations -------------------------------------------

    def inject(self, main):
        """Add exactly one invalid directive (or merge-time error)."""
        r = self.r
        blocks = list(walk_blocks(main))
        hg_blocks = [b for b in blocks if b.kind in HG_CTX]
        how = r.choice(["value"] * 5 + ["dup", "dup", "context", "context",
                                        "nargs", "unknown", "manylists",
                                        "merge", "merge", "merge", "setvar"])
        kinds = {b.kind for b in hg_blocks}
        placeable = [n for n in SPECS if SPECS[n][1] & kinds]
        if how == "value":
            name = r.choice(placeable)
            blk = r.choice([b for b in hg_blocks if b.kind in SPECS[name][1]])
            put(r, blk, self.directive(name, valid=False))
        elif how == "dup":
            dirs = [(b, d) for b in hg_blocks for d in b.items
                    if isinstance(d, Dir) and d.name != "hashgate_list_action"]
            if not dirs:
                return self.inject(main)
            b, d = r.choice(dirs)
            put(r, b, self.directive(d.name))
        elif how == "context":
            name = r.choice(list(SPECS))
            wrong = [b for b in blocks if b.kind not in SPECS[name][1]]
            b = r.choice(wrong)
            d = self.directive(name)
            if b.kind == MAIN:
                # after load_module: before it every name is unknown
                b.items.insert(r.randint(1, len(b.items)), d)
            else:
                put(r, b, d)
        elif how == "nargs":
            name = r.choice(placeable)
            blk = r.choice([b for b in hg_blocks if b.kind in SPECS[name][1]])
            d = self.directive(name)
            n = SPECS[name][2]
            # NGX_CONF_1MORE (n None): only none is too few
            k = 0 if n is None else r.choice([x for x in range(0, 5) if x != n])
            d.vals = (d.vals + [b"on", b"log", b"x"])[:k]
            put(r, blk, d)
        elif how == "unknown":
            name = r.choice(list(SPECS))
            blk = r.choice(hg_blocks)
            d = self.directive(name)
            d.name = r.choice([name.upper(), name + "s", name.replace("_", "-", 1),
                               name[:-1], "hashgate_" + name])
            if d.name in SPECS:
                d.name += "x"
            put(r, blk, d)
        elif how == "manylists":
            blk = r.choice(hg_blocks)
            n = POLICY_MAX_LISTS + r.choice([0, 0, 1, 5])
            for i in range(n):
                put(r, blk, Dir("hashgate_list_action",
                                [b"list%d" % i, b"log"]), at_end=True)
        elif how == "setvar":
            where = [b for b in blocks if b.kind in (SRV, LOC, IF)]
            if not where:
                return self.inject(main)        # a config without servers
            blk = r.choice(where)
            var = r.choice(MODULE_VARS)
            put(r, blk, RawBad(b"set $%s %s;" % (var.encode(), r.choice(
                [b"1", b"reject", b'""', b"$request_method"])),
                r'the duplicate "%s" variable' % var))
        else:
            kind = r.choice(["size", "nodb", "hold", "abytes", "timeout",
                             "helper", "archold"])
            blk = r.choice(hg_blocks)
            if kind == "size":
                put(r, blk, Dir("hashgate_max_header_size",
                                [r.choice([b"63", b"0", b"1", b"0k"])]))
            elif kind == "abytes":
                name = r.choice(["hashgate_archive_max_bytes",
                                 "hashgate_archive_max_file_size"])
                drop(blocks, name, blk)
                put(r, blk, Dir(name, [r.choice([b"0", b"0k", b"00", b"0g"])]))
            elif kind == "timeout":
                drop(blocks, "hashgate_archive_timeout", blk)
                put(r, blk, Dir("hashgate_archive_timeout",
                                [r.choice([b"0", b"0s", b"0ms", b"0h 0s"])]))
            elif kind == "helper":
                http = next(b for b in blocks if b.kind == HTTP)
                drop(blocks, "hashgate_inspect_helper")
                drop([blk], "hashgate_archives")
                drop([blk], "hashgate")
                put(r, http, self.directive("hashgate_inspect_helper", False))
                put(r, blk, Dir("hashgate", [b"on"]))
            elif kind == "archold":
                drop(blocks, "hashgate_hold_path")
                drop([blk], "hashgate_archives")
                drop([blk], "hashgate_monitor")
                name = r.choice(["hashgate_archive_encrypted",
                                 "hashgate_archive_unreadable",
                                 "hashgate_image_limit"])
                drop([blk], name)
                drop([blk], "hashgate")
                put(r, blk, Dir("hashgate", [b"on"]))
                put(r, blk, Dir(name, [self.case(b"hold")]))
            elif kind == "nodb":
                for b in blocks:
                    b.items = [d for d in b.items if not (
                        isinstance(d, Dir) and d.name == "hashgate_database")]
                put(r, blk, Dir("hashgate", [b"on"]))
            else:
                for b in blocks:
                    b.items = [d for d in b.items if not (
                        isinstance(d, Dir) and d.name == "hashgate_hold_path")]
                put(r, blk, Dir("hashgate", [b"on"]))
                put(r, blk, Dir("hashgate_default_action", [b"hold"]))
        return main

    def mutate(self, main):
        r = self.r
        main = copy.deepcopy(main)
        for _ in range(r.choice([1, 1, 2, 3])):
            blocks = list(walk_blocks(main))
            dirs = [(b, i) for b in blocks for i, d in enumerate(b.items)
                    if isinstance(d, Dir)]
            op = r.choice(["revalue", "move", "copy", "delete", "fmt", "add"])
            if not dirs:
                op = "add"
            if op == "add":
                b = r.choice([b for b in blocks if b.kind in HG_CTX] or blocks)
                names = [k for k, s in SPECS.items() if b.kind in s[1]] or list(SPECS)
                put(r, b, self.directive(r.choice(names), r.random() < 0.7))
                continue
            b, i = r.choice(dirs)
            d = b.items[i]
            if op == "revalue" and d.name in SPECS:
                d.vals = self.directive(d.name, r.random() < 0.6).vals
            elif op == "move":
                del b.items[i]
                put(r, r.choice(blocks), d)
            elif op == "copy":
                put(r, r.choice(blocks), copy.deepcopy(d))
            elif op == "delete":
                del b.items[i]
            else:
                d.fmt = self.fmt()
        return main


def drop(blocks, name, only=None):
    """Remove every directive name from blocks (or from only)."""
    for b in ([only] if only else blocks):
        b.items = [d for d in b.items
                   if not (isinstance(d, Dir) and d.name == name)]


def put(r, blk, item, at_end=False):
    """Insert item in blk (never before main's load_module)."""
    lo = 1 if blk.kind == MAIN else 0
    pos = len(blk.items) if at_end else r.randint(lo, max(lo, len(blk.items)))
    blk.items.insert(pos, item)


def walk_blocks(blk):
    yield blk
    for it in blk.items:
        if isinstance(it, Block):
            yield from walk_blocks(it)


# -- rendering ----------------------------------------------------------------

class Renderer:
    def __init__(self, r):
        self.r = r
        self.out = bytearray()
        self.line = 1

    def emit(self, b):
        self.out += b
        self.line += b.count(b"\n")

    def render(self, main, header):
        self.emit(header + b"\n")
        self.items(main, 0)
        return bytes(self.out)

    def items(self, blk, depth):
        ind = b"    " * depth
        prev_dir = False        # a directive ends the last line, no comment
        for it in blk.items:
            if isinstance(it, Block):
                self.emit(ind + it.head + (b" {\n" if it.head else b"{\n"))
                self.items(it, depth + 1)
                it.close_line = self.line
                self.emit(ind + b"}\n")
                prev_dir = False
            elif isinstance(it, Raw):
                it.line = self.line
                self.emit(ind + it.text + b"\n")
                prev_dir = False
            else:
                if prev_dir and it.fmt.get("join"):
                    self.out[-1:] = b" "          # back onto the last line
                    self.line -= 1
                else:
                    self.emit(ind)
                sep = it.fmt.get("sep", b" ")
                text = it.name.encode()
                for v in it.vals:
                    text += sep + quote(self.r, v)
                text += b" ;" if it.fmt.get("spacesemi") else b";"
                self.emit(text)
                it.line = self.line
                prev_dir = True
                if it.fmt.get("comment"):
                    self.emit(b"  # note; {not} a directive")
                    prev_dir = False
                self.emit(b"\n")


# -- the oracle ---------------------------------------------------------------

class Expect:
    def __init__(self, ok, line=None, msg=None, warns=()):
        self.ok = ok
        self.line = line
        self.msg = msg              # a regex on the [emerg] message
        self.warns = sorted(warns)  # (list name, line)

    def header(self):
        """Line 1 of a saved config."""
        if self.ok:
            return b"# expect: ok"
        return b"# expect: emerg line %d: %s" % (self.line, self.msg.encode())

    def trailer(self):
        """Lines after the config (no line numbers move): the warnings, a
        few a line (nginx refuses a line of more than 4 KiB, comment or
        not)."""
        w = ["%s@%d" % x for x in self.warns]
        return b"".join(b"# expect-warn: %s\n" % " ".join(w[i:i + 8]).encode()
                        for i in range(0, len(w), 8))

    @staticmethod
    def parse(text):
        first = text.split(b"\n", 1)[0]
        warns = [(n.decode(), int(l)) for n, l in re.findall(
            rb"(\S+)@(\d+)", b" ".join(re.findall(rb"(?m)^# expect-warn: (.*)$",
                                                 text)))]
        if re.match(rb"# expect: ok\s*$", first):
            return Expect(True, warns=warns)
        m = re.match(rb"# expect: emerg line (\d+): (.*?)\s*$", first)
        if m:
            return Expect(False, int(m.group(1)), m.group(2).decode())
        return None


class Refused(Exception):
    def __init__(self, line, msg):
        self.line = line
        self.msg = msg


def atoi(v):
    """ngx_atoi: digits only, no sign, fits ngx_int_t; else None."""
    if not v or not all(0x30 <= c <= 0x39 for c in v):
        return None
    n = int(v)
    return n if n <= NGX_MAX_INT else None


def parse_size(v):
    """ngx_parse_size (nginx 1.22): N, Nk, Nm; else None."""
    if not v:
        return None
    scale, num = 1, v
    if v[-1:] in (b"k", b"K"):
        scale, num = 1024, v[:-1]
    elif v[-1:] in (b"m", b"M"):
        scale, num = 1024 * 1024, v[:-1]
    n = atoi(num)
    if n is None or n > NGX_MAX_INT // scale:
        return None
    return n * scale


def parse_offset(v):
    """ngx_parse_offset (nginx 1.22): N, Nk, Nm, Ng; else None."""
    if not v:
        return None
    scale = {b"k": 1024, b"m": 1024 ** 2, b"g": 1024 ** 3}.get(v[-1:].lower())
    num = v[:-1] if scale else v
    scale = scale or 1
    n = atoi(num)       # ngx_atoof: as ngx_atoi, off_t being 64 bits
    if n is None or n > NGX_MAX_INT // scale:
        return None
    return n * scale


def parse_msec(v):
    """ngx_parse_time(v, 0) (nginx 1.22, as ngx_conf_set_msec_slot calls
    it): milliseconds, or None. No years or months; a bare number is
    seconds; units in falling order, each once; spaces between."""
    M = NGX_MAX_INT
    ST_MONTH, ST_WEEK, ST_DAY, ST_HOUR, ST_MIN, ST_SEC, ST_MSEC, ST_LAST = \
        2, 3, 4, 5, 6, 7, 8, 9
    cutoff, cutlim = M // 10, M % 10
    valid, value, total, step = False, 0, 0, ST_MONTH
    i, n = 0, len(v)
    while i < n:
        c = v[i]
        if 0x30 <= c <= 0x39:
            if value >= cutoff and (value > cutoff or c - 0x30 > cutlim):
                return None
            value = value * 10 + c - 0x30
            valid = True
            i += 1
            continue
        i += 1
        ch = bytes([c])
        if ch in (b"y", b"M"):
            return None             # step starts at months for msec
        elif ch == b"w":
            if step >= ST_WEEK:
                return None
            step, mx, scale = ST_WEEK, M // 604800, 604800
        elif ch == b"d":
            if step >= ST_DAY:
                return None
            step, mx, scale = ST_DAY, M // 86400, 86400
        elif ch == b"h":
            if step >= ST_HOUR:
                return None
            step, mx, scale = ST_HOUR, M // 3600, 3600
        elif ch == b"m" and i < n and v[i:i + 1] == b"s":
            if step >= ST_MSEC:
                return None
            i += 1
            step, mx, scale = ST_MSEC, M, 1
        elif ch == b"m":
            if step >= ST_MIN:
                return None
            step, mx, scale = ST_MIN, M // 60, 60
        elif ch == b"s":
            if step >= ST_SEC:
                return None
            step, mx, scale = ST_SEC, M, 1
        elif ch == b" ":
            if step >= ST_SEC:
                return None
            step, mx, scale = ST_LAST, M, 1
        else:
            return None
        if step != ST_MSEC:
            scale *= 1000
            mx //= 1000
        if value > mx:
            return None
        value *= scale
        if total > M - value:
            return None
        total += value
        value = 0
        while i < n and v[i:i + 1] == b" ":
            i += 1
    if not valid:
        return None
    if value > M // 1000:
        return None
    value *= 1000
    if total > M - value:
        return None
    return total + value


def rx(v):
    """A regex for value v as nginx prints it with %V: v itself when it
    is printable, else anything."""
    if all(0x21 <= c <= 0x7e for c in v):
        return re.escape(v.decode())
    return ".*"


class Files:
    """What exists in a fresh prefix (see Fixture.prefix)."""
    DIRS = {"", "db", "logs", "exists_dir", "modules", "keys"}
    FILES = {"afile", "db/good.hgdb", "db/zero.hgdb", "db/trunc.hgdb",
             "db/garbage.hgdb", "db/empty.hgdb", "db/signed.hgdb",
             "modules/hashgate-inspect", "helper_false", "keys/a", "keys/b",
             "keys/a.pub", "keys/b.pub", "keys/ab.pub"}
    GOOD_DBS = {"db/good.hgdb": "good.hgdb", "db/zero.hgdb": "zero.hgdb",
                "db/signed.hgdb": "signed.hgdb"}
    # executable files: the helper, and a program that exits at once
    EXECS = {"modules/hashgate-inspect": "runs", "helper_false": "dies"}

    def __init__(self):
        self.created = set()        # files a config made before (evidence logs)

    @staticmethod
    def norm(v):
        parts = [p for p in v.decode("latin-1").split("/") if p not in ("", ".")]
        return "/".join(parts)

    def kind(self, path):
        if path in self.DIRS:
            return "dir"
        if path in self.FILES or path in self.created:
            return "file"
        return None


def flag_value(v):
    # ngx_conf_set_flag_slot: ngx_strcasecmp, no length check (stops at NUL)
    w = v.split(b"\x00")[0].lower()
    return {b"on": 1, b"off": 0}.get(w)


def enum_value(kind, v):
    # ngx_conf_set_enum_slot and the list action: length and strcasecmp
    for e in ENUMS[kind]:
        if len(e) == len(v) and v.lower() == e:
            return e
    return None


def check_dir(d, files, st, blk):
    """Model of one directive's handler (raises Refused, else updates st)."""
    name, vals, line = d.name, d.vals, d.line
    if name not in SPECS:
        raise Refused(line, r'unknown directive "%s"' % re.escape(name))
    kind, ctxs, nargs = SPECS[name]
    if blk.kind not in ctxs:
        raise Refused(line, r'"%s" directive is not allowed here' % name)
    if len(vals) != nargs if nargs is not None else not vals:
        raise Refused(line, r'invalid number of arguments in "%s" directive' % name)
    own = st["own"][id(blk)]
    v = vals[0] if vals else b""
    dup = r'"%s" directive is duplicate' % name
    if kind == "apibody":
        check_apibody(d, own)
        return
    if kind == "list":
        lname = vals[0]
        if (not 1 <= len(lname) <= LIST_NAME_MAX
                or not re.match(rb"^[A-Za-z0-9._-]+$", lname)):
            raise Refused(line, r"bad list name")
        act = enum_value("action", vals[1])
        if act is None:
            raise Refused(line, r'bad action ".*": expected reject, hold or log')
        la = own.setdefault("list_actions", [])
        # the milter's ListAction rule (common/policy/list_actions.c)
        for prev in la:
            if prev[0] == lname.decode():
                raise Refused(line, r'action for list ".*" given twice: '
                                    r'first at .*:%d, again at .*:%d' % (prev[2], line))
        if len(la) >= POLICY_MAX_LISTS:
            raise Refused(line, r"more than %d lists with their own action"
                          % POLICY_MAX_LISTS)
        la.append((lname.decode(), act, line))
        return
    if name in own:
        raise Refused(line, dup)
    if kind == "metrics":
        # the location's content handler (a second one is refused as dup)
        own[name] = 1
        return
    if kind == "dbkey":
        if b"\x00" in v:
            raise Refused(line, r'"hashgate_database_key" directive has a '
                                r'NUL byte')
        p = files.norm(v)
        if v.endswith(b"/") or p not in KEY_FILES:
            raise Refused(line, r"hashgate_database_key: ")
        own[name] = p
        st["keys"] = KEY_FILES[p]
        check_signed(st, line)
        return
    if kind in IMAGE_WORDS:
        w = IMAGE_WORDS[kind].get(v.lower())
        if w is None:
            raise Refused(line, r'%s: bad value ".*": expected %s'
                          % (name, IMAGE_EXPECTED[kind]))
        own[name] = w
        return
    if kind in ("quality", "pixels", "imgbytes", "imgtime"):
        n = image_number(kind, v)
        if n is None:
            raise Refused(line, r'%s: bad value ".*": expected %s'
                          % (name, IMAGE_EXPECTED[kind]))
        own[name] = n
        return
    if kind == "imglimit":
        if v.lower() == b"fail":
            own[name] = b"fail"
            return
        if v.lower() == b"accept":
            own[name] = b"accept"
            return
        a = enum_value("action", v)
        if a is None:
            # "tag" gets no reason of its own here (it does for the
            # archive actions)
            raise Refused(line, r'%s: bad action ".*": expected accept, '
                                r'reject, hold or log \(or fail: the fail '
                                r'verdict\)' % name)
        own[name] = a
        return
    if kind == "flag":
        f = flag_value(v)
        if f is None:
            raise Refused(line, r'invalid value ".*" in "%s" directive, it must '
                                r'be "on" or "off"' % name)
        own[name] = f
    elif kind in ENUMS:
        e = enum_value(kind, v)
        if e is None and kind == "action":
            raise Refused(line, r'bad action ".*": expected reject, hold or log')
        if e is None:
            raise Refused(line, r'invalid value "')
        own[name] = e
    elif kind in BOUNDS:
        n = atoi(v)
        if n is None:
            raise Refused(line, r'"%s" directive invalid number' % name)
        lo, hi = BOUNDS[kind]
        if not lo <= n <= hi:
            raise Refused(line, r"value must be between %d and %d" % (lo, hi))
        own[name] = n
    elif kind == "size":
        n = parse_size(v)
        if n is None:
            raise Refused(line, r'"%s" directive invalid value' % name)
        own[name] = n
    elif kind == "parsize":
        # ngx_strcmp: "off" exactly (a NUL after it ends the string)
        if v.split(b"\x00")[0] == b"off":
            own[name] = 0
            return
        n = parse_offset(v)
        if n is None or not 64 * 1024 <= n <= 1 << 30:
            raise Refused(line, r'"%s" takes "off" or a size from 64k to 1g'
                          % name)
        own[name] = n
    elif kind in ("offset", "msec"):
        n = parse_offset(v) if kind == "offset" else parse_msec(v)
        if n is None:
            raise Refused(line, r'"%s" directive invalid value' % name)
        if (kind == "msec" and ARCHIVE_TIMEOUT_MAX is not None
                and n > ARCHIVE_TIMEOUT_MAX):
            raise Refused(line, ARCHIVE_TIMEOUT_MSG)
        own[name] = n
    elif kind == "ncaction":
        # hg_not_checked_action_parse: "accept", or a list action
        if len(v) == 6 and v.lower() == b"accept":
            own[name] = b"accept"
            return
        a = enum_value("action", v)
        if a is None:
            tag = (r" \(an upload has no header to tag\)"
                   if v.lower() == b"tag" else "")
            raise Refused(line, r'%s: bad action ".*": expected accept, '
                                r'reject, hold or log%s in ' % (name, tag))
        own[name] = a
    elif kind == "helper":
        if b"\x00" in v:
            raise Refused(line, r'"hashgate_inspect_helper" directive has a '
                                r'NUL byte')
        # checked when a level with hashgate and archives on is merged
        st["helper"] = (v, line)
        own[name] = v
    elif kind == "db":
        if b"\x00" in v:
            raise Refused(line, r'"hashgate_database" directive has a NUL byte')
        p = files.norm(v)
        k = files.kind(p)
        if k is None:
            raise Refused(line, r'hashgate_database: database .* unavailable')
        if p not in files.GOOD_DBS:
            raise Refused(line, r"hashgate_database refused: ")
        own[name] = files.GOOD_DBS[p]
        st["db"] = own[name]
        check_signed(st, line)
    elif kind == "hold":
        if b"\x00" in v:
            raise Refused(line, r'"hashgate_hold_path" directive has a NUL byte')
        p = files.norm(v)
        k = files.kind(p)
        if k == "file":
            raise Refused(line, r'hashgate_hold_path ".*" is not a directory')
        if k is None:
            parent = p.rsplit("/", 1)[0] if "/" in p else ""
            if files.kind(parent) != "dir":
                raise Refused(line, r'hashgate_hold_path ".*" cannot be '
                                    r'created: no directory ".*"')
        own[name] = p
    elif kind == "evlog":
        # ngx_http_hashgate_evidence_log: off alone, or one file and the
        # log pipeline's destinations (journald, syslog[:...]) beside it
        if v == b"off":
            if len(vals) > 1:
                raise Refused(line, r'"hashgate_evidence_log" directive '
                              r'"off" cannot be given with destinations')
            own[name] = "off"
            return
        nfiles = 0
        for v in vals:
            if b"\x00" in v:
                raise Refused(line, r'"hashgate_evidence_log" directive has a NUL byte')
            if v == b"journald":
                if not os.path.exists("/run/systemd/journal/socket"):
                    raise Refused(line, r"hashgate_evidence_log: journald: "
                                  r"journald is not running here")
                continue
            if v == b"syslog" and os.path.exists("/dev/log"):
                continue
            if v == b"syslog" or v.startswith(b"syslog:"):
                # a facility, a socket path and whether it answers: the
                # module's own messages, all naming the destination
                raise Refused(line, r"hashgate_evidence_log: syslog")
            nfiles += 1
            if nfiles > 1:
                raise Refused(line, r"hashgate_evidence_log: one file only")
            p = files.norm(v)
            k = files.kind(p)
            parent = p.rsplit("/", 1)[0] if "/" in p else ""
            if k == "dir" or (k is None and files.kind(parent) != "dir"):
                raise Refused(line, r"hashgate_evidence_log: .*cannot open evidence log")
            files.created.add(p)
            own[name] = p


def check_signed(st, line):
    """ngx_http_hashgate_db_trusted: once both hashgate_database and
    hashgate_database_key are read, in either order, the database must be
    signed by one of the keys; refused at the second one's line."""
    if st.get("db") is None or st.get("keys") is None:
        return
    if not SIGNED_BY.get(st["db"], set()) & st["keys"]:
        raise Refused(line, r"hashgate_database refused: ")


def image_number(kind, v):
    """image_conf.c's _number and its callers: decimal digits (at most
    12) with a suffix where the setting takes one, within bounds; the
    value in bytes or pixels must not overflow 64 bits on the way. A
    timeout may end in nginx's "s" (the module drops it first)."""
    unit, g, lo, hi = Gen.IMAGE_NUMBERS[kind]
    if kind == "imgtime" and len(v) > 1 and v.endswith(b"s"):
        v = v[:-1]
    mul = 1
    if v[-1:] in (b"k", b"K", b"m", b"M") or (v[-1:] in (b"g", b"G")):
        if unit is None:
            return None         # quality, timeout: digits only
        if v[-1:] in (b"g", b"G") and not g:
            return None
        mul = {b"k": unit, b"m": unit ** 2, b"g": unit ** 3}[v[-1:].lower()]
        v = v[:-1]
    if not 1 <= len(v) <= 12 or not all(0x30 <= c <= 0x39 for c in v):
        return None
    n = int(v) * mul
    if n >= 1 << 64 or not lo <= n <= hi:
        return None
    return n


def check_apibody(d, own):
    """Model of ngx_http_hashgate_apibody: hashgate_json / hashgate_form."""
    name, vals, line = d.name, d.vals, d.line
    if name in own:
        raise Refused(line, r'"%s" directive is duplicate' % name)
    f = flag_value(vals[0])
    if f is None:
        raise Refused(line, r'%s: invalid value ".*", expected "on" or "off" '
                            r'first' % name)
    seen = set()
    for a in vals[1:]:
        if b"=" not in a:
            raise Refused(line, r'%s: invalid parameter ".*", expected '
                                r'name=value' % name)
        pn, pv = a.split(b"=", 1)
        spec = APIBODY[name].get(pn.decode("latin-1"))
        if spec is None:
            raise Refused(line, r'%s: unknown parameter "%s"' % (name, rx(pn)))
        if pn in seen:
            raise Refused(line, r'%s: parameter "%s" given twice'
                          % (name, rx(pn)))
        seen.add(pn)
        kind, lo, hi = spec
        n = parse_offset(pv) if kind == "size" else atoi(pv)
        if n is None or not lo <= n <= hi:
            if kind == "size":
                want = (r"expected a size of at least %d byte \(such as 512, "
                        r"64k, 8m\)" % lo)
            else:
                want = r"expected a number from %d to %d" % (lo, hi)
            raise Refused(line, r'%s: invalid value ".*" for "%s": %s'
                          % (name, rx(pn), want))
    own[name] = f


def oracle(main, db_lists):
    """What nginx -t must do with this (rendered) config."""
    files = Files()
    st = {"own": {}, "db": None, "files": files}
    http = next((b for b in main.items if isinstance(b, Block)
                 and b.kind == HTTP), None)
    warns = set()
    try:
        for blk, d in walk_dirs(main):
            st["own"].setdefault(id(blk), {})
            if isinstance(d, Dir):
                check_dir(d, files, st, blk)
            elif isinstance(d, RawBad):
                raise Refused(d.line, d.msg)
            elif isinstance(d, tuple) and d[0] is http:
                # nginx merges the levels as it leaves the http block, so
                # an error there comes before any directive after it, and
                # is reported where the parser then is: the closing brace
                checked = set()
                base = eff_root(st["own"].get(id(http), {}))
                for srv in [b for b in http.items
                            if isinstance(b, Block) and b.kind == SRV]:
                    merge_tree(srv, base, st, db_lists, warns, checked,
                               http.close_line)
    except Refused as e:
        return Expect(False, e.line, e.msg)
    return Expect(True, warns=warns)


def check_helper(st, line):
    """ngx_http_hashgate_helper_check: the helper must be an executable
    file (without the directive: the one beside the module, which the
    fixture has), and run once (tried on an empty zip the first time)."""
    if st.get("helper") is None:
        return
    v, hline = st["helper"]
    p = Files.norm(v)
    k = st["files"].kind(p)
    if v.endswith(b"/") and k != "dir":
        k = None                    # ENOTDIR
    run = Files.EXECS.get(p) if k == "file" else None
    if run is None:
        raise Refused(line, r'hashgate_inspect_helper ".*" \(.*:%d\) is not '
                            r'an executable file' % hline)
    if run == "dies":
        raise Refused(line, r'hashgate_archives: the inspection helper ".*" '
                            r'does not run')


def walk_dirs(blk):
    """(block, item) in file order; a nested block comes once more as
    (block, (nested, "end")) after its contents."""
    for it in blk.items:
        if isinstance(it, Block):
            yield blk, it
            yield from walk_dirs(it)
            yield blk, (it, "end")
        else:
            yield blk, it


def eff_root(own):
    e = {"hashgate": 0, "hashgate_monitor": 0,
         "hashgate_default_action": b"reject",
         "hashgate_hold_path": None,
         "hashgate_max_header_size": DEFAULT_HEADER_SIZE,
         "hashgate_archives": 1,
         "hashgate_archive_encrypted": b"accept",
         "hashgate_archive_unreadable": b"accept",
         "hashgate_archive_max_bytes": DEFAULT_ARCHIVE_BYTES,
         "hashgate_archive_max_file_size": DEFAULT_ARCHIVE_FILE_BYTES,
         "hashgate_archive_timeout": DEFAULT_ARCHIVE_TIMEOUT,
         "hashgate_image_limit": b"fail",
         "list_actions": None}
    return merge_own(e, own)


def merge_own(parent, own):
    e = dict(parent)
    for k, v in own.items():
        e[k] = id(own) if k == "list_actions" else v
    if "list_actions" in own:
        e["la"] = own["list_actions"]
    return e


def merge_tree(blk, parent, st, db_lists, warns, checked, line):
    own = st["own"].get(id(blk), {})
    e = merge_own(parent, own)
    # in the order of ngx_http_hashgate_merge_loc_conf
    if (e["hashgate_archive_max_bytes"] <= 0
            or e["hashgate_archive_max_file_size"] <= 0):
        raise Refused(line, r"hashgate_archive_max_bytes and "
                            r"hashgate_archive_max_file_size must be more "
                            r"than 0")
    if e["hashgate_archive_timeout"] == 0:
        raise Refused(line, r"hashgate_archive_timeout must be more than 0")
    if e["hashgate_max_header_size"] < MIN_HEADER_SIZE:
        raise Refused(line, r"hashgate_max_header_size must be at least 64")
    la = e.get("la") or []
    may_hold = (e["hashgate_default_action"] == b"hold"
                or any(a == b"hold" for _, a, _ in la)
                or (e["hashgate_archives"]
                    and b"hold" in (e["hashgate_archive_encrypted"],
                                    e["hashgate_archive_unreadable"],
                                    e["hashgate_image_limit"])))
    if e["hashgate_monitor"]:
        may_hold = False
    if e["hashgate"]:
        if st["db"] is None:
            raise Refused(line, r'"hashgate on" needs "hashgate_database" at '
                                r'http level')
        for n, _, l in la:
            if (n, l) not in checked:
                checked.add((n, l))
                if n not in db_lists[st["db"]]:
                    warns.add((n, l))
        if may_hold and e["hashgate_hold_path"] is None:
            raise Refused(line, r'the "hold" action needs "hashgate_hold_path"')
        if e["hashgate_archives"]:
            check_helper(st, line)
    for it in blk.items:
        if isinstance(it, Block) and it.kind == LOC:
            merge_tree(it, e, st, db_lists, warns, checked, line)


# -- running nginx --------------------------------------------------------------

class Fixture:
    def __init__(self, root, build):
        self.root = root
        self.build = os.path.abspath(build)
        self.so = os.path.join(self.build, MODULE)
        self.dbdir = os.path.join(root, "db")
        self.moddir = os.path.join(root, "modules")
        self.keydir = os.path.join(root, "keys")
        os.makedirs(self.keydir)
        os.makedirs(self.dbdir)
        os.makedirs(self.moddir)
        os.symlink(self.so, os.path.join(self.moddir, MODULE))
        # the module looks for its archive helper beside itself, and nginx -t
        # refuses a configuration without one (hashgate_archives is on)
        for d in (self.build, os.environ.get("HG_BIN", ""),
                  os.path.join(TOP, "build")):
            helper = os.path.join(d, "hashgate-inspect") if d else ""
            if helper and os.access(helper, os.X_OK):
                os.symlink(os.path.abspath(helper),
                           os.path.join(self.moddir, "hashgate-inspect"))
                break
        else:
            raise SystemExit("fuzz_nginx_conf: no hashgate-inspect built "
                             "(make all)")
        self.make_dbs()
        self.supp = os.path.join(root, "lsan.supp")
        with open(self.supp, "w") as f:
            # nginx's init-cycle pool, never freed by main(); OpenSSL state
            f.write("leak:ngx_memalign\nleak:libcrypto.so\n")
        pre = []
        for lib in ("libasan.so", "libubsan.so"):
            p = subprocess.run(["gcc", "-print-file-name=" + lib],
                               capture_output=True, text=True).stdout.strip()
            pre.append(p)
        self.preload = " ".join(pre)
        self.n = 0

    def make_dbs(self):
        r = random.Random(FIXTURE_SEED)
        hg = os.path.join(self.build, "hashgate")
        srcs = []
        for i, name in enumerate(DB_LISTS["good.hgdb"]):
            p = os.path.join(self.root, "list%d.txt" % i)
            with open(p, "w") as f:
                for _ in range(20):
                    f.write("%064x\n" % r.getrandbits(256))
            srcs.append("%s=%s" % (name, p))
        empty = os.path.join(self.root, "empty.txt")
        open(empty, "w").close()
        env = dict(os.environ, HASHGATE_CREATED="1790000000")
        # hashgate_database_key: two key pairs, a file with both public
        # keys, and the good lists signed by the first
        for k in ("a", "b"):
            subprocess.run([hg, "keygen", os.path.join(self.keydir, k)],
                           check=True, capture_output=True)
        with open(os.path.join(self.keydir, "ab.pub"), "wb") as f:
            for k in ("a", "b"):
                with open(os.path.join(self.keydir, k + ".pub"), "rb") as g:
                    f.write(g.read())
        for out, args in (("good.hgdb", srcs), ("zero.hgdb", ["csam=" + empty]),
                          ("signed.hgdb", ["--sign",
                                           os.path.join(self.keydir, "a")]
                           + srcs)):
            subprocess.run([hg, "compile", "-o", os.path.join(self.dbdir, out)]
                           + args, check=True, capture_output=True, env=env)
            info = subprocess.run([hg, "info", os.path.join(self.dbdir, out)],
                                  check=True, capture_output=True, text=True).stdout
            names = re.findall(r"^list (\S+)", info, re.M)
            if sorted(names) != sorted(DB_LISTS[out]):
                sys.exit("fuzz_nginx_conf: %s has lists %s, expected %s"
                         % (out, names, DB_LISTS[out]))
        with open(os.path.join(self.dbdir, "good.hgdb"), "rb") as f:
            good = f.read()
        with open(os.path.join(self.dbdir, "trunc.hgdb"), "wb") as f:
            f.write(good[:len(good) // 2])
        with open(os.path.join(self.dbdir, "garbage.hgdb"), "wb") as f:
            f.write(bytes(r.getrandbits(8) for _ in range(len(good))))
        open(os.path.join(self.dbdir, "empty.hgdb"), "wb").close()

    def prefix(self):
        self.n += 1
        p = os.path.join(self.root, "run%d" % self.n)
        os.makedirs(os.path.join(p, "logs"))
        os.makedirs(os.path.join(p, "exists_dir"))
        os.symlink(self.dbdir, os.path.join(p, "db"))
        os.symlink(self.moddir, os.path.join(p, "modules"))
        os.symlink(self.keydir, os.path.join(p, "keys"))
        with open(os.path.join(p, "afile"), "w") as f:
            f.write("x\n")
        # an executable that is no helper (hashgate_inspect_helper)
        with open(os.path.join(p, "helper_false"), "w") as f:
            f.write("#!/bin/sh\nexit 1\n")
        os.chmod(os.path.join(p, "helper_false"), 0o755)
        return p

    def run(self, text, expect):
        """Run nginx -t on text; a list of what went wrong (empty: fine)."""
        p = self.prefix()
        conf = os.path.join(p, "nginx.conf")
        with open(conf, "wb") as f:
            f.write(text)
        errf = os.path.join(p, "logs", "stderr")
        env = dict(os.environ)
        env["LD_PRELOAD"] = self.preload
        env["ASAN_OPTIONS"] = ("detect_leaks=%d:abort_on_error=1"
                               % (0 if expect.ok else 1))
        env["LSAN_OPTIONS"] = "suppressions=%s:print_suppressions=0" % self.supp
        env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1:abort_on_error=1"
        bad = []
        rc, err = run_awake([NGINX, "-t", "-p", p + "/", "-c", conf, "-e", errf],
                            p, env, os.path.join(p, "logs", "stdio"))
        if rc is None:
            bad.append("nginx -t hung for %d s" % RUN_TIMEOUT)
        try:
            with open(errf, "rb") as f:
                log = f.read()
        except OSError:
            log = b""
        if rc is not None and rc < 0:
            bad.append("killed by signal %d" % -rc)
        for pat in (b"ERROR: AddressSanitizer", b"runtime error:",
                    b"LeakSanitizer", b"ERROR: UndefinedBehaviorSanitizer"):
            if pat in err:
                bad.append("sanitizer report: %s" % pat.decode())
        for lvl in (b"[alert]", b"[crit]"):
            if lvl in log:
                bad.append("%s in the log" % lvl.decode())
        emerg = log.find(b"[emerg]")
        if expect.ok:
            if rc not in (0, None):
                bad.append("valid config refused (exit %s)" % rc)
            if emerg >= 0:
                bad.append("unexpected emerg: %r" % log[emerg:emerg + 300])
            got = set()
            for m in re.finditer(rb'\[warn\][^\n]*hashgate_list_action: no list '
                                 rb'"([^"]*)" in "[^"]*" in (.*?):(\d+)\n', log):
                if m.group(2) != conf.encode():
                    bad.append("warn names file %r" % m.group(2))
                got.add((m.group(1).decode("latin-1"), int(m.group(3))))
            if got != set(expect.warns):
                bad.append("warnings %s, expected %s" % (sorted(got), expect.warns))
        else:
            if rc not in (1, None):
                bad.append("exit %s, expected 1" % rc)
            if emerg < 0:
                bad.append("no [emerg] line")
            else:
                rec = log[emerg:].rstrip(b"\n")
                # one record, though a value may carry a newline into it
                nxt = re.search(rb"\n\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[", rec)
                if nxt:
                    rec = rec[:nxt.start()]
                tail = b" in %s:%d" % (conf.encode(), expect.line)
                if not rec.endswith(tail):
                    bad.append("emerg does not end with %r: %r"
                               % (tail.decode(), rec[-300:]))
                if not re.search(expect.msg.encode(), rec, re.S):
                    bad.append("emerg message is not /%s/: %r"
                               % (expect.msg, rec[:300]))
        shutil.rmtree(p, ignore_errors=True)
        if bad:
            tail = err.decode("latin-1")[-1500:]
            bad.append("stderr: " + tail.replace("\n", "\n#   "))
        return bad


def save_finding(art, n, text, bad):
    os.makedirs(art, exist_ok=True)
    path = os.path.join(art, "finding-%04d.conf" % n)
    with open(path, "wb") as f:
        f.write(text)
    with open(path + ".why", "w") as f:
        f.write("\n".join(bad) + "\n")
    return path


def child_cpu():
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


def default_build():
    base = os.environ.get("FUZZ_BUILD", os.path.join(TOP, "build-fuzz"))
    return os.path.join(base, "nginx-asan")


def replay(fx, paths):
    failed = 0
    for path in paths:
        with open(path, "rb") as f:
            text = f.read()
        exp = Expect.parse(text)
        name = os.path.basename(path)
        if exp is None:
            print("not ok - %s: first line is no '# expect:' line" % name)
            failed += 1
            continue
        bad = fx.run(text, exp)
        what = ("accepted" if exp.ok else
                "refused at line %d (/%s/)" % (exp.line, exp.msg))
        if bad:
            failed += 1
            print("not ok - %s: nginx -t should have %s: %s"
                  % (name, what, bad[0]))
            for b in bad[1:]:
                print("#   " + b)
        else:
            print("ok - %s: nginx -t %s, no sanitizer report" % (name, what))
    return failed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--artifacts", default=None)
    ap.add_argument("--build", default=default_build(),
                    help="dir with the sanitized module and hashgate "
                         "(default $FUZZ_BUILD/nginx-asan)")
    ap.add_argument("--replay", nargs="+", metavar="FILE")
    ap.add_argument("--max-configs", type=int, default=0)
    a = ap.parse_args()

    for f in (NGINX, os.path.join(a.build, MODULE), os.path.join(a.build, "hashgate")):
        if not os.path.exists(f):
            sys.exit("fuzz_nginx_conf: %s missing (tests/fuzz/build_nginx.sh)" % f)

    # a timeout's SIGTERM still removes the temp dir (the finally below)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(2))
    tmp = tempfile.mkdtemp(prefix="fuzz_nginx_conf.")
    try:
        fx = Fixture(tmp, a.build)
        if a.replay:
            return 1 if replay(fx, a.replay) else 0
        seed = a.seed if a.seed is not None else int.from_bytes(os.urandom(4), "big")
        print("fuzz_nginx_conf: seed %d" % seed, flush=True)
        art = a.artifacts or os.path.join(os.path.dirname(a.build),
                                          "artifacts", "fuzz_nginx_conf")
        return fuzz(fx, seed, a.seconds, art, a.max_configs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def fuzz(fx, seed, seconds, art, max_configs):
    r = random.Random(seed)
    g = Gen(r)
    db_lists = DB_LISTS
    pool = []
    stats = {"runs": 0, "valid": 0, "invalid": 0, "findings": 0, "mutated": 0}
    cpu0 = child_cpu()
    t0 = time.time()
    while time.time() - t0 < seconds:
        if max_configs and stats["runs"] >= max_configs:
            break
        if pool and r.random() < 0.4:
            tree = g.mutate(r.choice(pool))
            stats["mutated"] += 1
        else:
            tree = g.config()
            if r.random() < 0.5:
                g.inject(tree)
        # the expectation goes on line 1 (always one line), so render with a
        # placeholder there, number the lines, then put it in
        text = Renderer(random.Random(r.getrandbits(32))).render(tree, b"#")
        exp = oracle(tree, db_lists)
        text = exp.header() + text[1:] + exp.trailer()
        bad = fx.run(text, exp)
        stats["runs"] += 1
        stats["valid" if exp.ok else "invalid"] += 1
        if bad:
            stats["findings"] += 1
            path = save_finding(art, stats["findings"], text, bad)
            print("finding: %s: %s" % (path, bad[0]), flush=True)
        # mutants of accepted configs sit next to the edges worth probing
        if exp.ok and len(pool) < POOL_SIZE:
            pool.append(tree)
        elif exp.ok:
            pool[r.randrange(POOL_SIZE)] = tree
    cpu = child_cpu() - cpu0
    print("fuzz_nginx_conf: %d configs (%d valid, %d invalid, %d mutated), "
          "%d findings, %.1f s CPU in nginx, %.0f s wall, seed %d"
          % (stats["runs"], stats["valid"], stats["invalid"], stats["mutated"],
             stats["findings"], cpu, time.time() - t0, seed))
    return 1 if stats["findings"] else 0


if __name__ == "__main__":
    sys.exit(main())
