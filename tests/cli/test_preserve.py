# SPDX-License-Identifier: BSD-2-Clause
"""test_preserve.py - `hashgate preserve` without the servers: held items
(a mail through a stand-in for postcat, uploads from a hold directory) are
stored only when they hold every matched file; bad input is refused and
named (a held file outside --hold-dir, a symbolic link, a queue ID that is
not one, postcat failing, a store others may read, a missing group); the
manifest's chain and every item are verified; legal hold and expiry. The
real Postfix and nginx run in tests/integration/test_report_preserve.py.
"""
import base64
import json
import os
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clihelp import Suite, both, md5, rand_bytes, sha256  # noqa: E402

t = Suite("preserve")

A = rand_bytes(11, 6000)
B = rand_bytes(12, 4000)
TEXT = b"line one\nline two\n" * 50      # a text part sent 8bit


def rec(channel, time, key, data, action="hold", extra=None):
    r = {"record_version": 1, "time": time, "channel": channel,
         "action": action, "monitor": False,
         "lists": [{"list": "holdlist", "version": "1",
                    "algorithm": "sha256", "digest": sha256(data),
                    "label": None}],
         "sha256": sha256(data), "size": len(data)}
    r.update(key)
    r.update(extra or {})
    return json.dumps(r)


# a held mail, as postcat -bh prints it (LF line ends)
mail = ("Received: from client by mx\nMessage-ID: <h1@example.org>\n"
        "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\"\n"
        "\n--b\nContent-Type: image/jpeg\nContent-Transfer-Encoding: base64\n"
        "\n%s\n--b\nContent-Type: text/plain\nContent-Transfer-Encoding: "
        "8bit\n\n%s\n--b--\n" % (base64.encodebytes(A).decode(),
                                 TEXT.replace(b"\n", b"\r\n").decode()
                                 .replace("\r\n", "\n").rstrip("\n")))
t.write("queue/Q1ABC", mail)
t.write("queue/Q2DEF", "Message-ID: <other@example.org>\n\nsomething else\n")
# SMTP carried the text part with CRLF: that is what the milter hashed
TEXT_CRLF = TEXT.replace(b"\n", b"\r\n")[:-2]
fake = t.write("fake-postcat", """#!/bin/sh
# a stand-in for postcat -c DIR -bh -q ID: prints queue/ID
while [ $# -gt 1 ]; do
    case "$1" in -c) shift ;; -bh|-q) ;; *) ;; esac
    shift
done
[ -f "%s/queue/$1" ] || { echo "postcat: fatal: open queue file $1: No such file or directory" >&2; exit 1; }
cat "%s/queue/$1"
""" % (t.dir, t.dir))
os.chmod(fake, 0o755)

os.makedirs(t.path("hold"), mode=0o700)
body, = [rand_bytes(13, 8000)]
t.write("hold/20261125T110000Z-aaaa", body)
form = (b"--XyZ\r\nContent-Disposition: form-data; name=\"f\"; "
        b"filename=\"b.bin\"\r\nContent-Type: application/octet-stream\r\n"
        b"\r\n" + B + b"\r\n--XyZ--\r\n")
t.write("hold/20261125T120000Z-bbbb", form)
t.write("secret", b"not evidence")
os.symlink(t.path("secret"), t.path("hold/20261125T130000Z-cccc"))

mailkey = {"queue_id": "Q1ABC", "message_id": "<h1@example.org>",
           "client_addr": "192.0.2.7", "mail_from": "<s@example.org>",
           "rcpt_to": ["<r@example.net>"]}
lines = [
    rec("smtp", "2026-11-25T10:00:00Z", mailkey, A, extra={"part": "2"}),
    rec("smtp", "2026-11-25T10:00:00Z", mailkey, TEXT_CRLF,
        extra={"part": "3"}),
    rec("http", "2026-11-25T11:00:00Z", {"request_id": "aaaa"}, body,
        extra={"held_at": t.path("hold/20261125T110000Z-aaaa")}),
    rec("http", "2026-11-25T12:00:00Z", {"request_id": "bbbb"}, B,
        extra={"part": "f", "filename": "b.bin",
               "held_at": t.path("hold/20261125T120000Z-bbbb")}),
    # rejected: nothing held, nothing to preserve
    rec("http", "2026-11-25T12:30:00Z", {"request_id": "rrrr"}, A,
        action="reject"),
]
t.write("ev.log", "\n".join(lines) + "\n")


def pres(*args, store="store"):
    a = list(args)
    if a[0] == "store":
        a = ["store", "--group", "nogroup", "--postcat", fake,
             "--postfix-config", t.path("pf"), "--hold-dir", t.path("hold"),
             "--settle", "0"] + a[1:]
    return t.run("preserve", a[0], "--store", store, *a[1:])


p = pres("store", "ev.log")
out = p.stdout.decode()
t.check(p.returncode == 0 and out.count("preserved ") == 3,
        "store keeps the held mail and both held uploads, not the rejected "
        "request", both(p))
items = sorted(os.listdir(t.path("store", "items")))
t.check(items == ["20261125T100000Z-smtp-Q1ABC.eml",
                  "20261125T110000Z-http-aaaa.bin",
                  "20261125T120000Z-http-bbbb.bin"],
        "items are named by time, channel and ID", items)
with open(t.path("store", "items", items[0]), "rb") as f:
    t.check(f.read() == mail.encode(), "the mail item is what postcat printed")
t.check(A not in p.stdout and b"h1@example.org" not in p.stdout,
        "no content (nor a Message-ID) in the output", p.stdout)

p = pres("verify")
t.check(p.returncode == 0 and b"verified: 0 problems" in p.stdout
        and b"3 items kept (3 intact" in p.stdout, "verify passes", both(p))

# ---- what store refuses ----
ev2 = [
    # another mail now has this queue ID: it lacks the matched file
    rec("smtp", "2026-11-26T10:00:00Z", {"queue_id": "Q2DEF",
        "message_id": "<h2@example.org>"}, A),
    rec("smtp", "2026-11-26T10:01:00Z", {"queue_id": "Q9GONE",
        "message_id": "<h3@example.org>"}, A),
    rec("smtp", "2026-11-26T10:02:00Z", {"queue_id": "-rf",
        "message_id": "<h4@example.org>"}, A),
    rec("http", "2026-11-26T11:00:00Z", {"request_id": "cccc"}, b"x",
        extra={"held_at": t.path("hold/20261125T130000Z-cccc")}),
    rec("http", "2026-11-26T11:01:00Z", {"request_id": "dddd"}, b"x",
        extra={"held_at": t.path("secret")}),
]
t.write("ev2.log", "\n".join(ev2) + "\n")
p = pres("store", "ev2.log")
err = p.stderr.decode()
t.check(p.returncode == 2 and "incident smtp Q2DEF: the held item (postfix "
        "queue ID Q2DEF) does not hold the matched file sha256:" + sha256(A)
        in err, "a held mail that does not hold the matched file is not "
        "preserved (a reused queue ID)", both(p))
t.check("incident smtp Q9GONE: " in err and "No such file or directory" in err,
        "postcat's failure is named (a mail no longer queued)", err)
t.check("incident smtp -rf: its records name no Postfix queue ID" in err,
        "a queue ID that is not one never reaches postcat", err)
t.check("incident http cccc: " in err and "Too many levels of symbolic "
        "links" in err, "a held file that is a symbolic link is refused", err)
t.check("incident http dddd: the held file %s is not in a hold directory"
        % t.path("secret") in err, "a held file outside --hold-dir is "
        "refused", err)
t.check(sorted(os.listdir(t.path("store", "items"))) == items
        and [f for f in os.listdir(t.path("store")) if f.startswith(".tmp")]
        == [], "nothing refused is left in the store")

p = t.run("preserve", "store", "--store", "store2", "--group",
          "no-such-group-here", "ev.log")
t.check(p.returncode == 2 and b"group no-such-group-here does not exist"
        in p.stderr, "a missing group is named", both(p))
os.makedirs(t.path("open-store"), mode=0o755)
os.chmod(t.path("open-store"), 0o755)
p = pres("store", "ev.log", store="open-store")
t.check(p.returncode == 2 and b"lets every user at the evidence" in p.stderr,
        "a store others may read is refused", both(p))
p = t.run("preserve", "frobnicate")
t.check(p.returncode == 2 and b"unknown action" in p.stderr,
        "an unknown action is a usage error")
p = t.run("preserve", "verify", "--retain", "3", "--store", "store")
t.check(p.returncode == 2 and b"not an option of verify" in p.stderr,
        "store's options are refused by the other actions", both(p))

# ---- verify finds tampering ----
man_path = t.path("store", "manifest")
with open(man_path) as f:
    man = f.read()
lines_m = man.splitlines(True)
item_a = t.path("store", "items", items[1])
os.unlink(item_a)
p = pres("verify")
t.check(p.returncode == 2 and ("item %s: missing from the store" % items[1])
        .encode() in p.stdout, "a removed item is found and named", both(p))
with open(item_a, "wb") as f:
    f.write(body)
os.chmod(item_a, 0o640)
with open(man_path, "w") as f:
    f.write("".join(lines_m[:2] + lines_m[3:]))
p = pres("verify")
t.check(p.returncode == 2 and b"manifest line 3: event 3 where event 2 "
        b"belongs" in p.stdout, "a removed manifest line is found", both(p))
with open(man_path, "w") as f:
    f.write(man.replace("20261125T110000Z-http-aaaa.bin", "x.bin", 1))
p = pres("verify")
t.check(p.returncode == 2 and b"line 3 was edited" in p.stdout,
        "an edited manifest line is found", both(p))
with open(man_path, "w") as f:
    f.write(man)
t.write("store/items/planted.bin", b"x")
p = pres("verify")
t.check(p.returncode == 2 and b"items/planted.bin: a file the manifest does "
        b"not list" in p.stdout, "a file added to the store is found", both(p))
os.unlink(t.path("store/items/planted.bin"))
p = pres("verify")
t.check(p.returncode == 0, "the store put back verifies", both(p))

# ---- legal hold and expiry ----
p = pres("hold", items[0])
t.check(p.returncode == 0, "hold puts an item on legal hold", both(p))
p = pres("hold", "nonexistent.bin")
t.check(p.returncode == 2 and b"nonexistent.bin: no such item" in p.stderr,
        "hold of an item that does not exist is an error", both(p))
p = pres("expire", "--now", "2099-01-01")
t.check(p.returncode == 0 and sorted(os.listdir(t.path("store", "items")))
        == [items[0]], "expire deletes what is due, never what is on hold",
        both(p))
p = pres("list")
t.check(p.returncode == 0 and p.stdout.count(b"expired 2099") == 2
        and b"legal hold" in p.stdout, "list shows expired and held items",
        both(p))
p = pres("verify")
t.check(p.returncode == 0 and b"2 expired" in p.stdout,
        "verify passes after expire", both(p))
p = pres("store", "ev.log")
t.check(p.returncode == 0 and p.stdout.count(b"preserved before") == 3,
        "expired incidents are not preserved again", both(p))
p = pres("release", items[0])
p = pres("expire", "--now", "2099-01-01")
t.check(p.returncode == 0 and os.listdir(t.path("store", "items")) == [],
        "a released item expires", both(p))

# retention and --legal-hold at store time
p = pres("store", "--retain", "10", "--legal-hold", "--now",
         "2026-12-01T00:00:00Z", "ev.log", store="store3")
p2 = pres("list", store="store3")
t.check(p.returncode == 0 and p2.stdout.count(b"legal hold") == 3,
        "--legal-hold stores items on hold", both(p2))
p = pres("store", "--retain", "10", "--now", "2026-12-01T00:00:00Z",
         "ev.log", store="store4")
p2 = pres("list", store="store4")
t.check(p2.stdout.count(b"until 2026-12-11T00:00:00.000Z") == 3,
        "--retain sets the deletion date", p2.stdout)
st = os.stat(t.path("store4", "manifest.head"))
t.check(stat.S_IMODE(st.st_mode) == 0o640 and st.st_gid == 65534,
        "manifest.head is 0640 in the store's group")
t.done()
