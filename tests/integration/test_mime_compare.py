#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_mime_compare.py - the C MIME parser against Python's email package.

Generates (seeded) messages of every shape the parser must handle, runs
$HG_BIN/tools/unpack_dump on each with several random chunkings, and checks
that every leaf part's IMAP path, file name and SHA-256 match what Python's
own parser and decoders (msg.walk(), get_payload(decode=True)) give. Parts
Python does not know about (uuencoded blocks inside text, form-data files)
are checked against the bytes the test put in; a form part sent with a
transfer encoding is checked raw ("N") and, decoded ("N.d1"), against what
Python decodes when it reads the same body as a message. All content is random bytes
from a seeded generator. Prints one "ok - ..." / "not ok - ..." per shape.
"""
import base64
import binascii
import email
import email.header
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
from email import encoders
from email.mime.application import MIMEApplication
from email.mime.base import MIMEBase
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

SEEDS = [0, 1, 7, 1234]
BIN = os.path.join(os.environ.get("HG_BIN", "build"), "tools", "unpack_dump")
rnd = random.Random(20261126)
failures = 0


def rbytes(n):
    return bytes(rnd.getrandbits(8) for _ in range(n))


def sha(b):
    return hashlib.sha256(b).hexdigest()


def attachment(n, enc="base64", name=None, ctype=("application", "octet-stream")):
    data = rbytes(n)
    p = MIMEBase(*ctype)
    p.set_payload(data)
    if enc == "base64":
        encoders.encode_base64(p)
    elif enc == "qp":
        encoders.encode_quopri(p)
    elif enc == "uu":
        lines = [b"begin 644 " + (name or "x.bin").encode()]
        for i in range(0, len(data), 45):
            lines.append(binascii.b2a_uu(data[i:i + 45]).rstrip(b"\n"))
        lines += [b"`", b"end", b""]
        p.set_payload(b"\n".join(lines).decode("ascii"))
        p["Content-Transfer-Encoding"] = "x-uuencode"
    if name is not None:
        p.add_header("Content-Disposition", "attachment", filename=name)
    return p


def text(s, sub="plain"):
    return MIMEText(s, sub)


def py_leaves(msg, prefix=""):
    """(path, part) for every leaf, numbered as IMAP does."""
    def join(p, i):
        return "%s.%d" % (p, i) if p else str(i)

    def entity(part, path):
        if part.get_content_maintype() == "multipart" and part.is_multipart():
            for i, sub in enumerate(part.get_payload(), 1):
                yield from entity(sub, join(path, i))
        elif part.get_content_type() in ("message/rfc822", "message/global") \
                and part.is_multipart():
            yield from py_leaves(part.get_payload(0), path)
        else:
            yield path, part

    if msg.get_content_maintype() == "multipart" and msg.is_multipart():
        for i, sub in enumerate(msg.get_payload(), 1):
            yield from entity(sub, join(prefix, i))
    else:
        yield from entity(msg, join(prefix, 1))


def py_filename(part):
    fn = part.get_filename()
    if fn is None:
        return None
    return str(email.header.make_header(email.header.decode_header(fn)))


def expected_from_python(raw):
    msg = email.message_from_bytes(raw)
    out = {}
    for path, part in py_leaves(msg):
        data = part.get_payload(decode=True)
        if data is None:
            data = b""
        out[path] = (py_filename(part), sha(data))
    return out


def run_dump(raw, seed, extra=()):
    with tempfile.NamedTemporaryFile(dir=TMP, delete=False) as f:
        f.write(raw)
        name = f.name
    try:
        p = subprocess.run([BIN, "--chunk-seed", str(seed), *extra, name],
                           capture_output=True, timeout=60)
    finally:
        os.unlink(name)
    parts = [json.loads(line) for line in p.stdout.decode().splitlines()]
    return p.returncode, parts, p.stderr.decode()


def check(what, raw, extra_expected=None, extra=(), python=True):
    """Compare the parser's parts with Python's for every chunking."""
    global failures
    want = expected_from_python(raw) if python else {}
    if extra_expected:
        want.update(extra_expected)
    problems = []
    for seed in SEEDS:
        rc, parts, err = run_dump(raw, seed, extra)
        if rc != 0:
            problems.append("seed %d: exit %d: %s" % (seed, rc, err.strip()))
            continue
        got = {p["path"]: (p["filename"], p["sha256"]) for p in parts}
        if len(got) != len(parts):
            problems.append("seed %d: duplicate paths %s"
                            % (seed, [p["path"] for p in parts]))
        if got != want:
            for k in sorted(set(got) | set(want)):
                if got.get(k) != want.get(k):
                    problems.append("seed %d: part %s: parser %s, expected %s"
                                    % (seed, k, got.get(k), want.get(k)))
            break
    if problems:
        failures += 1
        print("not ok - %s: %s" % (what, "; ".join(problems[:4])))
    else:
        print("ok - %s: %d parts match for %d chunkings"
              % (what, len(want), len(SEEDS)))


def crlf(raw):
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def shapes():
    # 1, 2: plain multipart/mixed with base64 attachments, LF and CRLF
    m = MIMEMultipart()
    m["Subject"] = "base64 attachments"
    m.attach(text("Hello,\nsee attached.\n"))
    for i, n in enumerate([1, 2, 3, 57, 4096, 100000]):
        m.attach(attachment(n, "base64", "file%d.bin" % i))
    raw = m.as_bytes()
    yield "multipart/mixed, base64 attachments, LF", raw, {}
    yield "multipart/mixed, base64 attachments, CRLF", crlf(raw), {}

    # 3: quoted-printable attachments of random bytes and text
    m = MIMEMultipart()
    m.attach(MIMEText("caf\u00e9 na\u00efve " * 40 + "\n", "plain", "utf-8"))
    m.attach(attachment(3000, "qp", "q.bin"))
    m.attach(attachment(5, "qp", "q2.bin"))
    p = MIMEText("line with trailing space \nand = sign\n", "plain", "utf-8")
    del p["Content-Transfer-Encoding"]
    p.set_payload(email.quoprimime.body_encode(
        "line with trailing space \nand = sign " + "x" * 200 + "\n"))
    p["Content-Transfer-Encoding"] = "quoted-printable"
    m.attach(p)
    yield "quoted-printable parts, LF", m.as_bytes(), {}
    yield "quoted-printable parts, CRLF", crlf(m.as_bytes()), {}

    # 5: nested mixed / alternative / related
    m = MIMEMultipart("mixed")
    alt = MIMEMultipart("alternative")
    alt.attach(text("plain body\n"))
    rel = MIMEMultipart("related")
    rel.attach(text("<p>html <img src=cid:a></p>\n", "html"))
    rel.attach(attachment(7000, "base64", "inline.png", ("image", "png")))
    alt.attach(rel)
    m.attach(alt)
    m.attach(attachment(12345, "base64", "doc.pdf", ("application", "pdf")))
    deep = MIMEMultipart("mixed")
    inner = deep
    for level in range(5):
        nxt = MIMEMultipart("mixed")
        inner.attach(attachment(100 + level, "base64", "lvl%d" % level))
        inner.attach(nxt)
        inner = nxt
    inner.attach(attachment(999, "qp", "deepest.bin"))
    m.attach(deep)
    yield "nested multipart mixed/alternative/related, 7 levels", m.as_bytes(), {}

    # 6: message/rfc822 three levels deep, multipart and single-part bodies
    def wrap(inner_msg, n):
        outer = MIMEMultipart()
        outer["Subject"] = "level %d" % n
        outer.attach(text("level %d\n" % n))
        outer.attach(attachment(2000 + n, "base64", "at%d.bin" % n))
        outer.attach(MIMEMessage(inner_msg))
        return outer
    single = MIMEApplication(rbytes(777), "octet-stream")
    single["Subject"] = "single-part innermost"
    msg = wrap(wrap(wrap(single, 3), 2), 1)
    yield "message/rfc822 three levels deep", msg.as_bytes(), {}
    yield "message/rfc822 three levels deep, CRLF", crlf(msg.as_bytes()), {}

    # 8: RFC 2231 and RFC 2047 file names
    m = MIMEMultipart()
    names = ["r\u00e9sum\u00e9 \u65e5\u672c\u8a9e.pdf",
             "very long name " + "\u00fc" * 80 + ".zip",
             "plain name; with \"quotes\".txt"]
    for nm in names:
        p = attachment(300, "base64")
        p.add_header("Content-Disposition", "attachment",
                     filename=("utf-8", "", nm))
        m.attach(p)
    for nm, cs in [("\u00e9t\u00e9.jpg", "iso-8859-1"),
                   ("\u20ac price \u2013 list.xls", "windows-1252"),
                   ("\u041f\u0440\u0438\u0432\u0435\u0442.doc", "koi8-r"),
                   ("\u6587\u4ef6.bin", "utf-8")]:
        p = attachment(301, "base64")
        enc = email.header.Header(nm, cs).encode()
        p["Content-Disposition"] = 'attachment; filename="%s"' % enc
        m.attach(p)
    p = attachment(302, "base64")
    p.replace_header("Content-Type", 'application/octet-stream; name="%s"' %
        email.header.Header("only-in-ct-\u00e4.bin", "utf-8").encode())
    m.attach(p)
    yield "RFC 2231 and RFC 2047 file names", m.as_bytes(), {}

    m = MIMEMultipart()
    p = attachment(303, "base64")
    p["Content-Disposition"] = ("attachment; filename*0*=utf-8''%E6%97%A5%E6;"
                                "\n filename*1*=%9C%AC; filename*2=\"-part.txt\"")
    m.attach(p)
    yield "RFC 2231 continuations split inside a character", m.as_bytes(), {}

    # 10: uuencode as a transfer encoding
    m = MIMEMultipart()
    m.attach(text("uu attached\n"))
    m.attach(attachment(1000, "uu", "u.bin"))
    m.attach(attachment(45, "uu", "exact45.bin"))
    yield "x-uuencode parts", m.as_bytes(), {}
    m = MIMEMultipart()
    p = MIMEBase("application", "octet-stream")
    p.set_payload(base64.b64encode(rbytes(600)).decode() + "\n")
    p["Content-Transfer-Encoding"] = "x-uuencode"
    m.attach(p)
    yield "x-uuencode label on text without begin: hashed as it is", m.as_bytes(), {}

    # 11: uuencoded blocks inside a text body become parts 1.u1, 1.u2
    blocks, want = [], {}
    for i, n in enumerate([500, 45 * 3]):
        data = rbytes(n)
        lines = ["begin 644 inline%d.bin" % i]
        for k in range(0, n, 45):
            lines.append(binascii.b2a_uu(data[k:k + 45]).decode().rstrip("\n"))
        lines += ["`", "end"]
        blocks.append("\n".join(lines))
        want["1.u%d" % (i + 1)] = ("inline%d.bin" % i, sha(data))
    body = "Here it is:\n\n" + blocks[0] + "\n\nand another\n" + blocks[1] + "\nbye\n"
    m = MIMEMultipart()
    m.attach(MIMEText(body))
    m.attach(attachment(10, "base64", "b.bin"))
    yield "uuencoded blocks inside a text part", m.as_bytes(), want

    # 12: single-part message, base64 body
    p = MIMEApplication(rbytes(54321), "octet-stream", Name="top.bin")
    p["Subject"] = "single part"
    yield "top-level single-part message is part 1", p.as_bytes(), {}
    t = MIMEText("just text\nno newline at end")
    yield "top-level text message", t.as_bytes(), {}

    # 14: preamble, epilogue, quoted boundary with odd characters,
    #     lines that start like the boundary but are not
    b = "==_b'(o)u+n,d-a.r/y:=?x"
    parts = []
    datas = [rbytes(n) for n in (1000, 2000)]
    for i, d in enumerate(datas):
        parts.append("Content-Type: application/octet-stream\n"
                     "Content-Transfer-Encoding: base64\n"
                     "Content-Disposition: attachment; filename=p%d\n\n%s"
                     % (i, base64.encodebytes(d).decode()))
    parts.append("Content-Type: text/plain\n\n--%sX not a boundary\n"
                 "--%s-- \tstill text? no: this line is text\n-- %s\nend\n" % (b, b + "x", b))
    raw = ("From: a@example.org\nMIME-Version: 1.0\n"
           "Content-Type: multipart/mixed;\n boundary=\"%s\"\n\n"
           "This is the preamble.\n--%s is text here too\n" % (b, b + "Z"))
    for p in parts:
        raw += "--%s\n%s\n" % (b, p)
    raw += "--%s--  \nThe epilogue.\n--%s\nnot a part\n" % (b, b)
    # Python stops at the close delimiter; we scan the union of readers:
    # the delimiter in the epilogue opens part 4 (its last line end goes
    # to the delimiter that never came)
    yield "quoted boundary, preamble, epilogue, near-boundaries", raw.encode(), \
        {"4": (None, sha(b"not a part"))}

    # 15: missing final boundary
    m = MIMEMultipart()
    m.attach(text("first\n"))
    m.attach(attachment(4000, "base64", "last.bin"))
    raw = m.as_bytes()
    cut = raw.rstrip(b"\n")
    cut = cut[:cut.rindex(b"\n")] + b"\n"
    yield "missing final boundary", cut, {}
    yield "missing final boundary, CRLF", crlf(cut), {}

    # 16: missing final boundary after a binary file: the line end before
    # the delimiter that never came is not the file's (Python drops it too)
    data = bytes(c for c in rbytes(3000) if c not in (10, 13))
    raw = ("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=CUT\n\n"
           "--CUT\nContent-Type: application/octet-stream\n"
           "Content-Transfer-Encoding: binary\n\n").encode() + data + b"\n"
    yield "missing final boundary after a binary file", raw, {}
    yield "missing final boundary after a binary file, CRLF", \
        crlf(raw[:-len(data) - 1]) + data + b"\r\n", {}

    # 17: binary (8bit) leaves with '-' lines, CR-free random data
    data = bytes(c for c in rbytes(20000) if c != 13)
    data = data.replace(b"\n", b"\n--")
    hdr = ("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=XYZZY\n\n"
           "--XYZZY\nContent-Type: application/octet-stream\n"
           "Content-Transfer-Encoding: binary\n\n").encode()
    raw = hdr + data + b"\n--XYZZY\nContent-Type: text/plain\n\nafter\n--XYZZY--\n"
    yield "binary part with lines starting with --", raw, {}

    # 18: multipart/digest (parts default to message/rfc822)
    d1 = MIMEText("digest one\n")
    d1["Subject"] = "one"
    raw = ("MIME-Version: 1.0\nContent-Type: multipart/digest; boundary=DG\n\n"
           "--DG\n\n" + d1.as_string() + "\n--DG\n\nSubject: two\n\nbody two\n"
           "--DG--\n").encode()
    yield "multipart/digest parts are messages", raw, {}

    # 19: parts hidden after close delimiters (union scanning): a reader
    #     that splits on delimiter lines alone shows them, Python does not.
    #     Inner and outer multipart each get one; "--I--" in the inner
    #     epilogue stays text, the outer delimiter ends the inner epilogue
    hid_in, hid_out = rbytes(3000), rbytes(5000)
    b64 = lambda d: base64.encodebytes(d).decode()
    raw = ("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=O\n\n"
           "--O\nContent-Type: multipart/related; boundary=I\n\n"
           "--I\nContent-Type: text/plain\n\nvisible\n--I--\nepilogue\n"
           "--I\nContent-Type: image/jpeg\nContent-Transfer-Encoding: base64\n"
           "Content-Disposition: attachment; filename=in.jpg\n\n%s--I--\n"
           "--I--\nmore epilogue\n"
           "--O\nContent-Type: text/plain\n\nsecond\n--O--\n"
           "--O\nContent-Type: application/octet-stream\n"
           "Content-Transfer-Encoding: base64\n"
           "Content-Disposition: attachment; filename=out.bin\n\n%s--O--\n"
           % (b64(hid_in), b64(hid_out)))
    hidden = {"1.2": ("in.jpg", sha(hid_in)), "3": ("out.bin", sha(hid_out))}
    yield "parts after close delimiters are scanned too", raw.encode(), hidden
    yield "parts after close delimiters are scanned too, CRLF", \
        crlf(raw.encode()), hidden


def form_data():
    b = "----WebKitFormBoundary" + "".join(rnd.choice("abcdefXYZ0123") for _ in range(16))
    files = [("f1", "a.bin", rbytes(5000)), ("f2", "b b.jpg", rbytes(1)),
             ("f3", "\u00fcml\u00e4ut.png", rbytes(70000)),
             ("f4", "empty.txt", b"")]
    body = b""
    want = {}
    body += ("--%s\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n"
             "hello\r\n" % b).encode()
    want["1"] = (None, sha(b"hello"))
    for i, (field, fn, data) in enumerate(files, 2):
        if i == 4:
            disp = "form-data; name=\"%s\"; filename*=UTF-8''%s" % (
                field, "".join("%%%02X" % c for c in fn.encode()))
        else:
            disp = "form-data; name=\"%s\"; filename=\"%s\"" % (field, fn)
        body += ("--%s\r\nContent-Disposition: %s\r\n"
                 "Content-Type: application/octet-stream\r\n\r\n" % (b, disp)).encode()
        body += data + b"\r\n"
        want[str(i)] = (fn, sha(data))
    body += ("--%s--\r\n" % b).encode()
    return b, body, want


def form_data_encoded():
    """A form whose file parts carry Content-Transfer-Encoding
    quoted-printable or base64. In form-data mode each such part is hashed as
    sent ("N") and decoded ("N.d1"); the decoded digests expected are
    Python's, reading the body as a message (get_payload(decode=True))."""
    b = "----hgcte" + "".join(rnd.choice("abcdefXYZ0123") for _ in range(16))
    encs = [("q1", "q.bin", "quoted-printable", rbytes(70000)),
            ("b1", "b.bin", "base64", rbytes(50000)),
            ("q2", "t.txt", "quoted-printable", b"caf\xc3\xa9 = 1\n" * 300),
            ("p1", "p.bin", None, rbytes(3000)),
            ("s1", "s.bin", "8bit", rbytes(2000))]
    body = b""
    raw_parts = {}
    for i, (field, fn, cte, data) in enumerate(encs, 1):
        if cte == "quoted-printable":
            enc = quopri_encode(data)
        elif cte == "base64":
            enc = base64.encodebytes(data)
        else:
            enc = data
        body += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"; "
                 "filename=\"%s\"\r\nContent-Type: application/octet-stream"
                 "\r\n" % (b, field, fn)).encode()
        if cte:
            body += ("Content-Transfer-Encoding: %s\r\n" % cte).encode()
        body += b"\r\n" + enc + b"\r\n"
        raw_parts[str(i)] = (fn, sha(enc), cte)
    body += ("--%s--\r\n" % b).encode()
    py = expected_from_python(("Content-Type: multipart/form-data; "
                               "boundary=%s\r\n\r\n" % b).encode() + body)
    want = {}
    for path, (fn, digest, cte) in raw_parts.items():
        want[path] = (fn, digest)
        if cte in ("quoted-printable", "base64"):
            want[path + ".d1"] = py[path]
    return b, body, want


def quopri_encode(data):
    return binascii.b2a_qp(data, istext=True)


def main():
    global TMP, failures
    if not os.access(BIN, os.X_OK):
        print("not ok - unpack_dump not built at %s" % BIN)
        return 1
    with tempfile.TemporaryDirectory() as TMP:
        for what, raw, extra in shapes():
            check(what, raw, extra)

        b, body, want = form_data()
        check("multipart/form-data with several files", body, want,
              extra=("--formdata", "multipart/form-data; boundary=%s" % b),
              python=False)
        check("multipart/form-data, quoted boundary", body, want,
              extra=("--formdata", "multipart/form-data; boundary=\"%s\"" % b),
              python=False)
        # the same body read by Python as a message gives the same digests
        raw = ("Content-Type: multipart/form-data; boundary=%s\r\n\r\n" % b).encode() + body
        check("multipart/form-data agrees with Python's parser", raw)

        b, body, want = form_data_encoded()
        check("form-data parts with a transfer encoding: hashed as sent and "
              "decoded (N.d1) as Python decodes them", body, want,
              extra=("--formdata", "multipart/form-data; boundary=%s" % b),
              python=False)

        rc, parts, err = run_dump(body, 1, ("--formdata", "multipart/form-data; boundary=" + "b" * 71))
        if rc == 2 and "boundary longer than 70" in err:
            print("ok - form-data boundary over 70 characters is refused")
        else:
            failures += 1
            print("not ok - form-data boundary over 70 characters: rc %d %s" % (rc, err))

        # a multipart whose boundary never comes: all preamble, no part to
        # hash; Python reads it as one leaf, the parser refuses it
        data = rbytes(3000).replace(b"\n--N", b"")
        raw = (b"Content-Type: multipart/mixed; boundary=N\r\n\r\n"
               + data + b"\r\n")
        for what, blob, extra in (("mail", raw, ()),
                                  ("form-data", data + b"\r\n--N--\r\n",
                                   ("--formdata", "multipart/form-data; boundary=N"))):
            rc, parts, err = run_dump(blob, 1, extra)
            if rc == 2 and "no part" in err and not parts:
                print("ok - %s multipart whose boundary never comes is refused, "
                      "not passed with nothing hashed" % what)
            else:
                failures += 1
                print("not ok - %s multipart whose boundary never comes: rc %d, "
                      "%d parts, %s" % (what, rc, len(parts), err.strip()))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
