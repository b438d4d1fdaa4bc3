# SPDX-License-Identifier: BSD-2-Clause
"""bench_milter_pdq.py - Postfix with hashgate-milter matching images by
PDQ against the same milter with digest lists only (issue 17: mails/s
>= 0.7 x, or within 10 % of the floor where the floor is below that).

Two private Postfix instances relay to smtp-sink, each with its own
hashgate-milter on a unix socket. "digest": a database of 1M SHA-256
digests, PdqImages off (each JPEG is hashed as one part, as before).
"pdq": the same 1M digests and 1M PDQ entries, PdqImages on (each JPEG is
spooled to the sandboxed helper, decoded, PDQ-hashed and searched at
distance 31). Every mail carries one JPEG of about 200 KiB (a synthetic
picture by build/tools/mkimage; eight different ones, sent in turn).
Rounds alternate, the order rotated; the figure is the median of the
paired ratios (pdq / digest of the same round).

The floor: what decoding the images alone costs. Each configuration's
CPU per accepted mail (Postfix's process tree, the milter and its
helpers, from /proc ticks) is measured, and so is the CPU one JPEG takes
to decode and hash alone (build/bench/bench_pdq file: hg_image_pdq, the
helper's call, best of 5); the floor is cpu_digest / (cpu_digest +
decode), the ratio "digest" would reach if each mail cost that much more.

Synthetic data only. Prints RESULT lines.
"""

import base64
import os
import random
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
import hgmilter as hm  # noqa: E402
from postfix import Postfix  # noqa: E402
import bench_milter as bm  # noqa: E402
import bench_milter_archive as ba  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_REPEAT", "5"))
N = int(os.environ.get("BENCH_N_PDQ", "160"))
ENTRIES = int(os.environ.get("BENCH_PDQ_ENTRIES", "1000000"))
# "on": the PDQ list compiled with --pdq-index on (default: the default,
# no index, each image's search a scan of the heads)
INDEX = os.environ.get("BENCH_PDQ_INDEX", "off")
TARGET = 0.7
IMAGES = 8


def make_jpegs(tmp):
    """IMAGES JPEGs of about 200 KiB: synthetic pictures, quality 90."""
    mk = os.path.join(hm.BIN, "tools", "mkimage")
    out = []
    for i in range(IMAGES):
        path = os.path.join(tmp, "img%d.jpg" % i)
        w, h = 1280, 960
        for _ in range(6):
            subprocess.run([mk, "jpeg", str(w), str(h), str(1700 + i), path,
                            "90"], check=True)
            size = os.path.getsize(path)
            if 180 << 10 <= size <= 230 << 10:
                break
            scale = ((200 << 10) / size) ** 0.5
            w, h = int(w * scale) // 8 * 8, int(h * scale) // 8 * 8
        out.append(path)
    return out


def message(jpeg, tag):
    with open(jpeg, "rb") as f:
        data = base64.encodebytes(f.read()).replace(b"\n", b"\r\n")
    head = ("From: bench@example.org\r\nTo: sink@example.net\r\n"
            "Subject: photo %s\r\nMessage-ID: <%s@bench.hashgate.test>\r\n"
            "MIME-Version: 1.0\r\n"
            'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
            "--b\r\nContent-Type: text/plain\r\n\r\nbench mail\r\n"
            "--b\r\nContent-Type: image/jpeg\r\n"
            "Content-Disposition: attachment; filename=\"p%s.jpg\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n" % (tag, tag, tag)
            ).encode()
    return head + data + b"--b--\r\n.\r\n"


def pdq_db(tmp, digest_db):
    """The digest database and ENTRIES random PDQ hashes (--base)."""
    src = os.path.join(tmp, "pdq.txt")
    rnd = random.Random(17)
    with open(src, "w") as f:
        for _ in range(ENTRIES // 10000):
            f.write("".join("pdq:%s\n" % rnd.randbytes(32).hex()
                            for _ in range(10000)))
    out = os.path.join(tmp, "pdq.hgdb")
    r = subprocess.run([hm.HASHGATE, "compile", "-o", out, "--pdq-index",
                        INDEX, "--base", digest_db, "photos=" + src],
                       capture_output=True, text=True, timeout=1200)
    if r.returncode != 0:
        raise RuntimeError("compile: " + r.stderr)
    os.chmod(out, 0o644)
    return out


def decode_cpu_ms(jpegs):
    r = subprocess.run([os.path.join(hm.BIN, "bench", "bench_pdq"), "file"]
                       + jpegs + ["-r", "5"], capture_output=True, text=True,
                       timeout=300, check=True)
    for line in r.stdout.splitlines():
        if line.startswith("mean_cpu_ms="):
            return float(line.split("=")[1])
    raise RuntimeError("bench_pdq printed no mean: " + r.stdout)


def main():
    tmp = tempfile.mkdtemp(prefix="hg-bench-mpdq-")
    os.chmod(tmp, 0o755)
    milters, instances = {}, {}
    status = 0
    try:
        hm.check_tool(hm.MILTER)
        hm.check_tool(hm.HASHGATE)
        digest_db = bm.compile_db(tmp)
        print("# compiling the same digests and %d PDQ entries" % ENTRIES,
              flush=True)
        dbs = {"digest": digest_db, "pdq": pdq_db(tmp, digest_db)}
        jpegs = make_jpegs(tmp)
        sizes = [os.path.getsize(j) for j in jpegs]
        ba.MSGS.extend(message(j, "p%d" % i) for i, j in enumerate(jpegs))
        for name, images in (("pdq", "on"), ("digest", "off")):
            d = os.path.join(tmp, "hg-" + name)
            os.makedirs(d)
            os.chmod(d, 0o755)
            m = hm.Milter(d, dbs[name], LogLevel="info", ReloadInterval="0",
                          DefaultAction="reject", PdqImages=images)
            m.start()
            milters[name] = m
            pf = Postfix(milter=m.postfix_spec,
                         base=os.path.join(tmp, "pf-" + name), dump=False)
            pf.start()
            instances[name] = pf
        for name, pf in instances.items():
            ba.run(pf.port, ba.SESSIONS * 2, "warm-" + name)
        rates = {"pdq": [], "digest": []}
        cpu = {"pdq": [], "digest": []}
        order = ["pdq", "digest"]
        for r in range(ROUNDS):
            line = []
            for name in (order if r % 2 == 0 else order[::-1]):
                pf, m = instances[name], milters[name]
                master = pf.master_pid()
                c0 = bm.tree_ticks(master) + bm.tree_ticks(m.pid)
                rate, fail, acc = ba.run(pf.port, N, "%s-%d" % (name, r))
                c1 = bm.tree_ticks(master) + bm.tree_ticks(m.pid)
                rates[name].append(rate)
                if acc:
                    cpu[name].append((c1 - c0) * bm.TICK_MS / acc)
                line.append("%s %.1f mails/s" % (name, rate))
                if fail:
                    line[-1] += " (%d NOT ACCEPTED)" % fail
                    status = 1
            print("# round %d: %s" % (r, ", ".join(line)), flush=True)
        pairs = sorted(a / b for a, b in zip(rates["pdq"], rates["digest"])
                       if b)
        ratio = pairs[len(pairs) // 2] if pairs else 0
        c_dig = min(cpu["digest"]) if cpu["digest"] else 0
        c_pdq = min(cpu["pdq"]) if cpu["pdq"] else 0
        dec = decode_cpu_ms(jpegs)
        floor = c_dig / (c_dig + dec) if c_dig else 0
        ok = ratio >= TARGET or (floor < TARGET and ratio >= 0.9 * floor)
        print("RESULT milter-pdq: PDQ on (%d digests + %d PDQ entries, "
              "index %s) "
              "against digest lists only %.2fx (median of %d paired rounds: "
              "%s; best of each: pdq %.1f, digest %.1f mails/s; one JPEG of "
              "%.0f-%.0f KiB a mail, %d sessions); floor (decoding and "
              "hashing the JPEG alone: %.1f CPU-ms per mail on %.1f CPU-ms "
              "per mail with digests only) %.2fx; CPU per mail pdq %.1f ms, "
              "digest %.1f ms; target >= %.1fx, or within 10%% of the floor "
              "%s" % (bm.DIGESTS, ENTRIES, INDEX, ratio, len(pairs),
                      " ".join("%.2f" % x for x in pairs),
                      max(rates["pdq"]), max(rates["digest"]),
                      min(sizes) / 1024.0, max(sizes) / 1024.0, ba.SESSIONS,
                      dec, c_dig, floor, c_pdq, c_dig, TARGET,
                      "PASS" if ok else "BELOW TARGET"), flush=True)
    except Exception as e:  # noqa: BLE001
        import traceback
        traceback.print_exc()
        print("RESULT milter-pdq: benchmark failed: %r" % e)
        status = 1
    finally:
        for pf in instances.values():
            pf.close()
        for m in milters.values():
            m.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
