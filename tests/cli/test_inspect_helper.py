#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_inspect_helper.py - real archives through the sandboxed helper.

Every kind tests/lib/archives.py makes (zip, 7z, RAR 4 and 5, tar and its
compressions, cpio, iso9660, ar, TNEF, files compressed whole, nested,
encrypted, bombs) is put through build/tools/inspect_dump: fed to hg_spool
in chunks, sniffed, copied to a sealed memfd and inspected by the real
build/hashgate-inspect under its seccomp filter. Checked:

- each inner file comes back with the path chain and SHA-256 archives.py
  wrote (and MD5, SHA-1 of the same bytes), so the IPC, the protocol checks
  and the sandbox lose or change nothing; encrypted files come back
  flagged, without digests;
- bombs end with a limit and the same helper serves the next request;
  a time limit the walk meets itself does not cost a restart;
- images (issue 17): JPEG, PNG, GIF and WebP parts, and images inside a
  zip, come back decoded and PDQ-hashed, with the 8 dihedral hashes only
  when asked; hostile images (cut short, huge dimensions in a tiny file,
  corrupt Huffman tables, a decompression-bomb PNG, a byte limit) give
  "not decoded" or an image limit, never a dead helper, and the same
  helper serves the next image;
- under strace, once a helper has loaded its filter, it makes only the
  system calls of the allow-list (inspect/sandbox.c), none of them refused:
  no library tries to open a file, nothing is killed by the filter (the
  image decoders included).

All data is synthetic (seeded random bytes).
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

TOP = os.environ.get("HG_TOP") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("HG_BIN") or os.path.join(TOP, "build")
HELPER = os.path.join(BIN, "hashgate-inspect")
DUMP = os.path.join(BIN, "tools", "inspect_dump")
MKIMAGE = os.path.join(BIN, "tools", "mkimage")
ARCHIVES = os.path.join(TOP, "tests", "lib", "archives.py")

# inspect/sandbox.c's allow-list (the helper's exit is the one call not
# answered, so exit_group shows as "= ?")
ALLOWED = {"recvmsg", "sendmsg", "sendmmsg", "read", "write", "fstat", "lseek",
           "pread64", "mmap", "mprotect", "munmap", "mremap", "brk",
           "madvise", "close", "clock_gettime", "futex", "getpid",
           "rt_sigprocmask", "tgkill", "rt_sigreturn", "restart_syscall",
           "exit", "exit_group"}
# a sanitizer build's filter also allows sigaltstack, which ASan's runtime
# calls before every noreturn call (a decoder's longjmp out of an error)
with open(HELPER, "rb") as _f:
    if b"__asan_init" in _f.read():
        ALLOWED.add("sigaltstack")

failed = 0


def check(cond, what, why=""):
    global failed
    if cond:
        print("ok - " + what, flush=True)
    else:
        failed += 1
        print("not ok - %s%s" % (what, (": " + " ".join(str(why).split())
                                        [:800]) if why else ""), flush=True)
    return cond


def dump(path, *opts, strace=None):
    cmd = [DUMP, "--helper", HELPER] + list(opts) + [path]
    env = dict(os.environ)
    if strace:
        cmd = ["strace", "-f", "-qq", "-o", strace] + cmd
        # a sanitizer build: LeakSanitizer cannot run under ptrace
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                       env=env)
    lines = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
    return r, [x for x in lines if "chain" in x], \
        [x for x in lines if "status" in x or "container" in x]


def sha(data, alg):
    return hashlib.new(alg, data).hexdigest()


def main():
    for p in (HELPER, DUMP):
        if not check(os.access(p, os.X_OK), "%s is built" % p):
            return
    if not check(shutil.which("strace") is not None, "strace is installed",
                 "tests/lib/deps.sh installs it"):
        return

    tmp = tempfile.mkdtemp(prefix="hg-inspect-helper-")
    try:
        run_all(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_all(tmp):
    kinds = subprocess.run([sys.executable, ARCHIVES, "--list"],
                           capture_output=True, text=True,
                           check=True).stdout.split()
    traces = []
    for kind in kinds:
        out = os.path.join(tmp, kind)
        r = subprocess.run([sys.executable, ARCHIVES, kind, out,
                            "--odd-names"], capture_output=True, text=True)
        if not check(r.returncode == 0, "archives.py makes %s" % kind,
                     r.stderr):
            continue
        want = json.loads(r.stdout)
        trace = os.path.join(tmp, kind + ".strace")
        traces.append((kind, trace))
        # odd chunk sizes: the spool must keep every byte whatever the feed
        res, entries, ends = dump(out, "--chunk", "4099", "--repeat", "2",
                                  strace=trace)
        if not check(res.returncode == 0 and len(ends) == 2,
                     "%s: inspect_dump runs it twice" % kind,
                     res.stdout[-400:] + res.stderr[-400:]):
            continue
        first, second = ends
        half = entries[:len(entries) // 2]
        # zip-tar-zeros is 64 MiB of zeros in 64 KiB: past the ratio limit
        # (250 to 1 after 10 MiB) like the bombs
        if kind.startswith("bomb-") or kind == "zip-tar-zeros":
            check(first["status"] == "limit reached"
                  and first["limit"] in ("file size", "ratio", "bytes")
                  and first["restarts"] == 0
                  and dict(second, us=0) == dict(first, us=0),
                  "%s: stopped by a limit (%s) and the same helper serves "
                  "the next request" % (kind, first["limit"]), str(ends))
            continue

        check(first["status"] == "ok" and first["restarts"] == 0
              and second["helper_pid"] == first["helper_pid"]
              and second["restarts"] == 0,
              "%s: inspected, status ok, one helper for both requests"
              % kind, str(ends))
        got = {e["chain"][1:]: e for e in half}
        if kind.endswith("-encrypted-headers"):
            check(len(half) == 1 and half[0]["path"] == ""
                  and half[0]["flags"] == ["encrypted"]
                  and "sha256" not in half[0],
                  "%s: one entry, flagged encrypted, no digests" % kind,
                  str(half))
            continue
        if kind.endswith("-encrypted") or kind in ("zip-aes",
                                                   "zip-zipcrypto"):
            check(sorted(got) == sorted(want)
                  and all(e["flags"] == ["encrypted"] and "sha256" not in e
                          for e in half),
                  "%s: every file named, flagged encrypted, no digests"
                  % kind, "%s %s" % (sorted(got), sorted(want)))
            continue
        same = {c: e.get("sha256") for c, e in got.items()} == want
        check(same, "%s: every inner file's chain and SHA-256 as written"
              % kind, "got %s want %s"
              % ({c: e.get("sha256") for c, e in got.items()}, want))
        # the three digests are of the same bytes: check them against
        # the file archives.py wrote, for the plain kinds
        check(all(len(e.get("md5", "")) == 32 and len(e.get("sha1", "")) == 40
                  for e in half),
              "%s: MD5 and SHA-1 come back beside SHA-256" % kind, str(half))

    # MD5/SHA-1 against bytes we hold: a gzip of one seeded file
    data = bytes((i * 2654435761 >> 7) & 0xff for i in range(50000))
    import gzip
    gz = os.path.join(tmp, "one.gz")
    with open(gz, "wb") as f:
        f.write(gzip.compress(data, mtime=0))
    res, entries, ends = dump(gz)
    check(len(entries) == 1
          and entries[0].get("md5") == sha(data, "md5")
          and entries[0].get("sha1") == sha(data, "sha1")
          and entries[0].get("sha256") == sha(data, "sha256")
          and entries[0]["size"] == len(data),
          "a gzip of known bytes: MD5, SHA-1, SHA-256 and size are theirs",
          str(entries))

    # not a container: nothing is sent to a helper
    plain = os.path.join(tmp, "plain.bin")
    with open(plain, "wb") as f:
        f.write(b"plain " + data)
    res, entries, ends = dump(plain)
    check(ends == [{"container": False}],
          "a file that is not a container never reaches the helper",
          res.stdout)

    # a time limit the walk meets itself: reported, no restart
    big = os.path.join(tmp, "big.gz")
    r = subprocess.run([sys.executable, ARCHIVES, "bomb-gzip", big,
                        "--zeros", str(3 << 30)], capture_output=True)
    res, entries, ends = dump(big, "--timeout", "400", "--max-ratio", "0",
                              "--max-file-bytes", str(1 << 40),
                              "--max-bytes", str(1 << 40), "--repeat", "2")
    check(len(ends) == 2
          and all(e["limit"] == "time" and e["why"] == "time limit of 400 ms"
                  for e in ends)
          and ends[1]["helper_pid"] == ends[0]["helper_pid"] != 0
          and ends[1]["restarts"] == 0,
          "a 3 GiB gzip of zeros past a 400 ms limit: the time limit, "
          "reported by the helper, which serves the next request",
          str(ends))

    images(tmp, traces)
    audit(traces)


def png_chunk(kind, data):
    import struct
    import zlib
    return struct.pack(">I", len(data)) + kind + data + \
        struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)


def png_of(w, h, rows):
    """A grey PNG of w x h declared, holding rows rows of zeros."""
    import struct
    import zlib
    raw = zlib.compress(b"".join(b"\0" + bytes(w) for _ in range(rows)), 9)
    return b"\x89PNG\r\n\x1a\n" + \
        png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) + \
        png_chunk(b"IDAT", raw) + png_chunk(b"IEND", b"")


def images(tmp, traces):
    """Images decoded in the helper, hostile ones included, under strace."""
    if not check(os.access(MKIMAGE, os.X_OK), "%s is built" % MKIMAGE):
        return
    made = {}
    for fmt in ("jpeg", "png", "gif", "webp"):
        out = os.path.join(tmp, "img." + fmt)
        subprocess.run([MKIMAGE, fmt, "480", "360", "5", out], check=True)
        made[fmt] = out
        trace = os.path.join(tmp, fmt + ".strace")
        traces.append((fmt, trace))
        res, entries, ends = dump(out, "--images", "1", "--repeat", "2",
                                  strace=trace)
        img = [e.get("image") for e in ends]
        check(len(ends) == 2 and all(
                  i and i["format"] == fmt and i["status"] == "ok"
                  and re.fullmatch(r"[0-9a-f]{64}", i["pdq"])
                  and 0 <= i["quality"] <= 100 and "dihedral" not in i
                  and i["width"] == 480 and i["height"] == 360
                  for i in img)
              and img[0]["pdq"] == img[1]["pdq"]
              and ends[1]["helper_pid"] == ends[0]["helper_pid"],
              "a %s part: decoded in the helper, its PDQ hash and quality "
              "back, no dihedral hashes unasked" % fmt, str(ends))
    # the dihedral hashes when asked: 8, the first the hash itself
    res, entries, ends = dump(made["png"], "--images", "2")
    i = ends[0].get("image") if ends else None
    check(i and len(i.get("dihedral", [])) == 8
          and i["dihedral"][0] == i["pdq"]
          and len(set(i["dihedral"])) == 8,
          "the 8 dihedral hashes come back when asked for", str(ends))
    # images off: an image is no container and never reaches the helper
    res, entries, ends = dump(made["png"])
    check(ends == [{"container": False}],
          "without images asked for, an image part is not sent", res.stdout)

    # inside a zip: each image file's entry carries its image
    import zipfile
    zp = os.path.join(tmp, "images.zip")
    with zipfile.ZipFile(zp, "w") as z:
        for fmt, path in made.items():
            z.write(path, "pics/a." + fmt)
        z.writestr("notes.txt", "not an image")
    trace = os.path.join(tmp, "images-zip.strace")
    traces.append(("images.zip", trace))
    res, entries, ends = dump(zp, "--images", "1", strace=trace)
    by = {e["name"]: e.get("image") for e in entries}
    check(all(by.get("a." + f) and by["a." + f]["status"] == "ok"
              for f in made) and by.get("notes.txt") is None
          and ends and ends[0]["status"] == "ok",
          "images inside a zip are decoded during the walk, a text file "
          "is not", str(entries))

    # hostile images
    with open(made["jpeg"], "rb") as f:
        jpeg = f.read()
    dht = jpeg.find(b"\xff\xc4")
    bad_huff = bytearray(jpeg)
    for k in range(dht + 5, dht + 21):       # the code counts: nonsense
        bad_huff[k] = 0xff
    hostile = {
        "cut-png": open(made["png"], "rb").read()[:3000],
        "cut-gif": open(made["gif"], "rb").read()[:2000],
        "cut-webp": open(made["webp"], "rb").read()[:500],
        "huge-png": png_of(200000, 200000, 1),
        "bomb-png": png_of(20000, 20000, 20000),
        "bad-huffman-jpeg": bytes(bad_huff),
        "only-signature-jpeg": b"\xff\xd8\xff\xe0" + bytes(64),
    }
    want = {"cut-png": "ok error", "cut-gif": "error", "cut-webp": "error",
            "huge-png": "limit", "bomb-png": "limit",
            "bad-huffman-jpeg": "error", "only-signature-jpeg": "error"}
    for name, data in hostile.items():
        path = os.path.join(tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        trace = os.path.join(tmp, name + ".strace")
        traces.append((name, trace))
        res, entries, ends = dump(path, "--images", "1", "--repeat", "2",
                                  strace=trace)
        i = ends[0].get("image") if ends else None
        st = i and i["status"]
        okst = {"ok": "ok", "malformed input": "error",
                "limit reached": "limit"}.get(st, st)
        check(len(ends) == 2 and ends[0]["status"] == "ok"
              and okst in want[name].split()
              and (okst == "ok" or i["why"])
              and ends[1]["helper_pid"] == ends[0]["helper_pid"]
              and ends[1]["restarts"] == 0,
              "%s: %s (%s), the part itself is no failure, the same helper "
              "serves the next" % (name, st, i and i["why"]), str(ends))
    # the byte limit
    res, entries, ends = dump(made["png"], "--images", "1",
                              "--image-bytes", "10000")
    check(ends and ends[0].get("status") == "limit reached"
          and "image larger than 10000" in ends[0].get("why", ""),
          "an image past the image byte limit is not kept: the limit",
          str(ends))


def audit(traces):
    """After each helper loaded its filter: only allowed calls, none
    refused, none killed."""
    used, bad = set(), []
    helpers = 0
    for kind, trace in traces:
        try:
            with open(trace) as f:
                lines = f.read().splitlines()
        except OSError as e:
            bad.append("%s: %s" % (kind, e))
            continue
        filtered = set()
        for line in lines:
            m = re.match(r"^(\d+) +(.*)$", line)
            if not m:
                continue
            pid, rest = m.groups()
            if rest.startswith("seccomp(SECCOMP_SET_MODE_FILTER, 0,"):
                filtered.add(pid)
                helpers += 1
                continue
            if pid not in filtered:
                continue
            if rest.startswith("+++ killed by SIGKILL"):
                continue            # hg_inspector_free ends it so
            if rest.startswith("+++") or rest.startswith("---"):
                bad.append("%s: %s" % (kind, rest))
                continue
            m = re.match(r"^(?:<\.\.\. )?([a-z_0-9]+)[( ]", rest)
            if not m:
                continue
            name = m.group(1)
            if name == "kill" and "<unfinished" in rest:
                # seen only on a loaded machine: the caller's kill of the
                # helper, attributed by strace to the helper's pid while
                # both were mid-call. A helper that really called kill()
                # would die of SIGSYS, which the "+++" check above flags.
                continue
            used.add(name)
            if name not in ALLOWED or re.search(r"= -1 E[A-Z]+", rest) \
                    and "EAGAIN" not in rest and "EINTR" not in rest:
                bad.append("%s: %s" % (kind, rest[:160]))
    check(helpers >= len(traces) and not bad,
          "under strace, %d helpers used only allowed system calls after "
          "their filter (%s), none refused or killed"
          % (helpers, " ".join(sorted(used))), "; ".join(bad[:8]))


main()
sys.exit(1 if failed else 0)
