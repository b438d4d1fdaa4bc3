# SPDX-License-Identifier: BSD-2-Clause
"""From match to report with the real servers: a private Postfix with
hashgate-milter and a private nginx with the module reject and hold
synthetic listed files; `hashgate preserve store` copies what was held (the
mail through postcat -q, the upload from the hold directory) into an
evidence store; `verify` passes, then finds an edited item, a removed
manifest line, the manifest's last line cut off and two items swapped;
`hashgate report` drafts one incident per mail and per request with every
matched file, valid against the schema, shows them as text, and a second
run drafts nothing new; `report --submit` sends them to a local stand-in
of the reporting API with the files' bytes taken from the preserved items;
`expire` (clock set with --now) removes only what is due and never an item
on legal hold.
"""

import base64
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
import zipfile
from email.utils import make_msgid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import hgmilter as hm  # noqa: E402
import nginx as N  # noqa: E402
from postfix import Postfix  # noqa: E402
from cybertip_standin import StandIn  # noqa: E402

ok = hm.Checks()
tmp = tempfile.mkdtemp(prefix="hg-report-preserve-")
os.chmod(tmp, 0o755)
XSD = os.path.join(hm.TOP, "cli", "cybertip.xsd")

# synthetic "listed" files, one per list and channel
REJ = hm.blob(801, 40_000)
HOLD = hm.blob(802, 30_000)
HOLD_INNER = hm.blob(803, 20_000)       # listed, inside a zip
LOGGED = hm.blob(804, 10_000)
UP_REJ = hm.blob(805, 50_000)
UP_HOLD = hm.blob(806, 25_000)
CLEAN = hm.blob(807, 9_000)

zbuf = io.BytesIO()
with zipfile.ZipFile(zbuf, "w") as z:
    zi = zipfile.ZipInfo("photos/inner.jpg", (2026, 11, 25, 10, 0, 0))
    zi.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(zi, HOLD_INNER)
    z.writestr(zipfile.ZipInfo("readme.txt", (2026, 11, 25, 10, 0, 0)),
               CLEAN)
ZIP = zbuf.getvalue()

HTTP = r"""
    hashgate_database {tmp}/db.hgdb;
    hashgate_evidence_log {prefix}/evidence.jsonl;
    client_max_body_size 16m;
    server {
        listen 127.0.0.1:{port};
        hashgate on;
        hashgate_hold_path {tmp}/hold;
        hashgate_list_action holdlist hold;
        hashgate_list_action loglist log;
        location /up/ { proxy_pass http://recorder; }
    }
"""


def sha(b):
    return hashlib.sha256(b).hexdigest()


def mail(parts, msgid):
    """A multipart/mixed mail with (filename, bytes) attachments."""
    s = ("From: sender@example.org\r\nTo: rcpt@example.net\r\n"
         "Subject: files\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\n"
         'Content-Type: multipart/mixed; boundary="=-b"\r\n\r\n'
         "--=-b\r\nContent-Type: text/plain\r\n\r\nhello\r\n" % msgid)
    for name, data in parts:
        enc = base64.b64encode(data).decode()
        s += ("--=-b\r\nContent-Type: application/octet-stream\r\n"
              'Content-Disposition: attachment; filename="%s"\r\n'
              "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n"
              % (name, "\r\n".join(enc[i:i + 76]
                                   for i in range(0, len(enc), 76))))
    return (s + "--=-b--\r\n").encode()


def hg(*args):
    return subprocess.run([hm.HASHGATE] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=120)


def both(p):
    return "rc=%d out=%r err=%r" % (p.returncode, p.stdout[-1500:],
                                    p.stderr[-1500:])


pf = m = ng = None
try:
    hm.check_tool(hm.MILTER)
    hm.check_tool(hm.HASHGATE)
    db = os.path.join(tmp, "db.hgdb")
    hm.compile_db(db, {"rejlist": ([sha(REJ), sha(UP_REJ)], "2026-11"),
                       "holdlist": ([sha(HOLD), sha(HOLD_INNER),
                                     sha(UP_HOLD)], "7"),
                       "loglist": [sha(LOGGED)]})
    m = hm.Milter(tmp, db, ListAction=["rejlist reject", "holdlist hold",
                                       "loglist log"])
    m.start()
    pf = Postfix(milter=m.postfix_spec, base=os.path.join(tmp, "pf"))
    pf.start()
    os.makedirs(os.path.join(tmp, "ng"))
    ng = N.Nginx(HTTP, tmp=os.path.join(tmp, "ng"))
    shutil.copy(db, os.path.join(ng.tmp, "db.hgdb"))
    os.chmod(os.path.join(ng.tmp, "db.hgdb"), 0o644)
    ng.start()

    # ---- the servers act ----
    mid_rej = make_msgid("rej.hashgate.test")
    code, text = pf.send(mail([("bad.bin", REJ)], mid_rej))
    ok(code == 550, "mail with a listed file is rejected", "%d %s" % (code, text))
    mid_hold = make_msgid("hold.hashgate.test")
    code, text = pf.send(mail([("held.jpg", HOLD), ("notes.bin", LOGGED),
                               ("photos.zip", ZIP)], mid_hold))
    ok(code == 250, "mail with files on the hold list is accepted", text)
    deadline = time.time() + 15
    while time.time() < deadline and not pf.hold_ids():
        time.sleep(0.1)
    held = pf.hold_ids()
    ok(len(held) == 1, "the mail is in Postfix's hold queue", pf.queue_list())
    qid_hold = held[0] if held else "?"

    st, _ = N.http_request(ng.port, "PUT", "/up/a.bin", UP_REJ)
    ok(st == 403, "a listed upload is rejected (403)", st)
    body, ctype = N.multipart([("file", "up.jpg", "image/jpeg", UP_HOLD),
                               ("other", "clean.bin", None, CLEAN)])
    st, _ = N.http_request(ng.port, "POST", "/up/form", body,
                           {"Content-Type": ctype})
    ok(st == 403, "a held upload gets the hold status (403)", st)
    hold_dir = os.path.join(ng.tmp, "hold")
    bodies = [f for f in os.listdir(hold_dir) if not f.endswith(".json")] \
        if os.path.isdir(hold_dir) else []
    ok(len(bodies) == 1, "nginx keeps the held body in its hold directory",
       bodies)

    # the evidence logs, as the servers wrote them
    mlog = m.evidence
    nlog = os.path.join(ng.prefix, "evidence.jsonl")
    recs = m.records() + ng.evidence()
    ok(len(m.records()) == 4 and len(ng.evidence()) == 2,
       "the servers wrote a record per matched file (mail 1+3, http 1+1)",
       [(r.get("channel"), r.get("part"), r.get("action")) for r in recs])
    ok(all(r.get("record_version") == 1 for r in recs),
       "every record carries record_version 1")

    # ---- preserve ----
    store = os.path.join(tmp, "store")
    pres = ["preserve", "store", "--store", store, "--group", "nogroup",
            "--postfix-config", pf.config, "--hold-dir", hold_dir,
            "--settle", "0", mlog, nlog]
    p = hg(*pres)
    ok(p.returncode == 0 and len(re.findall(r"^preserved ", p.stdout, re.M))
       == 2, "preserve stores the held mail and the held upload (not the "
       "rejected ones, which nothing holds)", both(p))
    items = sorted(os.listdir(os.path.join(store, "items")))
    eml = [i for i in items if i.endswith(".eml")]
    up = [i for i in items if i.endswith(".bin")]
    ok(len(eml) == 1 and ("-smtp-%s.eml" % qid_hold) in eml[0]
       and len(up) == 1 and "-http-" in up[0],
       "items are named by time, channel and queue or request ID", items)
    with open(os.path.join(store, "items", eml[0]), "rb") as f:
        kept = f.read()
    ok(mid_hold.encode() in kept and b"Received:" in kept
       and base64.b64encode(HOLD)[:60] in kept,
       "the mail item is the held message as Postfix queued it (postcat)")
    with open(os.path.join(store, "items", up[0]), "rb") as f:
        ok(f.read() == body, "the upload item is the held body, byte for byte")
    sts = [os.stat(os.path.join(store, "items", i)) for i in items]
    ok(all(s.st_mode & 0o777 == 0o640 and s.st_gid == 65534 for s in sts)
       and os.stat(store).st_mode & 0o777 == 0o750
       and os.stat(os.path.join(store, "manifest")).st_mode & 0o777 == 0o640,
       "store 0750, items and manifest 0640, in the store's group",
       [oct(s.st_mode) for s in sts])
    with open(os.path.join(store, "manifest")) as f:
        man = f.read()
    lines = man.splitlines()
    ok(len(lines) == 3 and all(l.split("\t")[2] == "stored" for l in lines[1:])
       and ("smtp/%s/" % qid_hold) in lines[1] and sha(kept) in lines[1],
       "the manifest has a line per item: its SHA-256 and incident", man)
    ok(HOLD not in man.encode() and "held.jpg" not in man,
       "the manifest holds no content")
    p = hg(*pres)
    ok(p.returncode == 0 and p.stdout.count("preserved before") == 2
       and sorted(os.listdir(os.path.join(store, "items"))) == items,
       "a second store run copies nothing again", both(p))

    p = hg("preserve", "verify", "--store", store)
    ok(p.returncode == 0 and p.stdout.startswith("verified: 0 problems"),
       "verify passes on the store as written", both(p))

    # ---- tampering is found and named ----
    item_eml = os.path.join(store, "items", eml[0])
    item_up = os.path.join(store, "items", up[0])
    with open(item_eml, "ab") as f:
        f.write(b" ")
    p = hg("preserve", "verify", "--store", store)
    ok(p.returncode == 2 and ("item %s: its content changed" % eml[0])
       in p.stdout, "an edited item is found and named", both(p))
    with open(item_eml, "wb") as f:
        f.write(kept)
    p = hg("preserve", "verify", "--store", store)
    ok(p.returncode == 0, "the item put back passes again", both(p))

    os.rename(item_eml, item_eml + ".x")
    os.rename(item_up, item_eml)
    os.rename(item_eml + ".x", item_up)
    p = hg("preserve", "verify", "--store", store)
    ok(p.returncode == 2 and ("item %s: swapped: it holds what item %s held"
                              % (eml[0], up[0])) in p.stdout
       and ("item %s: swapped" % up[0]) in p.stdout,
       "two items swapped are found and named", both(p))
    os.rename(item_up, item_eml + ".x")
    os.rename(item_eml, item_up)
    os.rename(item_eml + ".x", item_eml)

    with open(os.path.join(store, "manifest"), "w") as f:
        f.write("\n".join([lines[0], lines[2]]) + "\n")
    p = hg("preserve", "verify", "--store", store)
    ok(p.returncode == 2 and "manifest line 2: event 2 where event 1 belongs"
       in p.stdout and "line 1 was edited, or lines were removed" in p.stdout
       and "a file the manifest does not list" in p.stdout,
       "a removed manifest line is found and named", both(p))
    p = hg(*pres)
    ok(p.returncode == 2 and "fails its check" in p.stderr,
       "nothing is added to a manifest that fails its check", both(p))

    with open(os.path.join(store, "manifest"), "w") as f:
        f.write("\n".join(lines[:2]) + "\n")
    p = hg("preserve", "verify", "--store", store)
    ok(p.returncode == 2 and "the last 1 event was removed" in p.stdout,
       "the manifest's last line cut off is found (manifest.head)", both(p))

    with open(os.path.join(store, "manifest"), "w") as f:
        f.write(man.replace("\t0\t", "\t1\t", 1))
    p = hg("preserve", "verify", "--store", store)
    ok(p.returncode == 2 and "line 2 was edited" in p.stdout,
       "an edited manifest line (a legal hold slipped in) is found", both(p))
    with open(os.path.join(store, "manifest"), "w") as f:
        f.write(man)
    p = hg("preserve", "verify", "--store", store)
    ok(p.returncode == 0, "the manifest put back passes again", both(p))

    # ---- report ----
    conf = os.path.join(tmp, "reporter.conf")
    with open(conf, "w") as f:
        f.write("Company Example Hosting Inc.\nFirstName Alice\n"
                "LastName Abuse\nEmail abuse@example.com\n")
    out = os.path.join(tmp, "drafts")
    rep = ["report", "-c", conf, "-s", os.path.join(tmp, "report.state"),
           "-o", out, "--settle", "0", mlog, nlog]
    p = hg(*rep)
    drafts = sorted(os.listdir(out)) if os.path.isdir(out) else []
    ok(p.returncode == 0 and len(drafts) == 4,
       "report drafts one incident per mail and per request (4)",
       both(p) + str(drafts))
    valid = [subprocess.run(["xmllint", "--noout", "--schema", XSD,
                             os.path.join(out, d)], capture_output=True)
             .returncode == 0 for d in drafts]
    ok(all(valid) and valid, "every draft is valid against the schema",
       valid)
    files = {}
    for d in drafts:
        root = ET.parse(os.path.join(out, d)).getroot()
        files[d] = [f.get("upload") for f in root.findall("file")]
    hold_draft = [d for d in drafts if qid_hold in d]
    ok(len(hold_draft) == 1 and sorted(files[hold_draft[0]])
       == sorted(["sha256:" + sha(HOLD), "sha256:" + sha(LOGGED),
                  "sha256:" + sha(ZIP)]),
       "the held mail's draft has every matched file (the zip for the file "
       "inside it)", files)
    form = [d for d in drafts if "-http-" in d and files[d]
            == ["sha256:" + sha(UP_HOLD)]]
    ok(len(form) == 1, "the held upload's draft has its form file", files)
    p = hg("report", "-f", "text", "-s", os.path.join(tmp, "report.state"),
           "--settle", "0", mlog, nlog)
    ok(p.returncode == 0 and p.stdout.count("incident ") == 4
       and sha(HOLD_INNER) in p.stdout and "photos/inner.jpg" in p.stdout
       and ("queue-id:   %s" % qid_hold) in p.stdout,
       "the text form shows each incident and file", both(p))
    p = hg(*rep)
    ok(p.returncode == 0 and p.stdout == ""
       and sorted(os.listdir(out)) == drafts,
       "a second run drafts nothing new", both(p))
    # ---- submit, to a local stand-in of the service ----
    creds = os.path.join(tmp, "creds")
    with open(creds, "w") as f:
        f.write("Username esp\nPassword pw\n")
    os.chmod(creds, 0o600)
    si = StandIn(os.path.join(tmp, "standin"), XSD, "esp", "pw")
    try:
        p = hg("report", "--submit", "-c", conf, "-s",
               os.path.join(tmp, "report.state"), "--store", store,
               "--endpoint", si.url, "--credentials", creds)
        st = si.state()
        got = {}
        for r in st["reports"].values():
            got[r["report"].count("<intendedRecipient>") and "mail" or
                "http", len(r["files"])] = sorted(
                f["sha256"] for f in r["files"].values())
        held_mail = [r for r in st["reports"].values() if qid_hold in r["report"]]
        ok(p.returncode == 0 and len(st["reports"]) == 4
           and all(r["finished"] for r in st["reports"].values())
           and not st["violations"],
           "--submit reports the 4 incidents to the stand-in, no rule broken",
           both(p) + str(st["violations"]))
        ok(len(held_mail) == 1 and sorted(
            f["sha256"] for f in held_mail[0]["files"].values())
           == sorted([sha(HOLD), sha(LOGGED), sha(ZIP)]),
           "the held mail's files are uploaded from the item postcat gave "
           "(the zip for the file inside it)", str(got))
        up_hold = [r for r in st["reports"].values()
                   if [f["sha256"] for f in r["files"].values()]
                   == [sha(UP_HOLD)]]
        ok(len(up_hold) == 1, "the held upload's form file is uploaded "
           "from nginx's held body", str(got))
    finally:
        si.stop()

    # ---- expire ----
    p = hg("preserve", "hold", "--store", store, up[0])
    ok(p.returncode == 0 and "on legal hold" in p.stdout,
       "an item can be put on legal hold", both(p))
    p = hg("preserve", "expire", "--store", store, "--now",
           time.strftime("%Y-%m-%d", time.gmtime(time.time() + 100 * 86400)))
    ok(p.returncode == 0 and p.stdout == "" and len(os.listdir(
        os.path.join(store, "items"))) == 2,
       "expire before the date removes nothing", both(p))
    later = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 367 * 86400))
    p = hg("preserve", "expire", "--store", store, "--dry-run", "--now", later)
    ok(p.returncode == 0 and ("would expire %s" % eml[0]) in p.stdout
       and len(os.listdir(os.path.join(store, "items"))) == 2,
       "--dry-run says what would go and deletes nothing", both(p))
    p = hg("preserve", "expire", "--store", store, "--now", later)
    ok(p.returncode == 0 and ("expired %s" % eml[0]) in p.stdout
       and os.listdir(os.path.join(store, "items")) == [up[0]],
       "expire after a year removes the item due and keeps the one on "
       "legal hold", both(p))
    p = hg("preserve", "verify", "--store", store)
    ok(p.returncode == 0 and "1 items kept (1 intact, 1 on legal hold), "
       "1 expired" in p.stdout, "verify passes after expire", both(p))
    p = hg("preserve", "release", "--store", store, up[0])
    p2 = hg("preserve", "expire", "--store", store, "--now", later)
    ok(p.returncode == 0 and ("expired %s" % up[0]) in p2.stdout
       and os.listdir(os.path.join(store, "items")) == [],
       "a released item expires at its date", both(p2))
    p = hg("preserve", "store", "--store", store, "--group", "nogroup",
           "--postfix-config", pf.config, "--hold-dir", hold_dir,
           "--settle", "0", mlog, nlog)
    ok(p.returncode == 0 and p.stdout.count("preserved before") == 2
       and "expired 20" in p.stdout
       and os.listdir(os.path.join(store, "items")) == [],
       "an incident preserved and expired is not copied again from what "
       "is still held", both(p))

    crash = [l for l in ng.crashes()]
    ok(not crash, "nginx ran without a crash", crash)
except Exception as e:  # noqa: BLE001
    import traceback
    traceback.print_exc()
    ok(False, "the test ran to its end", repr(e))
finally:
    if pf is not None:
        pf.flush_hold()
        pf.close()
    if m is not None:
        m.stop()
    if ng is not None:
        ng.cleanup()
    shutil.rmtree(tmp, ignore_errors=True)
ok.exit()
