# SPDX-License-Identifier: BSD-2-Clause
"""test_scan_mail.py - `hashgate scan` on mail: an .eml with a base64
attachment, a message without .eml, an mbox of 3 messages, a Maildir,
--raw, nested messages, a message past a parser limit (error, exit 2), and
parts sent without transfer encoding, which also match with their line
ends converted (a listed file with CRLF bytes, stored with LF, is FOUND
"(as CRLF)"; the other way round "(as LF)"; listed in both forms, a line
for each; a base64 part has one form).
Part digests are compared with Python's email package."""
import binascii
import email
import hashlib
import email.policy
import mailbox
import os
import sys
from email.message import EmailMessage

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clihelp import Suite, both, err, out, rand_bytes, sha256  # noqa: E402

t = Suite("mail")
att = [rand_bytes(600 + i, 3000 + 111 * i) for i in range(8)]


def message(i, attachment, name, cte=None, subject=None):
    m = EmailMessage()
    m["From"] = "sender%d@example.org" % i
    m["To"] = "rcpt@example.net"
    m["Subject"] = subject or "synthetic message %d" % i
    m["Message-ID"] = "<synthetic-%d@example.org>" % i
    m.set_content("Body text of message %d.\n" % i)
    if attachment is not None:
        kw = {"cte": cte} if cte else {}    # bytes default to base64
        m.add_attachment(attachment, maintype="application",
                         subtype="octet-stream", filename=name, **kw)
    return m


def python_leaf_digests(raw):
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    return sorted(sha256(p.get_payload(decode=True) or b"")
                  for p in msg.walk() if not p.is_multipart())


def parts_of(objs):
    return [o for o in objs if "part" in o]


t.write("list.txt", sha256(att[1]) + "\n" + sha256(att[5]) + "\n")
p = t.run("compile", "-o", "db", "blk=list.txt@m1")
t.check(p.returncode == 0, "mail test database compiles", both(p))

# ---- one .eml with a base64 attachment ----
raw = message(0, att[0], "photo-0.bin").as_bytes()
eml = t.write("one.eml", raw)
p = t.run("scan", "--json", eml)
try:
    objs = t.jsonl(p)
except ValueError as e:
    objs = []
    t.check(False, "scan --json on an .eml prints valid JSON lines", e)
parts = parts_of(objs)
t.check(p.returncode == 0 and len(parts) == 2 and len(objs) == 2,
        "an .eml gives one JSON line per leaf part (text body + attachment)",
        both(p))
a = [o for o in parts if o.get("filename") == "photo-0.bin"]
t.check(len(a) == 1 and a[0].get("sha256") == sha256(att[0])
        and a[0].get("size") == len(att[0]),
        "the base64 attachment's SHA-256 equals the original file's", a)
if a:
    t.check(a[0].get("encoding") == "base64"
            and a[0].get("declared_type") == "application/octet-stream"
            and a[0].get("message") == 0 and a[0].get("part") == "2"
            and a[0].get("path") == eml,
            "the part line has path, message 0, part 2, declared type and "
            "encoding", a[0])
t.check(sorted(o.get("sha256") for o in parts) == python_leaf_digests(raw),
        "every part digest equals Python's email decoding", objs)

# listed attachment, plain output
raw1 = message(1, att[1], "listed.bin").as_bytes()
t.write("listed.eml", raw1)
p = t.run("scan", "-d", "db", "listed.eml")
t.check(p.returncode == 1 and "listed.eml#2: blk FOUND" in out(p)
        and "listed.eml#1: OK" in out(p),
        "a listed attachment is FOUND as PATH#PART (exit 1)", both(p))

# detected by its headers, not its name
t.write("incoming-message", raw1)
p = t.run("scan", "-d", "db", "incoming-message")
t.check(p.returncode == 1 and "incoming-message#2: blk FOUND" in out(p),
        "a message without .eml is recognised by its header fields", both(p))

# --raw: the message file as plain bytes
p = t.run("scan", "--json", "--raw", "listed.eml")
objs = t.jsonl(p)
t.check(len(objs) == 1 and "part" not in objs[0]
        and objs[0].get("sha256") == sha256(raw1),
        "--raw hashes the message file as plain bytes", objs)
p = t.run("scan", "-d", "db", "--no-mail", "listed.eml")
t.check(p.returncode == 0 and out(p) == "listed.eml: OK\n",
        "--no-mail does not look inside the message", both(p))

# quoted-printable text attachment
qp_payload = ("l\u00e4ngere Zeile mit Umlauten " * 8 + "\n").encode() * 20
m = message(2, None, None)
m.add_attachment(qp_payload, maintype="text", subtype="plain",
                 filename="notes.txt", cte="quoted-printable")
rawqp = m.as_bytes()
t.write("qp.eml", rawqp)
p = t.run("scan", "--json", "qp.eml")
parts = parts_of(t.jsonl(p))
q = [o for o in parts if o.get("filename") == "notes.txt"]
t.check(len(q) == 1 and q[0].get("encoding") == "quoted-printable"
        and q[0].get("sha256") == sha256(qp_payload),
        "a quoted-printable attachment is decoded before hashing", q)

# a uuencoded block inside a text body is a part of its own
uu_payload = att[7][:1000]
uu = "".join(binascii.b2a_uu(uu_payload[i:i + 45]).decode()
             for i in range(0, len(uu_payload), 45))
t.write("uu.eml", "From: a@example.org\nTo: b@example.org\nSubject: uu\n\n"
        "see below\n\nbegin 644 uu.bin\n%s`\nend\nbye\n" % uu)
p = t.run("scan", "--json", "uu.eml")
parts = parts_of(t.jsonl(p))
u = [o for o in parts if o.get("part") == "1.u1"]
t.check(len(u) == 1 and u[0].get("filename") == "uu.bin"
        and u[0].get("sha256") == sha256(uu_payload)
        and any(o.get("part") == "1" for o in parts),
        "a uuencoded block in a text body is scanned as part 1.u1", parts)

# an attached message: its parts are parts too
inner = message(3, att[5], "inner.bin")
outer = message(4, None, None)
outer.add_attachment(inner)
rawn = outer.as_bytes()
t.write("nested.eml", rawn)
p = t.run("scan", "-d", "db", "--json", "nested.eml")
objs = t.jsonl(p)
parts = parts_of(objs)
hit = [o for o in parts if o.get("verdict") == "match"]
t.check(p.returncode == 1 and len(hit) == 1
        and hit[0].get("filename") == "inner.bin"
        and hit[0].get("part", "").startswith("2."),
        "an attachment inside an attached message is found (part 2.x)", objs)
t.check(sorted(o.get("sha256") for o in parts if "sha256" in o)
        == python_leaf_digests(rawn),
        "nested message parts match Python's leaves", parts)

# ---- mbox of 3 messages ----
mb = mailbox.mbox(t.path("box.mbox"))
for i in range(3):
    mb.add(message(10 + i, att[2 + i] if i != 1 else att[1],
                   "mbox-%d.bin" % i))
mb.flush()
mb.close()
p = t.run("scan", "--json", "box.mbox")
objs = t.jsonl(p)
parts = parts_of(objs)
idx = sorted(set(o.get("message") for o in parts))
t.check(p.returncode == 0 and idx == [0, 1, 2] and len(parts) == 6,
        "an mbox of 3 messages gives parts of messages 0, 1, 2", objs)
ok = all(any(o.get("message") == i and o.get("filename") == "mbox-%d.bin" % i
             and o.get("sha256") == sha256(att[2 + i] if i != 1 else att[1])
             for o in parts) for i in range(3))
t.check(ok, "each mbox message's attachment has its own SHA-256", parts)
p = t.run("scan", "-d", "db", "box.mbox")
t.check(p.returncode == 1 and "box.mbox#1/2: blk FOUND" in out(p)
        and "box.mbox#0/2: OK" in out(p),
        "a listed attachment in message 1 is FOUND as PATH#1/2", both(p))

# message bodies as Python's mailbox reads them: separators, blank lines
# before them and at the end of the file, ">From " lines
mb = mailbox.mbox(t.path("text.mbox"))
for i in range(3):
    m = EmailMessage()
    m["From"] = "s%d@example.org" % i
    m["Subject"] = "text %d" % i
    m.set_content("From the first line\nbody %d\n%s" % (i, "\n" * i))
    mb.add(m)
mb.add(mailbox.mboxMessage("From: x@example.org\nSubject: plain\n\nline\n\n"))
mb.flush()
mb.close()
want = []
for m in mailbox.mbox(t.path("text.mbox")):
    want += [sha256(p.get_payload(decode=True)) for p in m.walk()
             if not p.is_multipart()]
p = t.run("scan", "--json", "text.mbox")
got = [o.get("sha256") for o in t.jsonl(p)]
t.check(p.returncode == 0 and got == want,
        "mbox message bodies hash as Python's mailbox reads them", both(p))

# ---- a Maildir ----
md = mailbox.Maildir(t.path("Maildir"), create=True)
md.add(message(20, att[6], "md-new.bin"))
k = md.add(message(21, att[5], "md-cur.bin"))
mm = md.get_message(k)
mm.set_subdir("cur")
md[k] = mm
md.close()
t.write("Maildir/tmp/partial", rand_bytes(5, 50))
p = t.run("scan", "-d", "db", "--json", "Maildir")
objs = t.jsonl(p)
parts = parts_of(objs)
names = sorted(o.get("filename") or "" for o in parts)
t.check(p.returncode == 1 and names == ["", "", "md-cur.bin", "md-new.bin"],
        "a Maildir's cur/ and new/ messages are scanned part by part", objs)
t.check(not any("/tmp/" in o.get("path", "") for o in objs),
        "a Maildir's tmp/ is not scanned", objs)
t.check(any(o.get("filename") == "md-cur.bin" and o.get("verdict") == "match"
            and "/cur/" in o.get("path", "") for o in parts),
        "the listed attachment in cur/ is a match", parts)

# ---- a limit reached: error, never clean ----
depth = 30
body = "innermost\n"
for d in range(depth, 0, -1):
    b = "b%d" % d
    body = ('Content-Type: multipart/mixed; boundary="%s"\n\n--%s\n%s\n--%s--\n'
            % (b, b, body, b))
deep = "From: a@example.org\nTo: b@example.org\nSubject: deep\n" \
       "MIME-Version: 1.0\n" + body
t.write("deep.eml", deep)
p = t.run("scan", "--json", "deep.eml", "one.eml")
objs = t.jsonl(p)
e = [o for o in objs if o.get("verdict") == "error"]
t.check(p.returncode == 2 and len(e) == 1 and e[0].get("path") == "deep.eml"
        and e[0].get("error"),
        "a message nested past the depth limit is an error (exit 2)", objs)
t.check("deep.eml" in err(p), "the limit error names the file on stderr",
        err(p))
p = t.run("scan", "deep.eml")
t.check(p.returncode == 2 and "deep.eml: ERROR" in out(p)
        and "deep.eml: OK" not in out(p),
        "plain output says ERROR for the message, never OK", both(p))

# ---- undecoded parts: both line-end forms ----
def crlf_file(seed, n):
    """Seeded random bytes, lines ended by CRLF: no bare CR, no bare LF."""
    b = bytes(x for x in rand_bytes(seed, n) if x not in (10, 13))
    return b"\r\n".join(b[i:i + 70] for i in range(0, len(b), 70))


def raw_mail(payload, cte, name):
    """A message with LF line ends (as a Unix mailbox stores it) carrying
    payload, already in its stored form, as its second part."""
    return (b"From: a@example.org\nTo: b@example.org\nSubject: raw\n"
            b"Message-ID: <raw@example.org>\nMIME-Version: 1.0\n"
            b'Content-Type: multipart/mixed; boundary="=b="\n\n'
            b"--=b=\nContent-Type: text/plain\n\nsee attachment\n"
            b"--=b=\nContent-Type: application/octet-stream\n"
            b"Content-Transfer-Encoding: " + cte.encode() + b"\n"
            b'Content-Disposition: attachment; filename="' + name.encode()
            + b'"\n\n' + payload + b"\n--=b=--\n")


crlf_listed = crlf_file(8001, 5000)
crlf_clean = crlf_file(8002, 5000)
lf_listed = crlf_file(8003, 5000).replace(b"\r\n", b"\n")
t.check(crlf_listed.count(b"\r\n") > 50
        and crlf_listed.count(b"\r") == crlf_listed.count(b"\n")
        and b"\r" not in lf_listed,
        "synthetic raw files: CRLF pairs only, and LF only")
t.write("eol-list.txt", sha256(crlf_listed) + "\n" + sha256(lf_listed) + "\n")
p = t.run("compile", "-o", "eoldb", "eol=eol-list.txt@e1")
t.check(p.returncode == 0, "line-end test database compiles", both(p))

# a listed CRLF file sent 8bit, stored with LF: found in its CRLF form
raw8 = raw_mail(crlf_listed.replace(b"\r\n", b"\n"), "8bit", "crlf.bin")
t.write("eol-8bit.eml", raw8)
p = t.run("scan", "-d", "eoldb", "eol-8bit.eml")
t.check(p.returncode == 1
        and "eol-8bit.eml#2: eol FOUND (as CRLF)\n" in out(p)
        and "eol-8bit.eml#1: OK" in out(p),
        "a listed CRLF file in an 8bit part stored with LF is FOUND "
        "(as CRLF)", both(p))
p = t.run("scan", "-d", "eoldb", "--json", "eol-8bit.eml")
parts = parts_of(t.jsonl(p))
m = [o for o in parts if o.get("part") == "2"]
t.check(len(parts) == 2 and len(m) == 1 and m[0].get("verdict") == "match"
        and m[0].get("line_ends") == "CRLF"
        and m[0].get("sha256") == sha256(crlf_listed)
        and m[0].get("size") == len(crlf_listed)
        and not any("line_ends" in o for o in parts if o.get("part") == "1"),
        "its JSON line has the CRLF form's digest, size and line_ends CRLF",
        parts)
t.check(len(m) == 1 and m[0].get("also", {}).get("line_ends") == "as read"
        and m[0]["also"].get("sha256")
        == sha256(crlf_listed.replace(b"\r\n", b"\n"))
        and m[0]["also"].get("size") == len(crlf_listed) - crlf_listed.count(b"\r"),
        "and, under \"also\", the digests and size of the part as stored "
        "(LF)", parts)

# without a database every form is shown: a report can name both
p = t.run("scan", "--json", "eol-8bit.eml")
parts = parts_of(t.jsonl(p))
m = [o for o in parts if o.get("part") == "2"]
lf_form = crlf_listed.replace(b"\r\n", b"\n")
t.check(p.returncode == 0 and len(m) == 1 and "line_ends" not in m[0]
        and m[0].get("sha256") == sha256(lf_form)
        and m[0].get("md5") == hashlib.md5(lf_form).hexdigest()
        and m[0].get("also", {}).get("line_ends") == "CRLF"
        and m[0]["also"].get("sha256") == sha256(crlf_listed)
        and m[0]["also"].get("sha1") == hashlib.sha1(crlf_listed).hexdigest()
        and m[0]["also"].get("size") == len(crlf_listed),
        "scan --json without a database shows an 8bit part's digests as "
        "stored (LF) and, under \"also\", with CRLF line ends", parts)

# the same in an mbox, and as binary
mbox_raw = b"From a@example.org Thu Nov 26 10:00:00 2026\n" + raw8 + b"\n"
t.write("eol.mbox", mbox_raw)
p = t.run("scan", "-d", "eoldb", "eol.mbox")
t.check(p.returncode == 1 and "eol.mbox#0/2: eol FOUND (as CRLF)" in out(p),
        "the same message in an mbox is FOUND (as CRLF)", both(p))
t.write("eol-binary.eml", raw_mail(crlf_listed.replace(b"\r\n", b"\n"),
                                   "binary", "crlf.bin"))
p = t.run("scan", "-d", "eoldb", "eol-binary.eml")
t.check(p.returncode == 1
        and "eol-binary.eml#2: eol FOUND (as CRLF)" in out(p),
        "a listed CRLF file in a binary part stored with LF is FOUND",
        both(p))

# a clean CRLF file the same way: OK
t.write("eol-clean.eml", raw_mail(crlf_clean.replace(b"\r\n", b"\n"),
                                  "8bit", "clean.bin"))
p = t.run("scan", "-d", "eoldb", "eol-clean.eml")
t.check(p.returncode == 0 and "eol-clean.eml#2: OK\n" in out(p)
        and "FOUND" not in out(p),
        "a clean CRLF file in an 8bit part stored with LF is OK", both(p))

# a listed LF file as read matches as before, with no form named
t.write("eol-lf.eml", raw_mail(lf_listed, "8bit", "lf.bin"))
p = t.run("scan", "-d", "eoldb", "eol-lf.eml")
t.check(p.returncode == 1 and "eol-lf.eml#2: eol FOUND\n" in out(p),
        "a listed LF file in an 8bit part stored with LF is FOUND as read",
        both(p))

# a mail stored with CRLF: the part is also hashed with CRLF as LF
t.write("eol-crlf.eml", raw_mail(lf_listed, "8bit", "lf.bin")
        .replace(b"\n", b"\r\n"))
p = t.run("scan", "-d", "eoldb", "eol-crlf.eml")
t.check(p.returncode == 1
        and "eol-crlf.eml#2: eol FOUND (as LF)" in out(p),
        "a listed LF file in an 8bit part of a CRLF mail is FOUND (as LF)",
        both(p))

# both forms listed, on two lists: each form is a match of the part and
# has its line, as the milter records each (test_milter_adversarial.py)
both_crlf = crlf_file(8004, 5000)
both_lf = both_crlf.replace(b"\r\n", b"\n")
t.write("both-cr.txt", sha256(both_crlf) + "\n")
t.write("both-lf.txt", sha256(both_lf) + "\n")
p = t.run("compile", "-o", "bothdb", "eolcr=both-cr.txt", "eollf=both-lf.txt")
t.check(p.returncode == 0, "two-form test database compiles", both(p))
t.write("eol-both.eml", raw_mail(both_lf, "8bit", "both.bin")
        .replace(b"\n", b"\r\n"))
p = t.run("scan", "-d", "bothdb", "eol-both.eml")
t.check(p.returncode == 1
        and "eol-both.eml#2: eolcr FOUND\n" in out(p)
        and "eol-both.eml#2: eollf FOUND (as LF)\n" in out(p)
        and out(p).count("eol-both.eml#2:") == 2,
        "an 8bit part listed in both line-end forms (on two lists) is FOUND "
        "on each: one line per form", both(p))
p = t.run("scan", "-d", "bothdb", "--json", "eol-both.eml")
m = [o for o in parts_of(t.jsonl(p)) if o.get("part") == "2"]
t.check(len(m) == 2
        and sorted((o.get("line_ends", ""), o.get("sha256"),
                    o.get("matches", [{}])[0].get("list"),
                    o.get("also", {}).get("line_ends")) for o in m)
        == sorted([("", sha256(both_crlf), "eolcr", "LF"),
                   ("LF", sha256(both_lf), "eollf", "as read")]),
        "its JSON: an object per form, each with the other form under "
        "\"also\"", m)

# base64 keeps its bytes: the decoded LF form alone is hashed, no CRLF form
b64 = binascii.b2a_base64(crlf_listed.replace(b"\r\n", b"\n"),
                          newline=False)
b64 = b"\n".join(b64[i:i + 76] for i in range(0, len(b64), 76))
t.write("eol-b64.eml", raw_mail(b64, "base64", "b64.bin"))
p = t.run("scan", "-d", "eoldb", "--json", "eol-b64.eml")
parts = parts_of(t.jsonl(p))
m = [o for o in parts if o.get("part") == "2"]
t.check(p.returncode == 0 and len(parts) == 2 and len(m) == 1
        and m[0].get("verdict") == "clean" and "line_ends" not in m[0] and "also" not in m[0]
        and m[0].get("sha256")
        == sha256(crlf_listed.replace(b"\r\n", b"\n")),
        "a base64 part is hashed in one form only (its LF bytes do not "
        "match the CRLF file)", parts)

# ---- quoted-printable's two readings ----
# A listed binary file holding CRLF pairs, sent quoted-printable with its
# CRLFs as hard line breaks padded with blanks: RFC 2045 readers (Go,
# GMime, Perl) delete the padding and save the listed file; Python keeps it.
def qp_padded(data):
    segs = data.split(b"\r\n")
    enc = [binascii.b2a_qp(x, quotetabs=True, istext=False)
           .replace(b"\n", b"\r\n") for x in segs]
    return b" \t \r\n".join(enc)


qp_listed = bytearray(rand_bytes(8101, 6000))
for at in (1500, 3000, 4500):
    qp_listed[at:at + 2] = b"\r\n"
qp_listed = bytes(qp_listed)
t.write("qp-list.txt", sha256(qp_listed) + "\n")
p = t.run("compile", "-o", "qpdb", "qp=qp-list.txt@q1")
t.check(p.returncode == 0, "quoted-printable test database compiles", both(p))
padded = qp_padded(qp_listed)
qp_mail = raw_mail(padded, "quoted-printable", "q.bin")
t.write("qp-padded.eml", qp_mail)
py = [x.get_payload(decode=True) for x in
      email.message_from_bytes(qp_mail).walk() if x.get_filename() == "q.bin"]
p = t.run("scan", "-d", "qpdb", "qp-padded.eml")
t.check(p.returncode == 1 and "qp-padded.eml#2.d1: qp FOUND\n" in out(p)
        and "qp-padded.eml#2: OK\n" in out(p)
        and len(py) == 1 and py[0] != qp_listed,
        "a listed file sent quoted-printable with blanks padding its hard "
        "line breaks is FOUND in its RFC 2045 reading (part 2.d1), though "
        "Python's reading (part 2) differs", both(p))
p = t.run("scan", "-d", "qpdb", "--json", "qp-padded.eml")
m = [o for o in parts_of(t.jsonl(p)) if o.get("part") == "2.d1"]
t.check(len(m) == 1 and m[0].get("sha256") == sha256(qp_listed)
        and m[0].get("filename") == "q.bin"
        and m[0].get("encoding") == "quoted-printable"
        and m[0].get("verdict") == "match",
        "its JSON line names part 2.d1 with the listed digest, the file "
        "name and the encoding", m)
# unpadded, both readings are the same bytes: one part, no copy reported
t.write("qp-plain.eml", raw_mail(qp_padded(qp_listed).replace(b" \t \r\n",
                                                              b"\r\n"),
                                 "quoted-printable", "q.bin"))
p = t.run("scan", "-d", "qpdb", "qp-plain.eml")
t.check(p.returncode == 1 and "qp-plain.eml#2: qp FOUND\n" in out(p)
        and ".d1" not in out(p),
        "the same file quoted-printable without padding is FOUND once, as "
        "part 2 (no copy reported when both readings agree)", both(p))

# A listed file with bare LF bytes, each sent as a hard line break: in a
# mailbox stored with CRLF the parts decode with CRLF there; its LF form
# ("2.d2", "2.d3" when the breaks are padded too) is the listed file, as
# a reader of a mailbox stored with LF saves it.
qpl = bytearray(rand_bytes(8102, 6000).replace(b"\r", b"x").replace(b"\n", b"y"))
for at in (1500, 3000, 4500):
    qpl[at] = 0x0A
qpl = bytes(qpl)
t.write("qpl-list.txt", sha256(qpl) + "\n")
p = t.run("compile", "-o", "qpldb", "qpl=qpl-list.txt@q2")
for pad, part in ((b"\r\n", "2.d2"), (b" \t\r\n", "2.d3")):
    enc = pad.join(binascii.b2a_qp(x, quotetabs=True, istext=False)
                   .replace(b"\n", b"\r\n") for x in qpl.split(b"\n"))
    crlf_mail = raw_mail(enc, "quoted-printable", "l.bin").replace(b"\n", b"\r\n") \
        .replace(b"\r\r\n", b"\r\n")
    t.write("qpl.eml", crlf_mail)
    p = t.run("scan", "-d", "qpldb", "qpl.eml")
    t.check(p.returncode == 1 and "qpl.eml#%s: qpl FOUND\n" % part in out(p)
            and "qpl.eml#2: OK\n" in out(p),
            "a listed file with LF bytes sent as %s hard line breaks in a "
            "CRLF mailbox is FOUND in its LF form, as part %s"
            % ("blank-padded" if len(pad) > 2 else "plain", part), both(p))
# the same mail stored with LF: the part itself is the listed file
t.write("qpl-lf.eml", crlf_mail.replace(b"\r\n", b"\n"))
p = t.run("scan", "-d", "qpldb", "qpl-lf.eml")
t.check(p.returncode == 1 and "qpl-lf.eml#2.d1: qpl FOUND\n" in out(p),
        "stored with LF, the padded one is FOUND in its RFC 2045 reading",
        both(p))

# ---- stdin ----
p = t.run("scan", "-d", "db", "-", stdin=raw1)
t.check(p.returncode == 1 and "-#2: blk FOUND" in out(p),
        "a message on stdin is unpacked too", both(p))

t.done()
