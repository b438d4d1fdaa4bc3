# SPDX-License-Identifier: BSD-2-Clause
"""hashgate-milter behind a real, private Postfix: images attached to mail
are decoded and PDQ-hashed in the sandboxed helper and matched against the
PDQ entries of the database (issue 17).

A list holds the PDQ hash of one synthetic picture; the same picture
resized to half and re-encoded as JPEG at quality 60, mailed as an
attachment and inside a zip, is rejected (the list's action), with a
record giving the image's PDQ hash and quality, the distance and the
listed entry; an unrelated picture is delivered; an image that does not
decode is delivered with a record saying so; one past ImageMaxPixels gets
ImageLimit's verdict (the fail verdict, 451, by default; reject when so
set); with PdqImages off the resized copy passes; -t names file and line
of bad PdqMinQuality and ImageLimit values. All images are synthetic.
"""

import os
import signal
import subprocess
import sys
import tempfile
import zipfile
import io

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import hgmilter as hm  # noqa: E402
import images  # noqa: E402
from postfix import Postfix  # noqa: E402

ok = hm.Checks()
tmp = tempfile.mkdtemp(prefix="hg-milter-img-")
os.chmod(tmp, 0o755)
pf = None
m = None

REPLY = "550 5.7.1 Message rejected: it contains content that is not accepted here"
TEMPFAIL = "451 4.3.0 Message could not be scanned, try again later"


def reply(r):
    return "%d %s" % r


def attach(data, filename, ctype="image/jpeg"):
    return hm.msg_attach(data, filename=filename, ctype=ctype)


def restart(**settings):
    m.stop(signal.SIGKILL)
    for k in list(m.settings):
        if k.startswith("Image") or k.startswith("Pdq"):
            del m.settings[k]
    m.settings.update(settings)
    m.start(timeout=20)


try:
    hm.check_tool(hm.MILTER)
    hm.check_tool(images.MKIMAGE)

    base_p = os.path.join(tmp, "base.png")
    half_p = os.path.join(tmp, "half.jpg")
    other_p = os.path.join(tmp, "other.png")
    images.make(base_p, "png", 640, 480, 7)
    HALF = images.make(half_p, "jpeg", 320, 240, 7, quality=60)
    OTHER = images.make(other_p, "png", 640, 480, 99)
    base_h, base_q = images.pdq(base_p)
    half_h, half_q = images.pdq(half_p)
    other_h, _ = images.pdq(other_p)
    dist = images.distance(base_h, half_h)
    ok(0 < dist <= 31 and images.distance(base_h, other_h) > 31,
       "the resized JPEG is within 31 bits of its base (%d), the unrelated "
       "picture far" % dist, "%s %s %s" % (base_h, half_h, other_h))
    # beside a digest list, as in real use: scans then compute SHA-256
    db = images.database(os.path.join(tmp, "db.hgdb"),
                         pdq={"imglist": [(base_h, base_q)]},
                         digests={"digests": [hm.sha256(hm.blob(5, 999))]})

    m = hm.Milter(tmp, db, ListAction=["imglist reject"])

    # ---- -t: bad values named with file and line ----
    for key, bad in (("PdqMinQuality", "101"), ("ImageLimit", "drop"),
                     ("PdqImages", "maybe"), ("ImageMaxPixels", "12x"),
                     # 2^34 + 1 G: wrapped past 2^64 to 1G, once taken
                     ("ImageMaxBytes", "17179869185G")):
        m.settings[key] = bad
        m.write_conf()
        p = subprocess.run([hm.MILTER, "-t", "-c", m.conf],
                           capture_output=True, text=True, timeout=30)
        ok(p.returncode == 1 and m.conf + ":" in p.stderr and key in p.stderr,
           "-t names file and line of a bad %s" % key, p.stderr)
        del m.settings[key]
    m.settings.update({"PdqMinQuality": "50", "ImageLimit": "fail",
                       "PdqDihedral": "off", "ImageMaxPixels": "64M",
                       "ImageMaxBytes": "100M", "ImageTimeout": "30"})
    m.write_conf()
    p = subprocess.run([hm.MILTER, "-t", "-c", m.conf], capture_output=True,
                       text=True, timeout=30)
    ok(p.returncode == 0, "-t takes good image settings", p.stderr)
    for k in ("PdqMinQuality", "ImageLimit", "PdqDihedral", "ImageMaxPixels",
              "ImageMaxBytes", "ImageTimeout"):
        del m.settings[k]

    m.start(timeout=20)
    pf = Postfix(milter=m.postfix_spec, base=os.path.join(tmp, "pf"))
    pf.start()

    # ---- the resized copy, attached ----
    msg, mid = attach(HALF, "holiday.jpg")
    r = pf.send(msg)
    recs = m.records_for(mid)
    rec = recs[0] if recs else {}
    lst = (rec.get("lists") or [{}])[0]
    img = rec.get("image") or {}
    ok(reply(r) == REPLY, "the picture resized to half, JPEG q60, attached: "
       "rejected by the PDQ list", reply(r))
    ok(len(recs) == 1 and rec.get("action") == "reject"
       and rec.get("part") == "2" and rec.get("filename") == "holiday.jpg"
       and lst.get("list") == "imglist" and lst.get("algorithm") == "pdq"
       and lst.get("distance") == dist and lst.get("digest") == half_h
       and (lst.get("listed") or {}).get("pdq") == base_h
       and (lst.get("listed") or {}).get("quality") == base_q
       and "dihedral" not in lst
       and img.get("format") == "jpeg" and img.get("pdq") == half_h
       and img.get("quality") == half_q and img.get("width") == 320
       and rec.get("sha256") == hm.sha256(HALF),
       "its record: the image's PDQ hash and quality, the distance, the "
       "listed entry and its quality, the part's digest", str(recs))
    ok("matched by its PDQ hash %s" % half_h in m.log(),
       "the log names the PDQ match", m.log()[-400:])

    # ---- inside a zip ----
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("trip/holiday.jpg", HALF)
        z.writestr("notes.txt", "nothing")
    msg, mid = attach(buf.getvalue(), "photos.zip", "application/zip")
    r = pf.send(msg)
    recs = m.records_for(mid)
    rec = recs[0] if recs else {}
    ok(reply(r) == REPLY and len(recs) == 1
       and rec.get("part") == "2!trip/holiday.jpg"
       and (rec.get("lists") or [{}])[0].get("distance") == dist
       and [c.get("path") for c in rec.get("containers", [])] == ["2"],
       "the resized copy inside a zip: rejected, its record names the zip",
       "%s %s" % (reply(r), recs))

    # ---- an unrelated picture passes ----
    msg, mid = attach(OTHER, "other.png", "image/png")
    r = pf.send(msg)
    ok(r[0] == 250 and not m.records_for(mid),
       "an unrelated picture is delivered, no record", reply(r))

    # ---- an image that does not decode ----
    cut = HALF[:len(HALF) // 3]
    bad = b"\xff\xd8\xff\xe0" + bytes(64)
    msg, mid = attach(bad, "broken.jpg")
    r = pf.send(msg)
    recs = m.records_for(mid)
    rec = recs[0] if recs else {}
    ok(r[0] == 250 and len(recs) == 1
       and rec.get("not_checked") == "image not decoded"
       and "why" in (rec.get("image") or {}),
       "an image that does not decode is delivered, with a record saying "
       "so", "%s %s" % (reply(r), recs))
    msg, mid = attach(cut, "cut.jpg")
    r = pf.send(msg)
    ok(r[0] in (250, 550), "a JPEG cut short is judged as libjpeg decodes "
       "it, never a failure", reply(r))

    # ---- a pixel bomb: ImageLimit ----
    huge = images.png_declared(100000, 100000)
    msg, mid = attach(huge, "huge.png", "image/png")
    r = pf.send(msg)
    ok(reply(r) == TEMPFAIL and "ImageLimit fail" in m.log(),
       "100000 x 100000 pixels in %d bytes: the pixel limit, the fail verdict "
       "(451) by default" % len(huge), reply(r))
    restart(ImageLimit="reject", ImageMaxPixels="100k")
    msg, mid = attach(OTHER, "other.png", "image/png")
    r = pf.send(msg)
    recs = m.records_for(mid)
    ok(reply(r) == REPLY and recs
       and recs[0].get("not_checked") == "image limit",
       "ImageMaxPixels 100k and ImageLimit reject: a 640 x 480 picture is "
       "rejected with a record", "%s %s" % (reply(r), recs))

    # ---- PdqImages off ----
    restart(PdqImages="off")
    msg, mid = attach(HALF, "holiday.jpg")
    r = pf.send(msg)
    ok(r[0] == 250 and not m.records_for(mid),
       "PdqImages off: the resized copy is delivered", reply(r))
    # auto (the default) with a database holding PDQ entries: on
    restart()
    msg, mid = attach(HALF, "again.jpg")
    r = pf.send(msg)
    ok(reply(r) == REPLY, "PdqImages auto with PDQ entries in the database: "
       "on", reply(r))

finally:
    if pf:
        pf.stop()
    if m:
        m.stop()
ok.exit()
