#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""test_evasion.py - shapes that let a listed file pass unhashed, end to end.

Each check is a way a listed file (seeded random bytes, synthetic) used to
get through as clean, sent through a private nginx with the module and
through `hashgate scan` on mail:
  - a multipart that ends without its close delimiter but with the line
    end that precedes one (the line end was hashed into the file);
  - a multipart whose boundary never comes (everything was preamble,
    zero parts scanned): now the fail verdict, never a silent pass;
  - a NUL in a boundary parameter (parts hid behind it): refused;
  - a part after the close delimiter (Python and RFC 2046 ignore the
    epilogue; a reader splitting on delimiter lines shows the part);
  - a Content-Type, transfer encoding or boundary given twice so that the
    copies read differently (we read the first; a reader taking the last
    would find another file): refused;
  - a body with a Content-Encoding (gzip): refused, since an application
    decoding it would store bytes we never hashed;
  - a digest on one list both with and without a size (the size won, so
    a file of another size passed): compiled to match any size.
Prints one "ok - ..." / "not ok - ..." per check.
"""

import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import nginx as N  # noqa: E402

HTTP = r"""
    hashgate_database {tmp}/db.hgdb;
    client_max_body_size 16m;
    server {
        listen 127.0.0.1:{port};
        hashgate on;
        location / { proxy_pass http://recorder; }
        location /pass/ {
            hashgate_on_error pass;
            proxy_pass http://recorder;
        }
    }
"""

HASHGATE = os.path.join(N.HG_BIN, "hashgate")
LISTED = N.payload(1401, 20000)
CLEAN = N.payload(1402, 7000)
SIZED = N.payload(1403, 5000)


def post(ng, path, body, ctype):
    return N.http_request(ng.port, "POST", path, body,
                          {"Content-Type": ctype})[0]


def nginx_checks(t, ng):
    N.make_db(os.path.join(ng.tmp, "db.hgdb"), {"cam": [LISTED]})
    ng.start()
    b = "evasionB0undary"
    part = ("--%s\r\nContent-Disposition: form-data; name=\"f\"; "
            "filename=\"a.bin\"\r\nContent-Type: application/octet-stream"
            "\r\n\r\n" % b).encode()
    ctype = "multipart/form-data; boundary=" + b

    for end, what in ((b"\r\n", "CRLF"), (b"\n", "LF")):
        st = post(ng, "/cut", part + LISTED + end, ctype)
        t.check(st == 403, "nginx: a form cut after the listed file and its "
                "%s (no close delimiter) gets 403" % what, "status %d" % st)
    st = post(ng, "/cut-clean", part + CLEAN + b"\r\n", ctype)
    t.check(st == 200, "nginx: the same cut form with a clean file passes "
            "(200)", "status %d" % st)

    st = post(ng, "/noboundary", LISTED + b"\r\n", ctype)
    t.check(st == 503, "nginx: a form whose boundary never comes gets 503 "
            "(hashgate_on_error), not 200 with nothing scanned",
            "status %d" % st)
    st = post(ng, "/noboundary-close",
              LISTED + b"\r\n--" + b.encode() + b"--\r\n", ctype)
    t.check(st == 503, "nginx: text then only the close delimiter gets 503",
            "status %d" % st)
    st = post(ng, "/pass/noboundary", CLEAN + b"\r\n", ctype)
    t.check(st == 200 and "passed by \"hashgate_on_error pass\""
            in ng.error_log(), "nginx: with hashgate_on_error pass it is "
            "passed and logged as unscanned", "status %d" % st)
    st = post(ng, "/emptyform", b"--" + b.encode() + b"--\r\n", ctype)
    t.check(st == 200, "nginx: an empty form (close delimiter only) passes",
            "status %d" % st)

    inner = (b"--" + b.encode() + b"\r\nContent-Disposition: form-data; "
             b"name=\"m\"\r\nContent-Type: multipart/mixed; "
             b"boundary=\"in\x00ner\"\r\n\r\n--in\x00ner\r\n"
             b"Content-Disposition: file; filename=\"x.bin\"\r\n\r\n"
             + LISTED + b"\r\n--in\x00ner--\r\n--" + b.encode() + b"--\r\n")
    st = post(ng, "/nulboundary", inner, ctype)
    t.check(st == 503, "nginx: a nested multipart whose boundary holds a NUL "
            "gets 503", "status %d" % st)

    # a file after the close delimiter: a reader that splits on delimiter
    # lines alone would take it, so it is scanned too (union scanning)
    empty = (b"--" + b.encode() + b"\r\nContent-Disposition: form-data; "
             b"name=\"t\"\r\n\r\nhello\r\n--" + b.encode() + b"--\r\n")
    for data, want, what in ((LISTED, 403, "listed"), (CLEAN, 200, "clean")):
        st = post(ng, "/epilogue", empty + b"epilogue\r\n" + part + data
                  + b"\r\n--" + b.encode() + b"--\r\n", ctype)
        t.check(st == want, "nginx: a %s file after the form's close "
                "delimiter gets %d" % (what, want), "status %d" % st)

    # the boundary given twice: an application taking the other one finds
    # other files, so the form is refused like any form we cannot read
    two = (part + LISTED + b"\r\n--" + b.encode() + b"--\r\n")
    st = post(ng, "/twoboundaries", b"--X\r\nContent-Disposition: form-data;"
              b" name=\"t\"\r\n\r\nhi\r\n--X--\r\n" + two,
              "multipart/form-data; boundary=X; boundary=" + b)
    t.check(st == 503, "nginx: a form whose boundary parameter is given "
            "twice gets 503 (hashgate_on_error)", "status %d" % st)

    # a coded body: an application that decodes it stores other bytes than
    # the ones we could hash, so it is not passed as scanned
    import gzip
    z = gzip.compress(LISTED)
    st = N.http_request(ng.port, "PUT", "/gz", z,
                        {"Content-Encoding": "gzip"})[0]
    t.check(st == 503 and 'Content-Encoding "gzip": not scanned'
            in ng.error_log(), "nginx: a gzip-coded upload gets 503 "
            "(hashgate_on_error) and the log says why", "status %d" % st)
    st = N.http_request(ng.port, "PUT", "/id", LISTED,
                        {"Content-Encoding": "identity "})[0]
    t.check(st == 403, "nginx: Content-Encoding identity is read as no "
            "coding: a listed upload gets 403", "status %d" % st)
    st = N.http_request(ng.port, "PUT", "/pass/gz", gzip.compress(CLEAN),
                        {"Content-Encoding": "gzip"})[0]
    t.check(st == 200, "nginx: with hashgate_on_error pass a coded upload "
            "passes (logged as unscanned)", "status %d" % st)
    t.check(not ng.crashes(), "nginx: no worker died", ng.crashes())


def scan(db, data, tmp, name):
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(data)
    p = subprocess.run([HASHGATE, "scan", "-d", db, "--mail", path],
                       capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def mail_checks(t, tmp):
    db = os.path.join(tmp, "mail.hgdb")
    N.make_db(db, {"cam": [LISTED]})
    head = (b"From: a@example.org\r\nTo: b@example.org\r\nSubject: x\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
            b"boundary=\"MB\"\r\n\r\n")
    part = (b"--MB\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Transfer-Encoding: binary\r\n\r\n")
    rc, out = scan(db, head + part + LISTED + b"\r\n", tmp, "cut.eml")
    t.check(rc == 1 and "cam FOUND" in out, "scan: mail cut after a binary "
            "listed part and its CRLF is FOUND", "exit %d %s" % (rc, out))
    rc, out = scan(db, head + LISTED + b"\r\n", tmp, "nob.eml")
    t.check(rc == 2 and "ERROR" in out and "no part" in out,
            "scan: mail whose boundary never comes is an ERROR, not OK",
            "exit %d %s" % (rc, out))
    rc, out = scan(db, head + b"--MB\r\nContent-Type: text/plain\r\n\r\n"
                   b"hi\r\n--MB--\r\n" + part + LISTED + b"\r\n--MB--\r\n",
                   tmp, "epilogue.eml")
    t.check(rc == 1 and "cam FOUND" in out, "scan: a listed part after the "
            "close delimiter (in the epilogue) is FOUND",
            "exit %d %s" % (rc, out))
    # two Content-Type fields: we read the first (as Python does), a reader
    # taking the last would see the listed part; so neither reading passes
    two = head.replace(b"MIME-Version: 1.0\r\n", b"MIME-Version: 1.0\r\n"
                       b"Content-Type: multipart/mixed; boundary=\"XX\"\r\n")
    rc, out = scan(db, two + b"--XX\r\nContent-Type: text/plain\r\n\r\nhi"
                   b"\r\n" + part + LISTED + b"\r\n--MB--\r\n--XX--\r\n",
                   tmp, "twotypes.eml")
    t.check(rc == 2 and "ERROR" in out and "given twice" in out,
            "scan: mail with two Content-Type fields naming two boundaries is "
            "an ERROR, not OK", "exit %d %s" % (rc, out))
    te = (b"--MB\r\nContent-Type: application/octet-stream\r\n"
          b"Content-Transfer-Encoding: 7bit\r\n"
          b"Content-Transfer-Encoding: base64\r\n\r\n")
    import base64
    rc, out = scan(db, head + te + base64.encodebytes(LISTED).replace(
        b"\n", b"\r\n") + b"--MB--\r\n", tmp, "twoenc.eml")
    t.check(rc == 2 and "Content-Transfer-Encoding given twice" in out,
            "scan: a part with 7bit and base64 transfer encodings is an "
            "ERROR", "exit %d %s" % (rc, out))
    nul = head.replace(b"boundary=\"MB\"", b"boundary=\"M\x00B\"")
    rc, out = scan(db, nul + part.replace(b"--MB", b"--M\x00B") + LISTED
                   + b"\r\n--M\x00B--\r\n", tmp, "nul.eml")
    t.check(rc == 2 and "NUL" in out, "scan: mail whose boundary holds a NUL "
            "is an ERROR", "exit %d %s" % (rc, out))


def db_checks(t, tmp):
    import hashlib
    md5 = hashlib.md5(SIZED).hexdigest()
    hdb = os.path.join(tmp, "sized.hdb")
    txt = os.path.join(tmp, "any.txt")
    with open(hdb, "w") as f:
        f.write("%s:%d:synthetic.test\n" % (md5, len(SIZED) + 1))
    with open(txt, "w") as f:
        f.write(md5 + "\n")
    obj = os.path.join(tmp, "sized.bin")
    with open(obj, "wb") as f:
        f.write(SIZED)
    for order in ((hdb, txt), (txt, hdb)):
        db = os.path.join(tmp, "sizes.hgdb")
        p = subprocess.run([HASHGATE, "compile", "-o", db]
                           + ["cam=" + x for x in order],
                           capture_output=True, text=True)
        q = subprocess.run([HASHGATE, "scan", "-d", db, "--raw", obj],
                           capture_output=True, text=True)
        t.check(p.returncode == 0 and q.returncode == 1
                and "cam FOUND" in q.stdout,
                "compile: a digest listed without a size and with another "
                "size (%s first) matches a file of any size"
                % os.path.splitext(order[0])[1],
                "compile %d %s; scan %d %s" % (p.returncode, p.stderr,
                                               q.returncode, q.stdout))
    db = os.path.join(tmp, "sizeonly.hgdb")
    subprocess.run([HASHGATE, "compile", "-o", db, "cam=" + hdb],
                   capture_output=True)
    q = subprocess.run([HASHGATE, "scan", "-d", db, "--raw", obj],
                       capture_output=True, text=True)
    t.check(q.returncode == 0, "compile: with only the sized entry a file of "
            "another size is not matched (the size still counts)",
            "scan %d %s" % (q.returncode, q.stdout))


def main():
    t = N.Checks()
    if not os.access(HASHGATE, os.X_OK):
        t.check(False, "hashgate built at %s" % HASHGATE)
        t.done()
    with tempfile.TemporaryDirectory(prefix="hg-evasion-") as tmp:
        mail_checks(t, tmp)
        db_checks(t, tmp)
    ng = N.Nginx(HTTP)
    try:
        nginx_checks(t, ng)
    finally:
        ng.cleanup()
    t.done()


if __name__ == "__main__":
    main()
